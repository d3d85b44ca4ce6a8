"""The result of an audit: all four views side by side, plus what reconciling them found."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.exposure import Exposure, VerdictName
from auditor.model.finding import CheckOutcome, Finding, Severity
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
class Drift:
    """Findings compared with an accepted baseline (``audit --baseline``): how many are new and
    unchanged, and the ids of those that were resolved."""

    baseline: str
    new: int
    unchanged: int
    resolved: tuple[str, ...]

    @property
    def drifted(self) -> bool:
        return self.new > 0 or bool(self.resolved)


@dataclass(frozen=True)
class ReachabilityChange:
    """``verify --against``: a (zone, source, protocol, ports) whose verdict the candidate
    changes from ``before`` to ``after``."""

    zone: str
    source: str
    protocol: str
    ports: tuple[int, int]
    before: VerdictName
    after: VerdictName


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit saw and concluded. Renderers only read this.

    Views are optional because each has its own source: ``firewall`` needs readable rules,
    ``probed`` needs ``--scan``. A missing view is listed in ``notes`` with the reason.
    ``checks`` are the outcomes of every check that ran (passed or not); ``drift`` is set for
    an audit against a baseline (``findings`` are then only the new ones), ``diff`` for a
    verify against an older ruleset.
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
    checks: tuple[CheckOutcome, ...] = ()
    drift: Drift | None = None
    diff: tuple[ReachabilityChange, ...] | None = None

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def at_or_above(self, threshold: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity >= threshold)
