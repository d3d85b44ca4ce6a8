"""Containers as targets, and the Docker host's published ports, audited end to end.

Each scenario asserts the exact finding ids; the host scenarios also probe from a client
namespace so the static verdict and the kernel are compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.target.docker import container_info
from auditor.target.runner import run_in_namespace
from auditor.probe.connect import Point, probe

pytestmark = [pytest.mark.root, pytest.mark.docker]
ROOT = Path(__file__).resolve().parents[1]

CONTAINER_FW = """table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept
    tcp dport { PORTS } accept
  }
}
"""


def fwaudit(lab, *args):
    env = dict(os.environ, DOCKER_HOST=lab.docker_host)
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=ROOT, env=env)


def audit_ids(lab, policy_text, target, tmp_path, scan=False):
    """Exit code and finding ids; with ``scan`` the probed view must agree with the model
    (no FWA107) and is required to be present."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_text)
    res = fwaudit(lab, "audit", "--policy", str(policy), "--target", target, "--format", "json",
                  *(["--scan"] if scan else []))
    assert res.returncode in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    if scan:
        assert doc["views"]["probed"], "no probed view"
    return res.returncode, sorted(f["id"] for f in doc["findings"])


@pytest.fixture(scope="module")
def app_net(docker_lab):
    return docker_lab.network("app", "198.18.60.0/24")


def wait_listening(lab, container, port):
    pid = lab.container_pid(container)
    for _ in range(50):
        out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ss", "-tlnH"], capture_output=True, text=True).stdout
        if f":{port} " in out:
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


POLICY_WEB = """version: 1
name: web
ignore_processes: [dockerd]
zones: {internet: [0.0.0.0/0, "::/0"]}
services:
  - {name: http, protocol: tcp, port: 80, zones: [internet], process: httpd}
"""


def test_container_target_info_and_listeners(docker_lab, app_net):
    c = docker_lab.run("info", ["httpd", "-f", "-p", "80"], network=app_net, ports={"80/tcp": 18080})
    wait_listening(docker_lab, c, 80)
    info = container_info(c.name, base_url=docker_lab.docker_host)
    assert info.pid == docker_lab.container_pid(c) and info.networks[0].address.startswith("198.18.60.")
    assert info.networks[0].bridge and info.networks[0].bridge.startswith("br-")
    # one binding per address family the engine publishes on; at least the IPv4 one
    published = [(p.protocol, p.host_ip, p.host_port, p.container_port) for p in info.published]
    assert ("tcp", "0.0.0.0", 18080, 80) in published and set(published) <= {
        ("tcp", "0.0.0.0", 18080, 80), ("tcp", "::", 18080, 80)}
    doc = json.loads(fwaudit(docker_lab, "listeners", "--target", f"container:{c.name}", "--format", "json").stdout)
    assert ("tcp", 80, "httpd") in {(l["protocol"], l["port"], p["name"]) for l in doc["listeners"] for p in l["processes"]}
    res = fwaudit(docker_lab, "listeners", "--target", "container:fwa-it-no-such-container")
    assert res.returncode == 2 and "no container" in res.stderr
    c.remove(force=True)  # its published port would show up on the host in later scenarios


def test_web_container_with_correct_policy_is_compliant(docker_lab, app_net, tmp_path):
    c = docker_lab.run("web", ["httpd", "-f", "-p", "80"], network=app_net)
    docker_lab.in_container(c, ["nft", "-f", "-"], input=CONTAINER_FW.replace("PORTS", "80"))
    wait_listening(docker_lab, c, 80)
    assert audit_ids(docker_lab, POLICY_WEB, f"container:{c.name}", tmp_path, scan=True) == (0, [])


