"""A target namespace with real listeners and a client namespace to probe it from.

target (T): eth0 198.18.1.1/24, eth1 198.18.2.1/24, eth2 198.18.3.1/24 (forwarding on),
            TCP and UDP listeners on LISTEN_PORTS
client (C): c0 198.18.1.10/.11/.200 (→ T eth0), c1 198.18.2.10 (→ T eth1)
backend (B): 198.18.3.2 behind T eth2 (a "container" to DNAT to), same listeners

Rulesets are loaded into T with the real tools, probed from C, and the evaluator's verdicts
(read live from T, and offline from the same files) are compared with what the kernel did.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

from auditor.collect.netns import run_in_namespace
from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.model.host import HostContext
from auditor.model.ruleset import Ruleset
from auditor.probe.connect import Point, probe
from auditor.probe.namespaces import Namespace, connect
from tests.engine.rulegen import LISTEN_PORTS

TARGET = {"eth0": "198.18.1.1", "eth1": "198.18.2.1"}
SOURCES = {"eth0": ("198.18.1.10", "198.18.1.11", "198.18.1.200"), "eth1": ("198.18.2.10",)}
EXPECTED = {"accept": "open", "drop": "silent", "reject": "refused"}
EMPTY_LEGACY = (
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
)


class OracleLab:
    def __init__(self, target: Namespace, client: Namespace, backend: Namespace) -> None:
        self.t, self.c, self.b = target, client, backend
        connect(target, "eth0", client, "c0")
        connect(target, "eth1", client, "c1")
        connect(target, "eth2", backend, "eth0")
        target.add_address("eth0", "198.18.1.1/24")
        target.add_address("eth1", "198.18.2.1/24")
        target.add_address("eth2", "198.18.3.1/24")
        target.sysctl("net.ipv4.ip_forward", "1")
        backend.add_address("eth0", "198.18.3.2/24")
        backend.add_route("0.0.0.0/0", gateway="198.18.3.1")
        for a in SOURCES["eth0"]:
            client.add_address("c0", f"{a}/24")
        client.add_address("c1", "198.18.2.10/24")
        # REJECT answers are ICMP errors, which the kernel rate-limits per peer: lift that in
        # the lab so "refused" is never misread as "silent".
        target.sysctl("net.ipv4.icmp_ratelimit", "0")
        target.exec(["sysctl", "-qw", "net.ipv4.icmp_msgs_per_sec=100000"], check=False)
        target.exec(["sysctl", "-qw", "net.ipv4.icmp_msgs_burst=100000"], check=False)
        # The oracle judges new connections, i.e. the SYN. Keep the rest of each handshake (the
        # client's ACK, its RST on close) away from the target, so rules that reset or drop
        # established traffic cannot race with the probe reading the SYN-ACK.
        client.exec(["nft", "-f", "-"], input=(
            "table inet fwa_client {\n chain out {\n  type filter hook output priority 0; policy accept;\n"
            "  tcp flags & (syn | ack) != syn drop\n }\n}\n"))
        # ...and since handshakes never complete, let the servers forget half-open connections
        # quickly: a new probe reusing a 4-tuple must not meet a stale SYN_RECV entry.
        for ns in (target, backend):
            ns.sysctl("net.ipv4.tcp_synack_retries", "0")
        ports = ",".join(str(p) for p in LISTEN_PORTS)
        for ns in (target, backend):
            proc = ns.spawn(
                [sys.executable, "-m", "auditor.probe.servers", "--tcp", ports, "--udp", ports],
                stdout=subprocess.PIPE, text=True,
            )
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        self.legacy_used = False

    # -- loading ------------------------------------------------------------------------------

    def reset(self) -> None:
        self.t.exec(["nft", "flush", "ruleset"])
        if self.legacy_used:
            self.t.exec(["iptables-legacy-restore"], input=EMPTY_LEGACY)
        self.t.exec(["conntrack", "-F"], check=False)

    def load(self, backend: str, text: str) -> None:
        tool = {"iptables-legacy": "iptables-legacy-restore", "iptables-nft": "iptables-nft-restore",
                "nftables": "nft"}[backend]
        cmd = [tool, "-f", "-"] if tool == "nft" else [tool]
        self.legacy_used |= backend == "iptables-legacy"
        self.t.exec(cmd, input=text)

    # -- the three views ---------------------------------------------------------------------

    def points(self) -> list[Point]:
        return [
            Point(src, TARGET[iface], proto, port)
            for iface, sources in SOURCES.items()
            for src in sources
            for proto in ("tcp", "udp")
            for port in LISTEN_PORTS
        ]

    def kernel(self) -> dict[Point, str]:
        return run_in_namespace(self.c.path, probe, self.points(), timeout=0.6)

    def live_view(self) -> tuple[Ruleset, HostContext]:
        from auditor.collect.ruleset import collect_firewall_view

        return run_in_namespace(self.t.path, collect_firewall_view)

    @staticmethod
    def offline_view(files: list[Path]) -> tuple[Ruleset, HostContext]:
        from auditor.collect.host import offline_host
        from auditor.collect.ruleset import read_ruleset_files

        rules = read_ruleset_files([str(f) for f in files])
        host = offline_host(
            {"eth0": ["198.18.1.1/24"], "eth1": ["198.18.2.1/24"], "eth2": ["198.18.3.1/24"]},
            forwarding=True,
        )
        return rules, host


def predicted(ruleset: Ruleset, host: HostContext) -> dict[Point, tuple[str, str]]:
    """The evaluator's verdict (and explanation) for every lab point."""
    out: dict[Point, tuple[str, str]] = {}
    for iface, sources in SOURCES.items():
        exp = evaluate_exposure(ruleset, host, ExposureQuery(iface, TARGET[iface], sources))
        for e in exp.entries:
            net = ipaddress.ip_network(e.source)
            for src in sources:
                if ipaddress.ip_address(src) not in net:
                    continue
                for port in LISTEN_PORTS:
                    if e.ports[0] <= port <= e.ports[1]:
                        why = "; ".join(o.text for o in e.decided_by) + (f" ({e.reason})" if e.reason else "")
                        out[Point(src, TARGET[iface], e.protocol, port)] = (e.verdict, why)
    return out


def disagreements(kernel: dict[Point, str], model: dict[Point, tuple[str, str]]) -> list[str]:
    out = []
    for p, got in sorted(kernel.items(), key=lambda kv: (kv[0].source, kv[0].protocol, kv[0].port)):
        verdict, why = model[p]
        if EXPECTED.get(verdict) != got:
            out.append(f"{p.source}->{p.destination} {p.protocol}/{p.port}: kernel {got}, model {verdict} [{why}]")
    return out
