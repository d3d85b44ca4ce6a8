"""A fleet: many hosts' audits (or the reason a host has none), merged into one picture.

Every host of a fleet run ends up here exactly once — audited, unreachable or failed — so no host
silently disappears from the fleet view. The per-host data is what a fleet report needs, not the
whole audit document: 5,000 hosts' documents are a gigabyte of JSON, their fleet view a few
dozen megabytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from auditor.model.finding import Finding, Severity
from auditor.model.result import Drift

HostStatus = Literal["audited", "unreachable", "failed"]
#: A cell's verdict; ``None`` on a cell means the host's audit had no firewall view.
CellVerdict = Literal["accept", "drop", "reject", "indeterminate"]


@dataclass(frozen=True)
class MatrixColumn:
    """One port (or declared port range) of one protocol: a column of a host's exposure matrix.

    ``services`` are the policy services declaring it, ``processes`` the owners of the sockets
    listening on it (empty when nothing listens: a declared service that is down).
    """

    protocol: str
    ports: tuple[int, int]
    services: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    listening: bool = False

    @property
    def label(self) -> str:
        lo, hi = self.ports
        return f"{self.protocol}/{lo}" if lo == hi else f"{self.protocol}/{lo}-{hi}"


@dataclass(frozen=True)
class MatrixCell:
    """What the firewall does with new connections from one zone to one column.

    ``verdict`` is the most permissive outcome over every source prefix of the zone and every
    address the host owns (a zone reaches a port if any part of it does); ``partial`` says the
    zone's prefixes or the port range did not all get it. ``allowed`` is whether the policy lets
    the zone reach the column. ``rules`` are the deciding rules of that verdict (rule text with
    table/chain/position), ``reason`` the evaluator's explanation when it had one.
    """

    verdict: CellVerdict | None
    partial: bool = False
    allowed: bool = False
    rules: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class ExposureMatrix:
    """Zones × (declared ∪ listening) ports of one host; ``cells[i][j]`` is zone i, column j.

    ``omitted`` counts columns left out because a host listens on more ports than a report can
    usefully show (see :data:`auditor.report.host_view.MAX_COLUMNS`).
    """

    zones: tuple[str, ...]
    columns: tuple[MatrixColumn, ...]
    cells: tuple[tuple[MatrixCell, ...], ...]
    omitted: int = 0


@dataclass(frozen=True)
class HostReport:
    """One host of the fleet: its audit, or why there is none (``error``).

    ``source`` is the file the report came from. ``target``, ``policy``, ``started_at`` and
    ``duration`` are those of the audit (empty/None for hosts that were not audited).
    """

    host: str
    source: str
    status: HostStatus
    error: str | None = None
    target: str = ""
    policy: str = ""
    started_at: str | None = None
    duration: float | None = None
    findings: tuple[Finding, ...] = ()
    matrix: ExposureMatrix | None = None
    drift: Drift | None = None
    notes: tuple[str, ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def worst(self) -> Finding | None:
        """The first finding of the highest severity (audit documents list them worst first)."""
        return max(self.findings, key=lambda f: int(f.severity), default=None)


@dataclass(frozen=True)
class FindingGroup:
    """One kind of finding across the fleet: a check on a (zone, protocol, ports), and the
    hosts that have it ("which hosts expose tcp/5432 to the internet zone?")."""

    check: str
    title: str
    severity: Severity
    zone: str | None
    protocol: str | None
    ports: tuple[int, int] | None
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class ExposureGroup:
    """A (zone, protocol, ports) the firewall opens (``accept``) or cannot decide
    (``indeterminate``) on some hosts, and which hosts."""

    zone: str
    protocol: str
    ports: tuple[int, int]
    verdict: CellVerdict
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class InputProblem:
    """A file that could not be read as a host report (bad or foreign JSON)."""

    file: str
    message: str


@dataclass(frozen=True)
class Fleet:
    """Every host's report plus the fleet-wide groupings, ready for rendering."""

    hosts: tuple[HostReport, ...]
    findings: tuple[FindingGroup, ...]
    exposure: tuple[ExposureGroup, ...]
    problems: tuple[InputProblem, ...] = ()
    generated_at: float = 0.0

    def unaudited(self) -> tuple[HostReport, ...]:
        return tuple(h for h in self.hosts if h.status != "audited")

    def failing(self, threshold: Severity) -> tuple[HostReport, ...]:
        """Hosts that make a fleet run fail: a finding at or above ``threshold``, or no audit."""
        return tuple(h for h in self.hosts
                     if h.status != "audited" or any(f.severity >= threshold for f in h.findings))
