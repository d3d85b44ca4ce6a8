"""``fwaudit verify``: candidate ruleset files against the policy before they ship.

For every zone arriving on every declared interface, each declared service must be admitted and
nothing undeclared may be (the ``verify`` checks). ``--against`` / ``--against-target`` adds
what the candidate opens or closes compared to an older file or the live firewall; ``--prove``
loads the candidate into a throwaway lab copy of the host and probes it from every zone.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Sequence
from dataclasses import replace

from auditor.app.loaders import load_policy
from auditor.app.options import parse_interfaces
from auditor.collect.host import offline_host
from auditor.collect.ruleset import collect_ruleset, detect_format, read_ruleset_files, split_spec
from auditor.engine.checks import CheckInput, run_checks
from auditor.engine.crosscheck import compare, conversation_comparisons
from auditor.engine.diff import diff_views
from auditor.engine.zones import probe_sources, zone_exposures
from auditor.errors import InputError
from auditor.inputs import read_input_file
from auditor.model.exposure import Exposure
from auditor.model.policy import Policy
from auditor.model.result import AuditResult, ReachabilityChange, ZoneExposure
from auditor.model.scan import Comparison
from auditor.probe.prove import LabCopy
from auditor.target.targets import parse_target, require_root

#: Ports probed per declared range (and per admitted range beyond 1-1024) by ``--prove``.
MAX_PORTS_PER_RANGE = 32


def verify(policy_path: str | os.PathLike[str], rulesets: Sequence[str], interfaces: Sequence[str], *,
           forwarding: bool = False, against: Sequence[str] = (), against_target: str | None = None,
           prove: bool = False) -> AuditResult:
    started = time.time()
    policy = load_policy(policy_path)
    declared = parse_interfaces(interfaces)
    if not declared:
        raise InputError("give at least one --interface NAME=ADDR/LEN")
    host = offline_host(declared, forwarding=forwarding)
    rules = read_ruleset_files(list(rulesets))
    views = zone_exposures(rules, host, policy, target=rules.source)
    comparisons: tuple[tuple[str | None, tuple[Comparison, ...]], ...] = ()
    notes: list[str] = list(rules.notes)
    probed = 0
    if prove:
        require_root("--prove (building a lab copy of the host)")
        comparisons, proof_notes = _prove(policy, rulesets, declared, views)
        notes += proof_notes
        probed = sum(c.ports[1] - c.ports[0] + 1 for _, comps in comparisons for c in comps)
    findings, checks = run_checks("verify", CheckInput(policy, (), views, comparisons))
    if prove:
        disagreements = sum(1 for f in findings if f.check == "FWA107")
        notes.append(f"proof: {probed} zone/interface/port points probed in a lab copy, "
                     f"{disagreements} disagreement(s) with the static verdict")
    diff: tuple[ReachabilityChange, ...] | None = None
    if against or against_target:
        if against:
            old = read_ruleset_files(list(against))
            label = ", ".join(against)
        else:
            assert against_target is not None
            old = parse_target(against_target).call(collect_ruleset)
            label = against_target
        diff = diff_views(zone_exposures(old, host, policy, target=label), views)
        notes += [f"vs {label}: zone {c.zone} {c.source} {c.protocol} "
                  f"{c.ports[0] if c.ports[0] == c.ports[1] else f'{c.ports[0]}-{c.ports[1]}'}: {c.before} -> {c.after}"
                  for c in diff] or [f"vs {label}: no change in reachability"]
    return AuditResult(
        target=rules.source, policy=policy, listening=(), findings=findings, started_at=started,
        duration=time.time() - started, ruleset=rules, firewall=views, notes=tuple(notes), checks=checks, diff=diff,
    )


def loader_command(spec: str) -> list[str]:
    """The real tool that loads a ``--ruleset`` file (prefix or detected format)."""
    kind, path = split_spec(spec)
    resolved = str(path.resolve())
    kind = kind or detect_format(read_input_file(path, what="ruleset file"), str(path))
    if kind == "nft":
        return ["nft", "-f", resolved]
    if kind == "ipset":
        return ["ipset", "restore", "-file", resolved]
    return ["ip6tables-restore" if kind == "ip6tables" else "iptables-restore", resolved]


def _declared_ports(policy: Policy) -> tuple[list[int], list[int]]:
    tcp: set[int] = set()
    udp: set[int] = set()
    for s in policy.services:
        ports = range(s.ports[0], min(s.ports[1], s.ports[0] + MAX_PORTS_PER_RANGE - 1) + 1)
        (tcp if s.protocol == "tcp" else udp).update(ports)
    return sorted(tcp), sorted(udp)


def _prove(policy: Policy, rulesets: Sequence[str], interfaces: dict[str, list[str]], views: Sequence[ZoneExposure]
           ) -> tuple[tuple[tuple[str | None, tuple[Comparison, ...]], ...], list[str]]:
    """Probe a lab copy of the host from every zone on every interface; each probed range beside
    the static verdict for the zone's representative source."""
    tcp, udp = _declared_ports(policy)
    notes: list[str] = []
    out: list[tuple[str | None, tuple[Comparison, ...]]] = []
    loads = sorted((loader_command(f) for f in rulesets), key=lambda c: c[0] != "ipset")  # sets before their rules
    with LabCopy(interfaces, loads, tcp, udp) as lab:
        for zone, rep, why in probe_sources(policy):
            if rep is None:
                notes.append(f"proof: zone {zone} not probed: {why}")
                continue
            for iface, addrs in interfaces.items():
                dest = str(ipaddress.ip_interface(addrs[0]).ip)
                view = next((v for v in views if v.zone == zone and v.exposure.in_interface == iface
                             and v.exposure.destination == dest), None)
                if view is None:
                    continue
                opened = {p for e in view.exposure.entries if e.protocol == "tcp" and e.verdict == "accept"
                          for p in range(e.ports[0], min(e.ports[1], e.ports[0] + MAX_PORTS_PER_RANGE - 1) + 1)}
                scan, talked = lab.probe(rep, iface, dest, sorted(set(tcp) | set(range(1, 1025)) | opened), udp)
                exposure = _restrict(view.exposure, rep)
                comps = compare(scan, exposure, lambda proto, port: (proto, port) in lab.listening)
                comps += conversation_comparisons(talked, exposure)
                out.append((zone, tuple(comps)))
    return tuple(out), notes


def _restrict(exposure: Exposure, source: str) -> Exposure:
    """The entries of a zone's exposure that cover the representative source."""
    ip = ipaddress.ip_address(source)
    return replace(exposure, entries=tuple(e for e in exposure.entries if ip in ipaddress.ip_network(e.source)))
