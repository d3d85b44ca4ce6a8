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
    assert not [r for r in cleanup_leftovers()[0] if any(n in r for n in left)]


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


def _probe_state(target) -> dict:
    """Everything a scan may leave: probe namespaces, fwp veths and lab routes in the target,
    journals in the run directory."""
    import os

    run_dir = os.environ["FWAUDIT_RUN_DIR"]
    return {
        "netns": set(leftover_namespaces(PROBE_PREFIX)),
        "links": {l.split(":")[1].strip().split("@")[0] for l in target.exec(["ip", "-o", "link"]).stdout.splitlines()
                  if l.split(":")[1].strip().startswith("fwp")},
        "routes": {r.split()[0] + "/32" for r in target.exec(["ip", "route"]).stdout.splitlines() if "fwp" in r},
        "journals": set(os.listdir(run_dir)) - {n for n in os.listdir(run_dir) if n.startswith("audit-")}
        if os.path.isdir(run_dir) else set(),
    }


def _probe_namespace_pids(names) -> list[str]:
    return [p for n in names for p in subprocess.run(["ip", "netns", "pids", n], capture_output=True,
                                                      text=True).stdout.split()]


def _catches_sigterm(pid: int) -> bool:
    """Whether ``pid`` has installed a SIGTERM handler yet (fwaudit's main() does, Python not)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def kill_scan_at(target, sig: int, delay: float, *, after: str = "start") -> tuple[int, int, str, dict, list[str]]:
    """Start a long scan, send ``sig`` ``delay`` s after ``after``: its ``start``, its
    ``handlers`` being installed (fwaudit has started), or its worker ``probing`` inside the
    probe namespace. Returns (its pid, exit code, stderr, what this scan left, pids still
    running in its probe namespaces half a second later). Other runs on the machine may scan at
    the same time: only this scan's namespaces count."""
    import tempfile

    errfile = tempfile.TemporaryFile("w+")  # not a pipe: an orphaned worker would hold it open
    p = subprocess.Popen([*FWAUDIT, "scan", "--target", f"netns:{target.name}", "--source", "198.18.80.60",
                          "--ports", "1-65535", "--protocol", "all", "--format", "json"],
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errfile, text=True)
    ready = {"start": lambda: True, "handlers": lambda: _catches_sigterm(p.pid),
             "probing": lambda: bool(_probe_namespace_pids(n for n in leftover_namespaces(f"{PROBE_PREFIX}{p.pid}-")))}
    deadline = time.monotonic() + 30
    while not ready[after]():
        assert time.monotonic() < deadline and p.poll() is None, f"the scan never reached {after}"
        time.sleep(0.02)
    time.sleep(delay)
    p.send_signal(sig)
    p.wait(timeout=60)
    errfile.seek(0)
    err = errfile.read()
    time.sleep(0.5)
    left = _probe_state(target)
    left["netns"] = {n for n in left["netns"] if n.startswith(f"{PROBE_PREFIX}{p.pid}-")}
    return p.pid, p.returncode, err, left, _probe_namespace_pids(left["netns"])


@pytest.mark.root
@pytest.mark.parametrize("delay,after", [(0.3, "start"), (0.3, "handlers"), (0.0, "probing"), (1.0, "probing"),
                                         (6.0, "probing")])
