"""Renderers for ``fwaudit rules``: every layer in the order the kernel runs it.

Base chains are grouped by hook and sorted by their effective priority across backends and
families (nat-type chains run at the nat core's slot, as the evaluator models it); user chains
follow, per table. Parts of rules the model does not understand are marked and counted.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.engine.evaluate import NAT_CORE_PRIORITY
from auditor.model.ruleset import HOOKS, Chain, Ruleset, Table
from auditor.untrusted import escape


def _is_nat(t: Table, c: Chain) -> bool:
    return c.type == "nat" or (c.type is None and t.backend != "nftables" and t.name == "nat")


def base_chain_order(rs: Ruleset) -> list[tuple[str, int, Table, Chain]]:
    """(hook, effective priority, table, chain) in kernel order."""
    out = []
    for ti, t in enumerate(rs.tables):
        for ci, c in enumerate(t.chains):
            if c.hook is None:
                continue
            prio = c.priority if c.priority is not None else 0
            eff = NAT_CORE_PRIORITY.get(c.hook, prio) if _is_nat(t, c) else prio
            out.append((HOOKS.index(c.hook) if c.hook in HOOKS else len(HOOKS), eff, prio, ti, ci, c.hook, t, c))
    out.sort(key=lambda x: x[:5])
    return [(hook, eff, t, c) for _, eff, _, _, _, hook, t, c in out]


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


def rules_text(target: str, rs: Ruleset) -> str:
    unknown = _unknown_rules(rs)
    lines = [f"Firewall of {target}: {len(rs.tables)} table(s), {len(rs.rules)} rule(s)"
             + (f", {unknown} rule(s) with constructs fwaudit does not understand" if unknown else "")]
    hook = None
    for h, eff, t, c in base_chain_order(rs):
        if h != hook:
            hook = h
            lines += ["", f"hook {h}:"]
        nat = " (nat slot)" if _is_nat(t, c) and eff != c.priority else ""
        dev = f" device {c.device}" if c.device else ""
        lines.append(f"  priority {eff}{nat}: {t.backend} {t.family} {t.name} / {c.name}"
                     f" (type {c.type or 'filter'}, policy {c.policy or 'accept'}{dev})")
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


def rules_json(target: str, rs: Ruleset) -> str:
    doc = {
        "target": target,
        "order": [
            {"hook": h, "priority": eff, "backend": t.backend, "family": t.family, "table": t.name, "chain": c.name}
            for h, eff, t, c in base_chain_order(rs)
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
