"""Renderers for ``fwaudit exposure``: the JSON contract scripts depend on, and a readable table."""

from __future__ import annotations

import json
from typing import Any, Sequence

from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.ruleset import Origin
from auditor.report.console import render


def origin_json(o: Origin) -> dict[str, Any]:
    d: dict[str, Any] = {
        "backend": o.backend,
        "table": o.table_label,
        "chain": o.chain,
        "position": o.position,
        "text": o.text,
    }
    if o.handle is not None:
        d["handle"] = o.handle
    if o.file is not None:
        d["file"] = o.file
        d["line"] = o.line
    return d


def entry_json(e: ExposureEntry, zone: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "source": e.source,
        "protocol": e.protocol,
        "ports": [e.ports[0], e.ports[1]],
        "verdict": e.verdict,
        "decided_by": [origin_json(o) for o in e.decided_by],
    }
    if zone is not None:
        d["zone"] = zone
    if e.reason:
        d["reason"] = e.reason
    if e.path != "input":
        d["path"] = e.path
    if e.translated_to is not None:
        d["translated_to"] = {"address": e.translated_to[0], "port": e.translated_to[1]}
    return d


def exposure_json(parts: Sequence[tuple[str | None, Exposure]]) -> str:
    """One document for one or more evaluations of the same target/interface/destination
    (one per zone when ``--zone`` is used; the zone is then named on every entry)."""
    first = parts[0][1]
    notes: list[str] = []
    for _, e in parts:
        notes += [n for n in e.notes if n not in notes]
    doc = {
        "target": first.target,
        "in_interface": first.in_interface,
        "destination": first.destination,
        "exposure": [entry_json(e, zone) for zone, exp in parts for e in exp.entries],
        "notes": notes,
    }
    return json.dumps(doc, indent=2)


def _rule_label(o: Origin) -> str:
    where = f"{o.table_label}/{o.chain}"
    if o.position:
        where += f"#{o.position}"
    if o.file:
        where = f"{o.file}:{o.line} " + where
    return f"{where}: {o.text}"


def exposure_text(parts: Sequence[tuple[str | None, Exposure]]) -> str:
    from rich.table import Table
    from rich.text import Text

    first = parts[0][1]
    out: list[Any] = [Text(
        f"Exposure of {first.target or 'ruleset'} for new connections arriving on "
        f"{first.in_interface} to {first.destination}"
    )]
    for zone, exp in parts:
        reachable = [e for e in exp.entries if e.verdict in ("accept", "indeterminate")]
        title = f"zone {zone}" if zone else "reachable"
        if not reachable:
            out.append(Text(f"{title}: nothing reachable (all ports dropped or rejected)"))
            continue
        table = Table(title=f"{title}: open or indeterminate port ranges", title_justify="left")
        for col in ("Source", "Proto", "Ports", "Verdict", "Decided by / reason"):
            table.add_column(col, overflow="fold")
        for e in reachable:
            ports = str(e.ports[0]) if e.ports[0] == e.ports[1] else f"{e.ports[0]}-{e.ports[1]}"
            why = "; ".join(_rule_label(o) for o in e.decided_by) or "-"
            if e.reason:
                why += f" ({e.reason})"
            if e.translated_to:
                addr, port = e.translated_to
                why += f" → {e.path} to {addr}" + (f":{port}" if port is not None else "")
            table.add_row(e.source, e.protocol, ports, e.verdict, why)
        out.append(table)
    for n in dict.fromkeys(n for _, e in parts for n in e.notes):
        out.append(Text(f"note: {n}"))
    return render(out)
