"""What a finding points at: the sockets, rules, verdicts and probe results behind it.

One class per kind of evidence, built by the checks from the views (never pre-rendered), and
turned into JSON, XML or HTML by the renderers (:mod:`auditor.report.evidence`). Rules are
kept as :class:`~auditor.model.ruleset.Origin` objects in the order the check found them;
``policy_line`` is the policy file line that declared the service concerned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

from auditor.model.exposure import LegName
from auditor.model.listener import Listener
from auditor.model.ruleset import Origin


@dataclass(frozen=True)
class ListenerEvidence:
    """FWA001: the sockets nobody declared."""

    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class ServiceDownEvidence:
    """FWA002: a declared service with nothing listening."""

    policy_line: int | None


@dataclass(frozen=True)
class WrongProcessEvidence:
    """FWA003: the sockets held by a process the policy does not name."""

    listeners: tuple[Listener, ...]
    expected: tuple[str, ...]
    policy_line: int | None


@dataclass(frozen=True)
class BindEvidence:
    """FWA004: the sockets bound wider than ``declared_bind``."""

    listeners: tuple[Listener, ...]
    declared_bind: str
    policy_line: int | None


@dataclass(frozen=True)
class ExposureEvidence:
    """FWA101: the sources that reach a listener, the rules that admit them, the listeners."""

    sources: tuple[str, ...]
    rules: tuple[Origin, ...]
    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class BlockedEvidence:
    """FWA102: the rules that block a declared service; for a conversation broken after its
    first packet, the packets (legs) lost and the rules that lost them, and why."""

    rules: tuple[Origin, ...]
    policy_line: int | None
    failed_legs: tuple[tuple[LegName, tuple[Origin, ...]], ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class LatentHoleEvidence:
    """FWA104: the port ranges admitted with nothing behind them, and (some of) the rules."""

    ports: tuple[tuple[int, int], ...]
    rules: tuple[Origin, ...]


@dataclass(frozen=True)
class ImplicitRuleEvidence:
    """FWA105: what decided an open port when no explicit rule did (a chain policy)."""

    decided_by: tuple[Origin, ...]
    verdicts: tuple[str, ...]
    zones: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class FamilyMismatchEvidence:
    """FWA106: the rules that open a port over IPv6 and those that close it over IPv4."""

    ipv6_rules: tuple[Origin, ...]
    ipv4_rules: tuple[Origin, ...]


@dataclass(frozen=True)
class DisagreementEvidence:
    """FWA107: what the probe saw beside what the model says."""

    probe: str
    verdict: str
    source: str
    path: Literal["input", "forward"]
    translated_to: tuple[str, int | None] | None


@dataclass(frozen=True)
class IndeterminateEvidence:
    """FWA108: the rules whose outcome cannot be decided, why, and for which sources."""

    rules: tuple[Origin, ...]
    reason: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CandidateEvidence:
    """FWA201: the sources a candidate ruleset opens undeclared ports to, and the rules (file
    and line) that admit them."""

    sources: tuple[str, ...]
    rules: tuple[Origin, ...]


@dataclass(frozen=True)
class DocumentEvidence:
    """Evidence as another fwaudit wrote it into an audit document (read back for fleet
    reports): plain JSON data, shown as it is."""

    data: Mapping[str, Any]


Evidence = Union[
    ListenerEvidence, ServiceDownEvidence, WrongProcessEvidence, BindEvidence, ExposureEvidence,
    BlockedEvidence, LatentHoleEvidence, ImplicitRuleEvidence, FamilyMismatchEvidence,
    DisagreementEvidence, IndeterminateEvidence, CandidateEvidence, DocumentEvidence,
]
