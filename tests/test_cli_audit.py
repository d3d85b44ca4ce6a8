"""fwaudit audit end to end on a namespace with real listeners and a real firewall."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
FWAUDIT = [sys.executable, "-m", "auditor"]
SCHEMA = json.loads((ROOT / "auditor/report/schemas/audit-1.schema.json").read_text())

POLICY = """version: 1
name: t
zones:
  lan: [198.18.70.0/24]
  internet: [0.0.0.0/0]
services:
  - name: ssh
    protocol: tcp
    port: 2222
    zones: [lan]
    process: sshd
  - name: pg
    protocol: tcp
    port: 5432
    process: postgres
    bind: loopback
"""
RULES = """table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    iifname "lo" accept
    ip saddr 198.18.70.0/24 tcp dport 2222 accept
  }
}
"""


def run(*args, **kw):
    return subprocess.run([*FWAUDIT, *args], capture_output=True, text=True, cwd=ROOT, **kw)


@pytest.fixture
def host(netns, tmp_path):
    netns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
    netns.exec(["ip", "addr", "add", "198.18.70.1/24", "dev", "eth0"])
    netns.exec(["ip", "link", "set", "eth0", "up"])
    netns.exec(["nft", "-f", "-"], input=RULES)
    for name, port, bind in (("sshd", "2222", "0.0.0.0"), ("postgres", "5432", "127.0.0.1")):
        p = netns.spawn([sys.executable, "-m", "auditor.probe.servers", "--name", name, "--tcp", port, "--bind", bind],
                        stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
    (tmp_path / "policy.yaml").write_text(POLICY)
    return netns


pytestmark = pytest.mark.root


def test_compliant_host_exits_zero_with_no_findings(host, tmp_path):
    res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", f"netns:{host.name}", "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["findings"] == [] and doc["summary"]["checks"] > 0
    assert {l["port"] for l in doc["views"]["listening"]} == {2222, 5432}
    text = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", f"netns:{host.name}")
    assert text.returncode == 0 and "compliant, no findings" in text.stdout and "\x1b[" not in text.stdout


def test_seeded_flaws_give_exactly_the_expected_findings(host, tmp_path):
    p = host.spawn([sys.executable, "-m", "auditor.probe.servers", "--name", "postgres", "--tcp", "5433"],
                   stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    host.exec(["nft", "add", "rule", "inet", "filter", "input", "tcp", "dport", "5433", "accept"])
    policy = tmp_path / "policy.yaml"
    res = run("audit", "--policy", str(policy), "--target", f"netns:{host.name}", "--format", "json")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert sorted(f["id"] for f in doc["findings"]) == [
        "FWA001:tcp/5433", "FWA101:internet:tcp/5433", "FWA101:lan:tcp/5433"]
    # the same findings are below --fail-on critical: exit 0, and --quiet prints nothing
    res = run("audit", "--policy", str(policy), "--target", f"netns:{host.name}", "--fail-on", "critical", "--quiet")
    assert res.returncode == 0 and res.stdout == ""
    # a baseline accepts them; a later audit reports no drift
    base = tmp_path / "base.json"
    assert run("baseline", "accept", "--policy", str(policy), "--target", f"netns:{host.name}", "-o", str(base)).returncode == 0
    res = run("audit", "--policy", str(policy), "--target", f"netns:{host.name}", "--baseline", str(base), "--format", "json")
    assert res.returncode == 0 and json.loads(res.stdout)["drift"]["unchanged"] == 3


def test_every_report_format_and_atomic_output(host, tmp_path):
    policy = str(tmp_path / "policy.yaml")
    for fmt, marker in (("junit", "<testsuites"), ("sarif", '"version": "2.1.0"'), ("prometheus", "fwaudit_findings{")):
        out = tmp_path / f"report.{fmt}"
        res = run("audit", "--policy", policy, "--target", f"netns:{host.name}", "--format", fmt, "--output", str(out))
        assert res.returncode == 0 and res.stdout == "" and marker in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_bad_input_and_environment_exit_codes(host, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nzones: {lan: [198.18.0.1/24]}\n")
    res = run("audit", "--policy", str(bad), "--target", f"netns:{host.name}")
    assert res.returncode == 2 and f"{bad}:3:" in res.stderr and "Traceback" not in res.stderr
    res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", "netns:fwa-nope")
    assert res.returncode == 2 and "no network namespace" in res.stderr
    res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--format", "yaml")
    assert res.returncode == 2


def test_concurrent_audits_one_runs_the_other_says_so(host, tmp_path):
    from auditor.runlock import audit_lock

    target = f"netns:{host.name}"
    from auditor.collect.target import namespace_stat, parse_target

    with audit_lock(target, namespace_stat(parse_target(target))):
        res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", target)
    assert res.returncode == 3 and "another fwaudit audit of" in res.stderr and "is running" in res.stderr
    assert run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", target).returncode == 0


def test_without_root_exit_3_names_the_capability(host):
    policy = ROOT / "policies" / "demo.yaml"  # readable by an unprivileged user
    res = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                          *FWAUDIT, "audit", "--policy", str(policy), "--target", f"netns:{host.name}"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 3 and "needs root (CAP_SYS_ADMIN" in res.stderr and "Traceback" not in res.stderr


def test_killed_audit_never_leaves_a_half_written_report(host, tmp_path):
    out = tmp_path / "report.json"
    policy = str(tmp_path / "policy.yaml")
    assert run("audit", "--policy", policy, "--target", f"netns:{host.name}", "--format", "json",
               "--output", str(out)).returncode == 0
    for delay in (0.05, 0.15, 0.25, 0.35, 0.45, 0.6):
        p = subprocess.Popen([*FWAUDIT, "audit", "--policy", policy, "--target", f"netns:{host.name}",
                              "--format", "json", "--output", str(out)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
        jsonschema.validate(json.loads(out.read_text()), SCHEMA)  # the old or the new report, never half
    # a kill between mkstemp and rename can leave a hidden temp file, never a broken report
