"""``fwaudit policy check`` and ``fwaudit policy init``."""

from __future__ import annotations

import os

from auditor.app.loaders import load_policy, load_snapshot
from auditor.collect.snapshot import collect_snapshot
from auditor.engine.policy import parse_policy
from auditor.engine.policy_draft import draft_policy, draft_zones, zones_only
from auditor.engine.zones import zone_exposures
from auditor.errors import InputError
from auditor.model.host import HostContext
from auditor.model.result import ZoneExposure
from auditor.report.policy_yaml import policy_summary, render_draft
from auditor.target.targets import parse_target


def check(path: str | os.PathLike[str]) -> str:
    """The one-line summary of a valid policy (an invalid one is an input error)."""
    return policy_summary(os.fspath(path), load_policy(path))


def init(*, target: str | None = None, snapshot: str | None = None) -> str:
    """A draft policy (YAML) from what the target, or a snapshot of it, exposes now."""
    if target is not None and snapshot is not None:
        raise InputError("give --target or --snapshot, not both")
    if snapshot is not None:
        snap = load_snapshot(snapshot)
    else:
        tgt = parse_target(target)
        snap = tgt.call(collect_snapshot, str(tgt))
    host = snap.host or HostContext()
    views: tuple[ZoneExposure, ...] = ()
    if snap.ruleset is not None and snap.host is not None:
        views = zone_exposures(snap.ruleset, snap.host, zones_only(draft_zones(snap.host)), target=snap.target)
    text = render_draft(draft_policy(snap.target, snap.listeners, host, views), snap.target,
                        firewall_view=bool(views))
    parse_policy(text, "<draft>")  # the draft must itself be a valid policy
    return text
