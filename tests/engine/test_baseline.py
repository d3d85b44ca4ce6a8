"""Drift against an accepted baseline: matching by stable id (bad baselines: test_baseline_files.py)."""

from __future__ import annotations

import json


from auditor.engine.baseline import drift, parse_baseline_ids
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
