"""The result of an audit: all four views side by side, plus what reconciling them found."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.model.exposure import Exposure
from auditor.model.finding import Finding, Severity
from auditor.model.listener import Listener
from auditor.model.policy import Policy
from auditor.model.ruleset import Ruleset
from auditor.model.scan import ScanResult


@dataclass(frozen=True)
class ZoneExposure:
    """The firewall view for one zone on one arrival interface (and address family)."""

    zone: str
    exposure: Exposure


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit saw and concluded. Renderers only read this.

    Views are optional because each has its own source: ``firewall`` needs readable rules,
    ``probed`` needs ``--scan``. A missing view is listed in ``notes`` with the reason.
    """

    target: str
    policy: Policy
    listening: tuple[Listener, ...]
    findings: tuple[Finding, ...]
    started_at: float
    duration: float
    ruleset: Ruleset | None = None
    firewall: tuple[ZoneExposure, ...] = ()
    probed: tuple[ScanResult, ...] = ()
    notes: tuple[str, ...] = ()
    checks: tuple[tuple[str, str, bool], ...] = field(default=())  # (check id, subject, passed)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def at_or_above(self, threshold: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity >= threshold)
