"""Renderers for ``fwaudit scan``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from auditor.model.scan import Comparison, ScanResult
from auditor.report.console import render
from auditor.untrusted import escape


def _rule(c: Comparison) -> str | None:
    """The text of the rule that decided the compared verdict."""
    return c.entry.decisive[-1].text if c.entry.decisive else None


def scan_json(r: ScanResult, explain: Sequence[Comparison] | None = None) -> str:
    doc: dict[str, Any] = {
        "target": r.target, "in_interface": r.in_interface, "destination": r.destination,
        "method": r.method, "duration_seconds": round(r.duration, 3),
        "results": [{"source": e.source, "protocol": e.protocol, "ports": list(e.ports), "state": e.state,
                     "reason": e.reason} for e in r.entries],
    }
    if explain is not None:
        doc["explain"] = [{"source": c.source, "protocol": c.protocol, "ports": list(c.ports), "probed": c.probed,
                           "verdict": c.verdict, "agrees": c.agrees, "rule": _rule(c)} for c in explain]
    return json.dumps(doc, indent=2)


def scan_text(r: ScanResult, explain: Sequence[Comparison] | None = None) -> str:
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = [Text(escape(f"Scan of {r.target} ({r.destination}) arriving on {r.in_interface}, "
                                  f"{r.method} scan, {r.duration:.1f}s"))]
    table = Table(title="open / closed ports (everything else filtered)", title_justify="left")
    for col in ("Source", "Proto", "Ports", "State", "Reason"):
        table.add_column(col, overflow="fold")
    for e in r.entries:
        if e.state in ("open", "closed", "open_filtered") and not (e.state == "open_filtered" and e.ports[1] - e.ports[0] > 20):
            p = str(e.ports[0]) if e.ports[0] == e.ports[1] else f"{e.ports[0]}-{e.ports[1]}"
            table.add_row(escape(e.source), e.protocol, p, e.state, escape(e.reason or ""))
    out.append(table)
    for c in explain or ():
        if not c.agrees:
            out.append(Text(escape(f"DISAGREEMENT {c.source} {c.protocol} {c.ports[0]}-{c.ports[1]}: "
                                   f"probe {c.probed}, model {c.verdict} ({_rule(c) or 'no rule'})")))
    return render(out)
