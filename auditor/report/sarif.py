"""SARIF 2.1.0: one result per finding, located at the file and line of the deciding rule
(ruleset files) or of the policy line that declared the service, so code-scanning UIs can
annotate the exact line."""

from __future__ import annotations

import json
from typing import Any

from auditor import __version__
from auditor.model.finding import Finding, Severity
from auditor.model.result import AuditResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}


def _location(f: Finding, policy_path: str) -> dict[str, Any]:
    if f.location is not None:
        uri, line = f.location
    else:
        uri = policy_path
        line = f.evidence.get("policy_line") or 1
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": int(line)}}}


def render_sarif(result: AuditResult) -> str:
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
            "locations": [_location(f, result.policy.path)],
            "partialFingerprints": {"fwauditFindingId": f.id},
            "properties": {"severity": str(f.severity), "evidence": f.evidence},
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
                "informationUri": "https://example.invalid/fwaudit",
                "rules": [rules[i] for i in ids],
            }},
            "results": results,
            "properties": {"target": result.target, "notes": list(result.notes)},
        }],
    }
    return json.dumps(doc, indent=2, default=str)
