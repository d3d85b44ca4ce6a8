"""``fwaudit verify --prove``: load the candidate into a throwaway copy of the host and probe it.

The copy is one namespace (``fwa-prove-*``) whose declared interfaces are bridges carrying the
declared addresses, so a vantage point attached to a bridge arrives *on that interface* and
``iifname`` rules match as in production. The candidate is loaded with the real tools
(``iptables-restore``/``ip6tables-restore``/``nft -f``), declared services get real listeners,
and every zone probes every interface. Any difference between the static verdict and the
kernel is an FWA107 finding. Nothing on the real host is touched; the namespace is removed.
Addresses must be lab addresses (198.18.0.0/15): probes only go where fwaudit built the lab.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys

from auditor.collect.netns import run_in_namespace
from auditor.engine.crosscheck import compare, conversation_comparisons, disagreement_findings
from auditor.errors import InputError
from auditor.model.finding import Finding
from auditor.model.policy import Policy
from auditor.model.result import ZoneExposure
from auditor.model.scan import ScanResult
from auditor.probe import synscan
from auditor.probe.connect import Point
from auditor.probe.connect import probe as converse
from auditor.probe.journal import PROVE_PREFIX
from auditor.probe.namespaces import Namespace
from auditor.probe.scan import zone_representatives
from auditor.probe.vantage import LAB_NETWORKS, VantagePoint

MAX_PORTS_PER_RANGE = 32


def _loader(spec: str) -> list[str]:
    """The real tool that loads a ``--ruleset`` file (prefix or detected format)."""
    from auditor.collect.ruleset import detect_format, split_spec
    from auditor.inputs import read_input_file

    kind, path = split_spec(spec)
    resolved = str(path.resolve())
    kind = kind or detect_format(read_input_file(path, what="ruleset file"), str(path))
    if kind == "nft":
        return ["nft", "-f", resolved]
    if kind == "ipset":
        return ["ipset", "restore", "-file", resolved]
    return ["ip6tables-restore" if kind == "ip6tables" else "iptables-restore", resolved]


def prove(policy: Policy, ruleset_files: list[str], interfaces: dict[str, list[str]],
          views: tuple[ZoneExposure, ...]) -> tuple[list[Finding], list[str]]:
    for addrs in interfaces.values():
        for a in addrs:
            ip = ipaddress.ip_interface(a).ip
            if not any(ip in n for n in LAB_NETWORKS):
                raise InputError(f"--prove builds a lab copy of the host and probes it: interface address {a} "
                                 "must be inside 198.18.0.0/15 (or 2001:db8::/32)")
    ns = Namespace(f"{PROVE_PREFIX}{os.getpid()}")
    notes: list[str] = []
    findings: list[Finding] = []
    try:
        for name, addrs in interfaces.items():
            ns.exec(["ip", "link", "add", name, "type", "bridge"])
            for a in addrs:
                ns.exec(["ip", "addr", "add", a, "dev", name] + (["nodad"] if ":" in a else []))
            ns.exec(["ip", "link", "set", name, "up"])
        loads = [_loader(f) for f in ruleset_files]
        for cmd in sorted(loads, key=lambda c: c[0] != "ipset"):  # sets before the rules using them
            ns.exec(cmd)
        tcp, udp = _declared_ports(policy)
        proc = ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", ",".join(map(str, tcp)),
                         "--udp", ",".join(map(str, udp))], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise InputError("could not start listeners for the declared services in the proof namespace")
        listening = {("tcp", p) for p in tcp} | {("udp", p) for p in udp}
        probed = 0
        for zone in policy.zones:
            try:
                rep = zone_representatives(policy, [zone.name])[zone.name]
            except InputError as e:
                notes.append(f"proof: zone {zone.name} not probed: {e.message}")
                continue
            for iface, addrs in interfaces.items():
                dest = str(ipaddress.ip_interface(addrs[0]).ip)
                view = next((v for v in views if v.zone == zone.name and v.exposure.in_interface == iface
                             and v.exposure.destination == dest), None)
                if view is None:
                    continue
                opened = {p for e in view.exposure.entries if e.protocol == "tcp" and e.verdict == "accept"
                          for p in range(e.ports[0], min(e.ports[1], e.ports[0] + MAX_PORTS_PER_RANGE - 1) + 1)}
                ports = sorted(set(tcp) | set(range(1, 1025)) | opened)
                with VantagePoint(ns.path, [rep], destination=dest, bridge=iface) as vp:
                    rows, _ = run_in_namespace(vp.ns.path, synscan.syn_scan, [rep], dest, ports)
                    entries = synscan.ranges(rows, "tcp")
                    if udp:
                        entries += synscan.ranges(run_in_namespace(vp.ns.path, synscan.udp_scan, [rep], dest, udp), "udp")
                    talked = run_in_namespace(vp.ns.path, converse, [Point(rep, dest, proto, port)
                                                                     for proto, port in sorted(listening)],
                                              timeout=1.0, conversation=True)
                scan = ScanResult("proof", iface, dest, tuple(entries))
                exp = _restrict(view.exposure, rep)
                comps = compare(scan, exp, lambda proto, port: (proto, port) in listening)
                comps += conversation_comparisons(talked, exp)
                probed += sum(c.ports[1] - c.ports[0] + 1 for c in comps)
                findings += disagreement_findings(comps, zone.name)
        notes.append(f"proof: {probed} zone/interface/port points probed in a lab copy, "
                     f"{len(findings)} disagreement(s) with the static verdict")
    finally:
        ns.close()
    return findings, notes


def _declared_ports(policy: Policy) -> tuple[list[int], list[int]]:
    tcp: set[int] = set()
    udp: set[int] = set()
    for s in policy.services:
        ports = range(s.ports[0], min(s.ports[1], s.ports[0] + MAX_PORTS_PER_RANGE - 1) + 1)
        (tcp if s.protocol == "tcp" else udp).update(ports)
    return sorted(tcp), sorted(udp)


def _restrict(exposure, source: str):
    """The entries of a zone's exposure that cover the representative source."""
    from dataclasses import replace

    ip = ipaddress.ip_address(source)
    entries = tuple(e for e in exposure.entries if ip in ipaddress.ip_network(e.source))
    return replace(exposure, entries=entries)
