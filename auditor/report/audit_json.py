"""The versioned JSON audit report (schema: ``auditor/report/schemas/audit-1.schema.json``)."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from auditor.model.finding import Finding, Severity
from auditor.model.result import AuditResult
from auditor.report.evidence import evidence_json
from auditor.report.exposure import entry_json
from auditor.report.listeners import listener_json

SCHEMA_ID = "fwaudit.audit/1"


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "check": f.check,
        "title": f.title,
        "severity": str(f.severity),
        "message": f.message,
        "evidence": evidence_json(f.evidence),
        "fix": f.fix,
        "zone": f.zone,
        "protocol": f.protocol,
        "ports": list(f.ports) if f.ports else None,
        "location": {"file": f.location[0], "line": f.location[1]} if f.location else None,
    }


def audit_document(result: AuditResult) -> dict[str, Any]:
    counts = Counter(str(f.severity) for f in result.findings)
    worst = result.worst()
    pol = result.policy
    doc: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "target": result.target,
        "policy": {"name": pol.name, "path": pol.path},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(result.started_at)),
        "duration_seconds": round(result.duration, 3),
        "summary": {
            "findings": len(result.findings),
            "by_severity": {str(s): counts.get(str(s), 0) for s in Severity},
            "worst": str(worst) if worst is not None else None,
            "checks": len(result.checks),
            "checks_passed": sum(1 for c in result.checks if c.passed),
        },
        "findings": [finding_json(f) for f in result.findings],
        "views": {
            "declared": [
                {"name": s.name, "protocol": s.protocol, "ports": list(s.ports), "zones": list(s.zones),
                 "processes": list(s.processes),
                 "bind": s.bind if isinstance(s.bind, str) else [str(a) for a in s.bind],
                 "optional": s.optional, "line": s.line}
                for s in pol.services
            ],
            "listening": [listener_json(l) for l in result.listening],
            "firewall": None if result.ruleset is None else [
                {"zone": z.zone, "in_interface": z.exposure.in_interface, "destination": z.exposure.destination,
                 "exposure": [entry_json(e) for e in z.exposure.entries]}
                for z in result.firewall
            ],
            "probed": None if not result.probed else [
                {"source": e.source, "protocol": e.protocol, "ports": list(e.ports), "state": e.state,
                 "in_interface": s.in_interface, "destination": s.destination}
                for s in result.probed for e in s.entries
            ],
        },
        "notes": list(result.notes),
    }
    if result.drift is not None:
        d = result.drift
        doc["drift"] = {"baseline": d.baseline, "new": d.new, "unchanged": d.unchanged, "resolved": list(d.resolved)}
    if result.diff is not None:
        doc["diff"] = [{"zone": c.zone, "source": c.source, "protocol": c.protocol, "ports": list(c.ports),
                        "before": c.before, "after": c.after} for c in result.diff]
    return doc


def render_audit_json(result: AuditResult) -> str:
    return json.dumps(audit_document(result), indent=2)
