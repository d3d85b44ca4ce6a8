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
from auditor.untrusted import escape

SCHEMA_PREFIX = "fwaudit.audit/"


@dataclass(frozen=True)
class Drift:
    new: tuple[Finding, ...]
    resolved: tuple[str, ...]  # ids in the baseline that are gone
    unchanged: int


def load_baseline_ids(path: Path | str) -> dict[str, str]:
    """``{finding id: title}`` of an accepted report; bad files are input errors (exit 2).

    Read like every user-named file (:func:`auditor.inputs.read_input_file`: regular files,
    size cap); nesting too deep for the JSON decoder and anything not shaped like a report are
    input errors that never quote the file.
    """
    from auditor.inputs import read_input_file

    shown = escape(str(path))
    try:
        text = read_input_file(path, what="baseline")
    except InputError as e:
        if "not found" in e.message:
            raise InputError(f"{e.message} (record one with 'fwaudit baseline accept')") from None
        raise
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise InputError(f"baseline {shown} is not valid JSON (line {getattr(e, 'lineno', '?')})") from None
    except RecursionError:
        raise InputError(f"baseline {shown} is nested too deeply to be an fwaudit report") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(SCHEMA_PREFIX):
        raise InputError(f"baseline {shown} is not an fwaudit JSON audit report (missing 'schema': '{SCHEMA_PREFIX}…')")
    findings = doc.get("findings")
    if not isinstance(findings, list) or not all(
            isinstance(f, dict) and isinstance(f.get("id"), str) and isinstance(f.get("title", ""), str)
            for f in findings):
        raise InputError(f"baseline {shown}: 'findings' is not a list of findings with text ids")
    return {f["id"]: f.get("title", "") for f in findings}


def drift(findings: tuple[Finding, ...], baseline: dict[str, str]) -> Drift:
    current = {f.id for f in findings}
    return Drift(
        new=tuple(f for f in findings if f.id not in baseline),
        resolved=tuple(sorted(i for i in baseline if i not in current)),
        unchanged=sum(1 for f in findings if f.id in baseline),
    )
