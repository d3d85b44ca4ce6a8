"""Drift against an accepted baseline: report only what changed since a known state.

A baseline is an earlier JSON audit report (``fwaudit baseline accept`` stores one). Findings
are matched by their stable id; evidence may change (a PID, a timestamp) without making a
finding "new".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError
from auditor.model.finding import Finding

SCHEMA_PREFIX = "fwaudit.audit/"


@dataclass(frozen=True)
class Drift:
    new: tuple[Finding, ...]
    resolved: tuple[str, ...]  # ids in the baseline that are gone
    unchanged: int


def load_baseline_ids(path: Path | str) -> dict[str, str]:
    """``{finding id: title}`` of an accepted report; bad files are input errors (exit 2)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(f"baseline {p} not found (record one with 'fwaudit baseline accept')") from None
    except (OSError, ValueError) as e:
        raise InputError(f"baseline {p} is not a readable JSON audit report: {e}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(SCHEMA_PREFIX):
        raise InputError(f"baseline {p} is not an fwaudit JSON audit report (missing 'schema': '{SCHEMA_PREFIX}…')")
    try:
        return {f["id"]: f.get("title", "") for f in doc["findings"]}
    except (KeyError, TypeError):
        raise InputError(f"baseline {p}: malformed 'findings' list") from None


def drift(findings: tuple[Finding, ...], baseline: dict[str, str]) -> Drift:
    current = {f.id for f in findings}
    return Drift(
        new=tuple(f for f in findings if f.id not in baseline),
        resolved=tuple(sorted(i for i in baseline if i not in current)),
        unchanged=sum(1 for f in findings if f.id in baseline),
    )
