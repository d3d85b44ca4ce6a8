"""``fwaudit checks`` and the README's findings table: both come from the checks registry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from auditor.app.checks import checks
from auditor.report.checks import checks_json, checks_text, findings_table

ROOT = Path(__file__).resolve().parents[2]


def readme_findings_table() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("| check | finding | severity |")
    return text[start:text.index("\n\n", start) + 1]


def test_the_readme_findings_table_is_the_registry():
    """Regenerate with: python -c 'from auditor.app.checks import checks; from
    auditor.report.checks import findings_table; print(findings_table(checks()))'"""
    assert readme_findings_table() == findings_table(checks())


def test_every_check_is_listed_with_id_title_and_severities():
    doc = json.loads(checks_json(checks()))
    ids = [c["id"] for c in doc["checks"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) >= 12
    assert all(re.fullmatch(r"FWA\d{3}", i) for i in ids)
    fwa001 = doc["checks"][0]
    assert (fwa001["id"], fwa001["title"], fwa001["severities"], fwa001["scopes"]) == (
        "FWA001", "undeclared listener", ["high", "low"], ["audit"])
    assert all(c["doc"].startswith(c["summary"].split(" ")[0]) for c in doc["checks"])
    text = checks_text(checks())
    assert all(i in text for i in ids) and "high / medium" in text


def test_the_command_lists_them():
    res = subprocess.run([sys.executable, "-m", "auditor", "checks", "--format", "json"], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0 and [c["id"] for c in json.loads(res.stdout)["checks"]] == [c.id for c in checks()]
