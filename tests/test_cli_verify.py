"""fwaudit verify (candidate ruleset files vs policy, no root needed) and policy init."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report.test_text_tables import column

ROOT = Path(__file__).resolve().parents[1]
FWAUDIT = [sys.executable, "-m", "auditor"]
POLICY = """version: 1
name: web
zones:
  lan: [198.18.0.0/24]
  internet: [0.0.0.0/0]
services:
  - {name: ssh, protocol: tcp, port: 22, zones: [lan]}
  - {name: web, protocol: tcp, ports: [80, 443], zones: [lan, internet]}
"""
GOOD = """table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept
    ip saddr 198.18.0.0/24 tcp dport 22 accept
    tcp dport { 80, 443 } accept
  }
}
"""


def verify(tmp_path, ruleset_text, *extra, name="cand.nft"):
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / name).write_text(ruleset_text)
    cmd = [*FWAUDIT, "verify", "--policy", str(tmp_path / "policy.yaml"), "--ruleset",
           str(tmp_path / name), "--interface", "eth0=198.18.0.2/24", *extra]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) as proc:
        out, err = proc.communicate()
    res = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    res.pid = proc.pid  # names of the namespaces it made (fwa-prove-PID, fwa-probe-PID-N)
    return res


def ids(res):
    return sorted(f["id"] for f in json.loads(res.stdout)["findings"])


def test_compliant_candidate_passes(tmp_path):
    res = verify(tmp_path, GOOD, "--format", "json")
    assert res.returncode == 0 and ids(res) == []
    # compliant because it was evaluated: every zone on eth0, and the declared ports admitted
    firewall = json.loads(res.stdout)["views"]["firewall"]
    assert sorted((v["zone"], v["in_interface"]) for v in firewall) == [("internet", "eth0"), ("lan", "eth0")]
    admitted = {(v["zone"], e["protocol"], p) for v in firewall for e in v["exposure"] if e["verdict"] == "accept"
                for p in (22, 80, 443, 3306) if e["ports"][0] <= p <= e["ports"][1]}
    assert admitted == {("lan", "tcp", 22), ("lan", "tcp", 80), ("lan", "tcp", 443),
                        ("internet", "tcp", 80), ("internet", "tcp", 443)}


def test_extra_port_is_reported_at_its_line(tmp_path):
    bad = GOOD.replace("    tcp dport { 80, 443 } accept\n", "    tcp dport { 80, 443 } accept\n    tcp dport 3306 accept\n")
    res = verify(tmp_path, bad, "--format", "json")
    assert res.returncode == 1
    assert ids(res) == ["FWA201:internet:tcp/3306-3306", "FWA201:lan:tcp/3306-3306"]
    # brackets in paths and rule texts are not markup; a long temporary path folds in its cell
    finding = column(verify(tmp_path, bad).stdout, 2)
    assert f"[{tmp_path / 'cand.nft'}:8]" in finding and "'tcpdport3306accept'" in finding
    sarif = json.loads(verify(tmp_path, bad, "--format", "sarif").stdout)
    loc = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("cand.nft") and loc["region"]["startLine"] == 8


def test_sarif_of_a_real_verify_passes_the_official_validator(tmp_path):
    """Run where CI runs it (next to the ruleset files): locations are relative to %SRCROOT%."""
    from tests.report.official_sarif import multitool_errors, schema_errors

    bad = GOOD.replace("    tcp dport { 80, 443 } accept\n", "    tcp dport { 80, 443 } accept\n    tcp dport 3306 accept\n")
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "cand.nft").write_text(bad)
    res = subprocess.run([*FWAUDIT, "verify", "--policy", "policy.yaml", "--ruleset", "rules/cand.nft",
                          "--interface", "eth0=198.18.0.2/24", "--format", "sarif", "--output", "out.sarif"],
                         capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 1, res.stderr
    doc = json.loads((tmp_path / "out.sarif").read_text())
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]} == {"rules/cand.nft"}
    assert schema_errors(doc) == []
    assert multitool_errors(tmp_path / "out.sarif", tmp_path) == []


def test_closed_declared_port_is_reported(tmp_path):
    res = verify(tmp_path, GOOD.replace("tcp dport { 80, 443 } accept", "tcp dport 80 accept"), "--format", "json")
    assert res.returncode == 1
    assert ids(res) == ["FWA102:web:internet:tcp/443", "FWA102:web:lan:tcp/443"]


def test_iptables_candidate_and_diff_against_an_older_file(tmp_path):
    ipt = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 198.18.0.0/24 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
COMMIT
"""
    (tmp_path / "old.nft").write_text(GOOD.replace("tcp dport { 80, 443 } accept", "tcp dport { 80, 443, 8080 } accept"))
    res = verify(tmp_path, ipt, "--against", str(tmp_path / "old.nft"), "--format", "json", name="cand.rules")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {(d["zone"], d["protocol"], tuple(d["ports"]), d["before"], d["after"]) for d in doc["diff"]} == {
        ("lan", "tcp", (8080, 8080), "accept", "drop"), ("internet", "tcp", (8080, 8080), "accept", "drop")}


