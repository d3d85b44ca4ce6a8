"""fwaudit audit end to end on a namespace with real listeners and a real firewall."""

from __future__ import annotations

import json
import subprocess
import sys
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
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and doc["findings"] == []
    assert doc["drift"] == {"baseline": str(base), "new": 0, "unchanged": 3, "resolved": []}


def _wait_listening(ns, port: int, present: bool) -> None:
    import time

    deadline = time.monotonic() + 10
    while (f":{port} " in ns.exec(["ss", "-tlnH"]).stdout) != present:
        assert time.monotonic() < deadline, f"port {port} {'never' if present else 'still'} listening"
        time.sleep(0.05)


def test_baseline_reports_new_and_resolved_findings(host, tmp_path):
    """After the baseline, one flaw is fixed (resolved) and another appears (new): only the new
    one is reported and fails the run, the fixed ones are listed as resolved."""
    policy = str(tmp_path / "policy.yaml")
    flaw = host.spawn([sys.executable, "-m", "auditor.probe.servers", "--name", "postgres", "--tcp", "5433"],
                      stdout=subprocess.PIPE, text=True)
    assert flaw.stdout.readline().strip() == "ready"
    host.exec(["nft", "add", "rule", "inet", "filter", "input", "tcp", "dport", "5433", "accept"])
    base = tmp_path / "base.json"
    assert run("baseline", "accept", "--policy", policy, "--target", f"netns:{host.name}", "-o", str(base)).returncode == 0
    flaw.kill()
    flaw.wait()
    _wait_listening(host, 5433, present=False)
    new = host.spawn([sys.executable, "-m", "auditor.probe.servers", "--name", "redis-server", "--tcp", "6379"],
                     stdout=subprocess.PIPE, text=True)
    assert new.stdout.readline().strip() == "ready"
    res = run("audit", "--policy", policy, "--target", f"netns:{host.name}", "--baseline", str(base), "--format", "json")
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    # new: the undeclared redis, and the accept rule left behind for 5433 is now a latent hole
    assert sorted(f["id"] for f in doc["findings"]) == ["FWA001:tcp/6379", "FWA104:internet:tcp", "FWA104:lan:tcp"]
    assert doc["drift"] == {"baseline": str(base), "new": 3, "unchanged": 0,
                            "resolved": ["FWA001:tcp/5433", "FWA101:internet:tcp/5433", "FWA101:lan:tcp/5433"]}
    text = run("audit", "--policy", policy, "--target", f"netns:{host.name}", "--baseline", str(base))
    assert "3 new, 0 unchanged, 3 resolved" in text.stdout


def test_no_firewall_reconciles_declared_and_listening_only(host, tmp_path):
    """The seeded flaw is exposed by the firewall too; without the firewall view only the
    listening-side finding remains, and the report says the view was not requested."""
    p = host.spawn([sys.executable, "-m", "auditor.probe.servers", "--name", "postgres", "--tcp", "5433"],
                   stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    host.exec(["nft", "add", "rule", "inet", "filter", "input", "tcp", "dport", "5433", "accept"])
    res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", f"netns:{host.name}", "--no-firewall",
              "--format", "json")
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert [f["id"] for f in doc["findings"]] == ["FWA001:tcp/5433"]
    assert doc["views"]["firewall"] is None and "firewall view not requested" in doc["notes"]
    assert {l["port"] for l in doc["views"]["listening"]} == {2222, 5432, 5433}


def test_every_report_format_and_atomic_output(host, tmp_path):
    from lxml import etree
    from prometheus_client.parser import text_string_to_metric_families

    from tests.report.official_sarif import schema_errors
    from tests.report.published_junit import junit_schema

    policy = str(tmp_path / "policy.yaml")
    out = {}
    for fmt in ("junit", "sarif", "prometheus"):
        path = tmp_path / f"report.{fmt}"
        res = run("audit", "--policy", policy, "--target", f"netns:{host.name}", "--format", fmt, "--output", str(path))
        assert res.returncode == 0 and res.stdout == "", res.stderr
        out[fmt] = path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left
    # each report says what the audit found: a compliant host with ssh for the LAN and pg on loopback
    junit = etree.fromstring(out["junit"].encode())
    junit_schema().assertValid(junit)
    cases = junit.findall(".//testcase")
    assert cases and junit.findall(".//failure") == [] and junit.get("failures") == "0"
    assert any("ssh" in c.get("name") and "lan" in c.get("name") for c in cases), [c.get("name") for c in cases]
    sarif = json.loads(out["sarif"])
    assert schema_errors(sarif) == [] and sarif["runs"][0]["results"] == []
    metrics = {s.name: s for f in text_string_to_metric_families(out["prometheus"]) for s in f.samples
               if s.name != "fwaudit_port_reachable"}
    assert metrics["fwaudit_listeners"].value == 2
    assert sum(s.value for n, s in metrics.items() if n == "fwaudit_findings") == 0
    reach = {(s.labels["zone"], s.labels["port"]): s.value for f in text_string_to_metric_families(out["prometheus"])
             for s in f.samples if s.name == "fwaudit_port_reachable"}
    assert reach == {("lan", "2222"): 1.0, ("internet", "2222"): 0.0}  # pg listens on loopback only


