"""Renderers for ``fwaudit rules``: every layer in the order the kernel runs it.

Base chains are grouped by hook and listed in the order the evaluator uses (nat-type chains at
the nat core's slot; at equal priority the chain registered last first), with where that order
came from — ``nft list hooks``, nf_tables handles, file order — or a warning where it cannot be
read (iptables-legacy beside nf_tables at equal priority: the evaluator then tries every order).
User chains follow, per table. Parts of rules the model does not understand are marked and counted.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.model.hooks import RulesView
from auditor.model.ruleset import Chain, Ruleset
from auditor.untrusted import escape


def _unknown_rules(rs: Ruleset) -> int:
    return sum(1 for r in rs.rules if r.unknowns)


def _rule_lines(c: Chain) -> list[str]:
    lines = []
    for r in c.rules:
        loc = f"  [{r.origin.file}:{r.origin.line}]" if r.origin.line else ""
        lines.append(f"      {r.origin.position:>4}  {r.origin.text}{loc}")
        for u in r.unknowns:
            lines.append(f"            ^ not understood (evaluated as indeterminate): {u}")
    return lines


def rules_text(view: RulesView) -> str:
    rs = view.ruleset
    unknown = _unknown_rules(rs)
    lines = [f"Firewall of {view.target}: {len(rs.tables)} table(s), {len(rs.rules)} rule(s)"
             + (f", {unknown} rule(s) with constructs fwaudit does not understand" if unknown else "")]
    current = None
    for p in view.order:
        t, c = p.table, p.chain
        if (p.hook, p.ip_version) != current:
            current = (p.hook, p.ip_version)
            lines += ["", f"hook {p.hook} (IPv{p.ip_version}):"]
        nat = " (nat slot)" if p.nat and p.priority != c.priority else ""
        dev = f" device {c.device}" if c.device else ""
        tie = (f" [order UNKNOWN{p.order_source.removeprefix('unknown')}; every order evaluated]" if not p.order_known
               else "" if p.tied_with < 1 else f" [order: {p.order_source}]")
        lines.append(f"  priority {p.priority}{nat}: {t.backend} {t.family} {t.name} / {c.name}"
                     f" (type {c.type or 'filter'}, policy {c.policy or 'accept'}{dev}){tie}")
        lines += _rule_lines(c)
    users = [(t, c) for t in rs.tables for c in t.chains if c.hook is None]
    if users:
        lines += ["", "user chains:"]
        for t, c in users:
            lines.append(f"  {t.backend} {t.family} {t.name} / {c.name}")
            lines += _rule_lines(c)
    for n in rs.notes:
        lines.append(f"note: {n}")
    return "\n".join(escape(line) for line in lines)  # rule texts, comments, names: untrusted


def _chain_json(c: Chain) -> dict[str, Any]:
    return {
        "name": c.name, "hook": c.hook, "priority": c.priority, "type": c.type, "policy": c.policy,
        "device": c.device, "line": c.line,
        "rules": [
            {"position": r.origin.position, "handle": r.origin.handle, "file": r.origin.file,
             "line": r.origin.line, "text": r.origin.text, "comment": r.comment, "unknown": list(r.unknowns)}
            for r in c.rules
        ],
    }


def rules_json(view: RulesView) -> str:
    rs = view.ruleset
    doc = {
        "target": view.target,
        "order": [
            {"hook": p.hook, "ip_version": p.ip_version, "priority": p.priority, "backend": p.table.backend,
             "family": p.table.family, "table": p.table.name, "chain": p.chain.name,
             "order_source": p.order_source if p.order_known else "unknown", "tied_with": p.tied_with}
            for p in view.order
        ],
        "tables": [
            {"backend": t.backend, "family": t.family, "name": t.name, "source": t.source,
             "chains": [_chain_json(c) for c in t.chains],
             "sets": [{"name": s.name, "type": s.kind, "elements": list(s.elements)} for s in t.sets]}
            for t in rs.tables
        ],
        "unknown_rules": _unknown_rules(rs),
        "notes": list(rs.notes),
    }
    return json.dumps(doc, indent=2)
