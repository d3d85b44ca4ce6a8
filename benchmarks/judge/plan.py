"""The lab a ruleset needs, decided before anything is created (pure: no namespaces here).

* the target's interfaces: every interface the rules name (wildcards instantiated once) plus
  ``zz0``, which no rule names ("any other interface"); at most ``MAX_INTERFACES`` are probed;
* the target's own address on each (198.19.255.x / fd80::ff:x, host routes only), except where
  DNAT backends sit behind the interface: there the target gets an address in each backend's
  (mapped) subnet, declared with that subnet's length, so that the backends are routed and,
  offline, their routes are known too;
* extra local addresses: host addresses the rules match as a destination (the host's own
  public address, typically), at most one per family, on ``lo``;
* probe sources: one address per region of the mapped address space (see addresses), sampled
  down to ``MAX_SOURCES`` per family, never an address the lab itself uses; a source inside an
  interface's declared subnet is probed only through that interface (as routing would have it);
* ports: every port the rules mention, its neighbours, targets of DNAT/REDIRECT and a few
  common others, sampled down to ``MAX_PORTS``.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from benchmarks.judge.addresses import INFRA, AddressMap, Region
from benchmarks.judge.rulesets import LabFacts

MAX_INTERFACES = 6
MAX_SOURCES = 10
MAX_PORTS = 48
OTHER_INTERFACE = "zz0"
BACKEND_INTERFACE = "fwbk0"
COMMON_PORTS = (1, 22, 53, 80, 123, 443, 1024, 8080, 40000, 65535)


@dataclass
class Plan:
    interfaces: list[str]  # probed, in round order
    address: dict[str, dict[int, str]]  # interface → version → the target's address on it
    declared: dict[str, list[str]]  # interface → ADDR/LEN as created (and declared offline)
    backends: dict[str, list[str]] = field(default_factory=dict)  # interface → backend addresses
    local: dict[int, list[str]] = field(default_factory=dict)  # extra own addresses (on lo)
    sources: dict[int, list[Region]] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    forwarding: bool = False
    families: list[int] = field(default_factory=list)

    def destinations(self, iface: str, version: int) -> list[str]:
        return [self.address[iface][version]] + self.local.get(version, [])

    def sources_on(self, iface: str, version: int) -> list[str]:
        """Sources probed through ``iface``: not those inside another interface's subnet."""
        others = [ipaddress.ip_interface(d).network for name, decl in self.declared.items()
                  if name != iface for d in decl if ipaddress.ip_interface(d).version == version]
        return [str(r.lab) for r in self.sources.get(version, [])
                if not any(r.lab in n for n in others if n.prefixlen < n.max_prefixlen)]

    def all_interfaces(self) -> list[str]:
        extra = [BACKEND_INTERFACE] if BACKEND_INTERFACE in self.backends else []
        return self.interfaces + extra