def test_bad_input_and_environment_exit_codes(host, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nzones: {lan: [198.18.0.1/24]}\n")
    res = run("audit", "--policy", str(bad), "--target", f"netns:{host.name}")
    assert res.returncode == 2 and f"{bad}:3:" in res.stderr and "Traceback" not in res.stderr
    res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", "netns:fwa-nope")
    assert res.returncode == 2 and "no network namespace" in res.stderr
    res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--format", "yaml")
    assert res.returncode == 2 and res.stdout == ""
    assert "Invalid value for '--format'" in res.stderr and "'yaml' is not one of" in res.stderr


def test_concurrent_audits_one_runs_the_other_says_so(host, tmp_path):
    from auditor.runlock import audit_lock

    target = f"netns:{host.name}"
    from auditor.target.targets import parse_target

    with audit_lock(target, parse_target(target).identity()):
        res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", target)
    assert res.returncode == 3 and "another fwaudit audit of" in res.stderr and "is running" in res.stderr
    res = run("audit", "--policy", str(tmp_path / "policy.yaml"), "--target", target)
    assert res.returncode == 0 and "compliant, no findings" in res.stdout  # the lock is gone: it really ran


def test_without_root_exit_3_names_the_capability(host):
    policy = ROOT / "policies" / "demo.yaml"  # readable by an unprivileged user
    res = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                          *FWAUDIT, "audit", "--policy", str(policy), "--target", f"netns:{host.name}"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 3 and "needs root (CAP_SYS_ADMIN" in res.stderr and "Traceback" not in res.stderr


class CreatedNames:
    """Names created in a directory as the kernel reports them (inotify IN_CREATE), watched
    from construction on: the test learns the moment the writer creates its temp file instead
    of guessing it with a sleep."""

    def __init__(self, directory: Path) -> None:
        import ctypes
        import os

        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        assert self.fd >= 0 and libc.inotify_add_watch(self.fd, str(directory).encode(), 0x100) >= 0  # IN_CREATE

    def next_starting(self, prefix: str, timeout: float = 60) -> str:
        import os
        import select
        import struct

        while True:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            assert ready, f"nothing named {prefix}* was created in {timeout} s"
            data = os.read(self.fd, 65536)
            offset = 0
            while offset < len(data):
                _wd, _mask, _cookie, size = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16:offset + 16 + size].rstrip(b"\0").decode()
                offset += 16 + size
                if name.startswith(prefix):
                    return name

    def close(self) -> None:
        import os

        os.close(self.fd)


def test_killed_audit_never_leaves_a_half_written_report(host, tmp_path):
    """Stop the writer the moment its temp file appears, check it is really mid-write (the temp
    file exists, the rename has not happened), kill it there: the report is the old one, whole."""
    import os
    import signal

    reports = tmp_path / "reports"
    reports.mkdir()
    out = reports / "report.json"
    policy = str(tmp_path / "policy.yaml")
    cmd = [*FWAUDIT, "audit", "--policy", policy, "--target", f"netns:{host.name}", "--format", "json",
           "--output", str(out)]
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    old = out.read_text()
    landed = 0
    for _attempt in range(10):
        created = CreatedNames(reports)
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            name = created.next_starting(".report.json.")
            os.kill(p.pid, signal.SIGSTOP)
            mid_write = (reports / name).exists()  # frozen with its temp file not yet renamed
        finally:
            p.kill()
            p.wait()
            created.close()
        jsonschema.validate(json.loads(out.read_text()), SCHEMA)  # never half a report
        if mid_write:
            assert out.read_text() == old  # killed mid-write: the old report, untouched
            (reports / name).unlink()  # what such a kill leaves: a hidden temp file, nothing else
            landed += 1
            break
        old = out.read_text()  # the writer got through before the stop: the new report is whole
    assert landed, "no kill landed between the temp file and the rename in 10 attempts"
    assert sorted(p.name for p in reports.iterdir()) == ["report.json"]
