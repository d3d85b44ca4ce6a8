"""fwaudit fleet report end to end: exit codes, --keep-going, --output, --fail-on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fleet_documents import audit_doc, write_doc

ROOT = Path(__file__).resolve().parents[1]


def fleet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", "fleet", "report", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    d = tmp_path / "results"
    d.mkdir()
    write_doc(d, "db1", audit_doc(pg_open_to_internet=False))  # one low finding
    write_doc(d, "db2", audit_doc(pg_open_to_internet=False))
    return d


def test_exit_0_when_no_host_reaches_fail_on(results):
    r = fleet(str(results))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("fwaudit fleet: 2 host(s): 2 audited")


def test_exit_1_on_findings_at_fail_on_or_an_unaudited_host(results):
    assert fleet(str(results), "--fail-on", "low").returncode == 1
    write_doc(results, "db9", {"host": "db9", "status": "unreachable", "error": "timed out"})
    r = fleet(str(results), "--format", "json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["summary"]["unreachable"] == 1


def test_a_bad_file_is_exit_2_naming_it_and_nothing_is_reported(results):
    (results / "junk.json").write_text('{"hello": 1}')
    r = fleet(str(results), "--format", "json")
    assert r.returncode == 2 and r.stdout == ""
    assert f"fwaudit: error: {results}/junk.json: not an fwaudit audit report or host record" in r.stderr
    assert "Traceback" not in r.stderr


def test_keep_going_reports_the_rest_and_still_exits_2(results, tmp_path):
    (results / "junk.json").write_text("[")
    out = tmp_path / "fleet.json"
    r = fleet(str(results), "--keep-going", "--format", "json", "--output", str(out))
    assert r.returncode == 2 and "junk.json: not valid JSON" in r.stderr
    doc = json.loads(out.read_text())
    assert [h["host"] for h in doc["hosts"]] == ["db1", "db2"]
    assert doc["problems"][0]["file"] == f"{results}/junk.json"


def test_no_reports_at_all_is_exit_2(tmp_path):
    r = fleet(str(tmp_path))
    assert r.returncode == 2 and "no host reports (*.json) in this directory" in r.stderr
    r = fleet(str(tmp_path), "--keep-going")
    assert r.returncode == 2 and "no host reports to merge" in r.stderr