def test_broken_candidate_is_a_located_input_error(tmp_path):
    res = verify(tmp_path, GOOD.replace("policy drop;", "policy dorp;"))
    assert res.returncode == 2 and "cand.nft:3:" in res.stderr and "Traceback" not in res.stderr
    res = verify(tmp_path, GOOD, "--interface", "bogus")
    assert res.returncode == 2 and res.stdout == ""
    assert "--interface 'bogus': expected NAME=ADDR/LEN" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.root
def test_diff_against_the_live_firewall_of_a_target(netns, tmp_path):
    """--against-target reads the firewall running in the target (here a namespace whose live
    rules also admit 8080 and keep 443 closed) and reports what the candidate changes."""
    live = GOOD.replace("tcp dport { 80, 443 } accept", "tcp dport { 80, 8080 } accept")
    netns.exec(["nft", "-f", "-"], input=live)
    res = verify(tmp_path, GOOD, "--against-target", f"netns:{netns.name}", "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {(d["zone"], d["protocol"], tuple(d["ports"]), d["before"], d["after"]) for d in doc["diff"]} == {
        ("lan", "tcp", (443, 443), "drop", "accept"), ("internet", "tcp", (443, 443), "drop", "accept"),
        ("lan", "tcp", (8080, 8080), "accept", "drop"), ("internet", "tcp", (8080, 8080), "accept", "drop")}
    assert any(n.startswith(f"vs netns:{netns.name}: zone lan") and n.endswith("443: drop -> accept")
               for n in doc["notes"]), doc["notes"]
    same = verify(tmp_path, live, "--against-target", f"netns:{netns.name}")
    assert f"vs netns:{netns.name}: no change in reachability" in same.stdout
    gone = verify(tmp_path, GOOD, "--against-target", "netns:fwa-no-such-namespace")
    assert gone.returncode == 2 and "no network namespace named 'fwa-no-such-namespace'" in gone.stderr


@pytest.mark.root
def test_policy_init_drafts_a_valid_policy_from_a_host(netns, tmp_path):
    netns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
    netns.exec(["ip", "addr", "add", "198.18.90.1/24", "dev", "eth0"])
    netns.exec(["nft", "-f", "-"], input=GOOD.replace("198.18.0.0/24", "198.18.90.0/24")
               .replace("    tcp dport { 80, 443 } accept\n", ""))
    p = netns.spawn([sys.executable, "-m", "auditor.probe.servers", "--name", "sshd", "--tcp", "22"],
                    stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    out = tmp_path / "draft.yaml"
    res = subprocess.run([*FWAUDIT, "policy", "init", "--target", f"netns:{netns.name}", "--output", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    # every name is quoted (a process could be called "yes" or "-1")
    assert '"local-eth0": ["198.18.90.0/24"]' in text and 'zones: ["local-eth0"]' in text
    assert 'processes: ["sshd"]' in text
    # the draft describes the host as it is: auditing against it finds nothing to report
    audit = subprocess.run([*FWAUDIT, "audit", "--policy", str(out), "--target", f"netns:{netns.name}",
                            "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert json.loads(audit.stdout)["findings"] == [] and audit.returncode == 0


@pytest.mark.root
@pytest.mark.parametrize("name,text", [("cand.nft", GOOD), ("cand.rules", """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 198.18.0.0/24 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443,3306 -j ACCEPT
COMMIT
""")])
def test_prove_agrees_with_the_static_verdict_and_leaves_nothing(tmp_path, name, text):
    from auditor.probe.namespaces import leftover_namespaces

    res = verify(tmp_path, text, "--prove", "--format", "json", name=name)
    doc = json.loads(res.stdout)
    assert not [f for f in doc["findings"] if f["check"] == "FWA107"], doc["findings"]
    proof = [n for n in doc["notes"] if n.startswith("proof:")]
    assert proof and "0 disagreement(s)" in proof[-1]
    if name == "cand.rules":  # 3306 is open in the candidate: a static finding, confirmed by the probe
        assert res.returncode == 1 and "FWA201:internet:tcp/3306-3306" in {f["id"] for f in doc["findings"]}
    else:
        assert res.returncode == 0
    assert [n for n in leftover_namespaces("fwa-")
            if n == f"fwa-prove-{res.pid}" or n.startswith(f"fwa-probe-{res.pid}-")] == []
