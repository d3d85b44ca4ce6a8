"""The fleet end to end over real SSH: seven "hosts" (network namespaces, each with its own sshd,
listeners and ruleset), a controller namespace running ``ansible-playbook
contrib/ansible/audit.yml``, then ``fwaudit fleet report`` over what came back.

Held against the ground truth: each host's findings must equal those of ``fwaudit audit`` run
locally against that host's namespace with the policy the role deployed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from integration.fleet_lab import FleetLab, HostSpec

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PLAYBOOK = ROOT / "contrib" / "ansible" / "audit.yml"
HOSTILE = "{{7*7}}<b>"  # a process name: must stay data (no templating) and be escaped in HTML

WEB = ({"name": "http", "protocol": "tcp", "port": 80, "zones": ["internet", "admin"], "process": "nginx"},)
DB = ({"name": "postgres", "protocol": "tcp", "port": 5432, "zones": ["admin"], "process": "postgres"},)
SPECS = (
    HostSpec("web1", 11, listeners=(("nginx", 80),), rules=("tcp dport 80 accept",), services=WEB),
    HostSpec("web2", 12, listeners=(("nginx", 80), ("devserver", 8080)),
             rules=("tcp dport 80 accept", 'tcp dport 8080 accept comment "temporary debug"'), services=WEB),
    HostSpec("db1", 13, listeners=(("postgres", 5432),), rules=("ip saddr 198.18.90.0/24 tcp dport 5432 accept",),
             services=DB),
    HostSpec("db2", 14, listeners=(("postgres", 5432),), rules=("tcp dport 5432 accept",), services=DB),
    HostSpec("cache1", 15, listeners=((HOSTILE, 6379),), rules=("tcp dport 6379 accept",)),
    HostSpec("down1", 16, listeners=(("nginx", 80),), services=WEB, sshd=False),
    HostSpec("bad1", 17, listeners=(("nginx", 80),), services=WEB, broken_policy=True),
)


def _fwaudit(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "fwaudit"), *args], capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    for tool in ("sshd", "ssh", "ssh-keygen"):
        if shutil.which(tool, path="/usr/sbin:/usr/bin") is None:
            pytest.fail(f"{tool} is not installed: run ./scripts/test-tools (./scripts/test does)")
    work = tmp_path_factory.mktemp("fleet")
    src = work / "src"
    shutil.copytree(ROOT / "auditor", src / "auditor", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    # The controller namespace has no route to a package index: the dependencies are fetched here
    # first; the role then builds fwaudit's own wheel offline from this wheelhouse.
    wheels = work / "wheelhouse"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                    "--wheel-dir", str(wheels), str(src), "setuptools>=68", "pip"], check=True, capture_output=True, timeout=600)
    for whl in wheels.glob("fwaudit-*.whl"):
        whl.unlink()
    lab = FleetLab(SPECS, work)
    try:
        lab.start()
        inventory = work / "inventory.yml"
        inventory.write_text(yaml.safe_dump(lab.inventory({
            "fwaudit_results_dir": str(work / "results"),
            "fwaudit_wheelhouse": str(wheels),
            "fwaudit_source": str(src),
            "fwaudit_pip_wheel_args": ["--no-index", "--find-links", str(wheels)],
        })))
        (work / "ansible.cfg").write_text("[defaults]\n")  # none of the machine's configuration
        env = {**os.environ, "ANSIBLE_HOME": str(work / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_PIPELINING": "1", "ANSIBLE_CONFIG": str(work / "ansible.cfg"),
               "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
        assert lab.controller is not None

        def play(*args: str) -> subprocess.CompletedProcess:
            cmd = lab.controller.command([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
                                          "--forks", str(len(SPECS)), *args])
            return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=600)

        first = play()
        yield lab, work, first, play
    finally:
        lab.close()
        left = lab.leftovers()
        assert left == [], f"the fleet lab left things behind: {left}"


def test_every_host_is_reported_with_the_findings_a_local_audit_gives(fleet):
    lab, work, run, _ = fleet
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]  # failures are records, not errors
    results = work / "results"
    assert sorted(p.stem for p in results.glob("*.json")) == sorted(s.name for s in SPECS), run.stdout[-6000:]
    report = _fwaudit("fleet", "report", str(results), "--format", "json")
    assert report.returncode == 1, report.stderr  # flawed and unreachable hosts fail the fleet
    doc = json.loads(report.stdout)
    status = {h["host"]: h for h in doc["hosts"]}
    assert {h: v["status"] for h, v in status.items()} == {
        "web1": "audited", "web2": "audited", "db1": "audited", "db2": "audited", "cache1": "audited",
        "down1": "unreachable", "bad1": "failed"}, {h: v["error"] for h, v in status.items()}
    assert "port 22" in status["down1"]["error"] and "refused" in status["down1"]["error"].lower()
    assert "unknown zone" in status["bad1"]["error"] or "nowhere" in status["bad1"]["error"]
    for spec in SPECS:
        if status[spec.name]["status"] != "audited":
            continue
        fetched = json.loads((results / f"{spec.name}.json").read_text())
        ns = lab.namespace_of(spec.name)
        assert fetched["target"] == f"netns:{ns}", "target: auto must audit the namespace sshd runs in"
        policy = work / "hosts" / spec.name / "fwaudit" / "policy.yaml"
        local = _fwaudit("audit", "--policy", str(policy), "--target", f"netns:{ns}", "--format", "json")
        assert local.returncode in (0, 1), local.stderr
        expected = [(f["id"], f["severity"], f["message"]) for f in json.loads(local.stdout)["findings"]]
        assert [(f["id"], f["severity"], f["message"]) for f in fetched["findings"]] == expected, spec.name
    ids = {h: {f["id"] for f in v["findings"]} for h, v in status.items()}
    assert ids["web1"] == set() and ids["db1"] == set()
    assert {"FWA001:tcp/8080", "FWA101:internet:tcp/8080"} <= ids["web2"]
    assert "FWA101:internet:tcp/5432" in ids["db2"]
    assert {"FWA001:tcp/6379", "FWA101:internet:tcp/6379"} <= ids["cache1"]
    groups = {(g["check"], g["zone"], tuple(g["ports"] or ())): g["hosts"] for g in doc["findings"]}
    assert groups[("FWA101", "internet", (5432, 5432))] == ["db2"]


def test_host_strings_stay_data_through_ansible_and_are_escaped_in_html(fleet):
    _, work, _, _ = fleet
    cache = json.loads((work / "results" / "cache1.json").read_text())
    owners = [p["name"] for l in cache["views"]["listening"] for p in l["processes"] if l["port"] == 6379]
    assert owners == [HOSTILE]  # not "49<b>": Ansible did not template the host's data
    html = _fwaudit("fleet", "report", str(work / "results"), "--format", "html").stdout
    assert "{{7*7}}&lt;b&gt;" in html and HOSTILE not in html


def test_a_second_run_does_not_reinstall(fleet):
    lab, work, _, play = fleet
    marker = work / "hosts" / "web1" / "fwaudit" / "installed-wheel"
    package = next((work / "hosts" / "web1" / "fwaudit" / "venv").glob("lib/python3*/site-packages/auditor/__init__.py"))
    before = (marker.stat().st_mtime_ns, package.stat().st_mtime_ns)
    again = play("--limit", "web1")
    assert again.returncode == 0, again.stdout[-4000:]
    assert (marker.stat().st_mtime_ns, package.stat().st_mtime_ns) == before
    assert "Install fwaudit and its dependencies, offline" not in _changed_tasks(again.stdout, "web1")
    assert json.loads((work / "results" / "web1.json").read_text())["findings"] == []


def test_snapshot_mode_brings_snapshots_that_audit_centrally_as_on_the_host(fleet):
    """fwaudit_mode: snapshot collects each host once; audited on the controller with the host's
    policy, a snapshot gives the findings a local audit of the host gives."""
    lab, work, _, play = fleet
    snaps = work / "snapshots"
    run = play("--limit", "web2,db2,down1", "-e", "fwaudit_mode=snapshot", "-e", f"fwaudit_snapshots_dir={snaps}")
    assert run.returncode == 0, run.stdout[-4000:]
    assert sorted(p.stem for p in snaps.glob("*.json")) == ["db2", "web2"]
    assert json.loads((work / "results" / "down1.json").read_text())["status"] == "unreachable"
    assert not (work / "results" / "web2.json").exists()  # no stale audit beside the snapshot
    for name in ("web2", "db2"):
        policy = work / "hosts" / name / "fwaudit" / "policy.yaml"  # the one the audit run deployed
        central = _fwaudit("audit", "--policy", str(policy), "--snapshot", str(snaps / f"{name}.json"), "--format", "json")
        local = _fwaudit("audit", "--policy", str(policy), "--target", f"netns:{lab.namespace_of(name)}", "--format", "json")
        assert central.returncode == local.returncode == 1, (central.stderr, local.stderr)
        assert [(f["id"], f["message"]) for f in json.loads(central.stdout)["findings"]] == \
            [(f["id"], f["message"]) for f in json.loads(local.stdout)["findings"]], name


def _changed_tasks(output: str, host: str) -> list[str]:
    """Names of the tasks ansible-playbook's default output shows as changed on ``host``."""
    changed, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[6:].split("]")[0]
        elif line.startswith(f"changed: [{host}"):
            changed.append(task.split(" : ")[-1])
    return changed
