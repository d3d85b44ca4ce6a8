"""Tools run with a deadline; on expiry the whole process group is gone."""

from __future__ import annotations

import os
import time

import pytest

from auditor.target.runner import run_command
from auditor.errors import EnvironmentProblem


def test_output_and_exit_status():
    res = run_command(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
    assert run_command(["cat"], stdin="in").stdout == "in"


def test_a_hanging_tool_is_killed_with_its_children(tmp_path):
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    with pytest.raises(EnvironmentProblem, match="did not finish within 0.5 s"):
        run_command(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], timeout=0.5)
    assert time.monotonic() - start < 5
    grandchild = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the tool's child outlived the timeout")


def test_a_missing_tool_is_an_environment_problem():
    with pytest.raises(EnvironmentProblem, match="cannot run"):
        run_command(["/nonexistent/tool"])
