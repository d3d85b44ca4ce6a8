"""``fwaudit listeners``: the sockets of a target, rendered where they are collected (20,000
sockets cross the namespace boundary as one string, not as 20,000 objects)."""

from __future__ import annotations

from auditor.collect.sockets import collect_listeners
from auditor.report.formats import render
from auditor.target.targets import parse_target


def listeners(target: str, fmt: str) -> str:
    tgt = parse_target(target)
    return tgt.call(_report, str(tgt), fmt)


def _report(label: str, fmt: str) -> str:
    return render("listeners", fmt, label, collect_listeners())
