"""scripts/test and its pytest plugin (tests/run_summary.py): per-marker counts, no silent
skips, no silent empty runs, and no 'green' without root unless asked for unit tests only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = """
import pytest

def test_a(): pass
def test_b(): pass

@pytest.mark.root
def test_ns(): pass

@pytest.mark.root
@pytest.mark.oracle
def test_kernel(): pass

@pytest.mark.docker
def test_container(): pass

@pytest.mark.skip(reason="not here")
def test_skipped(): pass
"""


def inner_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.run_summary",
                           "-W", "ignore::pytest.PytestUnknownMarkWarning", *args, "test_sample.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)


def test_counts_per_marker(tmp_path):
    res = inner_pytest(tmp_path)
    assert res.returncode == 0, res.stdout
    assert "tests run per marker: root 2, oracle 1, docker 1, unmarked 2 (+1 skipped)" in res.stdout


def test_a_skip_fails_the_run_under_require_all(tmp_path):
    res = inner_pytest(tmp_path, "--require-all")
    assert res.returncode == 1
    assert "FAILED: 1 test(s) skipped, e.g. test_sample.py::test_skipped" in res.stdout
    assert inner_pytest(tmp_path, "--require-all", "-k", "not skipped").returncode == 0


@pytest.mark.root
def test_scripts_test_refuses_to_run_without_root_unless_unit_only():
    res = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "./scripts/test"],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 3 and res.stdout == ""
    assert "not root" in res.stderr and "--unit-only" in res.stderr


@pytest.mark.root
def test_scripts_test_fails_when_no_test_ran():
    res = subprocess.run(["./scripts/test", "-k", "no_test_is_called_like_this"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 1 and "no test ran (pytest exit 5)" in res.stderr
