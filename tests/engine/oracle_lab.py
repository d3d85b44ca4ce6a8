"""A target namespace with greeting listeners and a client namespace to probe it from.

target (T): eth0 198.18.1.1/24 fd00:1::1/64, eth1 198.18.2.1/24 fd00:2::1/64,
            eth2 198.18.3.1/24 fd00:3::1/64 (forwarding on), TCP and UDP listeners on LISTEN_PORTS
client (C): c0 198.18.1.10/.11/.200 fd00:1::a/::b/::c8 (→ T eth0), c1 198.18.2.10 fd00:2::a (→ T eth1)
backend (B): 198.18.3.2 fd00:3::2 behind T eth2 (a "container" to DNAT to), same listeners

Rulesets (and the ipsets they use) are loaded into T with the real tools, probed from C, and the evaluator's verdicts
(read live from T, and offline from the same files) are compared with what the client
experienced: a TCP port is open only when the listener's greeting arrives (the whole
conversation got through), a UDP port when the echo comes back. IPv6 neighbours are static,
so a firewall under test cannot break neighbour discovery.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path

from auditor.target.runner import run_in_namespace
from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.model.host import HostContext
from auditor.model.ruleset import Ruleset
from auditor.probe.connect import Point, probe
from auditor.probe.namespaces import Namespace, connect
from tests.engine.rulegen import LISTEN_PORTS

TARGET = {"eth0": "198.18.1.1", "eth1": "198.18.2.1"}
TARGET6 = {"eth0": "fd00:1::1", "eth1": "fd00:2::1"}
SOURCES = {"eth0": ("198.18.1.10", "198.18.1.11", "198.18.1.200"), "eth1": ("198.18.2.10",)}
SOURCES6 = {"eth0": ("fd00:1::a", "fd00:1::b", "fd00:1::c8"), "eth1": ("fd00:2::a",)}
EXPECTED = {"accept": "open", "drop": "silent", "reject": "refused"}
EMPTY_LEGACY = (
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
)
_ORDER_DEPENDENT = re.compile(r"one order gives (\w+), another (\w+)")
OFFLINE_INTERFACES = {"eth0": ["198.18.1.1/24", "fd00:1::1/64"], "eth1": ["198.18.2.1/24", "fd00:2::1/64"],
                      "eth2": ["198.18.3.1/24", "fd00:3::1/64"]}


class OracleLab:
    def __init__(self, target: Namespace, client: Namespace, backend: Namespace) -> None:
        self.t, self.c, self.b = target, client, backend
        connect(target, "eth0", client, "c0")
        connect(target, "eth1", client, "c1")
        connect(target, "eth2", backend, "eth0")
        for name, addrs in OFFLINE_INTERFACES.items():
            for a in addrs:
                _add(target, name, a)
        target.sysctl("net.ipv4.ip_forward", "1")
        target.sysctl("net.ipv6.conf.all.forwarding", "1")
        _add(backend, "eth0", "198.18.3.2/24")
        _add(backend, "eth0", "fd00:3::2/64")
        backend.add_route("0.0.0.0/0", gateway="198.18.3.1")
        backend.add_route("::/0", gateway="fd00:3::1")
        for a in SOURCES["eth0"]:
            _add(client, "c0", f"{a}/24")
        for a in SOURCES6["eth0"]:
            _add(client, "c0", f"{a}/64")
        _add(client, "c1", "198.18.2.10/24")
        _add(client, "c1", "fd00:2::a/64")
        self._static_neighbours()
        # REJECT answers are ICMP errors, which the kernel rate-limits per peer: lift that in
        # the lab so "refused" is never misread as "silent".
        target.sysctl("net.ipv4.icmp_ratelimit", "0")
        target.sysctl("net.ipv6.icmp.ratelimit", "0")
        target.exec(["sysctl", "-qw", "net.ipv4.icmp_msgs_per_sec=100000"], check=False)
        target.exec(["sysctl", "-qw", "net.ipv4.icmp_msgs_burst=100000"], check=False)
        # a handshake whose ACK is dropped must not keep the listener's queue busy with retries
        for ns in (target, backend):
            ns.sysctl("net.ipv4.tcp_synack_retries", "0")
        ports = ",".join(str(p) for p in LISTEN_PORTS)
        for ns in (target, backend):
            proc = ns.spawn(
                [sys.executable, "-m", "auditor.probe.servers", "--tcp", ports, "--udp", ports, "--bind", "::"],
                stdout=subprocess.PIPE, text=True,
            )
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        # iptables-legacy tables register their hooks when first used and keep them until the
        # namespace goes; nf_tables tables are re-created by every load. Create the legacy ones
        # now, so that at equal priority they are always registered first (the offline files
        # are then given in that order).
        target.exec(["iptables-legacy-restore"], input=EMPTY_LEGACY)
        target.exec(["ip6tables-legacy-restore"], input=EMPTY_LEGACY)

    def _static_neighbours(self) -> None:
        """Permanent neighbour entries both ways: no NDP/ARP for the firewall to get in the way of."""
        links = ((self.t, "eth0", self.c, "c0"), (self.t, "eth1", self.c, "c1"), (self.t, "eth2", self.b, "eth0"))
        for a, a_if, b, b_if in links:
            for x, x_if, y, y_if in ((a, a_if, b, b_if), (b, b_if, a, a_if)):
                mac = y.exec(["ip", "-o", "link", "show", "dev", y_if]).stdout.split("link/ether ")[1].split()[0]
                for addr in _addresses(y, y_if):
                    x.exec(["ip", "neigh", "replace", addr, "lladdr", mac, "dev", x_if, "nud", "permanent"])

    # -- loading ------------------------------------------------------------------------------

    def reset(self) -> None:
        self.t.exec(["nft", "flush", "ruleset"])
        for family, names in (("iptables", "ip_tables_names"), ("ip6tables", "ip6_tables_names")):
            # every legacy table a ruleset created (mangle, raw, …), not only filter and nat,
            # goes back to empty: a table keeps its hooks, but no rule or policy stays behind
            present = self.t.exec(["cat", f"/proc/net/{names}"]).stdout.split()
            self.t.exec([f"{family}-legacy-restore"], input=EMPTY_LEGACY + _empty_legacy(present))
        self.t.exec(["ipset", "destroy"])  # after the rules that referenced the sets are gone
        self.t.exec(["conntrack", "-F"], check=False)
        self.t.exec(["conntrack", "-F", "-f", "ipv6"], check=False)

    def load(self, backend: str, text: str) -> None:
        tool = {"iptables-legacy": "iptables-legacy-restore", "iptables-nft": "iptables-nft-restore",
                "ip6tables-legacy": "ip6tables-legacy-restore", "ip6tables-nft": "ip6tables-nft-restore",
                "nftables": "nft", "ipset": "ipset"}[backend]
        cmd = [tool, "-f", "-"] if tool == "nft" else [tool, "restore"] if tool == "ipset" else [tool]
        self.t.exec(cmd, input=text)

    # -- the three views ---------------------------------------------------------------------

    def points(self) -> list[Point]:
        return [
            Point(src, targets[iface], proto, port)
            for targets, sources in ((TARGET, SOURCES), (TARGET6, SOURCES6))
            for iface, srcs in sources.items()
            for src in srcs
            for proto in ("tcp", "udp")
            for port in LISTEN_PORTS
        ]

    def kernel(self, points: list[Point] | None = None) -> dict[Point, str]:
        return run_in_namespace(self.c.path, probe, points or self.points(), timeout=0.8, conversation=True)

    def live_view(self) -> tuple[Ruleset, HostContext]:
        from auditor.collect.ruleset import collect_firewall_view

        return run_in_namespace(self.t.path, collect_firewall_view)

    @staticmethod
    def offline_view(files: list[Path]) -> tuple[Ruleset, HostContext]:
        from auditor.collect.host import offline_host
        from auditor.collect.ruleset import read_ruleset_files

        rules = read_ruleset_files([str(f) for f in files])
        return rules, offline_host(OFFLINE_INTERFACES, forwarding=True)


_BUILTIN_CHAINS = {"raw": ("PREROUTING", "OUTPUT"), "security": ("INPUT", "FORWARD", "OUTPUT"),
                   "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")}


def _empty_legacy(tables: list[str]) -> str:
    """iptables-restore input that empties the legacy tables besides filter and nat."""
    return "".join(
        f"*{t}\n" + "".join(f":{c} ACCEPT [0:0]\n" for c in _BUILTIN_CHAINS[t]) + "COMMIT\n"
        for t in tables if t in _BUILTIN_CHAINS
    )


def _add(ns: Namespace, ifname: str, cidr: str) -> None:
    """An address usable at once: IPv6 without duplicate address detection."""
    ns.exec(["ip", "addr", "add", cidr, "dev", ifname] + (["nodad"] if ":" in cidr else []))


def _addresses(ns: Namespace, ifname: str) -> list[str]:
    out = ns.exec(["ip", "-o", "addr", "show", "dev", ifname]).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines()
            if " inet" in line and " scope link" not in line]


def predicted(ruleset: Ruleset, host: HostContext) -> dict[Point, tuple[str, str]]:
    """The evaluator's verdict (and explanation) for every lab point."""
    out: dict[Point, tuple[str, str]] = {}
    for targets, all_sources in ((TARGET, SOURCES), (TARGET6, SOURCES6)):
        for iface, sources in all_sources.items():
            exp = evaluate_exposure(ruleset, host, ExposureQuery(iface, targets[iface], sources))
            for e in exp.entries:
                net = ipaddress.ip_network(e.source)
                for src in sources:
                    if ipaddress.ip_address(src) not in net:
                        continue
                    for port in LISTEN_PORTS:
                        if e.ports[0] <= port <= e.ports[1]:
                            why = "; ".join(o.text for o in e.decided_by) + (f" ({e.reason})" if e.reason else "")
                            out[Point(src, targets[iface], e.protocol, port)] = (e.verdict, why)
    return out


def acceptable(verdict: str, why: str) -> set[str]:
    """What the client may see for a verdict: one outcome, or — where the base-chain order is
    unknowable and the model says so — the outcome of any order it names."""
    if verdict == "indeterminate":
        m = _ORDER_DEPENDENT.search(why)
        if m:
            return {EXPECTED.get(m.group(1), "?"), EXPECTED.get(m.group(2), "?")}
        return set()
    return {EXPECTED[verdict]}


def disagreements(kernel: dict[Point, str], model: dict[Point, tuple[str, str]]) -> list[str]:
    out = []
    for p, got in sorted(kernel.items(), key=lambda kv: (kv[0].source, kv[0].protocol, kv[0].port)):
        verdict, why = model[p]
        if got not in acceptable(verdict, why):
            out.append(f"{p.source}->{p.destination} {p.protocol}/{p.port}: kernel {got}, model {verdict} [{why}]")
    return out


def order_dependent(model: dict[Point, tuple[str, str]]) -> int:
    """How many points the model left open because the kernel's chain order is unknowable."""
    return sum(1 for v, why in model.values() if v == "indeterminate" and _ORDER_DEPENDENT.search(why))
