"""The *probed* view: what packets sent from a vantage point actually got, and how that compares
with the firewall model."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from auditor.model.exposure import ExposureEntry, VerdictName

ProbeState = Literal["open", "closed", "filtered", "open_filtered"]
#: A whole conversation with a greeting listener: the banner came back, the connection was
#: refused (a reset or an ICMP error), or nothing came back.
ConversationOutcome = Literal["open", "refused", "silent"]

#: Where probes may come from and go to: fwaudit attaches vantage points with these addresses
#: only — the RFC 2544 benchmarking range and, for IPv6, fd00::/8, the lab ranges fwaudit's own
#: labs and tests use — never with a host's real ones.
LAB_NETWORKS = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("fd00::/8"))


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


@dataclass(frozen=True)
class ConversationProbe:
    """One connection to a listener that greets (``auditor.probe.servers``), and what the
    client got: only ``open`` proves that every packet of the conversation got through."""

    source: str
    protocol: Literal["tcp", "udp"]
    port: int
    outcome: ConversationOutcome


@dataclass(frozen=True)
class Comparison:
    """A probed range beside the evaluator's verdict for the same source and ports.

    ``probed`` is the scan state, ``verdict`` the model's, ``agrees`` whether the two are
    consistent (see :mod:`auditor.engine.crosscheck`), ``entry`` the exposure entry compared."""

    source: str
    protocol: Literal["tcp", "udp"]
    ports: tuple[int, int]
    probed: ProbeState
    verdict: VerdictName
    agrees: bool
    entry: ExposureEntry
