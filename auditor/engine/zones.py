"""Which source addresses belong to which zone, and the firewall view per zone.

A source address belongs to the most specific zone that contains it (longest prefix), so a
policy can say ``internet: 0.0.0.0/0`` and ``lan: 198.18.0.0/24`` and mean "the internet is
everything that is not the LAN". The firewall view is evaluated for every zone on every
non-loopback address of the target, each arriving on the interface that holds it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auditor.engine import intervals as iv
from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.errors import InputError
from auditor.model.host import HostContext
from auditor.model.policy import Policy
from auditor.model.result import ZoneExposure
from auditor.model.ruleset import Ruleset
from auditor.model.scan import LAB_NETWORKS


def effective_zone_sources(policy: Policy, version: int) -> dict[str, list[str]]:
    """Per zone, the prefixes of ``version`` it owns after more specific zones took theirs."""
    claims: list[tuple[int, str, tuple[int, int]]] = []
    for z in policy.zones:
        for n in z.networks:
            if n.version == version:
                claims.append((n.prefixlen, z.name, (int(n.network_address), int(n.broadcast_address))))
    claims.sort(key=lambda c: -c[0])
    taken: iv.IntervalSet = ()
    owned: dict[str, iv.IntervalSet] = {}
    for _, name, rng in claims:
        mine = iv.subtract(((rng[0], rng[1]),), taken)
        owned[name] = iv.union(owned.get(name, ()), mine)
        taken = iv.union(taken, ((rng[0], rng[1]),))
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    out: dict[str, list[str]] = {}
    for name, ranges in owned.items():
        nets = [n for lo, hi in ranges for n in ipaddress.summarize_address_range(cls(lo), cls(hi))]
        if nets:
            out[name] = [str(n) for n in nets]
    return out


def zone_exposures(ruleset: Ruleset, host: HostContext, policy: Policy, *, target: str) -> tuple[ZoneExposure, ...]:
    """Evaluate every zone on every non-loopback address of the host (IPv4 and IPv6)."""
    out: list[ZoneExposure] = []
    for version in (4, 6):
        zones = effective_zone_sources(policy, version)
        if not zones:
            continue
        for iface in host.interfaces:
            if iface.name == "lo":
                continue
            for addr in iface.addresses:
                if addr.version != version or addr.ip.is_loopback or addr.ip.is_link_local:
                    continue
                for zone, sources in zones.items():
                    q = ExposureQuery(iface.name, str(addr.ip), tuple(sources))
                    out.append(ZoneExposure(zone, evaluate_exposure(ruleset, host, q, target=target)))
    return tuple(out)


def probe_sources(policy: Policy) -> list[tuple[str, str | None, str | None]]:
    """Every zone of ``policy`` with the address to probe it from (see
    :func:`zone_representatives`), or with why it has none: (zone, address, reason)."""
    out: list[tuple[str, str | None, str | None]] = []
    for zone in policy.zones:
        try:
            out.append((zone.name, zone_representatives(policy, [zone.name])[zone.name], None))
        except InputError as e:
            out.append((zone.name, None, e.message))
    return out


def zone_representatives(policy: Policy, zones: Sequence[str], version: int = 4) -> dict[str, str]:
    """One source address per zone to probe from: the highest usable address the zone owns in
    the lab ranges (:data:`~auditor.model.scan.LAB_NETWORKS`)."""
    owned = effective_zone_sources(policy, version)
    out: dict[str, str] = {}
    for z in zones:
        if policy.zone(z) is None:
            raise InputError(f"zone {z!r} is not defined in {policy.path}")
        pick: int | None = None
        for net_text in owned.get(z, []):
            net = ipaddress.ip_network(net_text)
            for lab in LAB_NETWORKS:
                if lab.version != net.version:
                    continue
                # two prefixes overlap only when one holds the other: the overlap is the inner one
                lo = max(int(net.network_address), int(lab.network_address))
                hi = min(int(net.broadcast_address), int(lab.broadcast_address))
                if lo <= hi:
                    candidate = hi - 1 if hi - lo > 1 else lo  # not the broadcast address of a subnet
                    pick = candidate if pick is None else max(pick, candidate)
        if pick is None:
            labs = " or ".join(str(n) for n in LAB_NETWORKS if n.version == version)
            raise InputError(f"zone {z!r} owns no address inside {labs}; give --source")
        out[z] = str(ipaddress.IPv4Address(pick) if version == 4 else ipaddress.IPv6Address(pick))
    return out
