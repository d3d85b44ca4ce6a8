"""Drift against an accepted baseline: report only what changed since a known state.

A baseline is an earlier JSON audit report (``fwaudit baseline accept`` stores one). Findings
are matched by their stable id; evidence may change (a PID, a timestamp) without making a
finding "new".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from auditor.errors import InputError
from auditor.model.finding import Finding
from auditor.model.result import Drift
from auditor.untrusted import escape

SCHEMA_PREFIX = "fwaudit.audit/"


def parse_baseline_ids(text: str, source: str) -> dict[str, str]:
    """``{finding id: title}`` of an accepted report (the text of file ``source``); anything not
    shaped like a report, or nested too deep for the JSON decoder, is an input error that
    never quotes the file."""
    shown = escape(source)
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


def drift(findings: Sequence[Finding], baseline: Mapping[str, str], label: str) -> tuple[tuple[Finding, ...], Drift]:
    """The findings that are new since ``baseline`` (named ``label``), and the drift summary."""
    current = {f.id for f in findings}
    new = tuple(f for f in findings if f.id not in baseline)
    return new, Drift(
        baseline=label,
        new=len(new),
        unchanged=sum(1 for f in findings if f.id in baseline),
        resolved=tuple(sorted(i for i in baseline if i not in current)),
    )
