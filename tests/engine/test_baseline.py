"""Drift against an accepted baseline: matching by stable id (bad baselines: test_baseline_files.py)."""

from __future__ import annotations

import json


from auditor.engine.baseline import Drift, drift, load_baseline_ids
from auditor.model.finding import Finding, Severity


def finding(id_: str, message: str = "m") -> Finding:
    return Finding(id_, id_.split(":")[0], "t", Severity.HIGH, message, {"pid": 1})


def test_new_unchanged_and_resolved_by_id():
    now = (finding("FWA001:tcp/6379"), finding("FWA101:lan:tcp/22", "pid 99 now"), finding("FWA104:lan:tcp"))
    d = drift(now, {"FWA101:lan:tcp/22": "undeclared exposure", "FWA001:tcp/5433": "x", "FWA002:https:tcp/443": "y"})
    assert [f.id for f in d.new] == ["FWA001:tcp/6379", "FWA104:lan:tcp"]  # in the order found
    assert d.unchanged == 1  # same id, other message and evidence: not new
    assert d.resolved == ("FWA001:tcp/5433", "FWA002:https:tcp/443")


def test_empty_baseline_makes_everything_new_and_a_clean_run_resolves_everything():
    now = (finding("FWA001:tcp/1"),)
    assert drift(now, {}) == Drift(new=now, resolved=(), unchanged=0)
    assert drift((), {"FWA001:tcp/1": ""}) == Drift(new=(), resolved=("FWA001:tcp/1",), unchanged=0)


def test_reads_ids_and_titles_of_an_accepted_report(tmp_path):
    p = tmp_path / "base.json"
    p.write_text(json.dumps({"schema": "fwaudit.audit/1", "findings": [{"id": "FWA001:tcp/1", "title": "undeclared"}]}))
    assert load_baseline_ids(p) == {"FWA001:tcp/1": "undeclared"}
