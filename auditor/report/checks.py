"""Renderers for ``fwaudit checks``: every check with its id, title and severities — for users
choosing ``--fail-on``, and the source of the README's findings table."""

from __future__ import annotations

import json
from collections.abc import Sequence

from auditor.model.finding import CheckInfo


def severities_text(c: CheckInfo) -> str:
    """``high / low``: the default severity first."""
    return " / ".join(str(s) for s in c.severities)


def checks_text(checks: Sequence[CheckInfo]) -> str:
    from rich.table import Table

    from auditor.report.console import render

    table = Table(title=f"fwaudit checks ({len(checks)})", title_justify="left")
    for col in ("Check", "Title", "Severity", "Runs in", "What it finds"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(c.id, c.title, severities_text(c), ", ".join(c.scopes), c.summary)
    return render([table])


def checks_json(checks: Sequence[CheckInfo]) -> str:
    return json.dumps({"checks": [
        {"id": c.id, "title": c.title, "severity": str(c.severity), "severities": [str(s) for s in c.severities],
         "scopes": list(c.scopes), "needs": c.needs, "summary": c.summary, "doc": c.doc}
        for c in checks]}, indent=2)


def findings_table(checks: Sequence[CheckInfo]) -> str:
    """The README's findings table (Markdown), one row per check."""
    rows = ["| check | finding | severity |", "|---|---|---|"]
    rows += [f"| {c.id} | {c.summary} | {severities_text(c)} |" for c in checks]
    return "\n".join(rows) + "\n"
