"""One host as fleet and HTML reports show it: its audit document turned into a
:class:`~auditor.model.fleet.HostReport` — status, findings, drift and the exposure matrix
(zones × declared and listening ports, each cell the firewall's verdict and deciding rules).

The input is what ``fwaudit audit --format json`` wrote (the fleet reader has parsed it and
validated it against the audit schema; ``audit --format html`` passes its own document) or the
small ``{"host", "status", "error"}`` record a fleet run writes for a host it could not audit.
Parts of the audit document the schema leaves open (declared services, rule origins) are
checked here as they are read: a document from another host is hostile input, and a wrong type
is an :class:`InputError` naming the file, never a traceback. The matrix is built from the
document, not from the audit's objects, so an HTML page shows exactly what the JSON says.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from auditor.errors import InputError
from auditor.model.evidence import DocumentEvidence
from auditor.model.finding import Finding, Severity
from auditor.model.fleet import (
    CellVerdict,
    ExposureMatrix,
    HostReport,
    HostStatus,
    MatrixCell,
    MatrixColumn,
)
from auditor.model.result import Drift

#: Columns a host's matrix shows at most. A host with 20,000 listening sockets still gets a
#: readable report; the rest is counted in ``ExposureMatrix.omitted``.
MAX_COLUMNS = 64
#: Deciding rules kept per cell (for the hover text), and characters per rule text.
MAX_RULES_PER_CELL = 4
MAX_RULE_CHARS = 300
#: How long a host name or a record's error may be.
MAX_HOST_CHARS = 255
MAX_ERROR_CHARS = 2000

_VERDICT_ORDER: tuple[CellVerdict, ...] = ("accept", "indeterminate", "reject", "drop")
_RECORD_KEYS = {"host", "status", "error"}


def _fail(source: str, message: str) -> InputError:
    return InputError(f"{source}: {message}")


def _text(value: Any, source: str, what: str, limit: int | None = None) -> str:
    if not isinstance(value, str):
        raise _fail(source, f"{what} must be a string")
    if limit is not None and len(value) > limit:
        return value[:limit] + "…"
    return value


def _port_range(value: Any, source: str, what: str) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 65535 for p in value)
            or value[0] > value[1]):
        raise _fail(source, f"{what} must be a [low, high] port range")
    return value[0], value[1]


def host_name(value: Any, source: str) -> str:
    """A host name as a report may carry it: a non-empty string of bounded length."""
    name = _text(value, source, "'host'")
    if not name.strip() or len(name) > MAX_HOST_CHARS:
        raise _fail(source, f"'host' must be a non-empty string of at most {MAX_HOST_CHARS} characters")
    return name


def host_from_record(doc: Mapping[str, Any], source: str) -> HostReport:
    """A host the fleet run could not audit: exactly ``{"host", "status", "error"}``."""
    if set(doc) != _RECORD_KEYS:
        raise _fail(source, "a host record has exactly the keys 'host', 'status' and 'error'")
    status = doc["status"]
    if status not in ("unreachable", "failed"):
        raise _fail(source, "a host record's 'status' must be 'unreachable' or 'failed'")
    return HostReport(
        host=host_name(doc["host"], source), source=source, status=cast(HostStatus, status),
        error=_text(doc["error"], source, "'error'", MAX_ERROR_CHARS),
    )


def host_from_document(doc: Mapping[str, Any], source: str, host: str, *, details: bool = True) -> HostReport:
    """A schema-valid audit document (``fwaudit.audit/1``) as one host of a fleet.

    ``details=False`` leaves out what only a person reads — findings' evidence, the deciding
    rules and reasons of matrix cells — for reports that do not show it (5,000 hosts' worth is
    a third of the work)."""
    views = doc["views"]
    return HostReport(
        host=host,
        source=source,
        status="audited",
        target=doc["target"],
        policy=doc["policy"]["name"],
        started_at=doc["started_at"],
        duration=float(doc["duration_seconds"]),
        findings=tuple(_finding(f, details) for f in doc["findings"]),
        matrix=exposure_matrix(views, source, details=details),
        drift=_drift(doc.get("drift"), source),
        notes=tuple(doc["notes"]),
    )


def _finding(f: Mapping[str, Any], details: bool = True) -> Finding:
    loc = f["location"]
    ports = f["ports"]
    return Finding(
        id=f["id"], check=f["check"], title=f["title"], severity=Severity.parse(f["severity"]),
        message=f["message"], evidence=DocumentEvidence(f["evidence"]) if details else None, fix=f["fix"], zone=f["zone"],
        protocol=f["protocol"], ports=(ports[0], ports[1]) if ports else None,
        location=(loc["file"], loc["line"]) if loc else None,
    )


def _drift(value: Any, source: str) -> Drift | None:
    if value is None:
        return None
    try:
        resolved = value["resolved"]
        if not isinstance(resolved, list):
            raise TypeError
        d = Drift(baseline=_text(value["baseline"], source, "drift 'baseline'"),
                      new=value["new"], unchanged=value["unchanged"],
                      resolved=tuple(_text(r, source, "drift 'resolved' ids") for r in resolved))
    except (KeyError, TypeError):
        raise _fail(source, "malformed 'drift' section") from None
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (d.new, d.unchanged)):
        raise _fail(source, "drift counts must be non-negative integers")
    return d


# -- the exposure matrix -------------------------------------------------------------------------

@dataclass
class _Column:
    protocol: str
    ports: tuple[int, int]
    services: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    listening: bool = False
    zones: set[str] = field(default_factory=set)


@dataclass
class _Cell:
    rules: dict[str, dict[str, None]] = field(default_factory=dict)  # verdict -> ordered rule labels
    reasons: dict[str, str] = field(default_factory=dict)


def _is_loopback(address: str) -> bool:
    return address.startswith(("127.", "::ffff:127.")) or address == "::1"


def _columns(views: Mapping[str, Any], source: str) -> tuple[list[_Column], int]:
    by_key: dict[tuple[str, int, int], _Column] = {}
    for i, svc in enumerate(views["declared"]):
        what = f"views.declared[{i}]"
        proto = svc["protocol"]
        if proto not in ("tcp", "udp"):
            raise _fail(source, f"{what}.protocol must be tcp or udp")
        lo, hi = _port_range(svc["ports"], source, f"{what}.ports")
        col = by_key.setdefault((proto, lo, hi), _Column(proto, (lo, hi)))
        col.services.append(_text(svc["name"], source, f"{what}.name"))
        zones = svc["zones"]
        if not isinstance(zones, list):
            raise _fail(source, f"{what}.zones must be a list")
        col.zones.update(_text(z, source, f"{what}.zones") for z in zones)
    ranges = sorted(by_key.values(), key=lambda c: c.ports)
    for sock in views["listening"]:
        if _is_loopback(sock["address"]):
            continue
        proto, port = sock["protocol"], sock["port"]
        found = next((c for c in ranges if c.protocol == proto and c.ports[0] <= port <= c.ports[1]), None)
        col = found or by_key.setdefault((proto, port, port), _Column(proto, (port, port)))
        col.listening = True
        for p in sock["processes"]:
            name = _text(p.get("name"), source, "a listener's process name")
            if name not in col.processes:
                col.processes.append(name)
    columns = sorted(by_key.values(), key=lambda c: (c.ports, c.protocol))
    return columns[:MAX_COLUMNS], max(0, len(columns) - MAX_COLUMNS)


def rule_label(origin: Any, source: str) -> str:
    """``[file:line ]table/chain#position: text`` of one deciding rule of an exposure entry."""
    if not isinstance(origin, Mapping):
        raise _fail(source, "a deciding rule ('decided_by' item) must be an object")
    table = _text(origin.get("table", ""), source, "a deciding rule's table")
    chain = _text(origin.get("chain", ""), source, "a deciding rule's chain")
    text = _text(origin.get("text", ""), source, "a deciding rule's text", MAX_RULE_CHARS)
    position = origin.get("position")
    where = f"{table}/{chain}" + (f"#{position}" if isinstance(position, int) and position else "")
    if isinstance(origin.get("file"), str):
        where = f"{origin['file']}:{origin.get('line')} {where}"
    return f"{where}: {text}"


