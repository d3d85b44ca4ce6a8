"""Reading host reports: every kind of bad file is a clear problem naming it, never a traceback,
and never more than a glimpse of its content."""

from __future__ import annotations

import json

import pytest

from auditor.collect.host_reports import parse_host_document
from auditor.errors import InputError
from tests.fleet_documents import audit_doc


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
        parse_host_document(text, "r/h.json")
    assert e.value.message.startswith("r/h.json: ") and message in e.value.message


def test_schema_violations_say_where_without_quoting_the_file():
    doc = audit_doc()
    secret = "s3cr3t-" * 1000
    doc["summary"]["worst"] = secret
    with pytest.raises(InputError) as e:
        parse_host_document(json.dumps(doc), "r/h.json")
    msg = e.value.message
    assert "not a valid fwaudit audit report: at /summary/worst:" in msg
    assert len(msg) < 200 and secret not in msg


def test_control_characters_in_file_names_are_escaped():
    with pytest.raises(InputError) as e:
        parse_host_document("{", "r/\x1b[31mh.json")
    assert "\x1b" not in e.value.message and "\\x1b" in e.value.message


def test_audit_documents_and_host_records_are_told_apart():
    assert parse_host_document(json.dumps(audit_doc()), "r/db1.json").kind == "audit"
    record = parse_host_document('{"host": "db9", "status": "failed", "error": "x"}', "r/db9.json")
    assert (record.kind, record.doc["host"], record.source) == ("record", "db9", "r/db9.json")
