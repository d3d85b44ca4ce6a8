"""The ruleset as ``fwaudit rules`` shows it: every base chain at its place in the kernel's
order, per hook and IP version (the order the evaluator uses, :mod:`auditor.engine.order`)."""

from __future__ import annotations

from auditor.engine.order import Member, Slot, hook_slots
from auditor.model.hooks import BaseChainPlacement, RulesView
from auditor.model.ruleset import HOOKS, Ruleset


def rules_view(target: str, rs: Ruleset) -> RulesView:
    return RulesView(target, rs, base_chain_order(rs))


def base_chain_order(rs: Ruleset) -> tuple[BaseChainPlacement, ...]:
    """Base chains in kernel order, per hook and family. IPv6 is listed only where its order
    differs from IPv4's (ip6 tables beside ip tables)."""
    out: list[BaseChainPlacement] = []
    for hook in HOOKS:
        devices: list[str | None] = [None]
        if hook in ("ingress", "egress"):
            devices = [*sorted({c.device or "" for t in rs.tables for c in t.chains if c.hook == hook})]
        seen: list[list[tuple[int, str]]] = []
        for version in (4, 6):
            rows: list[tuple[Slot, Member]] = []
            for device in devices:
                for slot in hook_slots(rs, hook, version, device or None):
                    for m in slot.members + slot.idle:
                        rows.append((slot, m))
            key = [(s.priority, f"{m.table.family} {m.table.name} {m.chain.name}") for s, m in rows]
            if not rows or key in seen:
                continue
            seen.append(key)
            out += [BaseChainPlacement(hook, version, slot.priority, m.table, m.chain, m.nat, *_order_of(slot),
                                       len(slot.members) - 1) for slot, m in rows]
    return tuple(out)


def _order_of(slot: Slot) -> tuple[bool, str]:
    """Whether the slot's place in the hook is known, and where that came from (or why not)."""
    if slot.conntrack:
        return False, "unknown: conntrack runs at the same priority, before or after by registration"
    if slot.nat_core:
        return False, "unknown: the nat core runs at the same priority, before or after by registration"
    return slot.known, slot.source
