"""``fwaudit lab up|down`` (the demo lab) and ``fwaudit cleanup`` (what killed runs left)."""

from __future__ import annotations

import re

from auditor.errors import InputError
from auditor.probe import lab as demo
from auditor.probe.vantage import cleanup_leftovers
from auditor.target.targets import require_root
from auditor.untrusted import excerpt

#: A lab prefix: fwaudit's own namespace prefix, then what an interface-safe name allows.
_PREFIX = re.compile(r"fwa-[A-Za-z0-9_.-]{0,20}\Z", re.ASCII)


def _checked(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise InputError(f"--prefix {excerpt(prefix)!r}: a lab prefix is fwa- and up to 20 letters, digits, _ . -")
    return prefix


def lab_up(prefix: str = demo.LAB_PREFIX) -> demo.LabInfo:
    require_root("building the demo lab")
    return demo.lab_up(_checked(prefix))


def lab_down(prefix: str = demo.LAB_PREFIX) -> list[str]:
    require_root("removing the demo lab")
    return demo.lab_down(_checked(prefix))


def cleanup() -> tuple[list[str], list[str]]:
    """(what was removed, journals left alone and why)."""
    require_root("cleaning up probe namespaces")
    return cleanup_leftovers()
