"""The runner: functions and commands in a namespace, each with a deadline and a typed error; on
expiry the whole process group of a command is gone."""

from __future__ import annotations

import os
import time

import pytest

from auditor.target.runner import run_command, run_commands
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
    assert _gone(grandchild), "the tool's child outlived the timeout"


def test_a_missing_tool_is_an_environment_problem():
    with pytest.raises(EnvironmentProblem, match="cannot run"):
        run_command(["/nonexistent/tool"])


def _sleep(timeout: float) -> float:
    time.sleep(timeout)
    return timeout


def _divide() -> float:
    return 1 / 0


def _open_root_file() -> str:
    raise PermissionError(13, "Permission denied", "/etc/shadow")


@pytest.mark.root
def test_functions_in_a_namespace_have_a_time_limit_and_typed_errors(netns):
    from auditor.errors import InternalError
    from auditor.target.runner import run_in_namespace

    assert run_in_namespace(netns.path, _sleep, timeout=0.1) == 0.1  # the function's own keyword
    start = time.monotonic()
    with pytest.raises(EnvironmentProblem, match="did not finish within 0.3 s"):
        run_in_namespace(netns.path, _sleep, timeout=30, time_limit=0.3)
    assert time.monotonic() - start < 5
    with pytest.raises(InternalError, match="ZeroDivisionError: division by zero"):
        run_in_namespace(netns.path, _divide)
    with pytest.raises(EnvironmentProblem, match="permission denied: /etc/shadow"):
        run_in_namespace(netns.path, _open_root_file)


def test_commands_in_a_namespace_and_their_failures():
    from auditor.target.runner import in_namespace

    assert in_namespace(["ip", "link"], "/run/netns/x") == ["nsenter", "--net=/run/netns/x", "--", "ip", "link"]
    assert in_namespace(["ip", "link"], None) == ["ip", "link"]
    assert run_command(["sh", "-c", "exit 4"]).returncode == 4  # not checked: the caller decides
    with pytest.raises(EnvironmentProblem, match=r"failed \(exit 4\): oops$"):
        run_command(["sh", "-c", "echo oops >&2; exit 4"], check=True)


def test_commands_run_side_by_side_each_with_its_output(tmp_path):
    """run_commands starts every command before waiting: two that each wait for the other's
    file both succeed, where run one after the other the first would give up waiting."""
    a, b = tmp_path / "a", tmp_path / "b"
    wait_for = "for i in $(seq 100); do [ -e {f} ] && break; sleep 0.05; done; [ -e {f} ]"
    results = run_commands([["sh", "-c", f"touch {a}; {wait_for.format(f=b)} && echo one"],
                            ["sh", "-c", f"touch {b}; {wait_for.format(f=a)} && echo two >&2; exit 4"]],
                           timeout=20)
    assert [(r.returncode, r.stdout, r.stderr) for r in results] == [(0, "one\n", ""), (4, "", "two\n")]


def test_commands_past_their_common_timeout_are_all_stopped(tmp_path):
    start = time.monotonic()
    with pytest.raises(EnvironmentProblem, match="did not finish within 0.5 s"):
        run_commands([["sleep", "60"], ["sh", "-c", f"sleep 60 & echo $! > {tmp_path / 'pid'}; wait"]], timeout=0.5)
    assert time.monotonic() - start < 5
    grandchild = int((tmp_path / "pid").read_text())
    assert _gone(grandchild), "a command's child outlived the timeout"


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited within 2.5 s (a killed group's members go at once)."""
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
