"""The human report: a summary line, then findings by severity in tables (plain off a tty)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from auditor.model.finding import Severity
from auditor.model.result import AuditResult
from auditor.report.console import render
from auditor.untrusted import escape

_STYLE = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
          Severity.LOW: "cyan", Severity.INFO: "dim"}


def render_audit_text(result: AuditResult, *, tty: bool | None = None) -> str:
    from rich.table import Table
    from rich.text import Text

    counts = Counter(f.severity for f in result.findings)
    parts = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, reverse=True))
    fw = (f"{len(result.ruleset.rules)} firewall rules in {len(result.ruleset.tables)} tables"
          if result.ruleset is not None else "no firewall view")
    head = (f"fwaudit {result.target} against policy {result.policy.name!r} ({result.policy.path}): "
            + (f"{len(result.findings)} finding(s) ({parts})" if result.findings else "compliant, no findings")
            + f"; {len(result.listening)} listening sockets, {fw}, "
            f"{sum(1 for c in result.checks if c.passed)}/{len(result.checks)} checks passed "
            f"in {result.duration:.2f}s")
    out: list[Any] = [Text(escape(head))]
    for sev in sorted(counts, reverse=True):
        table = Table(title=f"{str(sev).upper()} ({counts[sev]})", title_justify="left",
                      title_style=_STYLE[sev], show_lines=True)
        for col in ("Id", "Finding", "Fix"):
            table.add_column(col, overflow="fold")
        for f in result.findings:
            if f.severity == sev:
                loc = f" [{f.location[0]}:{f.location[1]}]" if f.location else ""
                table.add_row(escape(f.id), escape(f"{f.title}: {f.message}{loc}"), escape(f.fix or ""))
        out.append(table)
    for n in result.notes:
        out.append(Text(f"note: {escape(n)}"))
    return render(out, tty=tty)
