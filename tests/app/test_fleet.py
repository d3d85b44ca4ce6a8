"""Reading a fleet's host reports: names, directories, problems per file, worker processes."""

from __future__ import annotations

import json
import os

from auditor.app import fleet
from auditor.app.fleet import host_report, read_host_reports
from auditor.collect.host_reports import parse_host_document
from tests.fleet_documents import audit_doc, write_doc


def test_host_name_from_the_document_or_else_the_file_name():
    assert host_report(parse_host_document(json.dumps(audit_doc()), "results/db1.json")).host == "db1"
    assert host_report(parse_host_document(json.dumps({**audit_doc(), "host": "db1.example.net"}), "x.json")).host == "db1.example.net"


def test_directories_hold_reports_and_the_rest_is_a_problem_per_file(tmp_path):
    good = tmp_path / "results"
    good.mkdir()
    write_doc(good, "db1", audit_doc())
    write_doc(good, "db9", {"host": "db9", "status": "unreachable", "error": "refused"})
    (good / ".db2.json.tmp").write_text("{")  # an interrupted atomic write: skipped
    (good / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    os.mkfifo(tmp_path / "fifo.json")
    reports, problems = read_host_reports([str(good), str(tmp_path / "empty"), str(tmp_path / "fifo.json"),
                                           str(tmp_path / "missing.json")])
    assert [(r.host, r.status) for r in reports] == [("db1", "audited"), ("db9", "unreachable")]
    assert [p.file for p in problems] == [str(tmp_path / "empty"), str(tmp_path / "fifo.json"), str(tmp_path / "missing.json")]
    assert "no host reports" in problems[0].message and "FIFO" in problems[1].message and "not found" in problems[2].message


def test_oversized_reports_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FWAUDIT_MAX_INPUT_BYTES", "1000")
    path = write_doc(tmp_path, "big", audit_doc())
    reports, problems = read_host_reports([str(path)])
    assert reports == [] and "larger than 1000 bytes" in problems[0].message


def test_worker_processes_read_the_same_as_one_process(tmp_path, monkeypatch):
    for i in range(40):
        write_doc(tmp_path, f"h{i:02}", audit_doc(pg_open_to_internet=i % 2 == 0))
    (tmp_path / "h99.json").write_text("not json")
    serial = read_host_reports([str(tmp_path)], workers=1)
    monkeypatch.setattr(fleet, "PARALLEL_FROM", 10)
    monkeypatch.setattr(fleet, "_CHUNK", 7)
    parallel = read_host_reports([str(tmp_path)], workers=2)
    assert parallel == serial and len(serial[0]) == 40 and len(serial[1]) == 1
