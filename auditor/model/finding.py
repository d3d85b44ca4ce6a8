"""Findings: what reconciliation concludes, with evidence and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from auditor.model.evidence import Evidence


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One problem.

    ``id`` is stable across runs for the same problem (check code + subject, no timestamps or
    counters) so baselines and ticket systems can track it. ``check`` is the finding type
    (e.g. ``FWA101``), ``title`` its short name. ``evidence`` holds what the check found in
    the views (listeners, rule origins, probe results; see :mod:`auditor.model.evidence`) and
    ``fix`` a concrete remedy.
    """

    id: str
    check: str
    title: str
    severity: Severity
    message: str
    evidence: Evidence | None = field(default=None, hash=False, compare=False)
    fix: str | None = None
    zone: str | None = None
    protocol: str | None = None
    ports: tuple[int, int] | None = None
    location: tuple[str, int] | None = None  # (file, line) for SARIF


@dataclass(frozen=True)
class CheckOutcome:
    """One thing a check verified, and whether it held: ``FWA002`` / ``ssh tcp/22 listening``.

    Findings say what is wrong; outcomes also say what was checked and passed (JUnit reports
    a passing test case for each)."""

    check: str
    subject: str
    passed: bool


@dataclass(frozen=True)
class CheckInfo:
    """A check as users see it (``fwaudit checks``, the README's findings table).

    ``severity`` is the default, ``also`` the other severities its findings may have;
    ``scopes`` the commands it runs in (``audit``, ``verify``), ``needs`` the view it reads
    (``listening``, ``firewall``, ``probe``); ``summary`` is one line, ``doc`` the whole text."""

    id: str
    title: str
    severity: Severity
    also: tuple[Severity, ...]
    scopes: tuple[str, ...]
    needs: str
    summary: str
    doc: str

    @property
    def severities(self) -> tuple[Severity, ...]:
        return (self.severity, *self.also)
