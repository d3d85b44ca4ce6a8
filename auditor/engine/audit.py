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
