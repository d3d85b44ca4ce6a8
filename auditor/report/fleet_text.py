"""The human fleet report: a summary line, hosts worst first, findings and open ports across
hosts, the hosts that could not be audited and the files that were not host reports.

Host names, messages and errors come from other machines: every one goes through
:func:`auditor.untrusted.escape` before it reaches a terminal.
"""

from __future__ import annotations

from typing import Any

from auditor.model.finding import Severity
from auditor.model.fleet import Fleet, HostReport
from auditor.report.console import render
from auditor.untrusted import escape

#: Host names listed per row of the cross-host tables before "+N more".
NAMES_SHOWN = 8
_SEVERITIES = sorted(Severity, reverse=True)


def port_label(protocol: str | None, ports: tuple[int, int] | None) -> str:
    if ports is None:
        return protocol or "-"
    lo, hi = ports
    return f"{protocol}/{lo}" if lo == hi else f"{protocol}/{lo}-{hi}"


def host_list(names: tuple[str, ...], shown: int = NAMES_SHOWN) -> str:
    text = ", ".join(escape(n) for n in names[:shown])
    return text + (f" +{len(names) - shown} more" if len(names) > shown else "")


def fleet_headline(fleet: Fleet) -> str:
    hosts = fleet.hosts
    audited = [h for h in hosts if h.status == "audited"]
    findings = [f for h in hosts for f in h.findings]
    by_sev = ", ".join(f"{n} {s}" for s in _SEVERITIES if (n := sum(1 for f in findings if f.severity == s)))
    parts = [f"{len(hosts)} host(s): {len(audited)} audited "
             f"({sum(1 for h in audited if not h.findings)} compliant, "
             f"{sum(1 for h in audited if h.findings)} with findings)"]
    for status in ("unreachable", "failed"):
        n = sum(1 for h in hosts if h.status == status)
        if n:
            parts.append(f"{n} {status}")
    line = "fwaudit fleet: " + ", ".join(parts)
    line += f"; {len(findings)} finding(s)" + (f" ({by_sev})" if by_sev else "")
    drifted = sum(1 for h in audited if h.drift is not None and h.drift.drifted)
    if drifted:
        line += f"; {drifted} host(s) drifted from their baseline"
    if fleet.problems:
        line += f"; {len(fleet.problems)} file(s) were not host reports"
    return line


def worst_first(h: HostReport) -> tuple[int, int, str]:
    """Sort key: hosts that could not be audited first, then by worst severity and count."""
    if h.status != "audited":
        return (-10, 0, h.host)
    w = h.worst()
    return (-(int(w.severity) if w else -1), -len(h.findings), h.host)


def render_fleet_text(fleet: Fleet, *, tty: bool | None = None) -> str:
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = [Text(fleet_headline(fleet))]
    hosts = Table(title="Hosts", title_justify="left")
    for col in ("Host", "Status", *(str(s) for s in _SEVERITIES), "Worst finding", "Drift"):
        hosts.add_column(col, overflow="fold")
    for h in sorted(fleet.hosts, key=worst_first):
        w = h.worst()
        worst = escape(f"{w.id} ({w.severity})") if w else ("-" if h.status == "audited" else escape(h.error or ""))
        drift = "-" if h.drift is None else f"{h.drift.new} new, {len(h.drift.resolved)} resolved"
        counts = [str(h.count(s)) if h.status == "audited" else "-" for s in _SEVERITIES]
        hosts.add_row(escape(h.host), h.status, *counts, worst, drift)
    out.append(hosts)
    if fleet.findings:
        table = Table(title="Findings across the fleet", title_justify="left")
        for col in ("Severity", "Check", "Finding", "Zone", "Port", "Hosts"):
            table.add_column(col, overflow="fold")
        for g in fleet.findings:
            table.add_row(str(g.severity), g.check, escape(g.title), escape(g.zone or "-"),
                          port_label(g.protocol, g.ports), f"{len(g.hosts)}: {host_list(g.hosts)}")
        out.append(table)
    if fleet.exposure:
        table = Table(title="Reachable ports across the fleet (listening or declared)", title_justify="left")
        for col in ("Zone", "Port", "Verdict", "Hosts"):
            table.add_column(col, overflow="fold")
        for e in fleet.exposure:
            table.add_row(escape(e.zone), port_label(e.protocol, e.ports), e.verdict,
                          f"{len(e.hosts)}: {host_list(e.hosts)}")
        out.append(table)
    for h in fleet.unaudited():
        out.append(Text(f"{h.status}: {escape(h.host)}: {escape(h.error or '')}"))
    for p in fleet.problems:
        out.append(Text(f"not a host report: {escape(p.message)}"))
    return render(out, tty=tty)
