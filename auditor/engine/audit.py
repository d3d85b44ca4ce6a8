"""An audit: the policy held against a snapshot of the host, every applicable check run.

The firewall view is optional — a snapshot whose rules could not be read still gets the
declared vs listening findings, and its notes say why the firewall view is missing. Probe
results (``audit --scan``) come in as comparisons with the model, per zone.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.engine.checks import CheckInput, run_checks
from auditor.engine.zones import zone_exposures
from auditor.model.policy import Policy
from auditor.model.result import AuditResult, ZoneExposure
from auditor.model.scan import Comparison, ScanResult
from auditor.model.snapshot import HostSnapshot


def audit(policy: Policy, snapshot: HostSnapshot, *, started_at: float, duration: float = 0.0,
          probed: Sequence[ScanResult] = (), comparisons: Sequence[tuple[str | None, tuple[Comparison, ...]]] = (),
          notes: Sequence[str] = ()) -> AuditResult:
    """Evaluate the firewall for every zone of ``policy`` on every address of the snapshot's
    host, and run every audit check. ``notes`` are added to the snapshot's own."""
    views: tuple[ZoneExposure, ...] | None = None
    if snapshot.ruleset is not None and snapshot.host is not None:
        views = zone_exposures(snapshot.ruleset, snapshot.host, policy, target=snapshot.target)
    findings, checks = run_checks("audit", CheckInput(policy, snapshot.listeners, views, tuple(comparisons)))
    return AuditResult(
        target=snapshot.target,
        policy=policy,
        listening=snapshot.listeners,
        findings=findings,
        started_at=started_at,
        duration=duration,
        ruleset=snapshot.ruleset,
        firewall=views or (),
        probed=tuple(probed),
        notes=snapshot.notes + (snapshot.ruleset.notes if snapshot.ruleset is not None else ()) + tuple(notes),
        checks=checks,
    )


def scanned_ports(policy: Policy, snapshot: HostSnapshot, per_range: int = 64) -> list[int]:
    """What ``audit --scan`` probes: every port listening beyond loopback or declared (at most
    ``per_range`` of a declared range) — where a disagreement matters — rather than 65,535."""
    return sorted({l.port for l in snapshot.listeners if not l.is_loopback}
                  | {p for s in policy.services for p in range(s.ports[0], min(s.ports[1], s.ports[0] + per_range) + 1)})
