"""Renderers for ``fwaudit scan``."""

from __future__ import annotations

import json
from typing import Any, Sequence

from auditor.model.scan import ScanResult
from auditor.report.console import render
from auditor.untrusted import escape


def scan_json(results: Sequence[ScanResult], explain: Sequence[dict] | None = None) -> str:
    r = results[0]
    doc = {
        "target": r.target, "in_interface": r.in_interface, "destination": r.destination,
        "method": r.method, "duration_seconds": round(sum(x.duration for x in results), 3),
        "results": [{"source": e.source, "protocol": e.protocol, "ports": list(e.ports), "state": e.state,
                     "reason": e.reason} for x in results for e in x.entries],
    }
    if explain is not None:
        doc["explain"] = list(explain)
    return json.dumps(doc, indent=2)


def scan_text(results: Sequence[ScanResult], explain: Sequence[dict] | None = None) -> str:
    from rich.table import Table
    from rich.text import Text

    r = results[0]
    out: list[Any] = [Text(escape(f"Scan of {r.target} ({r.destination}) arriving on {r.in_interface}, "
                             f"{r.method} scan, {sum(x.duration for x in results):.1f}s"))]
    table = Table(title="open / closed ports (everything else filtered)", title_justify="left")
    for col in ("Source", "Proto", "Ports", "State", "Reason"):
        table.add_column(col)
    for x in results:
        for e in x.entries:
            if e.state in ("open", "closed", "open_filtered") and not (e.state == "open_filtered" and e.ports[1] - e.ports[0] > 20):
                p = str(e.ports[0]) if e.ports[0] == e.ports[1] else f"{e.ports[0]}-{e.ports[1]}"
                table.add_row(escape(e.source), e.protocol, p, e.state, escape(e.reason or ""))
    out.append(table)
    for d in explain or ():
        if not d["agrees"]:
            out.append(Text(escape(f"DISAGREEMENT {d['source']} {d['protocol']} {d['ports'][0]}-{d['ports'][1]}: "
                                   f"probe {d['probed']}, model {d['verdict']} ({d['rule'] or 'no rule'})")))
    return render(out)
