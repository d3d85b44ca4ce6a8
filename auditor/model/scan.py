"""The *probed* view: what packets sent from a vantage point actually got."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProbeState = Literal["open", "closed", "filtered", "open_filtered"]


@dataclass(frozen=True)
class ScanEntry:
    source: str
    protocol: Literal["tcp", "udp"]
    ports: tuple[int, int]
    state: ProbeState
    reason: str | None = None  # e.g. "syn-ack", "rst", "icmp admin-prohibited", "no-response"


@dataclass(frozen=True)
class ScanResult:
    target: str
    in_interface: str
    destination: str
    entries: tuple[ScanEntry, ...]
    method: str = "syn"  # syn | connect (fallback without raw sockets)
    duration: float = 0.0
    notes: tuple[str, ...] = ()
