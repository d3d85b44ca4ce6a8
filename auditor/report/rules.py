"""Renderers for ``fwaudit rules``: the firewall as fwaudit understood it."""

from __future__ import annotations

import json
from typing import Any

from auditor.model.ruleset import Chain, Ruleset, Table


def _chain_header(c: Chain) -> str:
    if not c.is_base:
        return f"chain {c.name}"
    bits = [f"hook {c.hook}", f"priority {c.priority}"]
    if c.type:
        bits.insert(0, f"type {c.type}")
    if c.device:
        bits.append(f"device {c.device}")
    bits.append(f"policy {c.policy or 'accept'}")
    return f"chain {c.name} ({', '.join(bits)})"


def rules_text(target: str, rs: Ruleset) -> str:
    lines = [f"Firewall of {target}: {len(rs.tables)} table(s), {len(rs.rules)} rule(s)"]
    for t in rs.tables:
        where = f" [{t.source}]" if t.source else ""
        lines.append(f"\n{t.backend} {t.family} {t.name}{where}")
        for c in t.chains:
            lines.append(f"  {_chain_header(c)}")
            for r in c.rules:
                loc = f"{r.origin.line:>5}: " if r.origin.line else ""
                lines.append(f"    {r.origin.position:>3}  {loc}{r.origin.text}")
                for u in r.unknowns:
                    lines.append(f"         ^ not understood: {u}")
    for n in rs.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines)


def _table_json(t: Table) -> dict[str, Any]:
    return {
        "backend": t.backend,
        "family": t.family,
        "name": t.name,
        "source": t.source,
        "chains": [
            {
                "name": c.name,
                "hook": c.hook,
                "priority": c.priority,
                "type": c.type,
                "policy": c.policy,
                "device": c.device,
                "rules": [
                    {
                        "position": r.origin.position,
                        "handle": r.origin.handle,
                        "line": r.origin.line,
                        "text": r.origin.text,
                        "comment": r.comment,
                        "unknown": list(r.unknowns),
                    }
                    for r in c.rules
                ],
            }
            for c in t.chains
        ],
        "sets": [{"name": s.name, "type": s.kind, "elements": list(s.elements)} for s in t.sets],
    }


def rules_json(target: str, rs: Ruleset) -> str:
    return json.dumps(
        {"target": target, "tables": [_table_json(t) for t in rs.tables], "notes": list(rs.notes)},
        indent=2,
    )