def test_scan_killed_with_sigkill_worker_dies_and_cleanup_reports_only_what_it_removed(target, delay, after):
    """Reproduction: scan killed with SIGKILL — its forked worker kept probing as a child of
    PID 1, tore down part of the state, and cleanup then reported things already gone."""
    pid, code, _, left, running = kill_scan_at(target, signal.SIGKILL, delay, after=after)
    assert code == -signal.SIGKILL
    assert running == [], f"processes still running in {left['netns']}: {running}"
    res = subprocess.run([*FWAUDIT, "cleanup"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    reported = res.stdout.removeprefix("cleanup: ").strip()
    items = [] if reported == "nothing left behind" else reported.removeprefix("removed ").split(", ")
    ours = {"netns": left["netns"], "link": left["links"], "route": left["routes"]}
    for item in items:  # every reported removal of this scan's changes existed before cleanup
        kind, name = item.split(" ", 1)
        if (name.startswith((f"{PROBE_PREFIX}{pid}-", f"fwp{pid % 100000}")) or name == "198.18.80.60/32"):
            assert name in ours[kind], (item, left)
    assert left["netns"] <= {i.split(" ", 1)[1] for i in items if i.startswith("netns ")}
    after = _probe_state(target)
    assert not left["netns"] & set(leftover_namespaces(PROBE_PREFIX))
    assert not after["links"] and not after["routes"] and after["journals"] == set()


@pytest.mark.root
@pytest.mark.parametrize("sig,code,word", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                           (signal.SIGINT, 130, "interrupted (SIGINT)")])
@pytest.mark.parametrize("delay,after", [(0.0, "handlers"), (0.15, "handlers"), (0.3, "handlers"), (0.4, "handlers"),
                                         (0.5, "probing")])
def test_scan_sigterm_and_sigint_exit_143_and_130_with_a_message_after_the_undo(target, sig, code, word, delay, after):
    """Reproduction: SIGTERM and SIGINT exited 130 with no message (the README promised 143 and
    "terminated; changes undone"). And: a signal that arrived while the scan was starting
    (forking a worker, importing) could be swallowed, and the scan ran on (see
    tests/test_interrupts.py for the deterministic cases); the delays spread over that start."""
    _, rc, err, left, running = kill_scan_at(target, sig, delay, after=after)
    assert rc == code, err
    assert err.strip().splitlines()[-1] == f"fwaudit: {word}; changes undone"
    assert "Traceback" not in err
    assert left == {"netns": set(), "links": set(), "routes": set(), "journals": set()} and running == []


@pytest.mark.root
def test_udp_scan_under_ulimit_n_1024_covers_every_port_without_emfile(target):
    """Reproduction: ``ulimit -n 1024`` + ``--ports 1-1024 --protocol udp`` gave an EMFILE
    traceback (one socket per port, all at once). Here the limit is tighter still (128)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    res = subprocess.run([*FWAUDIT, "scan", "--target", f"netns:{target.name}", "--source", "198.18.80.52",
                          "--ports", "1-1024", "--protocol", "all", "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT, preexec_fn=limit)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    doc = json.loads(res.stdout)
    for proto in ("tcp", "udp"):
        covered = sorted(p for r in doc["results"] if r["protocol"] == proto for p in range(r["ports"][0], r["ports"][1] + 1))
        assert covered == list(range(1, 1025))
    assert state(doc, "udp", 53) == ("open", "udp-reply")
    assert state(doc, "udp", 123)[0] == "open_filtered"
    assert state(doc, "tcp", 22) == ("open", "syn-ack")


@pytest.mark.root
@pytest.mark.parametrize("args,fragment", [
    (["--source", "198.18.80.53", "--bridge", "nope"], "has no interface of that name"),
    (["--source", "198.18.80.53", "--bridge", "eth0"], "is a veth link, not a bridge"),
    (["--source", "198.18.80.53", "--bridge", "x" * 300], "is not an interface name"),
    (["--source", "198.18.80.53", "--destination", "abc"], "--destination 'abc' is not an IP address"),
    (["--source", "fd00:db8::5"], "is IPv6 but the destination 198.18.80.1 is IPv4"),
    (["--source", "198.18.80.53", "--destination", "fd00:db8::1"], "is IPv4 but the destination"),
    (["--source", "abc"], "--source 'abc' is not an IP address"),
    (["--source", "198.18.80.53", "--ports", "٨٠"], "invalid port spec"),
])
def test_scan_bad_bridge_destination_or_source_family_is_an_input_error(target, args, fragment):
    """Reproduction: scan --bridge nope, --destination abc, a v6 --source against a v4 target
    gave tracebacks (after creating the probe namespace)."""
    before = set(leftover_namespaces(PROBE_PREFIX))
    res = subprocess.run([*FWAUDIT, "scan", "--target", f"netns:{target.name}", "--ports", "22", *args],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2 and fragment in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not [n for n in set(leftover_namespaces(PROBE_PREFIX)) - before if _owner_gone(n)]  # nothing made


def _owner_gone(name: str) -> bool:
    import os

    pid = int(name[len(PROBE_PREFIX):].split("-")[0])
    return not os.path.exists(f"/proc/{pid}")


@pytest.mark.root
def test_exposure_live_destination_abc_is_an_input_error(target):
    res = subprocess.run([*FWAUDIT, "exposure", "--target", f"netns:{target.name}", "-i", "eth0", "-d", "abc"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2 and "--destination 'abc' is not an IP address" in res.stderr, res.stderr


@pytest.mark.root
def test_scan_source_already_routed_in_the_target_is_refused_and_the_route_kept(target):
    target.exec(["ip", "route", "add", "198.18.81.5/32", "dev", "eth0"])
    res = subprocess.run([*FWAUDIT, "scan", "--target", f"netns:{target.name}", "--source", "198.18.81.5",
                          "--ports", "22"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 3 and "cannot attach the probe" in res.stderr and "Traceback" not in res.stderr
    assert "198.18.81.5 dev eth0" in target.exec(["ip", "route"]).stdout
    assert not [l for l in target.exec(["ip", "-o", "link"]).stdout.splitlines() if "fwp" in l]