def exposure_matrix(views: Mapping[str, Any], source: str, *, details: bool = True) -> ExposureMatrix:
    """Zones × (declared ∪ non-loopback listening) ports, each cell the firewall's verdict.

    A document holds a few hundred exposure entries per zone (one per source prefix and port
    range) and a fleet thousands of documents, so each entry finds its columns by bisection and
    each deciding rule is labelled once per document.
    """
    columns, omitted = _columns(views, source)
    firewall = views["firewall"]
    if firewall is None:
        zones = list(dict.fromkeys(z for c in columns for z in sorted(c.zones)))
        cells = tuple(tuple(MatrixCell(None, allowed=z in c.zones) for c in columns) for z in zones)
        return _matrix(zones, columns, cells, omitted)
    by_proto: dict[str, tuple[list[int], list[int]]] = {}  # protocol -> (column los, column indexes)
    for j, col in enumerate(columns):
        los, idx = by_proto.setdefault(col.protocol, ([], []))
        at = bisect.bisect(los, col.ports[0])
        los.insert(at, col.ports[0])
        idx.insert(at, j)
    labels: dict[Any, str] = {}
    acc: dict[str, list[_Cell]] = {}
    for view in firewall:
        zone = _text(view["zone"], source, "a firewall view's zone")
        row = acc.setdefault(zone, [_Cell() for _ in columns])
        for e in view["exposure"]:
            found = by_proto.get(e["protocol"])
            if found is None:
                continue
            los, idx = found
            lo, hi = e["ports"]
            k = bisect.bisect_right(los, hi) - 1  # the last column starting at or below hi ...
            while k >= 0 and columns[idx[k]].ports[1] >= lo:  # ... and those before it that reach lo
                if details:
                    _note(row[idx[k]], e, labels, source)
                else:
                    row[idx[k]].rules.setdefault(e["verdict"], {})
                k -= 1
    zones = list(acc)
    cells = tuple(tuple(_cell(acc[z][j], z in c.zones) for j, c in enumerate(columns)) for z in zones)
    return _matrix(zones, columns, cells, omitted)


