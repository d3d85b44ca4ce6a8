"""The throwaway lab for one ruleset: a target namespace with the interfaces the rules name,
a client namespace behind each, backends behind DNAT targets, greeting listeners everywhere.

Every namespace is ``fwa-kj<run pid>-<worker pid>-<n><role>`` and is removed by ``close()`` (also on errors and
signals, via the caller's ``finally``). Only lab addresses (198.18.0.0/15, fd00::/8) are used.
IPv6 neighbours are static in both directions, so the ruleset under test cannot break neighbour
discovery; ICMP error rate limits are lifted on the target and backends, so a reject is never
misread as silence. Each interface is probed in its own round: the target's host routes to the
probe sources are pointed at that interface first, so replies leave where requests came in.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from auditor.target.runner import run_in_namespace
from auditor.probe.connect import Point, probe
from benchmarks.judge.plan import Plan
from benchmarks.judge.rulesets import RulesetFile

#: every lab namespace of this run starts with this (the run's process id; workers add theirs)
RUN_PREFIX = f"fwa-kj{os.getpid()}-"
_counter = itertools.count()
_TOOLS = {"iptables-legacy": ["iptables-legacy-restore"], "iptables-nft": ["iptables-nft-restore"],
          "ip6tables-legacy": ["ip6tables-legacy-restore"], "ip6tables-nft": ["ip6tables-nft-restore"],
          "nft": ["nft", "-f"], "ipset": ["ipset", "restore"]}
PROBE_TIMEOUT = 1.0


class Namespace:
    """A network namespace this lab created (``ip netns``, not pyroute2: pool workers are
    daemonic processes, where pyroute2's namespace creation does not leave a usable file)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = f"/run/netns/{name}"
        self._procs: list[subprocess.Popen] = []  # type: ignore[type-arg]
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        self.exec(["ip", "link", "set", "lo", "up"])

    def exec(self, cmd: list[str], *, check: bool = True, input: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        res = subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True, text=True,
                             input=input, timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"in {self.name}: {' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
        return res

    def spawn(self, cmd: list[str], **kw) -> subprocess.Popen:  # type: ignore[no-untyped-def, type-arg]
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], start_new_session=True, **kw)
        self._procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._procs = []
        remove_namespace(self.name)


def remove_namespace(name: str) -> None:
    """Kill what still runs in the namespace, then delete it (its veths go with it)."""
    if not os.path.exists(f"/run/netns/{name}"):
        return
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


@dataclass
class Peer:
    ns: Namespace
    ifname: str  # its end of the link
    mac: str


