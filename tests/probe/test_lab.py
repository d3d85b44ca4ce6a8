"""The demo lab: built, audited with the README's command, shows its seeded flaws, removed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.probe.lab import lab_down, lab_up
from auditor.probe.namespaces import leftover_namespaces
from tests.conftest import RUN_ID

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.root
# this run's own lab: a demo (fwa-lab-*) or another test run on the machine is never touched
PREFIX = f"fwa-t{RUN_ID}-lab-"
HOST = f"{PREFIX}host"


@pytest.fixture
def lab():
    info = lab_up(PREFIX)
    try:
        yield info
    finally:
        lab_down(PREFIX)


def test_demo_lab_audit_shows_the_seeded_flaws(lab):
    res = subprocess.run([sys.executable, "-m", "auditor", "audit", "--policy", "policies/demo.yaml",
                          "--target", f"netns:{HOST}", "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 1
    ids = {f["id"] for f in json.loads(res.stdout)["findings"]}
    assert {
        "FWA001:tcp/8080",            # undeclared debug server
        "FWA002:https:tcp/443",       # declared, not running
        "FWA003:udp/53",              # wrong DNS server
        "FWA004:tcp/5432",            # postgres on 0.0.0.0, declared loopback
        "FWA101:internet:tcp/5432",   # ... and the firewall lets the world in
        "FWA101:internet:tcp/8080",
    } <= ids
    assert "FWA101:lan:tcp/22" not in ids and "FWA101:internet:tcp/22" not in ids  # ssh is LAN-only, as declared


def test_lab_down_removes_everything_and_is_idempotent(make_netns):
    decoy = make_netns("lab")  # fwa-t<run>-<n>lab: close to the prefix, not under it
    info = lab_up(PREFIX)
    names = [f"{PREFIX}host", f"{PREFIX}lan", f"{PREFIX}wan"]
    assert (info.host, sorted(info.namespaces)) == (HOST, sorted(names))
    assert leftover_namespaces(PREFIX) == sorted(names)
    assert sorted(lab_down(PREFIX)) == sorted(names)
    assert leftover_namespaces(PREFIX) == [] and lab_down(PREFIX) == []
    assert decoy.name in leftover_namespaces()


def test_demo_lab_audit_with_scan_agrees_with_the_model(lab):
    # Snapshot, not "none at all": a killed run elsewhere on the machine may have left its own.
    probes_before = set(leftover_namespaces("fwa-probe-"))
    res = subprocess.run([sys.executable, "-m", "auditor", "audit", "--policy", "policies/demo.yaml",
                          "--target", f"netns:{HOST}", "--scan", "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    doc = json.loads(res.stdout)
    probed = doc["views"]["probed"]
    assert probed and {p["source"] for p in probed} == {"198.18.0.254", "198.19.255.254"}
    open_ports = {(p["source"], p["protocol"], p["ports"][0]) for p in probed if p["state"] == "open"}
    assert ("198.19.255.254", "tcp", 8080) in open_ports and ("198.19.255.254", "tcp", 22) not in open_ports
    assert not [f for f in doc["findings"] if f["check"] == "FWA107"]
    assert set(leftover_namespaces("fwa-probe-")) <= probes_before
