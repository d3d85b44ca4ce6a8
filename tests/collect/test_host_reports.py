"""Reading host reports: every kind of bad file is a clear problem naming it, never a traceback,
and never more than a glimpse of its content."""

from __future__ import annotations

import json
import os

import pytest

from auditor.collect import host_reports
from auditor.collect.host_reports import parse_host_report, read_host_reports
from auditor.errors import InputError
from tests.fleet_documents import audit_doc, write_doc


def test_host_name_from_the_document_or_else_the_file_name():
    assert parse_host_report(json.dumps(audit_doc()), "results/db1.json").host == "db1"
    assert parse_host_report(json.dumps({**audit_doc(), "host": "db1.example.net"}), "x.json").host == "db1.example.net"


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not valid JSON (line 1, column 2)"),
    ('{"schema": NaN}', "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[1, 2]", "not a JSON object"),
    ('{"hello": "world"}', "not an fwaudit audit report or host record (no 'schema' field"),
    ('{"schema": "fwaudit.fleet/1"}', "not an fwaudit audit report (schema 'fwaudit.fleet/1'"),
    ('{"schema": "fwaudit.audit/9"}', "unsupported audit report version 'fwaudit.audit/9'"),
    ('{"schema": 7}', "schema 'not a string'"),
])
def test_bad_and_foreign_json_is_named(text, message):
    with pytest.raises(InputError) as e:
        parse_host_report(text, "r/h.json")
    assert e.value.message.startswith("r/h.json: ") and message in e.value.message


def test_schema_violations_say_where_without_quoting_the_file():
    doc = audit_doc()
    secret = "s3cr3t-" * 1000
    doc["summary"]["worst"] = secret
    with pytest.raises(InputError) as e:
        parse_host_report(json.dumps(doc), "r/h.json")
    msg = e.value.message
    assert "not a valid fwaudit audit report: at /summary/worst:" in msg
    assert len(msg) < 200 and secret not in msg


def test_control_characters_in_file_names_are_escaped():
    with pytest.raises(InputError) as e:
        parse_host_report("{", "r/\x1b[31mh.json")
    assert "\x1b" not in e.value.message and "\\x1b" in e.value.message


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
    monkeypatch.setattr(host_reports, "PARALLEL_FROM", 10)
    monkeypatch.setattr(host_reports, "_CHUNK", 7)
    parallel = read_host_reports([str(tmp_path)], workers=2)
    assert parallel == serial and len(serial[0]) == 40 and len(serial[1]) == 1
