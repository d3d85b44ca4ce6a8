"""The *firewall* view: what the evaluator says happens to new inbound connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from auditor.model.ruleset import Origin

VerdictName = Literal["accept", "drop", "reject", "indeterminate"]


@dataclass(frozen=True)
class ExposureEntry:
    """One (source prefix, protocol, port range) with one outcome.

    ``decided_by`` lists the rules that decided it, in evaluation order (for an accept through
    several base chains, each chain's accepting rule; a chain policy is represented by the chain
    itself with position 0). ``reason`` explains indeterminate outcomes and policy decisions.
    ``translated_to`` is ``(address, port)`` when DNAT/REDIRECT rewrote the destination, and
    ``path`` whether the connection ends in this host (``input``) or is forwarded.
    """

    source: str
    protocol: Literal["tcp", "udp"]
    ports: tuple[int, int]
    verdict: VerdictName
    decided_by: tuple[Origin, ...] = ()
    reason: str | None = None
    path: Literal["input", "forward"] = "input"
    translated_to: tuple[str, int | None] | None = None


@dataclass(frozen=True)
class Exposure:
    target: str
    in_interface: str
    destination: str
    entries: tuple[ExposureEntry, ...]
    notes: tuple[str, ...] = ()
