"""``fwaudit checks``: every registered check."""

from __future__ import annotations

from auditor.engine.checks import all_checks
from auditor.model.finding import CheckInfo


def checks() -> tuple[CheckInfo, ...]:
    return tuple(c.info for c in all_checks())
