"""The Ansible module fwaudit_audit, run the way Ansible runs it (a Python process reading its
arguments), against a stand-in fwaudit that exits with each code fwaudit can exit with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "contrib/ansible/collections/ansible_collections/fwaudit/fleet"
MODULE = COLLECTION / "plugins/modules/fwaudit_audit.py"
DOC = {"schema": "fwaudit.audit/1", "summary": {"findings": 1, "worst": "high"}, "findings": [{"id": "FWA101:x"}]}


def fake_fwaudit(tmp_path: Path, rc: int, stdout: str, stderr: str = "") -> Path:
    exe = tmp_path / "fwaudit"
    exe.write_text("#!/bin/sh\n"
                   f'echo "$@" > {tmp_path}/args\n'
                   f"cat <<'EOF'\n{stdout}\nEOF\n"
                   f"echo {json.dumps(stderr)} >&2\nexit {rc}\n")
    exe.chmod(0o755)
    return exe


def run_module(tmp_path: Path, **args) -> dict:
    spec = tmp_path / "args.json"
    check = args.pop("_check_mode", False)
    spec.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check}}))
    r = subprocess.run([sys.executable, str(MODULE), str(spec)], capture_output=True, text=True, timeout=60)
    return json.loads(r.stdout)


@pytest.mark.parametrize("check_mode", [False, True])
def test_findings_are_data_and_nothing_changes(tmp_path, check_mode):
    exe = fake_fwaudit(tmp_path, 1, json.dumps(DOC))
    out = run_module(tmp_path, policy="/etc/fwaudit/p.yaml", executable=str(exe), fail_on="medium",
                     baseline="/var/lib/b.json", _check_mode=check_mode)
    assert not out.get("failed") and out["changed"] is False
    assert out["report"] == DOC and out["failing"] is True and out["exit_code"] == 1
    assert (out["findings"], out["worst"], out["target"]) == (1, "high", "host")
    assert (tmp_path / "args").read_text().split() == [
        "audit", "--policy", "/etc/fwaudit/p.yaml", "--target", "host", "--format", "json",
        "--fail-on", "medium", "--baseline", "/var/lib/b.json"]


@pytest.mark.parametrize(("rc", "what"), [(2, "bad input"), (3, "environment problem"), (70, "unexpected exit code 70")])
def test_fails_only_when_fwaudit_cannot_audit(tmp_path, rc, what):
    exe = fake_fwaudit(tmp_path, rc, "", "fwaudit: error: policy p.yaml:3: unknown zone 'dmz'")
    out = run_module(tmp_path, policy="p.yaml", executable=str(exe))
    assert out["failed"] is True and out["changed"] is False
    assert out["msg"] == f"fwaudit could not audit host ({what}): fwaudit: error: policy p.yaml:3: unknown zone 'dmz'"


def test_output_that_is_not_an_audit_report_fails(tmp_path):
    for stdout in ("not json", json.dumps({"schema": "fwaudit.fleet/1"})):
        out = run_module(tmp_path, policy="p.yaml", executable=str(fake_fwaudit(tmp_path, 0, stdout)))
        assert out["failed"] is True


def test_arguments_are_checked(tmp_path):
    out = run_module(tmp_path, policy="p.yaml", fail_on="severe")
    assert out["failed"] is True and "fail_on" in out["msg"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to compare namespaces")
@pytest.mark.root
def test_target_auto_is_the_namespace_the_module_runs_in(tmp_path, netns):
    exe = fake_fwaudit(tmp_path, 0, json.dumps(DOC))
    spec = tmp_path / "args.json"
    spec.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"policy": "p.yaml", "executable": str(exe), "target": "auto"}}))
    inside = subprocess.run(netns.command([sys.executable, str(MODULE), str(spec)]), capture_output=True, text=True)
    assert json.loads(inside.stdout)["target"] == f"netns:{netns.name}"
    from auditor.target.targets import root_namespace_path

    outside = run_module(tmp_path, policy="p.yaml", executable=str(exe), target="auto")
    root, own = os.stat(root_namespace_path()), os.stat("/proc/self/ns/net")
    assert (root.st_ino, root.st_dev) == (own.st_ino, own.st_dev), "the test runs in the root namespace"
    assert outside["target"] == "host"


def test_documentation_parses(tmp_path):
    # ANSIBLE_HOME (ansible-doc's cache and temp files) inside the test's own directory, so the
    # run leaves nothing behind in /tmp.
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "contrib/ansible/collections"),
           "ANSIBLE_HOME": str(tmp_path / "ansible")}
    r = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module",
                        "fwaudit.fleet.fwaudit_audit"], capture_output=True, text=True, env=env, timeout=120)
    doc = json.loads(r.stdout)["fwaudit.fleet.fwaudit_audit"]
    assert set(doc["doc"]["options"]) == {"policy", "snapshot", "target", "fail_on", "baseline", "scan", "firewall",
                                          "executable", "timeout"}
    assert doc["doc"]["attributes"]["check_mode"]["support"] == "full"


SNAPSHOT = {"format": "fwaudit.snapshot/1", "target": "host", "listeners": []}


def test_snapshot_mode_returns_the_snapshot_and_needs_no_policy(tmp_path):
    exe = fake_fwaudit(tmp_path, 0, json.dumps(SNAPSHOT))
    out = run_module(tmp_path, snapshot=True, executable=str(exe), target="netns:web1")
    assert not out.get("failed") and out["changed"] is False, out
    assert out["snapshot"] == SNAPSHOT and out["target"] == "netns:web1" and "report" not in out
    assert (tmp_path / "args").read_text().split() == ["snapshot", "--target", "netns:web1", "--output", "-"]
    assert run_module(tmp_path, executable=str(exe))["failed"] is True  # an audit needs its policy
    for rc, stdout, why in ((3, "", "could not snapshot host (environment problem)"),
                            (0, json.dumps({"schema": "fwaudit.audit/1"}), "not a snapshot")):
        out = run_module(tmp_path, snapshot=True, executable=str(fake_fwaudit(tmp_path, rc, stdout, "no root")))
        assert out["failed"] is True and why in out["msg"], out
