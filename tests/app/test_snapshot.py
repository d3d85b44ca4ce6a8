"""Snapshots of the demo lab: ``fwaudit snapshot`` once, and every command that reads a snapshot
(audit, exposure, rules, policy init) answers as it does on the live host — without root."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from auditor.probe.lab import lab_down, lab_up
from tests.conftest import RUN_ID, run_cli

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.root
PREFIX = f"fwa-t{RUN_ID}-snap-"
HOST = f"{PREFIX}host"
NOBODY = 65534


def fwaudit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def lab():
    """The demo lab and a snapshot of its host, in a directory anyone may read (pytest's own
    temporary directories are root's only)."""
    shared = Path(tempfile.mkdtemp(prefix="fwaudit-snap-"))
    try:
        lab_up(PREFIX)  # inside: a lab half built is torn down too
        shared.chmod(0o755)
        res = fwaudit("snapshot", "--target", f"netns:{HOST}", "--output", str(shared / "host.json"))
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith(f"snapshot of netns:{HOST}: 6 listening sockets, 7 rules in 1 tables")
        shutil.copy(ROOT / "policies" / "demo.yaml", shared / "demo.yaml")
        for f in shared.iterdir():
            f.chmod(0o644)
        yield shared
    finally:
        shutil.rmtree(shared)
        lab_down(PREFIX)


def without_timing(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("started_at", "duration_seconds")}


def test_audit_of_the_snapshot_equals_the_live_audit(lab):
    live = fwaudit("audit", "--policy", "policies/demo.yaml", "--target", f"netns:{HOST}", "--format", "json")
    offline = fwaudit("audit", "--policy", "policies/demo.yaml", "--snapshot", str(lab / "host.json"), "--format", "json")
    assert live.returncode == offline.returncode == 1, (live.stderr, offline.stderr)
    a, b = json.loads(live.stdout), json.loads(offline.stdout)
    assert [f["id"] for f in a["findings"]] == [f["id"] for f in b["findings"]] and len(a["findings"]) >= 6
    assert without_timing(a) == without_timing(b)  # findings with evidence, every view, the summary


@pytest.mark.parametrize("command", [
    ["exposure", "--in-interface", "wan0", "--format", "json"],
    ["exposure", "--in-interface", "lan0", "--zone", "lan", "--zone", "internet", "--policy", "policies/demo.yaml"],
    ["rules", "--format", "json"],
    ["rules"],
    ["policy", "init"],
])
def test_other_commands_answer_from_the_snapshot_as_from_the_host(lab, command):
    live = fwaudit(*command, "--target", f"netns:{HOST}")
    offline = fwaudit(*command, "--snapshot", str(lab / "host.json"))
    assert live.returncode == offline.returncode == 0, (live.stderr, offline.stderr)
    assert live.stdout == offline.stdout


def test_audit_of_a_snapshot_needs_no_root(lab):
    """Run as nobody: the audit reads two files and touches nothing else. (The interpreter is
    root's, so the code is imported first and privileges dropped in a forked child.)"""
    argv = ["audit", "--policy", str(lab / "demo.yaml"), "--snapshot", str(lab / "host.json"), "--format", "json"]
    as_root = run_cli(argv)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_fd)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code, out, err = run_cli(argv)
            os.write(write_fd, json.dumps([code, out, err]).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as r:
        code, out, err = json.loads(r.read() or "[null, \"\", \"child died\"]")
    os.waitpid(pid, 0)
    assert code == 1, err
    assert without_timing(json.loads(out)) == without_timing(json.loads(as_root[1]))



def test_snapshot_needs_root_writes_atomically_and_refuses_a_scan(lab, tmp_path):
    out = tmp_path / "again.json"
    out.write_text("old")
    out.chmod(0o600)
    res = fwaudit("snapshot", "--target", f"netns:{HOST}", "--output", str(out))
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and json.loads(out.read_text())["format"] == "fwaudit.snapshot/1"
    res = fwaudit("audit", "--policy", "policies/demo.yaml", "--snapshot", str(out), "--scan")
    assert res.returncode == 2 and "--scan probes a live target" in res.stderr
    res = fwaudit("audit", "--policy", "policies/demo.yaml", "--snapshot", str(out), "--target", "host")
    assert res.returncode == 2 and "--target or --snapshot, not both" in res.stderr
    res = fwaudit("snapshot", "--target", f"netns:{HOST}", "--output", "-")
    assert res.returncode == 0 and json.loads(res.stdout)["target"] == f"netns:{HOST}"
