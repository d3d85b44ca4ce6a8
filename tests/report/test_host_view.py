"""The pure fleet logic: audit documents and host records in, one fleet out."""

from __future__ import annotations

import copy

import pytest

from auditor.report.host_view import MAX_COLUMNS, host_from_document, host_from_record
from auditor.errors import InputError
from tests.fleet_documents import audit_doc


def test_matrix_is_zones_by_declared_and_exposed_ports_with_verdicts_and_rules():
    h = host_from_document(audit_doc(), "r/db1.json", "db1")
    m = h.matrix
    assert m.zones == ("lan", "internet")
    assert [c.label for c in m.columns] == ["tcp/22", "tcp/5432"]  # the loopback-only redis is not exposed
    assert m.columns[1].services == ("postgres",) and m.columns[1].processes == ("postgres",)
    lan, internet = m.cells
    assert [c.verdict for c in lan] == ["accept", "accept"] and all(c.allowed for c in lan)
    assert internet[0].verdict == "drop" and not internet[0].allowed and internet[0].reason == "no rule matched"
    assert internet[1].verdict == "accept" and not internet[1].allowed and not internet[1].partial
    assert internet[1].rules == ('inet filter/input#5: tcp dport 5432 accept comment "TODO restrict"',)


def test_a_zone_reaching_a_port_from_part_of_its_prefixes_is_partial():
    doc = audit_doc()
    internet = doc["views"]["firewall"][1]["exposure"]
    half = [e for e in internet if e["source"] == "128.0.0.0/1"]
    for e in half:  # the second half of the internet no longer reaches postgres
        if e["ports"] == [5432, 5432]:
            e.update(verdict="drop", decided_by=[], reason="dropped")
    cell = host_from_document(doc, "x", "db1").matrix.cells[1][1]
    assert cell.verdict == "accept" and cell.partial


def test_without_a_firewall_view_cells_have_no_verdict_but_keep_the_policy():
    m = host_from_document(audit_doc(firewall=False), "x", "db1").matrix
    assert m.zones == ("lan",)  # the zones the declared services name
    assert all(c.verdict is None and c.allowed for c in m.cells[0])


def test_a_listener_inside_a_declared_range_joins_its_column_and_huge_hosts_are_capped():
    doc = audit_doc()
    doc["views"]["declared"].append({"name": "app", "protocol": "tcp", "ports": [8000, 8100], "zones": ["lan"],
                                     "processes": [], "bind": "any", "optional": False, "line": 20})
    listener = copy.deepcopy(doc["views"]["listening"][0])
    doc["views"]["listening"] += [dict(listener, port=8050)] + [dict(listener, port=20000 + i) for i in range(100)]
    m = host_from_document(doc, "x", "h").matrix
    app = next(c for c in m.columns if c.ports == (8000, 8100))
    assert app.listening and app.services == ("app",)
    assert len(m.columns) == MAX_COLUMNS and m.omitted == 3 + 100 - MAX_COLUMNS


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["views"]["declared"][0].update(protocol=6), "views.declared[0].protocol must be tcp or udp"),
    (lambda d: d["views"]["declared"][0].update(ports=[9, 1]), "views.declared[0].ports must be a [low, high] port range"),
    (lambda d: d["views"]["declared"][0].update(zones="lan"), "views.declared[0].zones must be a list"),
    (lambda d: d["views"]["firewall"][0]["exposure"][1].update(decided_by=[7]), "must be an object"),
    (lambda d: d.update(drift={"baseline": "b", "new": -1, "unchanged": 0, "resolved": []}), "non-negative"),
    (lambda d: d.update(drift={"baseline": "b", "new": 1, "unchanged": 0, "resolved": "FWA001:x"}), "malformed 'drift'"),
])
def test_parts_the_schema_leaves_open_are_checked_and_the_file_named(change, message):
    doc = audit_doc()
    change(doc)
    with pytest.raises(InputError, match="^r/h.json: .*" + message.replace("[", r"\[").replace("]", r"\]")):
        host_from_document(doc, "r/h.json", "h")


def test_drift_is_read_when_the_report_carries_it():
    doc = audit_doc({"drift": {"baseline": "/var/lib/fwaudit/b.json", "new": 1, "unchanged": 3,
                               "resolved": ["FWA002:tcp/443"]}})
    d = host_from_document(doc, "x", "h").drift
    assert (d.new, d.unchanged, d.resolved, d.drifted) == (1, 3, ("FWA002:tcp/443",), True)


def test_host_records_are_exactly_host_status_error():
    h = host_from_record({"host": "db9", "status": "unreachable", "error": "ssh: connect to host: refused"}, "r/db9.json")
    assert (h.host, h.status, h.error, h.findings, h.matrix) == ("db9", "unreachable", "ssh: connect to host: refused", (), None)
    for bad, why in (({"host": "a", "status": "gone", "error": "x"}, "'status' must be"),
                     ({"host": "", "status": "failed", "error": "x"}, "non-empty"),
                     ({"host": "a", "status": "failed", "error": 3}, "'error' must be a string"),
                     ({"host": "a", "status": "failed", "error": "x", "extra": 1}, "exactly the keys")):
        with pytest.raises(InputError, match=why):
            host_from_record(bad, "r.json")


def test_without_details_the_verdicts_stay_and_evidence_and_rules_go():
    full = host_from_document(audit_doc(), "x", "db1")
    lean = host_from_document(audit_doc(), "x", "db1", details=False)
    assert [[c.verdict for c in row] for row in lean.matrix.cells] == [[c.verdict for c in row] for row in full.matrix.cells]
    assert all(c.rules == () and c.reason is None for row in lean.matrix.cells for c in row)
    assert [f.id for f in lean.findings] == [f.id for f in full.findings]
    assert full.findings[0].evidence and not lean.findings[0].evidence
