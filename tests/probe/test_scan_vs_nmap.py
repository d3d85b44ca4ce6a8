"""Our scanner against nmap from the same vantage point, and interrupted scans leave nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import lab_host

from auditor.target.runner import run_in_namespace
from auditor.probe import synscan
from auditor.probe.namespaces import leftover_namespaces
from auditor.probe.vantage import PROBE_PREFIX, VantagePoint

pytestmark = pytest.mark.root
ROOT = Path(__file__).resolve().parents[2]

RULES = """table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr 198.18.81.50 tcp dport 2222 accept
    tcp dport 2222 drop
    tcp dport 80 drop
    tcp dport 443 reject with tcp reset
    tcp dport 8443 reject with icmpx admin-prohibited
    udp dport 123 drop
    udp dport 161 reject with icmpx admin-prohibited
  }
}
"""
def mine(pid: int) -> list[str]:
    """Probe namespaces of one process (tests may run beside other scans)."""
    return [n for n in leftover_namespaces(PROBE_PREFIX) if n.startswith(f"{PROBE_PREFIX}{pid}-")]


NMAP_STATE = {"open": "open", "closed": "closed", "filtered": "filtered", "open|filtered": "open_filtered"}


@pytest.fixture
def target(netns):
    return lab_host(netns, "198.18.81.1/24", nft=RULES, tcp="22,80,443,2222,8443", udp="53,123,161")


def nmap(vp: VantagePoint, source: str, args: list[str]) -> dict[tuple[str, int], str]:
    out = subprocess.run(["nsenter", f"--net={vp.ns.path}", "nmap", "-n", "-Pn", "-S", source, "-e", "eth0",
                          "--max-retries", "2", "-oX", "-", *args, "198.18.81.1"],
                         capture_output=True, text=True, check=True).stdout
    states = {}
    for port in ET.fromstring(out).iter("port"):
        states[(port.get("protocol"), int(port.get("portid")))] = NMAP_STATE[port.find("state").get("state")]
    return states


def test_tcp_and_udp_results_equal_nmap(target):
    sources = ["198.18.81.50", "198.18.81.60"]
    with VantagePoint(target.path, sources, destination="198.18.81.1") as vp:
        for src in sources:
            ours_tcp, method = run_in_namespace(vp.ns.path, synscan.syn_scan, [src], "198.18.81.1", list(range(1, 10001)))
            assert method == "syn"
            theirs = nmap(vp, src, ["-sS", "-p", "1-10000"])
            ours = {("tcp", p): state for _, p, state, _ in ours_tcp}
            # nmap lists only "interesting" ports; the rest share the reported default state
            assert {k: v for k, v in ours.items() if k in theirs} == theirs
            assert set(ours.values()) - set(theirs.values()) <= {"closed"}
            # The target rate-limits ICMP errors per peer (burst of ~6, then ~1/s). nmap goes first,
            # while this source has spent at most 2 (the two TCP scans' ICMP reject of 8443) and
            # needs 3 (161 rejected, 1000 and 1001 closed); ours comes second and must cope with
            # the spent bucket by pacing its re-probes, as it claims to.
            udp_ports = [53, 123, 161, 1000, 1001]
            theirs_udp = nmap(vp, src, ["-sU", "-p", ",".join(map(str, udp_ports))])
            ours_udp = {("udp", p): state for _, p, state, _ in
                        run_in_namespace(vp.ns.path, synscan.udp_scan, [src], "198.18.81.1", udp_ports)}
            assert ours_udp == theirs_udp
        assert ours[("tcp", 2222)] == "filtered"  # source .60 is not allowed; .50 (first loop) was
    assert mine(os.getpid()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_scan_cleans_up_itself(target, sig):
    routes = target.exec(["ip", "route"]).stdout
    p = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--target", f"netns:{target.name}",
                          "--source", "198.18.81.70", "--ports", "1-65535", "--protocol", "all"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # interrupt once the vantage point is fully attached (its return route is the last step):
    # the signal then lands while the scan runs, with every change there to be undone
    deadline = time.monotonic() + 20
    while "198.18.81.70 dev fwp" not in target.exec(["ip", "route"]).stdout:
        assert time.monotonic() < deadline and p.poll() is None, p.stderr.read() if p.poll() is not None else "timeout"
        time.sleep(0.05)
    assert mine(p.pid)
    p.send_signal(sig)
    p.wait(timeout=30)
    assert mine(p.pid) == []
    assert target.exec(["ip", "route"]).stdout == routes
    assert "fwp" not in target.exec(["ip", "-o", "link"]).stdout
    assert "Traceback" not in p.stderr.read()
