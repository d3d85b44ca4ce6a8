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

from auditor.engine.order import Member, Slot, hook_slots
from auditor.model.ruleset import HOOKS, Chain, Ruleset, Table
from auditor.untrusted import escape


def base_chain_order(rs: Ruleset) -> list[tuple[str, int, Slot, Member]]:
    """(hook, IP version, slot, member) in kernel order, per hook and family.

    IPv6 is listed only where its order differs from IPv4's (ip6 tables beside ip tables)."""
    out: list[tuple[str, int, Slot, Member]] = []
    for hook in HOOKS:
        devices = sorted({c.device or "" for t in rs.tables for c in t.chains if c.hook == hook}) \
            if hook in ("ingress", "egress") else [None]
        seen: list[list[tuple[int, str]]] = []
        for version in (4, 6):
            rows = []
            for device in devices:
                for slot in hook_slots(rs, hook, version, device or None):
                    for m in slot.members + slot.idle:
                        rows.append((slot, m))
            key = [(s.priority, f"{m.table.family} {m.table.name} {m.chain.name}") for s, m in rows]
            if not rows or key in seen:
                continue
            seen.append(key)
            out += [(hook, version, slot, m) for slot, m in rows]
    return out


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
    current = None
    for h, version, slot, m in base_chain_order(rs):
        t, c = m.table, m.chain
        if (h, version) != current:
            current = (h, version)
            lines += ["", f"hook {h} (IPv{version}):"]
        nat = " (nat slot)" if m.nat and slot.priority != c.priority else ""
        dev = f" device {c.device}" if c.device else ""
        tie = "" if len(slot.members) < 2 else (
            f" [order: {slot.source}]" if slot.known else " [order UNKNOWN: iptables-legacy beside nf_tables; every order evaluated]")
        lines.append(f"  priority {slot.priority}{nat}: {t.backend} {t.family} {t.name} / {c.name}"
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


def rules_json(target: str, rs: Ruleset) -> str:
    doc = {
        "target": target,
        "order": [
            {"hook": h, "ip_version": version, "priority": slot.priority, "backend": m.table.backend,
             "family": m.table.family, "table": m.table.name, "chain": m.chain.name,
             "order_source": slot.source if slot.known else "unknown", "tied_with": len(slot.members) - 1}
            for h, version, slot, m in base_chain_order(rs)
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
