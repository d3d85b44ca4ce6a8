"""Baselines are files users name: read safely, bounded, and every bad one is a clear input error."""

from __future__ import annotations

import json
import os

import pytest

from auditor.app.loaders import load_baseline as load_baseline_ids
from auditor.errors import InputError

GOOD = {"schema": "fwaudit.audit/1", "findings": [{"id": "FWA001:tcp/22", "title": "undeclared listener"}]}


def test_accepted_report_gives_ids_and_titles(tmp_path):
    f = tmp_path / "b.json"
    f.write_text(json.dumps(GOOD))
    assert load_baseline_ids(f) == {"FWA001:tcp/22": "undeclared listener"}


@pytest.mark.parametrize("content,fragment", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("{not json", "is not valid JSON (line 1)"),
    (json.dumps({"schema": "other/1"}), "is not an fwaudit JSON audit report"),
    (json.dumps({"schema": "fwaudit.audit/1", "findings": ["x"]}), "'findings' is not a list of findings"),
    (json.dumps({"schema": "fwaudit.audit/1", "findings": [{"id": ["a"]}]}), "'findings' is not a list"),
    (json.dumps({"schema": "fwaudit.audit/1", "findings": {"id": "a"}}), "'findings' is not a list"),
    (json.dumps({"schema": "fwaudit.audit/1", "findings": [{"id": "a", "title": 5}]}), "'findings' is not a list"),
])
def test_bad_baselines_are_input_errors_that_do_not_quote_the_file(tmp_path, content, fragment):
    f = tmp_path / "b.json"
    f.write_text(content)
    with pytest.raises(InputError) as e:
        load_baseline_ids(f)
    assert fragment in e.value.message and len(e.value.message) < 300 and "[[[" not in e.value.message


def test_fifo_device_and_missing_baselines(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a FIFO"):
        load_baseline_ids(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a character device"):
        load_baseline_ids("/dev/zero")
    with pytest.raises(InputError, match="not found.*baseline accept"):
        load_baseline_ids(tmp_path / "nope.json")
