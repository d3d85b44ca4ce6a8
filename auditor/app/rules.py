"""``fwaudit rules``: the firewall as fwaudit read it, base chains in the kernel's order."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.app.loaders import load_snapshot
from auditor.app.options import one_firewall_source
from auditor.collect.ruleset import collect_ruleset, read_ruleset_files
from auditor.engine.rules_view import rules_view
from auditor.errors import InputError
from auditor.model.hooks import RulesView
from auditor.target.targets import parse_target


def rules(*, target: str | None = None, rulesets: Sequence[str] = (), snapshot: str | None = None) -> RulesView:
    one_firewall_source(target, rulesets, snapshot)
    if target is not None:
        tgt = parse_target(target)
        return rules_view(str(tgt), tgt.call(collect_ruleset))
    if snapshot is not None:
        snap = load_snapshot(snapshot)
        if snap.ruleset is None:
            raise InputError(f"the snapshot of {snap.target} has no firewall view: " + ("; ".join(snap.notes) or "not read"))
        return rules_view(snap.target, snap.ruleset)
    rs = read_ruleset_files(list(rulesets))
    return rules_view(rs.source, rs)
