"""Every renderer held against a golden file, from one fixed snapshot of the demo lab's host.

The inputs are fixed — ``golden/lab-host.snapshot.json`` (taken with ``fwaudit snapshot`` of the
demo lab, its time set to a constant), ``policies/demo.yaml``, ``golden/candidate.rules`` — so
a change in any output is a change in fwaudit. Review it, then regenerate the files with
``FWAUDIT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_golden.py`` and commit
them with the change that made them.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.app.checks import checks
from auditor.app.exposure import exposure
from auditor.app.verify import verify
from auditor.collect.snapshot_json import read_snapshot
from auditor.engine import audit as engine_audit
from auditor.engine.baseline import drift
from auditor.engine.crosscheck import explain_scan
from auditor.engine.fleet import merge_fleet
from auditor.engine.policy import parse_policy
from auditor.engine.policy_draft import draft_policy, draft_zones, zones_only
from auditor.engine.rules_view import rules_view
from auditor.engine.zones import zone_exposures
from auditor.model.evidence import (
    BindEvidence, BlockedEvidence, CandidateEvidence, DisagreementEvidence, ExposureEvidence, FamilyMismatchEvidence,
    ImplicitRuleEvidence, IndeterminateEvidence, LatentHoleEvidence, ListenerEvidence, ServiceDownEvidence,
    WrongProcessEvidence,
)
from auditor.model.finding import Finding, Severity
from auditor.model.fleet import HostReport
from auditor.model.ruleset import Origin
from auditor.model.scan import ScanEntry, ScanResult
from auditor.report.audit_json import finding_json, render_audit_json
from auditor.report.formats import RENDERERS, render
from auditor.report.host_view import host_from_document
from auditor.report.policy_yaml import render_draft
from auditor.report.sarif import render_sarif
from auditor.report.snapshot_json import render_snapshot

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("FWAUDIT_UPDATE_GOLDEN") == "1"
STARTED = 1_800_000_000.0
EXTENSIONS = {"text": "txt", "json": "json", "junit": "xml", "sarif": "sarif", "prometheus": "prom", "html": "html"}


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
        return
    assert path.exists(), f"no golden file {name}: generate it with FWAUDIT_UPDATE_GOLDEN=1"
    expected = path.read_text()
    if text != expected:
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), name, "now"))[:60])
        pytest.fail(f"{name} differs from its golden file (review, then FWAUDIT_UPDATE_GOLDEN=1):\n{diff}")


@pytest.fixture(autouse=True)
def in_checkout(monkeypatch):
    """Paths in reports are the ones given: relative to the checkout."""
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def snap():
    return read_snapshot(GOLDEN / "lab-host.snapshot.json")


@pytest.fixture(scope="module")
def policy():
    return parse_policy((ROOT / "policies" / "demo.yaml").read_text(), "policies/demo.yaml")


@pytest.fixture(scope="module")
def result(snap, policy):
    return engine_audit.audit(policy, snap, started_at=STARTED, duration=0.25)


@pytest.mark.parametrize("fmt", list(RENDERERS["audit"]))
def test_audit_in_every_format(result, fmt):
    text = render_sarif(result, Path("/srv/fwaudit")) if fmt == "sarif" else render("audit", fmt, result)
    golden(f"audit.{EXTENSIONS[fmt]}", text)


def test_audit_with_drift(result):
    """Only what drift changes (the views are audit.json's)."""
    new, d = drift(result.findings, {f.id: f.title for f in result.findings[2:]} | {"FWA002:old:tcp/1": "gone"},
                   "baseline.json")
    doc = json.loads(render_audit_json(replace(result, findings=new, drift=d)))
    golden("audit-drift.json", json.dumps({k: v for k, v in doc.items() if k != "views"}, indent=2))


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif"])
def test_verify_with_a_diff(fmt):
    result = verify("policies/demo.yaml", ["tests/report/golden/candidate.rules"], ["eth0=198.18.0.2/24"],
                    against=["tests/report/golden/candidate.rules"])
    result = replace(result, started_at=STARTED, duration=0.5)
    text = render_sarif(result, Path("/srv/fwaudit")) if fmt == "sarif" else render("audit", fmt, result)
    golden(f"verify.{EXTENSIONS[fmt]}", text)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exposure_listeners_rules_scan_and_checks(snap, policy, fmt):
    parts = exposure(in_interface="wan0", snapshot="tests/report/golden/lab-host.snapshot.json",
                     zones=["lan", "internet"], policy="policies/demo.yaml")
    golden(f"exposure.{EXTENSIONS[fmt]}", render("exposure", fmt, parts))
    golden(f"listeners.{EXTENSIONS[fmt]}", render("listeners", fmt, snap.target, snap.listeners))
    golden(f"rules.{EXTENSIONS[fmt]}", render("rules", fmt, rules_view(snap.target, snap.ruleset)))
    scan = ScanResult(snap.target, "wan0", "198.19.0.2", (
        ScanEntry("198.19.0.10", "tcp", (1, 79), "filtered", "no-response"),
        ScanEntry("198.19.0.10", "tcp", (80, 80), "open", "syn-ack"),
        ScanEntry("198.19.0.10", "tcp", (81, 5431), "filtered", "no-response"),
        ScanEntry("198.19.0.10", "tcp", (5432, 5432), "open", "syn-ack"),
        ScanEntry("198.19.0.10", "tcp", (5433, 8079), "filtered", "no-response"),
        ScanEntry("198.19.0.10", "tcp", (8080, 8080), "filtered", "no-response"),  # disagrees with the model
        ScanEntry("198.19.0.10", "tcp", (8081, 65535), "filtered", "no-response"),
    ), duration=1.5)
    comparisons = explain_scan(scan, snap.ruleset, snap.host, snap.listeners, in_interface="wan0", target=snap.target)
    golden(f"scan.{EXTENSIONS[fmt]}", render("scan", fmt, scan, comparisons))
    golden(f"checks.{EXTENSIONS[fmt]}", render("checks", fmt, checks()))


def test_policy_draft_and_snapshot(snap):
    views = zone_exposures(snap.ruleset, snap.host, zones_only(draft_zones(snap.host)), target=snap.target)
    golden("policy-draft.yaml", render_draft(draft_policy(snap.target, snap.listeners, snap.host, views), snap.target,
                                             firewall_view=True))
    golden("snapshot.json", render_snapshot(snap))


@pytest.mark.parametrize("fmt", list(RENDERERS["fleet"]))
def test_fleet_in_every_format(result, fmt):
    doc = json.loads(render_audit_json(result))
    lean = json.loads(render_audit_json(replace(result, findings=result.findings[:3])))
    hosts = [host_from_document(doc, "results/web1.json", "web1"), host_from_document(lean, "results/web2.json", "web2"),
             HostReport("web3", "results/web3.json", "unreachable", error="ssh: connection timed out")]
    golden(f"fleet.{EXTENSIONS[fmt]}", render("fleet", fmt, merge_fleet(hosts, generated_at=STARTED + 60)))


RULE = Origin("file", "ip", "filter", "INPUT", 4, "-A INPUT -p tcp -m tcp --dport 5432 -j ACCEPT", file="fw.rules", line=9)
POLICY = Origin("nftables", "inet", "filter", "input", 0, "policy drop", "nft", handle=2)


def test_every_kind_of_evidence(snap):
    socks = snap.listeners[:2]
    kinds = [
        ListenerEvidence(socks), ServiceDownEvidence(31), WrongProcessEvidence(socks[:1], ("dnsmasq",), 37),
        BindEvidence(socks[:1], "loopback", 31), ExposureEvidence(("0.0.0.0/1", "128.0.0.0/1"), (RULE,), socks),
        BlockedEvidence((POLICY,), 20, (("reply", (POLICY,)),), ("the service's SYN-ACK is dropped",)),
        BlockedEvidence((POLICY,), None), LatentHoleEvidence(((1000, 1999), (3000, 3000)), (RULE,)),
        ImplicitRuleEvidence((POLICY,), ("accept",), ("internet",), ("0.0.0.0/1",)),
        FamilyMismatchEvidence((RULE,), (POLICY,)),
        DisagreementEvidence("open", "drop", "198.18.0.10", "forward", ("198.18.60.2", 80)),
        IndeterminateEvidence((RULE,), "'limit rate 1/second' depends on history", ("0.0.0.0/1",)),
        CandidateEvidence(("198.18.0.0/24",), (RULE, POLICY)),
    ]
    findings = [finding_json(Finding(f"FWA000:{i}", "FWA000", type(e).__name__, Severity.INFO, "m", e))
                for i, e in enumerate(kinds)]
    golden("evidence.json", json.dumps([f["evidence"] for f in findings], indent=2) + "\n")
