"""The HTML report: one self-contained file for one host (``audit --format html``) or a fleet
(``fleet report --format html``).

* Self-contained: the CSS and the small script (``auditor/report/assets``) are inlined; nothing
  is loaded from the network, and a Content-Security-Policy with the hashes of exactly these two
  blocks forbids everything else — should an untrusted string ever slip through unescaped, a
  browser still runs no script of it.
* Works without JavaScript: tables are pre-sorted (worst first), per-host sections are
  ``<details>``, the deciding rule of a matrix cell shows on hover and on keyboard focus with
  CSS alone. The script only adds sorting, filtering and paging.
* Every string that came from a host — host names, process names, rule texts and comments,
  messages, errors — is control-character-escaped and HTML-escaped (:func:`_h`, :func:`_attr`);
  element ids are generated, never taken from the input.
* 5,000 hosts stay usable: host sections are collapsed, the overview pages 100 rows at a time,
  and above :data:`INLINE_UP_TO_HOSTS` the host details are unpacked only when opened.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import time
import zlib
from collections.abc import Iterable
from importlib.resources import files

from auditor.model.finding import Finding, Severity
from auditor.model.fleet import ExposureMatrix, Fleet, HostReport, MatrixCell, MatrixColumn
from auditor.model.result import AuditResult
from auditor.report.audit_json import audit_document
from auditor.report.evidence import evidence_json
from auditor.report.fleet_text import fleet_headline, port_label, worst_first
from auditor.report.host_view import host_from_document
from auditor.untrusted import escape

#: Up to this many hosts every host section starts open.
OPEN_UP_TO_HOSTS = 12
#: Up to this many hosts, host details are plain HTML (readable without JavaScript). Above it
#: they travel compressed in one inert data block and a host's details are unpacked when its
#: section is opened: 5,000 hosts' matrices and findings are 75 MB of HTML that take a browser
#: most of a minute to open, and 3 MB compressed (they repeat each other).
INLINE_UP_TO_HOSTS = 100
#: Host names listed inline in the cross-host tables before the rest folds away, and at most.
NAMES_INLINE = 12
NAMES_LISTED = 100
_SEVERITIES = sorted(Severity, reverse=True)
_CELL_TEXT = {"accept": "accept", "drop": "drop", "reject": "reject", "indeterminate": "?"}


def _h(text: object) -> str:
    """Untrusted text for HTML element content."""
    return html.escape(escape(str(text)), quote=False)


def _attr(text: object) -> str:
    """Untrusted text for a double-quoted attribute value."""
    return html.escape(escape(str(text)), quote=True)


@functools.cache
def _asset(name: str) -> str:
    return files("auditor.report").joinpath(f"assets/{name}").read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _page(title: str, subtitle: str, body: Iterable[str], generated_at: float) -> str:
    """The whole page; ``generated_at`` (Unix time) is when its data was made: the fleet
    merged, the audit started."""
    css, js = _asset("report.css"), _asset("report.js")
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    return "".join([
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="referrer" content="no-referrer">\n',
        f"<title>{_h(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n",
        f'<header class="top"><h1>fwaudit <span>{_h(subtitle)}</span></h1>',
        f'<p>{_h(title)} · generated {time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(generated_at))}</p></header>\n<main>\n',
        *body,
        '<footer>fwaudit — declared vs listening vs firewall vs probed. '
        "Hover or focus a matrix cell for the rule that decided it.</footer>\n",
        f"</main>\n<script>{js}</script>\n</body>\n</html>\n",
    ])


# -- pieces -----------------------------------------------------------------------------------

def _tile(value: object, label: str, cls: str = "") -> str:
    return f'<div class="tile {cls}"><b>{value}</b><span>{label}</span></div>'


def _sev_badge(sev: Severity) -> str:
    return f'<span class="sev {sev}">{sev}</span>'


def _column_head(col: MatrixColumn) -> str:
    who = ", ".join(col.services) or ", ".join(col.processes) or "—"
    detail = []
    if col.services:
        detail.append("declared: " + ", ".join(col.services))
    detail.append("listening: " + (", ".join(col.processes) or "yes") if col.listening else "nothing listening")
    cls = ' class="listening"' if col.listening else ""
    return (f'<th scope="col"{cls} title="{_attr("; ".join(detail))}">{_h(col.label)}'
            f"<small>{_h(who)}</small></th>")


def _cell(zone: str, col: MatrixColumn, cell: MatrixCell) -> str:
    verdict = cell.verdict
    if verdict is None:
        policy = "allowed" if cell.allowed else "not allowed"
        return (f'<td class="cell none" tabindex="0" data-verdict="none">n/a<span class="tip">'
                f"<b>{_h(zone)} → {_h(col.label)}</b>: no firewall view in this audit; policy: {policy}</span></td>")
    mismatch = (verdict == "accept" and not cell.allowed) or (verdict in ("drop", "reject") and cell.allowed)
    mark = ("!" if verdict == "accept" else "✗") if mismatch else ("✓" if cell.allowed and verdict == "accept" else "")
    classes = ["cell", verdict] + (["partial"] if cell.partial else []) + (["mismatch"] if mismatch else [])
    policy = ("the policy allows this zone" if cell.allowed else "the policy does not allow this zone")
    rules = "".join(f"<code>{_h(r)}</code>" for r in cell.rules) or "<code>no rule named</code>"
    reason = f"<br>{_h(cell.reason)}" if cell.reason else ""
    partly = " (for part of the zone or port range)" if cell.partial else ""
    return (f'<td class="{" ".join(classes)}" tabindex="0" data-verdict="{verdict}">'
            f'{_CELL_TEXT[verdict]}<span class="mark">{mark}</span><span class="tip">'
            f"<b>{_h(zone)} → {_h(col.label)}: {verdict}{partly}</b><br>{policy}{reason}{rules}</span></td>")


def _matrix(m: ExposureMatrix) -> str:
    if not m.columns:
        return '<p class="muted">Nothing declared and nothing listening beyond loopback.</p>'
    head = "".join(_column_head(c) for c in m.columns)
    rows = "".join(
        f'<tr><th scope="row">{_h(zone)}</th>' + "".join(_cell(zone, c, cell) for c, cell in zip(m.columns, row)) + "</tr>"
        for zone, row in zip(m.zones, m.cells))
    omitted = f'<p class="note">{m.omitted} more port(s) not shown.</p>' if m.omitted else ""
    return (f'<div class="card matrixwrap"><table class="matrix"><thead><tr><th scope="col">zone \\ port</th>{head}'
            f"</tr></thead><tbody>{rows}</tbody></table></div>{omitted}"
            '<div class="legend"><span><i class="accept"></i>accept</span><span><i class="drop"></i>drop</span>'
            '<span><i class="reject"></i>reject</span><span><i class="indeterminate"></i>? indeterminate</span>'
            '<span><i class="mismatch"></i>differs from the policy (! open but not allowed, ✗ allowed but blocked)</span>'
            "<span>✓ open as declared · ● something listens</span></div>")


def _finding(f: Finding) -> str:
    evidence = json.dumps(evidence_json(f.evidence), separators=(", ", ": "), ensure_ascii=False)
    where = f' <span class="muted">{_h(f.location[0])}:{f.location[1]}</span>' if f.location else ""
    fix = f'<p class="fix">{_h(f.fix)}</p>' if f.fix else ""
    return (f'<div class="finding {f.severity}">{_sev_badge(f.severity)} <span class="title">{_h(f.title)}</span>'
            f'<code class="id">{_h(f.id)}</code>{where}<p>{_h(f.message)}</p>{fix}'
            f"<details><summary>Evidence</summary><pre>{_h(evidence)}</pre></details></div>")


def _host_summary(index: int, h: HostReport, open_: bool) -> str:
    badges = " ".join(f'{_sev_badge(s)}&nbsp;{n}' for s in _SEVERITIES if (n := h.count(s)))
    if h.status == "audited":
        badges = badges or '<span class="ok">compliant</span>'
        meta = f"policy {_h(h.policy)} · target {_h(h.target)} · {_h(h.started_at or '')}"
        if h.duration is not None:
            meta += f" · {h.duration:.2f} s"
    else:
        meta = _h(h.error or "")
    return (f'<details class="host" id="host-{index}"{" open" if open_ else ""}><summary>'
            f'<span class="name">{_h(h.host)}</span><span class="pill {h.status}">{h.status}</span>'
            f'{badges}<span class="meta">{meta}</span></summary>')


def _host_body(h: HostReport) -> str:
    parts = []
    if h.status != "audited":
        parts.append(f"<p>This host could not be audited: {_h(h.error or h.status)}</p>")
    else:
        if h.drift is not None:
            d = h.drift
            parts.append(f'<p class="note">Drift since baseline {_h(d.baseline)}: {d.new} new, {d.unchanged} unchanged, '
                         f"{len(d.resolved)} resolved{': ' + _h(', '.join(d.resolved)) if d.resolved else ''}</p>")
        parts.append("<h3>Exposure matrix</h3>")
        parts.append(_matrix(h.matrix) if h.matrix is not None else '<p class="muted">No exposure data.</p>')
        parts.append(f"<h3>Findings ({len(h.findings)})</h3>")
        parts.append("".join(_finding(f) for f in h.findings) or '<p class="ok">No findings: compliant.</p>')
        parts += [f'<p class="note">note: {_h(n)}</p>' for n in h.notes]
    if h.source:
        parts.append(f'<p class="note">report: {_h(h.source)}</p>')
    return "".join(parts)


def _host_section(index: int, h: HostReport, open_: bool, inline: bool = True) -> str:
    """A host's ``<details>``; with ``inline=False`` its body is left to the script (see
    :func:`_packed_bodies`)."""
    head = _host_summary(index, h, open_)
    if inline:
        return f'{head}<div class="hostbody">{_host_body(h)}</div></details>\n'
    return (f'{head}<div class="hostbody"><p class="muted">This fleet is large: a host\'s matrix and findings '
            "are shown when its section is opened, with JavaScript on (or audit it on its own).</p></div></details>\n")


def _packed_bodies(hosts: tuple[HostReport, ...]) -> str:
    """Every host's details as one JSON array of HTML strings, deflated and base64-encoded in an
    inert data block (base64 has no ``<``: nothing in it can end the block)."""
    packed = zlib.compress(json.dumps([_host_body(h) for h in hosts], ensure_ascii=False).encode(), 6)
    return (f'<script type="application/octet-stream" id="host-bodies">'
            f"{base64.b64encode(packed).decode()}</script>\n")


def _names(hosts: tuple[str, ...], anchors: dict[str, int]) -> str:
    def link(n: str) -> str:
        return f'<a href="#host-{anchors[n]}">{_h(n)}</a>' if n in anchors else _h(n)

    shown = ", ".join(link(n) for n in hosts[:NAMES_INLINE])
    if len(hosts) <= NAMES_INLINE:
        return shown
    rest = ", ".join(link(n) for n in hosts[NAMES_INLINE:NAMES_LISTED])
    if len(hosts) > NAMES_LISTED:
        rest += f" … and {len(hosts) - NAMES_LISTED} more (all of them: --format json)"
    return f"{shown} <details><summary>+{len(hosts) - NAMES_INLINE} more</summary>{rest}</details>"


def _hosts_cell(hosts: tuple[str, ...], anchors: dict[str, int]) -> str:
    return (f'<td data-v="{len(hosts)}"><b>{len(hosts)}</b> '
            f'<span class="hosts-inline">{_names(hosts, anchors)}</span></td>')


def _overview(fleet: Fleet, anchors: dict[str, int]) -> str:
    heads = "".join(f'<th class="sortable" data-type="num" scope="col">{s}</th>' for s in _SEVERITIES)
    rows = []
    for h in sorted(fleet.hosts, key=worst_first):
        w = h.worst()
        rank = int(w.severity) + 1 if w else (0 if h.status == "audited" else 9)
        counts = "".join(
            f'<td class="n {s}{" zero" if not h.count(s) else ""}" data-v="{h.count(s)}">'
            f'{h.count(s) if h.status == "audited" else "–"}</td>' for s in _SEVERITIES)
        worst = (f'{_sev_badge(w.severity)} {_h(w.title)} <code class="muted">{_h(w.id)}</code>' if w
                 else ('<span class="ok">compliant</span>' if h.status == "audited" else _h(h.error or "")))
        drift = "–" if h.drift is None else f"{h.drift.new} new / {len(h.drift.resolved)} resolved"
        rows.append(f'<tr data-host="{_attr(h.host)}"><td><a href="#host-{anchors[h.host]}">{_h(h.host)}</a></td>'
                    f'<td data-v="{rank}"><span class="pill {h.status}">{h.status}</span></td>{counts}'
                    f'<td data-v="{rank}">{worst}</td><td>{drift}</td></tr>')
    return ('<h2 id="overview">Hosts</h2><div class="tools"><input class="filter" data-for="hosts" type="search" '
            'placeholder="Filter hosts, findings…" aria-label="Filter hosts" hidden>'
            '<span class="pager" data-for="hosts" hidden><button class="prev" type="button">‹ prev</button> '
            '<span class="count"></span> <button class="next" type="button">next ›</button></span></div>'
            '<div class="card"><table class="sortable" id="hosts"><thead><tr>'
            '<th class="sortable" scope="col">Host</th><th class="sortable" data-type="num" scope="col">Status</th>'
            f'{heads}<th class="sortable" data-type="num" scope="col">Worst finding</th><th scope="col">Drift</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _cross_host(fleet: Fleet, anchors: dict[str, int]) -> list[str]:
    out = []
    if fleet.findings:
        rows = "".join(
            f'<tr><td data-v="{int(g.severity)}">{_sev_badge(g.severity)}</td><td><code>{_h(g.check)}</code></td>'
            f"<td>{_h(g.title)}</td><td>{_h(g.zone or '–')}</td><td>{_h(port_label(g.protocol, g.ports))}</td>"
            f"{_hosts_cell(g.hosts, anchors)}</tr>" for g in fleet.findings)
        out.append('<h2 id="findings">Findings across the fleet</h2><div class="card"><table class="sortable" id="groups">'
                   '<thead><tr><th class="sortable" data-type="num">Severity</th><th class="sortable">Check</th>'
                   '<th class="sortable">Finding</th><th class="sortable">Zone</th><th class="sortable">Port</th>'
                   f'<th class="sortable" data-type="num">Hosts</th></tr></thead><tbody>{rows}</tbody></table></div>')
    if fleet.exposure:
        rows = "".join(
            f'<tr><td>{_h(e.zone)}</td><td>{_h(port_label(e.protocol, e.ports))}</td>'
            f'<td><span class="pill {"audited" if e.verdict == "accept" else "failed"}">{e.verdict}</span></td>'
            f"{_hosts_cell(e.hosts, anchors)}</tr>" for e in fleet.exposure)
        out.append('<h2 id="exposure">Reachable ports across the fleet</h2>'
                   '<p class="muted">Listening or declared ports the firewall admits (or cannot decide) from each zone.</p>'
                   '<div class="card"><table class="sortable" id="reach"><thead><tr><th class="sortable">Zone</th>'
                   '<th class="sortable">Port</th><th class="sortable">Verdict</th>'
                   f'<th class="sortable" data-type="num">Hosts</th></tr></thead><tbody>{rows}</tbody></table></div>')
    if fleet.problems:
        items = "".join(f"<li><code>{_h(p.file)}</code>: {_h(p.message)}</li>" for p in fleet.problems)
        out.append(f'<h2 id="problems">Files that were not host reports</h2><div class="card"><ul>{items}</ul></div>')
    return out


def _tiles(fleet: Fleet) -> str:
    hosts = fleet.hosts
    audited = [h for h in hosts if h.status == "audited"]
    down = sum(1 for h in hosts if h.status == "unreachable")
    failed = sum(1 for h in hosts if h.status == "failed")
    drifted = sum(1 for h in audited if h.drift is not None and h.drift.drifted)
    tiles = [
        _tile(len(hosts), "hosts"),
        _tile(sum(1 for h in audited if not h.findings), "compliant", "good"),
        _tile(sum(1 for h in audited if h.findings), "with findings", "warn" if any(h.findings for h in audited) else ""),
        _tile(down, "unreachable", "bad" if down else ""),
        _tile(failed, "failed", "bad" if failed else ""),
    ]
    if drifted:
        tiles.append(_tile(drifted, "drifted", "warn"))
    tiles += [_tile(sum(h.count(s) for h in hosts), f"{s} findings", f"sevtile {s}") for s in _SEVERITIES]
    return f'<div class="tiles">{"".join(tiles)}</div>'


def render_fleet_html(fleet: Fleet) -> str:
    anchors = {h.host: i for i, h in enumerate(fleet.hosts)}
    open_all = len(fleet.hosts) <= OPEN_UP_TO_HOSTS
    inline = len(fleet.hosts) <= INLINE_UP_TO_HOSTS
    body = [_tiles(fleet), _overview(fleet, anchors), *_cross_host(fleet, anchors),
            '<h2 id="hosts-detail">Per host</h2>',
            *(_host_section(i, h, open_all, inline) for i, h in enumerate(fleet.hosts))]
    if not inline:
        body.append(_packed_bodies(fleet.hosts))
    return _page(fleet_headline(fleet), "fleet report", body, fleet.generated_at)


def render_audit_html(result: AuditResult) -> str:
    """One host's audit: the same host section as in a fleet report (built from the audit's
    JSON document, so both pages show exactly what the JSON says), open, without an overview."""
    doc = json.loads(json.dumps(audit_document(result)))
    h = host_from_document(doc, "", result.target)
    worst = h.worst()
    title = (f"{h.target}: policy {h.policy}: " +
             (f"{len(h.findings)} finding(s), worst {worst.severity}" if worst else "compliant"))
    body = [f'<div class="tiles">{"".join(_tile(h.count(s), f"{s} findings", f"sevtile {s}") for s in _SEVERITIES)}</div>',
            _host_section(0, h, True)]
    return _page(title, "audit report", body, result.started_at)
