"""An audit: gather the views, reconcile them, return one :class:`AuditResult`.

Collection happens inside the target (``collect_views`` runs there); everything after is pure.
The firewall view is optional — a target whose rules cannot be read still gets the declared vs
listening findings, and the result says why the firewall view is missing.
"""

from __future__ import annotations

import time
from typing import Sequence

from auditor.engine.reconcile import reconcile_listening
from auditor.engine.reconcile_firewall import firewall_findings
from auditor.engine.zones import zone_exposures
from auditor.errors import EnvironmentProblem
from auditor.model.finding import Finding
from auditor.model.host import HostContext
from auditor.model.listener import Listener
from auditor.model.policy import Policy
from auditor.model.result import AuditResult
from auditor.model.ruleset import Ruleset


def collect_views(with_firewall: bool = True):
    """(listeners, ruleset or None, host or None, notes) of the current namespace."""
    from auditor.collect.sockets import collect_listeners

    listeners = collect_listeners()
    if not with_firewall:
        return listeners, None, None, ("firewall view not requested",)
    from auditor.collect.host import collect_host
    from auditor.collect.ruleset import collect_ruleset, incomplete_backends

    try:
        ruleset, host = collect_ruleset(), collect_host()
    except EnvironmentProblem as e:
        return listeners, None, None, (f"firewall view unavailable: {e.message}",)
    notes = tuple(f"firewall view may be incomplete: {n}" for n in incomplete_backends(ruleset))
    return listeners, ruleset, host, notes


def run_audit(
    policy: Policy,
    listeners: Sequence[Listener],
    *,
    target: str,
    started_at: float,
    ruleset: Ruleset | None = None,
    host: HostContext | None = None,
    notes: Sequence[str] = (),
) -> AuditResult:
    findings, checks = reconcile_listening(policy, listeners)
    firewall = ()
    if ruleset is not None and host is not None:
        firewall = zone_exposures(ruleset, host, policy, target=target)
        fw_findings, fw_checks = firewall_findings(policy, listeners, firewall)
        findings += fw_findings
        checks += fw_checks
    return AuditResult(
        target=target,
        policy=policy,
        listening=tuple(listeners),
        findings=sort_findings(findings),
        started_at=started_at,
        duration=time.time() - started_at,
        ruleset=ruleset,
        firewall=firewall,
        notes=tuple(notes) + (ruleset.notes if ruleset is not None else ()),
        checks=tuple(checks),
    )


def sort_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (-int(f.severity), f.check, f.id)))


def with_probes(result: AuditResult, target: str) -> AuditResult:
    """Add the *probed* view: scan from each zone's representative address, compare with the
    model for the interface the probe really arrived on, and add FWA107 for disagreements.

    Ports probed: everything listening or declared (TCP and UDP) — the ports where a
    disagreement matters — rather than all 65,535."""
    from dataclasses import replace

    from auditor.collect.target import parse_target
    from auditor.engine.crosscheck import disagreement_findings
    from auditor.errors import InputError
    from auditor.probe.scan import explain_results, run_scan, zone_representatives

    tgt = parse_target(target)
    ports = sorted({l.port for l in result.listening if not l.is_loopback}
                   | {p for s in result.policy.services for p in range(s.ports[0], min(s.ports[1], s.ports[0] + 64) + 1)})
    if not ports:
        return replace(result, notes=result.notes + ("scan skipped: nothing listening or declared",))
    probed = []
    findings = list(result.findings)
    notes = list(result.notes)
    for zone in result.policy.zones:
        try:
            rep = zone_representatives(result.policy, [zone.name])[zone.name]
        except InputError as e:
            notes.append(f"zone {zone.name} not scanned: {e.message}")
            continue
        scans = run_scan(tgt, [rep], ports, ["tcp", "udp"])
        probed += scans
        from auditor.engine.crosscheck import Comparison
        comps = [Comparison(d["source"], d["protocol"], tuple(d["ports"]), d["probed"], d["verdict"], d["agrees"],
                            _entry_stub(d)) for d in explain_results(tgt, scans)]
        findings += disagreement_findings(comps, zone.name)
    return replace(result, probed=tuple(probed), findings=sort_findings(findings), notes=tuple(notes))


def _entry_stub(d: dict):
    from auditor.model.exposure import ExposureEntry
    from auditor.model.ruleset import Origin

    origins = (Origin("file", "", "", "", 0, d["rule"]),) if d.get("rule") else ()
    return ExposureEntry(d["source"], d["protocol"], tuple(d["ports"]), d["verdict"], origins)
