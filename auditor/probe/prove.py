"""``fwaudit verify --prove``: a throwaway copy of the host with the candidate loaded, probed.

The copy is one namespace (``fwa-prove-*``) whose declared interfaces are bridges carrying the
declared addresses, so a vantage point attached to a bridge arrives *on that interface* and
``iifname`` rules match as in production. The candidate is loaded with the real tools
(``ipset restore``/``iptables-restore``/``ip6tables-restore``/``nft -f``, commands the caller
gives, in the order given), declared
services get real listeners that greet their clients, and :meth:`LabCopy.probe` scans and
converses from one source on one interface. Nothing on the real host is touched; the
namespace is removed on close. Addresses must be lab addresses (198.18.0.0/15): probes only go
where fwaudit built the lab. Comparing what came back with the static verdict is the caller's
job.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Literal

from auditor.errors import EnvironmentProblem, InputError
from auditor.model.scan import LAB_NETWORKS, ConversationProbe, ScanEntry, ScanResult
from auditor.probe import synscan
from auditor.probe.connect import Point
from auditor.probe.connect import probe as converse
from auditor.probe.journal import PROVE_PREFIX
from auditor.probe.namespaces import Namespace
from auditor.probe.vantage import VantagePoint
from auditor.target.runner import run_in_namespace


class LabCopy:
    """The namespace that stands in for the host: bridges as its ``interfaces`` (name →
    ``ADDR/LEN`` list), each of ``loaders`` run in it, listeners on ``tcp`` and ``udp``."""

    def __init__(self, interfaces: dict[str, list[str]], loaders: Sequence[Sequence[str]],
                 tcp: Sequence[int], udp: Sequence[int]) -> None:
        for addrs in interfaces.values():
            for a in addrs:
                ip = ipaddress.ip_interface(a).ip
                if not any(ip in n for n in LAB_NETWORKS):
                    raise InputError(f"--prove builds a lab copy of the host and probes it: interface address {a} "
                                     "must be inside 198.18.0.0/15 (or fd00::/8)")
        self.listening: frozenset[tuple[Literal["tcp", "udp"], int]] = frozenset(
            {("tcp", p) for p in tcp} | {("udp", p) for p in udp})
        self.ns = Namespace(f"{PROVE_PREFIX}{os.getpid()}")
        try:
            for name, addrs in interfaces.items():
                self.ns.exec(["ip", "link", "add", name, "type", "bridge"])
                for a in addrs:
                    self.ns.exec(["ip", "addr", "add", a, "dev", name] + (["nodad"] if ":" in a else []))
                self.ns.exec(["ip", "link", "set", name, "up"])
            for cmd in loaders:
                self.ns.exec(cmd)
            proc = self.ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", ",".join(map(str, tcp)),
                                  "--udp", ",".join(map(str, udp))], stdout=subprocess.PIPE, text=True)
            if proc.stdout is None or proc.stdout.readline().strip() != "ready":
                raise EnvironmentProblem("could not start listeners for the declared services in the proof namespace")
        except BaseException:
            self.ns.close()
            raise

    def probe(self, source: str, interface: str, destination: str, tcp_ports: Sequence[int],
              udp_ports: Sequence[int]) -> tuple[ScanResult, tuple[ConversationProbe, ...]]:
        """Scan ``destination`` from ``source`` arriving on ``interface``, and hold a whole
        conversation with every listener."""
        with VantagePoint(self.ns.path, [source], destination=destination, bridge=interface) as vp:
            assert vp.ns is not None
            rows, _ = run_in_namespace(vp.ns.path, synscan.syn_scan, [source], destination, list(tcp_ports))
            entries: list[ScanEntry] = synscan.ranges(rows, "tcp")
            if udp_ports:
                entries += synscan.ranges(run_in_namespace(vp.ns.path, synscan.udp_scan, [source], destination,
                                                           list(udp_ports)), "udp")
            points = [Point(source, destination, proto, port) for proto, port in sorted(self.listening)]
            talked = run_in_namespace(vp.ns.path, converse, points, timeout=1.0, conversation=True)
        scan = ScanResult("proof", interface, destination, tuple(entries))
        return scan, tuple(ConversationProbe(p.source, p.protocol, p.port, outcome) for p, outcome in talked.items())

    def close(self) -> None:
        self.ns.close()

    def __enter__(self) -> LabCopy:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