def _note(cell: _Cell, entry: Mapping[str, Any], labels: dict[Any, str], source: str) -> None:
    """Record one exposure entry's verdict, deciding rules and reason in a cell."""
    verdict = entry["verdict"]
    rules = cell.rules.setdefault(verdict, {})
    if len(rules) < MAX_RULES_PER_CELL:
        decided = entry["decided_by"]
        if not isinstance(decided, list):
            raise _fail(source, "an exposure entry's 'decided_by' must be a list")
        for o in decided:
            try:
                key: Any = (o.get("table"), o.get("chain"), o.get("position"), o.get("text"), o.get("file"), o.get("line"))
                label = labels.get(key)
            except (AttributeError, TypeError):  # not an object, or unhashable values: rule_label says which
                key, label = None, None
            if label is None:
                label = rule_label(o, source)
                if key is not None:
                    labels[key] = label
            rules.setdefault(label, None)
    reason = entry.get("reason")
    if isinstance(reason, str) and verdict not in cell.reasons:
        cell.reasons[verdict] = reason[:MAX_RULE_CHARS]


def _cell(cell: _Cell, allowed: bool) -> MatrixCell:
    verdict = next((v for v in _VERDICT_ORDER if v in cell.rules), None)
    if verdict is None:  # no entry covered the column: the evaluator left it out
        return MatrixCell("indeterminate", allowed=allowed, reason="not covered by the firewall view")
    return MatrixCell(verdict, partial=len(cell.rules) > 1, allowed=allowed,
                      rules=tuple(cell.rules[verdict])[:MAX_RULES_PER_CELL], reason=cell.reasons.get(verdict))


def _matrix(zones: Sequence[str], columns: Sequence[_Column],
            cells: tuple[tuple[MatrixCell, ...], ...], omitted: int) -> ExposureMatrix:
    return ExposureMatrix(
        zones=tuple(zones),
        columns=tuple(MatrixColumn(c.protocol, c.ports, tuple(c.services), tuple(c.processes), c.listening)
                      for c in columns),
        cells=cells,
        omitted=omitted,
    )