def test_database_bound_to_all_addresses_where_policy_says_loopback(docker_lab, app_net, tmp_path):
    c = docker_lab.run("db", ["httpd", "-f", "-p", "5432"], network=app_net)
    # this container's firewall is written with iptables-nft
    for rule in (["-P", "INPUT", "DROP"], ["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"],
                 ["-A", "INPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]):
        docker_lab.in_container(c, ["iptables-nft", *rule])
    wait_listening(docker_lab, c, 5432)
    policy = """version: 1
name: db
ignore_processes: [dockerd]
zones: {internet: [0.0.0.0/0]}
services:
  - {name: postgres, protocol: tcp, port: 5432, zones: [], process: httpd, bind: loopback}
"""
    assert audit_ids(docker_lab, policy, f"container:{c.name}", tmp_path, scan=True) == (1, ["FWA004:tcp/5432"])


def test_firewall_hole_inside_a_container(docker_lab, app_net, tmp_path):
    c = docker_lab.run("hole", ["sh", "-c", "httpd -p 8080; exec httpd -f -p 80"], network=app_net)
    docker_lab.in_container(c, ["nft", "-f", "-"], input=CONTAINER_FW.replace("PORTS", "80, 8080"))
    wait_listening(docker_lab, c, 8080)
    code, ids = audit_ids(docker_lab, POLICY_WEB, f"container:{c.name}", tmp_path, scan=True)
    assert (code, ids) == (1, ["FWA001:tcp/8080", "FWA101:internet:tcp/8080"])


HOST_POLICY = """version: 1
name: docker-host
ignore_processes: [dockerd]
zones:
  lan: [198.18.61.0/24]
  internet: [0.0.0.0/0, "::/0"]
services: [SERVICES]
"""


def test_published_port_bypasses_input_and_docker_user_restricts_it(docker_lab, app_net, tmp_path):
    lab = docker_lab
    c = lab.run("pub", ["httpd", "-f", "-p", "80"], network=app_net, ports={"80/tcp": 8080})
    wait_listening(lab, c, 80)
    lab.in_engine(["iptables-nft", "-P", "INPUT", "DROP"])  # the host "blocks everything"
    lab.in_engine(["ip", "route", "add", "198.18.62.0/24", "dev", "eth0"])
    lab.client_ns.add_address("eth0", "198.18.62.10/24")
    target = f"netns:{lab.engine.name}"

    # 1. the bypass: reachable from everywhere through FORWARD although INPUT drops everything
    code, ids = audit_ids(lab, HOST_POLICY.replace("[SERVICES]", "[]"), target, tmp_path)
    assert code == 1
    assert {"FWA101:lan:tcp/8080", "FWA101:internet:tcp/8080"} <= set(ids)
    exp = json.loads(fwaudit(lab, "exposure", "--target", target, "--in-interface", "eth0",
                             "--source", "198.18.62.10", "--format", "json").stdout)
    (e8080,) = [e for e in exp["exposure"] if e["protocol"] == "tcp" and e["ports"][0] <= 8080 <= e["ports"][1]]
    assert (e8080["verdict"], e8080["path"]) == ("accept", "forward")
    assert e8080["translated_to"]["port"] == 80 and e8080["translated_to"]["address"].startswith("198.18.60.")
    points = [Point("198.18.61.10", "198.18.61.1", "tcp", 8080), Point("198.18.62.10", "198.18.61.1", "tcp", 8080),
              Point("198.18.62.10", "198.18.61.1", "tcp", 22)]
    kernel = run_in_namespace(lab.client_ns.path, probe, points)
    assert [kernel[p] for p in points] == ["open", "open", "silent"]  # the kernel agrees with the model

    # 2. DOCKER-USER restricts the published port to the LAN: declared for the LAN, compliant
    lab.in_engine(["iptables-nft", "-I", "DOCKER-USER", "-i", "eth0", "!", "-s", "198.18.61.0/24", "-j", "DROP"])
    service = "[{name: http-alt, protocol: tcp, port: 8080, zones: [lan], process: docker-proxy}]"
    code, ids = audit_ids(lab, HOST_POLICY.replace("[SERVICES]", service), target, tmp_path)
    assert (code, [i for i in ids if i.startswith(("FWA101", "FWA001"))]) == (0, [])
    kernel = run_in_namespace(lab.client_ns.path, probe, points[:2])
    assert [kernel[p] for p in points[:2]] == ["open", "silent"]


def test_audit_of_a_snapshot_of_the_docker_host_equals_the_live_audit(docker_lab, app_net, tmp_path):
    """A Docker host (its published port DNAT'd through FORWARD, DOCKER-USER, iptables-nft and
    the engine's own listeners) snapshotted once: audit and exposure from the file answer as
    the live host does, and so do a container's."""
    lab = docker_lab
    c = lab.run("snap", ["httpd", "-f", "-p", "80"], network=app_net, ports={"80/tcp": 8081})
    wait_listening(lab, c, 80)
    policy = tmp_path / "policy.yaml"
    policy.write_text(HOST_POLICY.replace("[SERVICES]", "[{name: http-alt, protocol: tcp, port: 8081, zones: [lan], "
                                                        "process: docker-proxy}]"))
    for target in (f"netns:{lab.engine.name}", f"container:{c.name}"):
        snap = tmp_path / "snap.json"
        res = fwaudit(lab, "snapshot", "--target", target, "--output", str(snap))
        assert res.returncode == 0, res.stderr
        live = fwaudit(lab, "audit", "--policy", str(policy), "--target", target, "--format", "json")
        offline = fwaudit(lab, "audit", "--policy", str(policy), "--snapshot", str(snap), "--format", "json")
        assert live.returncode == offline.returncode and live.returncode in (0, 1), (live.stderr, offline.stderr)
        a, b = (json.loads(r.stdout) for r in (live, offline))
        for doc in (a, b):
            del doc["started_at"], doc["duration_seconds"]
        assert a == b
        live_exp = fwaudit(lab, "exposure", "--target", target, "--in-interface", "eth0", "--format", "json")
        offline_exp = fwaudit(lab, "exposure", "--snapshot", str(snap), "--in-interface", "eth0", "--format", "json")
        assert live_exp.returncode == 0 and live_exp.stdout == offline_exp.stdout, offline_exp.stderr
        if target.startswith("netns:"):  # the published port is followed through FORWARD offline too
            hits = [(e["source"], e["verdict"], e.get("path"), (e.get("translated_to") or {}).get("port"))
                    for e in json.loads(offline_exp.stdout)["exposure"]
                    if e["protocol"] == "tcp" and e["ports"][0] <= 8081 <= e["ports"][1]]
            assert hits and {(path, port) for _, _, path, port in hits} == {("forward", 80)}, hits
    c.remove(force=True)


def test_scan_arrives_through_the_containers_own_network_and_agrees(docker_lab, app_net):
    c = docker_lab.run("scanme", ["sh", "-c", "httpd -p 8080; exec httpd -f -p 80"], network=app_net)
    docker_lab.in_container(c, ["nft", "-f", "-"], input=CONTAINER_FW.replace("PORTS", "80"))
    wait_listening(docker_lab, c, 8080)
    res = fwaudit(docker_lab, "scan", "--target", f"container:{c.name}", "--source", "198.18.60.200",
                  "--ports", "1-100,8080", "--explain", "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["in_interface"].startswith("br-") and doc["destination"] == container_info(
        c.name, base_url=docker_lab.docker_host).networks[0].address
    states = {(r["ports"][0], r["ports"][1]): r["state"] for r in doc["results"]}
    assert states[(80, 80)] == "open"
    assert [r["state"] for r in doc["results"] if r["ports"][0] <= 8080 <= r["ports"][1]] == ["filtered"]
    assert [e for e in doc["explain"] if not e["agrees"]] == []
    c.remove(force=True)


def test_container_audit_with_scan_probed_and_static_agree(docker_lab, app_net, tmp_path):
    c = docker_lab.run("scanaudit", ["httpd", "-f", "-p", "80"], network=app_net)
    docker_lab.in_container(c, ["nft", "-f", "-"], input=CONTAINER_FW.replace("PORTS", "80"))
    wait_listening(docker_lab, c, 80)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_WEB.replace("zones: {internet: [0.0.0.0/0, \"::/0\"]}",
                                         "zones: {app: [198.18.60.0/24], internet: [0.0.0.0/0, \"::/0\"]}")
                      .replace("zones: [internet]", "zones: [app, internet]"))
    res = fwaudit(docker_lab, "audit", "--policy", str(policy), "--target", f"container:{c.name}", "--scan",
                  "--format", "json")
    doc = json.loads(res.stdout)
    assert res.returncode == 0, (res.stderr, doc["findings"])
    probed = {(p["source"], p["protocol"], p["ports"][0], p["state"]) for p in doc["views"]["probed"]}
    assert ("198.18.60.254", "tcp", 80, "open") in probed and ("198.19.255.254", "tcp", 80, "open") in probed
    assert doc["findings"] == []
    c.remove(force=True)


MULTI_FW = """table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "eth1" tcp dport 80 accept
  }
}
"""


def test_container_on_two_networks_rules_exposure_and_scan(docker_lab, app_net):
    """A container whose first network is eth0 and whose app network (the one scanned) is eth1,
    with a firewall that admits http on eth1 only: rules, exposure and scan --explain of the
    container target must all see the container's own namespace and its real interfaces."""
    zone_net = docker_lab.network("zone", "198.18.64.0/24")
    c = docker_lab.run("multi", ["httpd", "-f", "-p", "80"], network=zone_net)
    app_net.connect(c)
    docker_lab.in_container(c, ["nft", "-f", "-"], input=MULTI_FW)
    wait_listening(docker_lab, c, 80)
    target = f"container:{c.name}"
    app = [n for n in container_info(c.name, base_url=docker_lab.docker_host).networks if n.name == app_net.name][0]

    rules = json.loads(fwaudit(docker_lab, "rules", "--target", target, "--format", "json").stdout)
    assert rules["target"] == target and rules["unknown_rules"] == 0
    tables = {(t["backend"], t["family"], t["name"]): t for t in rules["tables"]}
    (chain,) = tables[("nftables", "inet", "filter")]["chains"]
    assert [r["text"] for r in chain["rules"]] == ["ct state established,related accept",
                                                   'iifname "eth1" tcp dport 80 accept']
    chains = {c["name"] for t in rules["tables"] for c in t["chains"]}
    assert "DOCKER-USER" not in chains and "DOCKER" not in chains  # the engine's rules are elsewhere

    def exposure(iface):
        res = fwaudit(docker_lab, "exposure", "--target", target, "--in-interface", iface, "--format", "json")
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        return doc, {p: [e["verdict"] for e in doc["exposure"]
                         if e["protocol"] == "tcp" and e["ports"][0] <= p <= e["ports"][1]] for p in (80, 81)}

    doc, verdicts = exposure("eth1")
    assert doc["destination"] == app.address and verdicts == {80: ["accept"], 81: ["drop"]}
    assert exposure("eth0")[1] == {80: ["drop"], 81: ["drop"]}

    res = fwaudit(docker_lab, "scan", "--target", target, "--source", "198.18.60.201", "--ports", "79-81",
                  "--explain", "--format", "json")
    assert res.returncode == 0, res.stderr
    scan = json.loads(res.stdout)
    assert scan["destination"] == app.address and scan["in_interface"] == app.bridge
    states = {r["ports"][0]: r["state"] for r in scan["results"] if r["ports"][0] == r["ports"][1]}
    assert states[80] == "open" and states[81] == "filtered"
    assert {(e["ports"][0], e["verdict"], e["agrees"]) for e in scan["explain"] if e["ports"][0] <= 80 <= e["ports"][1]} \
        == {(80, "accept", True)}
    assert [e for e in scan["explain"] if not e["agrees"]] == []
    c.remove(force=True)
