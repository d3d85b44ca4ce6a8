"""Drift against an accepted baseline: matching by stable id (bad baselines: test_baseline_files.py)."""

from __future__ import annotations

import json

import pytest

from auditor.engine.baseline import drift, parse_baseline_ids
from auditor.errors import InputError
from auditor.model.evidence import ServiceDownEvidence
from auditor.model.finding import Finding, Severity
from auditor.model.result import Drift


def finding(id_: str, message: str = "m") -> Finding:
    return Finding(id_, id_.split(":")[0], "t", Severity.HIGH, message, ServiceDownEvidence(1))


def test_new_unchanged_and_resolved_by_id():
    now = (finding("FWA001:tcp/6379"), finding("FWA101:lan:tcp/22", "pid 99 now"), finding("FWA104:lan:tcp"))
    new, d = drift(now, {"FWA101:lan:tcp/22": "undeclared exposure", "FWA001:tcp/5433": "x",
                         "FWA002:https:tcp/443": "y"}, "b.json")
    assert [f.id for f in new] == ["FWA001:tcp/6379", "FWA104:lan:tcp"]  # in the order found
    assert d.new == 2 and d.baseline == "b.json"
    assert d.unchanged == 1  # same id, other message and evidence: not new
    assert d.resolved == ("FWA001:tcp/5433", "FWA002:https:tcp/443")


def test_empty_baseline_makes_everything_new_and_a_clean_run_resolves_everything():
    now = (finding("FWA001:tcp/1"),)
    assert drift(now, {}, "b") == (now, Drift("b", new=1, resolved=(), unchanged=0))
    assert drift((), {"FWA001:tcp/1": ""}, "b") == ((), Drift("b", new=0, resolved=("FWA001:tcp/1",), unchanged=0))
    assert not drift(now, {"FWA001:tcp/1": ""}, "b")[1].drifted


def test_reads_ids_and_titles_of_an_accepted_report():
    text = json.dumps({"schema": "fwaudit.audit/1", "findings": [{"id": "FWA001:tcp/1", "title": "undeclared"}]})
    assert parse_baseline_ids(text, "base.json") == {"FWA001:tcp/1": "undeclared"}


def test_a_report_without_titles_reads_as_empty_titles():
    text = json.dumps({"schema": "fwaudit.audit/2", "findings": [{"id": "FWA002:web:tcp/80"}, {"id": "FWA001:tcp/1",
                                                                                              "title": "t"}]})
    assert parse_baseline_ids(text, "b.json") == {"FWA002:web:tcp/80": "", "FWA001:tcp/1": "t"}
    assert parse_baseline_ids(json.dumps({"schema": "fwaudit.audit/1", "findings": []}), "b.json") == {}


BAD = [
    ("{\n  nope", "baseline b.json is not valid JSON (line 2)"),
    ("1" * 5000, "baseline b.json is not valid JSON (line ?)"),  # a number too long to convert: no line known
    ("[" * 100_000 + "]" * 100_000, "baseline b.json is nested too deeply to be an fwaudit report"),
    ("[]", "baseline b.json is not an fwaudit JSON audit report (missing 'schema': 'fwaudit.audit/…')"),
    ('{"findings": []}', "baseline b.json is not an fwaudit JSON audit report (missing 'schema': 'fwaudit.audit/…')"),
    ('{"schema": "fwaudit.fleet/1", "findings": []}',
     "baseline b.json is not an fwaudit JSON audit report (missing 'schema': 'fwaudit.audit/…')"),
    ('{"schema": "fwaudit.audit/1"}', "baseline b.json: 'findings' is not a list of findings with text ids"),
    ('{"schema": "fwaudit.audit/1", "findings": {"id": "x"}}',
     "baseline b.json: 'findings' is not a list of findings with text ids"),
    ('{"schema": "fwaudit.audit/1", "findings": ["FWA001:tcp/1"]}',
     "baseline b.json: 'findings' is not a list of findings with text ids"),
    ('{"schema": "fwaudit.audit/1", "findings": [{"id": 7, "title": "t"}]}',
     "baseline b.json: 'findings' is not a list of findings with text ids"),
    ('{"schema": "fwaudit.audit/1", "findings": [{"id": "FWA001:tcp/1", "title": 7}]}',
     "baseline b.json: 'findings' is not a list of findings with text ids"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m.split(" ", 2)[2][:40] + str(i) for i, (_, m) in enumerate(BAD)])
def test_what_is_not_an_accepted_report_is_an_input_error_that_says_what_is_wrong(text, message):
    with pytest.raises(InputError) as e:
        parse_baseline_ids(text, "b.json")
    assert str(e.value) == message


def test_the_file_name_is_shown_escaped():
    with pytest.raises(InputError) as e:
        parse_baseline_ids("[]", "b\x1b[31m.json")
    assert str(e.value).startswith("baseline b\\x1b[31m.json is not an fwaudit JSON audit report")
