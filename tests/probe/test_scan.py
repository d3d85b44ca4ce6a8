"""Scanning from vantage points: every state, exact coverage, and nothing left behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import lab_host

from auditor.probe.synscan import checksum, ranges, syn_segment
from auditor.probe.vantage import PROBE_PREFIX, cleanup_leftovers
from auditor.probe.namespaces import leftover_namespaces

ROOT = Path(__file__).resolve().parents[2]
FWAUDIT = [sys.executable, "-m", "auditor"]

RULES = """table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 80 drop
    tcp dport 443 reject with tcp reset
    tcp dport 8443 reject with icmpx admin-prohibited
    udp dport { 123, 124 } drop
  }
}
"""


def test_syn_segment_checksum_verifies():
    seg = syn_segment("198.18.0.1", "198.18.0.2", 40000, 22, 12345)
    pseudo = bytes([198, 18, 0, 1, 198, 18, 0, 2, 0, 6, 0, len(seg)])
    assert checksum(pseudo + seg) == 0
    assert seg[13] == 0x02


def test_ranges_merge_adjacent_equal_states():
    rows = [("a", 1, "closed", "rst"), ("a", 2, "closed", "rst"), ("a", 3, "open", "syn-ack"), ("b", 1, "closed", "rst")]
    assert [(e.source, e.ports, e.state) for e in ranges(rows, "tcp")] == [
        ("a", (1, 2), "closed"), ("a", (3, 3), "open"), ("b", (1, 1), "closed")]


@pytest.fixture
def target(netns):
    return lab_host(netns, "198.18.80.1/24", nft=RULES, tcp="22,80,443", udp="53,123")


def state(doc, proto, port):
    (hit,) = [r for r in doc["results"] if r["protocol"] == proto and r["ports"][0] <= port <= r["ports"][1]]
    return hit["state"], hit["reason"]


@pytest.mark.root
def test_scan_reports_every_state_and_cleans_up(target):
    routes_before = target.exec(["ip", "route"]).stdout
    probes_before = set(leftover_namespaces(PROBE_PREFIX))
    res = subprocess.run([*FWAUDIT, "scan", "--target", f"netns:{target.name}", "--source", "198.18.80.50",
                          "--ports", "1-1024,8443", "--format", "json", "--explain"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["method"] == "syn" and doc["destination"] == "198.18.80.1" and doc["in_interface"].startswith("fwp")
    assert state(doc, "tcp", 22) == ("open", "syn-ack")
    assert state(doc, "tcp", 80) == ("filtered", "no-response")
    assert state(doc, "tcp", 443) == ("closed", "rst")
    assert state(doc, "tcp", 8443) == ("filtered", "icmp admin-prohibited")
    assert state(doc, "tcp", 1000) == ("closed", "rst")
    covered = sorted(p for r in doc["results"] for p in range(r["ports"][0], r["ports"][1] + 1))
    assert covered == list(range(1, 1025)) + [8443]  # every requested port exactly once
    disagree = [e for e in doc["explain"] if not e["agrees"]]
    assert disagree == [], disagree[:3]
    assert set(leftover_namespaces(PROBE_PREFIX)) <= probes_before
    assert target.exec(["ip", "route"]).stdout == routes_before


@pytest.mark.root
def test_udp_scan_paces_past_the_icmp_rate_limit(target):
    res = subprocess.run([*FWAUDIT, "scan", "--target", f"netns:{target.name}", "--source", "198.18.80.51",
                          "--ports", "53,123,124,1000-1009", "--protocol", "udp", "--format", "json", "--explain"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert state(doc, "udp", 53) == ("open", "udp-reply")
    assert state(doc, "udp", 123)[0] == "open_filtered"  # dropped by the firewall, a socket exists
    assert state(doc, "udp", 124) == ("filtered", "no-response; nothing listens there (local view)")
    # ten closed ports: more ICMP errors than the target's burst allows; pacing resolves all
    assert all(state(doc, "udp", p) == ("closed", "icmp port-unreachable") for p in range(1000, 1010))
    assert [e for e in doc["explain"] if not e["agrees"]] == []


@pytest.mark.root
def test_killed_scan_is_cleaned_up_by_cleanup(target):
    code = (f"import os, signal\nfrom auditor.probe.vantage import VantagePoint\n"
            f"vp = VantagePoint('{target.path}', ['198.18.80.77'], destination='198.18.80.1')\n"
            "print('attached', os.getpid(), flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == -signal.SIGKILL and p.stdout.startswith("attached ")
    # only the killed run's own: other scans on the machine may come and go meanwhile, and a
    # live one's namespace must survive the cleanup
    left = {n for n in leftover_namespaces(PROBE_PREFIX) if n.startswith(f"{PROBE_PREFIX}{p.stdout.split()[1]}-")}
    assert left and "198.18.80.77" in target.exec(["ip", "route"]).stdout
    res = subprocess.run([*FWAUDIT, "cleanup"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and "netns" in res.stdout
    assert not left & set(leftover_namespaces(PROBE_PREFIX))
    deadline = time.monotonic() + 5
    while "198.18.80.77" in target.exec(["ip", "route"]).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert not [r for r in cleanup_leftovers() if any(n in r for n in left)]


@pytest.mark.root
def test_scan_falls_back_to_a_connect_scan_without_raw_sockets(target):
    """Without CAP_NET_RAW (dropped from the bounding set) the scan still works, says it used
    the connect method, and gets the same open/closed/filtered answers the model expects."""
    res = subprocess.run(["setpriv", "--bounding-set", "-net_raw", *FWAUDIT, "scan", "--target", f"netns:{target.name}",
                          "--source", "198.18.80.52", "--ports", "20-23,80,443,1000", "--format", "json", "--explain"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["method"] == "connect"
    assert state(doc, "tcp", 22) == ("open", "connect")
    assert state(doc, "tcp", 80) == ("filtered", "no-response")
    assert state(doc, "tcp", 443) == ("closed", "rst-or-icmp")
    assert state(doc, "tcp", 1000) == ("closed", "rst-or-icmp")
    assert [e for e in doc["explain"] if not e["agrees"]] == []


BRIDGE_RULES = """table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "br0" tcp dport 22 accept
  }
}
"""


@pytest.mark.root
def test_scan_through_the_targets_bridge(netns):
    """--bridge attaches the probe as a port of the target's bridge: the probe arrives on br0
    (which the firewall admits ssh from), unlike the default veth path; the port goes away."""
    from auditor.probe.namespaces import add_bridge

    lab_host(netns, "198.18.84.1/24", nft=BRIDGE_RULES, tcp="22")
    add_bridge(netns, "br0")
    netns.add_address("br0", "198.18.83.1/24")

    def routes() -> str:  # the carrier flag follows the bridge's ports; the routes must not change
        return netns.exec(["ip", "route"]).stdout.replace(" linkdown", "")

    before = routes()

    def scan(*extra):
        res = subprocess.run([*FWAUDIT, "scan", "--target", f"netns:{netns.name}", "--destination", "198.18.83.1",
                              "--ports", "22,23", "--format", "json", "--explain", *extra],
                             capture_output=True, text=True, cwd=ROOT)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    bridged = scan("--bridge", "br0", "--source", "198.18.83.50")
    assert bridged["in_interface"] == "br0"
    assert state(bridged, "tcp", 22) == ("open", "syn-ack") and state(bridged, "tcp", 23)[0] == "filtered"
    assert [e for e in bridged["explain"] if not e["agrees"]] == []
    direct = scan("--source", "198.18.83.51")
    assert direct["in_interface"].startswith("fwp") and state(direct, "tcp", 22)[0] == "filtered"
    assert netns.exec(["ip", "-o", "link", "show", "master", "br0"]).stdout == ""  # the probe's port is gone
    assert routes() == before


def test_a_probe_for_a_container_address_arrives_on_the_interface_holding_it():
    import ipaddress

    from auditor.collect.target import Target
    from auditor.errors import InputError
    from auditor.model.host import HostContext, Interface
    from auditor.probe.scan import interface_holding

    host = HostContext(interfaces=(
        Interface("lo", (ipaddress.ip_interface("127.0.0.1/8"),)),
        Interface("eth0", (ipaddress.ip_interface("198.18.64.2/24"),)),
        Interface("eth1", (ipaddress.ip_interface("198.18.60.3/24"), ipaddress.ip_interface("2001:db8:60::3/64"))),
    ))
    web = Target("container", "web")
    assert interface_holding(host, "198.18.60.3", web) == "eth1"
    assert interface_holding(host, "2001:db8:60::3", web) == "eth1"
    assert interface_holding(host, "198.18.64.2", web) == "eth0"
    with pytest.raises(InputError, match="198.18.60.4 is not an address of container:web"):
        interface_holding(host, "198.18.60.4", web)
