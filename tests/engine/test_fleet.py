"""Merging host reports into a fleet: every host once, findings and exposures grouped."""

from __future__ import annotations

from auditor.engine.fleet import merge_fleet
from auditor.model.finding import Finding, Severity
from auditor.model.fleet import ExposureMatrix, HostReport, InputProblem, MatrixCell, MatrixColumn
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


def finding(check: str, sev: Severity, zone: str | None = None, protocol: str | None = None,
            ports: tuple[int, int] | None = None) -> Finding:
    return Finding(f"{check}:{zone}:{protocol}:{ports}", check, f"{check} title", sev, "m",
                   zone=zone, protocol=protocol, ports=ports)


def audited(host: str, *findings: Finding, matrix: ExposureMatrix | None = None) -> HostReport:
    return HostReport(host, f"r/{host}.json", "audited", findings=findings, matrix=matrix)


def test_finding_groups_of_equal_weight_are_ordered_by_check_zone_protocol_and_ports():
    """Worst first, then the most widespread; ties by check, zone (none first: zone names are
    the policy's, any case), protocol and ports (none first)."""
    fs = [finding("FWA101", Severity.HIGH, "lan", "udp", (53, 53)),
          finding("FWA101", Severity.HIGH, "lan", "tcp", (443, 443)),
          finding("FWA101", Severity.HIGH, "lan", "tcp", (80, 80)),
          finding("FWA101", Severity.HIGH, "DMZ", "tcp", (80, 80)),
          finding("FWA101", Severity.HIGH, None, "tcp", (80, 80)),
          finding("FWA100", Severity.HIGH, "lan"),
          finding("FWA001", Severity.LOW),
          finding("FWA002", Severity.HIGH, "lan", "tcp", (22, 22))]
    fleet = merge_fleet([audited("a", *fs), audited("b", fs[-1])])
    assert [(g.check, g.zone, g.protocol, g.ports, g.hosts) for g in fleet.findings] == [
        ("FWA002", "lan", "tcp", (22, 22), ("a", "b")),
        ("FWA100", "lan", None, None, ("a",)),
        ("FWA101", None, "tcp", (80, 80), ("a",)),
        ("FWA101", "DMZ", "tcp", (80, 80), ("a",)),
        ("FWA101", "lan", "tcp", (80, 80), ("a",)),
        ("FWA101", "lan", "tcp", (443, 443), ("a",)),
        ("FWA101", "lan", "udp", (53, 53), ("a",)),
        ("FWA001", None, None, None, ("a",)),
    ]
    assert fleet.generated_at == 0.0  # no time given: the epoch, not "now"


def test_exposure_groups_hold_accepted_and_undecided_cells_by_zone_ports_and_protocol():
    cols = (MatrixColumn("udp", (53, 53)), MatrixColumn("tcp", (53, 53)), MatrixColumn("tcp", (22, 22)))
    m1 = ExposureMatrix(("lan", "internet"), cols, (
        (MatrixCell("accept"), MatrixCell("accept"), MatrixCell("indeterminate")),
        (MatrixCell("drop"), MatrixCell("reject"), MatrixCell(None)),
    ))
    m2 = ExposureMatrix(("lan",), cols, ((MatrixCell("accept"), MatrixCell("drop"), MatrixCell("accept")),))
    fleet = merge_fleet([audited("h1", matrix=m1), audited("h2", matrix=m2), audited("h3")])
    assert [(e.zone, e.protocol, e.ports, e.verdict, e.hosts) for e in fleet.exposure] == [
        ("lan", "tcp", (22, 22), "accept", ("h2",)),
        ("lan", "tcp", (22, 22), "indeterminate", ("h1",)),
        ("lan", "tcp", (53, 53), "accept", ("h1",)),
        ("lan", "udp", (53, 53), "accept", ("h1", "h2")),
    ]


def test_a_host_reported_twice_does_not_hide_the_hosts_after_it():
    fleet = merge_fleet([audited("a"), HostReport("a", "old/a.json", "failed", error="x"), audited("b")])
    assert [(h.host, h.source) for h in fleet.hosts] == [("a", "r/a.json"), ("b", "r/b.json")]
    assert [p.message for p in fleet.problems] == ["old/a.json: host 'a' is already reported by r/a.json"]
