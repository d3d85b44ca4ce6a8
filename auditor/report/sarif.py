"""SARIF 2.1.0: one result per finding, located at the file and line of the deciding rule
(ruleset files) or of the policy line that declared the service, so code-scanning UIs can
annotate the exact line.

Paths are written the way code-scanning services resolve them: relative to the directory
fwaudit ran in (``uriBaseId`` ``%SRCROOT%``, declared in ``originalUriBaseIds``), absolute
``file://`` URIs for files outside it. A bare absolute path is not a valid relative reference
(the SARIF validator's SARIF1004)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor import __version__
from auditor.model.finding import Finding, Severity
from auditor.model.result import AuditResult
from auditor.report.evidence import evidence_json, policy_line

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}


def artifact_location(path: str, root: Path) -> dict[str, str]:
    """``path`` (as the user gave it, relative to ``root``) as a SARIF artifactLocation."""
    full = Path(os.path.normpath(root / path))
    try:
        rel = full.relative_to(root)
    except ValueError:
        return {"uri": full.as_uri()}
    return {"uri": quote(rel.as_posix()), "uriBaseId": SRCROOT}


def _location(f: Finding, policy_path: str, root: Path) -> dict[str, Any]:
    if f.location is not None:
        path, line = f.location
    else:
        path = policy_path
        line = policy_line(f.evidence) or 1
    return {"physicalLocation": {"artifactLocation": artifact_location(path, root),
                                 "region": {"startLine": int(line)}}}


def render_sarif(result: AuditResult, root: Path | None = None) -> str:
    """``root``: the absolute directory relative paths in ``result`` are relative to (default:
    the directory fwaudit runs in)."""
    root = Path.cwd() if root is None else root
    rules: dict[str, dict[str, Any]] = {}
    for f in result.findings:
        rules.setdefault(f.check, {
            "id": f.check,
            "name": f.title.title().replace(" ", ""),
            "shortDescription": {"text": f.title},
            "defaultConfiguration": {"level": _LEVEL[f.severity]},
        })
    ids = sorted(rules)
    results = [
        {
            "ruleId": f.check,
            "ruleIndex": ids.index(f.check),
            "level": _LEVEL[f.severity],
            "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
            "locations": [_location(f, result.policy.path, root)],
            "partialFingerprints": {"fwauditFindingId": f.id},
            "properties": {"severity": str(f.severity), "evidence": evidence_json(f.evidence)},
        }
        for f in result.findings
    ]
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "fwaudit",
                "version": __version__,
                "rules": [rules[i] for i in ids],
            }},
            "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
            "results": results,
            "properties": {"target": result.target, "notes": list(result.notes)},
        }],
    }
    return json.dumps(doc, indent=2)