def make_plan(facts: LabFacts, amap: AddressMap, seed: int, max_interfaces: int = MAX_INTERFACES) -> Plan:
    rng = random.Random(seed)
    named = facts.interfaces[: max_interfaces - 1]
    for iface in facts.backend_interface.values():  # an interface holding a backend is always built
        if iface in facts.interfaces and iface not in named:
            named.append(iface)
    interfaces = named + [OTHER_INTERFACE]
    plan = Plan(interfaces=interfaces, address={}, declared={}, forwarding=facts.forwards,
                families=sorted(facts.families) or [4])
    used: set[str] = set(facts.backends)
    for i, iface in enumerate(interfaces + [BACKEND_INTERFACE]):
        plan.address[iface] = {4: str(INFRA[4].network_address + 0xFF00 + i + 1),
                               6: str(INFRA[6].network_address + 0xFF00 + i + 1)}
        plan.declared[iface] = [f"{plan.address[iface][4]}/32", f"{plan.address[iface][6]}/128"]
    for backend in facts.backends:
        iface = facts.backend_interface.get(backend)
        if iface not in interfaces:
            iface = BACKEND_INTERFACE
        plan.backends.setdefault(iface, []).append(backend)
    for iface, backends in plan.backends.items():
        for version in (4, 6):
            subnets: dict = {}  # type: ignore[type-arg]
            for b in backends:
                if ipaddress.ip_address(b).version == version:
                    subnets.setdefault(_backend_subnet(ipaddress.ip_address(b), amap), []).append(b)
            if not subnets:
                continue
            plan.declared[iface] = [d for d in plan.declared[iface] if ipaddress.ip_interface(d).version != version]
            for i, (subnet, mine) in enumerate(subnets.items()):  # the target needs a route to every backend
                addr = _free_address(subnet, amap, used | set(mine))
                used.add(addr)
                if i == 0:
                    plan.address[iface][version] = addr
                plan.declared[iface].append(f"{addr}/{subnet.prefixlen}")
    for version in (4, 6):
        local = [a for a in facts.local_candidates if ipaddress.ip_address(a).version == version and a not in used]
        plan.local[version] = local[:1]
        used |= set(local[:1])
    used |= {a for per in plan.address.values() for a in per.values()}
    for version in (4, 6):
        regions = [r for r in amap.regions[version] if str(r.lab) not in used]
        outside = [r for r in regions if not r.inside][:1]
        rest = [r for r in regions if r not in outside]
        rng.shuffle(rest)
        plan.sources[version] = sorted(outside + rest[: MAX_SOURCES - len(outside)], key=lambda r: int(r.lab))
        if not plan.sources[version]:  # no prefix mentioned at all: one source from anywhere
            base = ipaddress.ip_network("198.18.0.0/16" if version == 4 else "fd00::/9").network_address
            plan.sources[version] = [Region(base + 10, base + 10, "")]  # type: ignore[arg-type]
    plan.ports = _ports(facts, rng)
    return plan


def _backend_subnet(backend: ipaddress.IPv4Address | ipaddress.IPv6Address, amap: AddressMap) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The smallest mapped prefix (of at least a /16 or /48 originally) around a backend, else a
    small block of its own."""
    best = None
    for real, lab in amap.prefixes.items():
        if backend in lab and lab.prefixlen < lab.max_prefixlen:
            if real.prefixlen >= (16 if real.version == 4 else 48) and (best is None or lab.prefixlen > best.prefixlen):
                best = lab
    if best is not None:
        return best
    # a block of its own, big enough for an address no rule names and no probe uses
    return ipaddress.ip_network(f"{backend}/{27 if backend.version == 4 else 123}", strict=False)


def _free_address(subnet, amap: AddressMap, avoid: set[str]) -> str:  # type: ignore[no-untyped-def]
    """An address of ``subnet`` that no rule names and no probe uses."""
    taken = [lab for lab in amap.prefixes.values()
             if lab.version == subnet.version and lab != subnet and lab.subnet_of(subnet)]
    sources = {str(r.lab) for r in amap.regions[subnet.version]}
    for addr in subnet.hosts() if subnet.num_addresses > 2 else subnet:
        s = str(addr)
        if s in avoid or s in sources or any(addr in t for t in taken):
            continue
        return s
    raise ValueError(f"no free address for the target in {subnet}")


def _ports(facts: LabFacts, rng: random.Random) -> list[int]:
    mentioned = set(facts.ports) | facts.redirect_ports
    for ports in facts.backends.values():
        mentioned |= ports
    around = {q for p in mentioned for q in (p - 1, p + 1)}
    extra = set(COMMON_PORTS) | {rng.randint(1025, 65000) for _ in range(3)}
    must = sorted(p for p in mentioned | facts.redirect_ports if 0 < p < 65536)
    rest = sorted(p for p in (around | extra) - set(must) if 0 < p < 65536)
    if len(must) > MAX_PORTS:
        must = sorted(rng.sample(must, MAX_PORTS))
    room = max(0, MAX_PORTS - len(must))
    return sorted(set(must) | set(rng.sample(rest, min(room, len(rest)))))
