"""``fwaudit lab up|down`` (the demo lab) and ``fwaudit cleanup`` (what killed runs left)."""

from __future__ import annotations

from auditor.probe import lab as demo
from auditor.probe.vantage import cleanup_leftovers
from auditor.target.targets import require_root


def lab_up() -> demo.LabInfo:
    require_root("building the demo lab")
    return demo.lab_up()


def lab_down() -> list[str]:
    require_root("removing the demo lab")
    return demo.lab_down()


def cleanup() -> tuple[list[str], list[str]]:
    """(what was removed, journals left alone and why)."""
    require_root("cleaning up probe namespaces")
    return cleanup_leftovers()