class Lab:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        n = f"{RUN_PREFIX}{os.getpid()}-{next(_counter)}"
        self._spaces: list[Namespace] = []
        self.target = self._ns(f"{n}t")
        self.clients: dict[str, Peer] = {}
        self.backends: dict[str, Peer] = {}
        try:
            self._build(n)
        except BaseException:
            self.close()
            raise

    def _ns(self, name: str) -> Namespace:
        ns = Namespace(name)
        self._spaces.append(ns)
        return ns

    # -- building -------------------------------------------------------------------------

    def _build(self, n: str) -> None:
        t, plan = self.target, self.plan
        for i, iface in enumerate(plan.all_interfaces()):
            client = self._ns(f"{n}c{i}") if iface in plan.interfaces else None
            holds_backends = iface in plan.backends
            if holds_backends and client is not None:
                add_bridge(t, iface)
                connect(t, f"kjc{i}", client, "c0")
                _enslave(t, f"kjc{i}", iface)
            elif client is not None:
                connect(t, iface, client, "c0")
            if holds_backends:
                backend = self._ns(f"{n}b{i}")
                if client is None:
                    connect(t, iface, backend, "b0")
                else:
                    connect(t, f"kjb{i}", backend, "b0")
                    _enslave(t, f"kjb{i}", iface)
                self.backends[iface] = Peer(backend, "b0", _mac(backend, "b0"))
                for addr in plan.backends[iface]:
                    _add(backend, "b0", addr)
                self._gateway(backend, "b0", iface)
            for decl in plan.declared[iface]:
                _add(t, iface, decl)
            if client is not None:
                self.clients[iface] = Peer(client, "c0", _mac(client, "c0"))
                for version in plan.families:
                    for src in plan.sources_on(iface, version):
                        _add(client, "c0", src)
                self._gateway(client, "c0", iface)
        for version in (4, 6):
            for addr in plan.local.get(version, []):
                _add(t, "lo", addr)
        self._neighbours()
        for key, value in (("net.ipv4.ip_forward", int(plan.forwarding)),
                           ("net.ipv6.conf.all.forwarding", int(plan.forwarding)),
                           ("net.ipv4.icmp_ratelimit", 0), ("net.ipv6.icmp.ratelimit", 0),
                           ("net.ipv4.icmp_msgs_per_sec", 100000), ("net.ipv4.icmp_msgs_burst", 100000),
                           ("net.ipv4.tcp_synack_retries", 0)):
            t.exec(["sysctl", "-qw", f"{key}={value}"], check=False)
        for peer in self.backends.values():
            for key in ("net.ipv4.icmp_ratelimit", "net.ipv6.icmp.ratelimit"):
                peer.ns.exec(["sysctl", "-qw", f"{key}=0"], check=False)

    def _gateway(self, ns: Namespace, ifname: str, iface: str) -> None:
        for version in self.plan.families:
            gw = self.plan.address[iface][version]
            ns.exec(["ip", f"-{version}", "route", "add", "default", "via", gw, "dev", ifname, "onlink"])

    def _neighbours(self) -> None:
        """Static neighbour entries both ways on every link."""
        lines: list[str] = []
        for iface, peer in list(self.clients.items()) + list(self.backends.items()):
            t_mac = _mac(self.target, iface)
            peer_lines = [f"neigh replace {self.plan.address[iface][v]} lladdr {t_mac} dev {peer.ifname} nud permanent"
                          for v in self.plan.families]
            _batch(peer.ns, peer_lines)
            addrs = (self.plan.backends[iface] if peer in self.backends.values()
                     else [s for v in self.plan.families for s in self.plan.sources_on(iface, v)])
            lines += [f"neigh replace {a} lladdr {peer.mac} dev {iface} nud permanent" for a in addrs]
        _batch(self.target, lines)

    # -- the ruleset and the services -----------------------------------------------------

    def load(self, files: list[tuple[RulesetFile, Path]]) -> None:
        """Load the (rewritten) files in order with the real tools; raises on the first refusal."""
        for f, path in files:
            res = self.target.exec([*_TOOLS[f.loader], str(path)] if f.loader == "nft"
                                   else _TOOLS[f.loader], input=None if f.loader == "nft" else path.read_text(),
                                   check=False, timeout=120)
            if res.returncode != 0:
                raise RuntimeError(f"{f.loader} refused {f.path.name}: {res.stderr.strip()[:300]}")

    def start_listeners(self) -> None:
        ports = ",".join(str(p) for p in self.plan.ports)
        for ns in [self.target] + [p.ns for p in self.backends.values()]:
            proc = ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", ports, "--udp", ports,
                             "--bind", "::"], stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("listeners did not start")

    # -- probing --------------------------------------------------------------------------

    def route_round(self, iface: str) -> None:
        """Point the target's routes to every probe source of ``iface`` at ``iface``."""
        lines = [f"route replace {s}/{32 if v == 4 else 128} dev {iface}"
                 for v in self.plan.families for s in self.plan.sources_on(iface, v)]
        _batch(self.target, lines)

    def probe(self, iface: str, points: list[Point]) -> dict[Point, str]:
        return dict(run_in_namespace(self.clients[iface].ns.path, probe, points, timeout=PROBE_TIMEOUT,
                                     conversation=True))

    def close(self) -> None:
        for ns in reversed(self._spaces):
            ns.close()


def connect(a: Namespace, a_if: str, b: Namespace, b_if: str) -> None:
    """A veth pair created inside ``a`` (so a name like ``eth0`` never meets the host's), one end
    in each namespace, both up. (``ip`` rather than pyroute2: this runs in forked workers.)"""
    a.exec(["ip", "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b.name])
    a.exec(["ip", "link", "set", a_if, "up"])
    b.exec(["ip", "link", "set", b_if, "up"])


def add_bridge(ns: Namespace, name: str) -> None:
    ns.exec(["ip", "link", "add", name, "type", "bridge"])
    ns.exec(["ip", "link", "set", name, "up"])


def _add(ns: Namespace, ifname: str, cidr: str) -> None:
    if "/" not in cidr:
        cidr += "/128" if ":" in cidr else "/32"
    ns.exec(["ip", "addr", "add", cidr, "dev", ifname] + (["nodad"] if ":" in cidr else []))


def _mac(ns: Namespace, ifname: str) -> str:
    return ns.exec(["ip", "-o", "link", "show", "dev", ifname]).stdout.split("link/ether ")[1].split()[0]


def _enslave(ns: Namespace, port: str, bridge: str) -> None:
    ns.exec(["ip", "link", "set", port, "master", bridge])


def _batch(ns: Namespace, lines: list[str]) -> None:
    if lines:
        ns.exec(["ip", "-batch", "-"], input="\n".join(lines) + "\n")


def remove_leftovers() -> list[str]:
    """Remove what a killed worker of this run left behind."""
    found = sorted(n for n in os.listdir("/run/netns") if n.startswith(RUN_PREFIX)) if os.path.isdir("/run/netns") else []
    for name in found:
        remove_namespace(name)
    return found
