"""``fwaudit snapshot``: collect a target once (read-only, as root) into a file that ``audit``,
``exposure``, ``rules`` and ``policy init`` read with ``--snapshot`` — anywhere, without root."""

from __future__ import annotations

from auditor.collect.snapshot import collect_snapshot
from auditor.model.snapshot import HostSnapshot
from auditor.report.snapshot_json import render_snapshot
from auditor.target.targets import parse_target, require_root


def snapshot(target: str | None) -> tuple[HostSnapshot, str]:
    """The snapshot of ``target`` and its JSON text."""
    require_root("taking a snapshot (reading the firewall)")
    tgt = parse_target(target)
    snap = tgt.call(collect_snapshot, str(tgt))
    return snap, render_snapshot(snap)
