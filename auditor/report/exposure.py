"""Renderers for ``fwaudit exposure``: the JSON contract scripts depend on, and a readable table."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.ruleset import Origin, format_address_range
from auditor.report.console import render
from auditor.untrusted import escape


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
    if e.legs:
        d["legs"] = [{"leg": leg.name, "verdict": leg.verdict,
                      "decided_by": [origin_json(o) for o in leg.decided_by]} for leg in e.legs]
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


def _why(e: ExposureEntry) -> str:
    why = "; ".join(_rule_label(o) for o in e.decided_by) or "-"
    if e.reason:
        why += f" ({e.reason})"
    if e.translated_to:
        addr, port = e.translated_to
        why += f" → {e.path} to {addr}" + (f":{port}" if port is not None else "")
    return why


def merged_sources(sources: Sequence[str]) -> list[str]:
    """Source prefixes merged into as few ranges as cover exactly the same addresses, each
    printed as a prefix when it is one, else ``first-last``; IPv4 before IPv6."""
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    other: list[str] = []
    for src in sources:
        try:
            net = ipaddress.ip_network(src, strict=False)
        except ValueError:
            other.append(src)
            continue
        ranges[net.version].append((int(net.network_address), int(net.broadcast_address)))
    out: list[str] = []
    for version, spans in ranges.items():
        merged: list[list[int]] = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out += [format_address_range(version, (lo, hi)) for lo, hi in merged]
    return out + other


def exposure_text(parts: Sequence[tuple[str | None, Exposure]]) -> str:
    from rich.table import Table
    from rich.text import Text

    first = parts[0][1]
    out: list[Any] = [Text(escape(
        f"Exposure of {first.target or 'ruleset'} for new connections arriving on "
        f"{first.in_interface} to {first.destination}"
    ))]
    for zone, exp in parts:
        reachable = [e for e in exp.entries if e.verdict in ("accept", "indeterminate")]
        title = f"zone {escape(zone)}" if zone else "reachable"
        if not reachable:
            out.append(Text(f"{title}: nothing reachable (all ports dropped or rejected)"))
            continue
        table = Table(title=f"{title}: open or indeterminate port ranges", title_justify="left")
        for col in ("Source", "Proto", "Ports", "Verdict", "Decided by / reason"):
            table.add_column(col, overflow="fold")
        # One row per (protocol, ports, verdict, reason) with its sources merged: "internet minus
        # the LAN" is two address ranges, not the 30 prefixes the evaluator splits it into.
        rows: dict[tuple[str, tuple[int, int], str, str], list[str]] = {}
        for e in reachable:
            rows.setdefault((e.protocol, e.ports, e.verdict, _why(e)), []).append(e.source)
        for (proto, (lo, hi), verdict, why), sources in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            table.add_row(escape(", ".join(merged_sources(sources))), proto, str(lo) if lo == hi else f"{lo}-{hi}",
                          verdict, escape(why))
        out.append(table)
    for n in dict.fromkeys(n for _, e in parts for n in e.notes):
        out.append(Text(f"note: {escape(n)}"))
    return render(out)
