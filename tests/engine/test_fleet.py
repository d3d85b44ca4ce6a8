"""Merging host reports into a fleet: every host once, findings and exposures grouped."""

from __future__ import annotations

from auditor.engine.fleet import merge_fleet
from auditor.model.finding import Severity
from auditor.model.fleet import HostReport, InputProblem
from auditor.report.host_view import host_from_document
from tests.fleet_documents import audit_doc


def test_merge_groups_findings_and_exposures_across_hosts_and_refuses_a_host_twice():
    db1 = host_from_document(audit_doc(), "r/db1.json", "db1")
    db2 = host_from_document(audit_doc(pg_open_to_internet=False), "r/db2.json", "db2")
    db3 = host_from_document(audit_doc(process="pg-fork"), "r/db3.json", "db3")
    again = host_from_document(audit_doc(), "old/db1.json", "db1")
    down = HostReport("db0", "r/db0.json", "unreachable", error="timeout")
    fleet = merge_fleet([db3, db1, down, db2, again], [InputProblem("junk.json", "junk.json: not JSON")], 5.0)
    assert [h.host for h in fleet.hosts] == ["db0", "db1", "db2", "db3"]
    assert [p.file for p in fleet.problems] == ["junk.json", "old/db1.json"]
    assert "already reported by r/db1.json" in fleet.problems[1].message
    first = fleet.findings[0]
    assert (first.check, first.zone, first.ports, first.hosts, first.severity) == (
        "FWA101", "internet", (5432, 5432), ("db1", "db3"), Severity.HIGH)
    assert fleet.findings[1].hosts == ("db1", "db2", "db3") and fleet.findings[1].severity == Severity.LOW
    pg = {(e.zone, e.ports): e.hosts for e in fleet.exposure if e.verdict == "accept"}
    assert pg[("internet", (5432, 5432))] == ("db1", "db3")
    assert pg[("lan", (22, 22))] == ("db1", "db2", "db3")
    assert [h.host for h in fleet.failing(Severity.HIGH)] == ["db0", "db1", "db3"]
    assert [h.host for h in fleet.failing(Severity.CRITICAL)] == ["db0"]
