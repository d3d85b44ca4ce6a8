"""Findings: what reconciliation concludes, with evidence and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls[text.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One problem.

    ``id`` is stable across runs for the same problem (check code + subject, no timestamps or
    counters) so baselines and ticket systems can track it. ``check`` is the finding type
    (e.g. ``FWA101``), ``title`` its short name. ``evidence`` holds plain data from the views
    (listener, rule origin, probe result) and ``fix`` a concrete remedy.
    """

    id: str
    check: str
    title: str
    severity: Severity
    message: str
    evidence: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    fix: str | None = None
    zone: str | None = None
    protocol: str | None = None
    ports: tuple[int, int] | None = None
    location: tuple[str, int] | None = None  # (file, line) for SARIF
