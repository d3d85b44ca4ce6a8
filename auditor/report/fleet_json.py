"""The versioned JSON fleet report (schema: ``auditor/report/schemas/fleet-1.schema.json``).

Per host: status, counts by severity, worst finding, its findings in brief and its drift; across
the fleet: every (check, zone, protocol, ports) with the hosts that have it, every (zone,
protocol, ports) the firewall opens with the hosts where it does, and the files that were not
host reports. Evidence stays in the per-host audit documents.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from auditor.model.finding import Finding, Severity
from auditor.model.fleet import Fleet, HostReport

SCHEMA_ID = "fwaudit.fleet/1"
#: Above this many hosts the document is written without indentation (a third of the size,
#: five times faster to write); both forms are the same JSON.
INDENT_UP_TO_HOSTS = 200


def by_severity(findings: tuple[Finding, ...]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {str(s): counts.get(s, 0) for s in Severity}


def _brief(f: Finding) -> dict[str, Any]:
    return {"id": f.id, "check": f.check, "severity": str(f.severity), "title": f.title,
            "zone": f.zone, "protocol": f.protocol, "ports": list(f.ports) if f.ports else None}


def host_json(h: HostReport) -> dict[str, Any]:
    worst = h.worst()
    return {
        "host": h.host,
        "status": h.status,
        "error": h.error,
        "source": h.source,
        "target": h.target or None,
        "policy": h.policy or None,
        "started_at": h.started_at,
        "duration_seconds": h.duration,
        "summary": {"findings": len(h.findings), "by_severity": by_severity(h.findings),
                    "worst": str(worst.severity) if worst else None},
        "worst_finding": None if worst is None else {**_brief(worst), "message": worst.message},
        "findings": [_brief(f) for f in h.findings],
        "drift": None if h.drift is None else {
            "baseline": h.drift.baseline, "new": h.drift.new, "unchanged": h.drift.unchanged,
            "resolved": list(h.drift.resolved)},
    }


def fleet_document(fleet: Fleet) -> dict[str, Any]:
    hosts = fleet.hosts
    status = Counter(h.status for h in hosts)
    audited = [h for h in hosts if h.status == "audited"]
    worst = Counter(str(w.severity) if (w := h.worst()) else "none" for h in audited)
    return {
        "schema": SCHEMA_ID,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fleet.generated_at)),
        "summary": {
            "hosts": len(hosts),
            "audited": status["audited"],
            "unreachable": status["unreachable"],
            "failed": status["failed"],
            "compliant": sum(1 for h in audited if not h.findings),
            "with_findings": sum(1 for h in audited if h.findings),
            "drifted": sum(1 for h in audited if h.drift is not None and h.drift.drifted),
            "problems": len(fleet.problems),
            "findings_by_severity": by_severity(tuple(f for h in hosts for f in h.findings)),
            "hosts_by_worst": {**{str(s): worst.get(str(s), 0) for s in Severity}, "none": worst.get("none", 0)},
        },
        "hosts": [host_json(h) for h in hosts],
        "findings": [
            {"check": g.check, "title": g.title, "severity": str(g.severity), "zone": g.zone,
             "protocol": g.protocol, "ports": list(g.ports) if g.ports else None, "hosts": list(g.hosts)}
            for g in fleet.findings
        ],
        "exposure": [
            {"zone": g.zone, "protocol": g.protocol, "ports": list(g.ports), "verdict": g.verdict,
             "hosts": list(g.hosts)}
            for g in fleet.exposure
        ],
        "problems": [{"file": p.file, "error": p.message} for p in fleet.problems],
    }


def render_fleet_json(fleet: Fleet) -> str:
    indent = 2 if len(fleet.hosts) <= INDENT_UP_TO_HOSTS else None
    return json.dumps(fleet_document(fleet), indent=indent, ensure_ascii=False)
