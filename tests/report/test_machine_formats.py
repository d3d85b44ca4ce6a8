"""JUnit, SARIF and Prometheus renderings of one constructed audit result, validated against
their schemas / parsers."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.evidence import ExposureEvidence, ServiceDownEvidence
from auditor.model.finding import CheckOutcome, Finding, Severity
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Service, Zone
from auditor.model.result import AuditResult, ZoneExposure
from auditor.model.ruleset import Origin
from auditor.report.junit import render_junit
from auditor.report.prometheus import render_prometheus
from auditor.report.sarif import artifact_location, render_sarif
from tests.report.official_sarif import multitool_errors, schema_errors
from tests.report.published_junit import junit_schema

RULE = Origin("file", "inet", "filter", "input", 4, "tcp dport 5432 accept", "nft", file="fw.nft", line=9)


@pytest.fixture
def result() -> AuditResult:
    pol = Policy("policies/demo.yaml", "demo", (Zone("lan", (ipaddress.ip_network("198.18.0.0/24"),)),),
                 (Service("ssh", "tcp", (22, 22), ("lan",), line=12),))
    listening = (Listener("tcp", "ipv4", "0.0.0.0", 5432, processes=(Process(7, "postgres", "pg"),)),)
    findings = (
        Finding("FWA101:lan:tcp/5432", "FWA101", "undeclared exposure", Severity.HIGH,
                "tcp/5432 reachable from lan <&>", ExposureEvidence(("198.18.0.0/24",), (RULE,), listening),
                "drop it", "lan", "tcp", (5432, 5432), ("fw.nft", 9)),
        Finding("FWA002:tcp/443", "FWA002", "expected service not listening", Severity.MEDIUM,
                "https is not listening", ServiceDownEvidence(14)),
    )
    exp = Exposure("netns:x", "eth0", "198.18.0.2", (
        ExposureEntry("198.18.0.0/24", "tcp", (1, 5431), "drop"),
        ExposureEntry("198.18.0.0/24", "tcp", (5432, 5432), "accept", (RULE,)),
        ExposureEntry("198.18.0.0/24", "tcp", (5433, 65535), "drop"),
    ))
    return AuditResult("netns:x", pol, listening, findings, started_at=1_700_000_000.0, duration=0.25,
                       firewall=(ZoneExposure("lan", exp),),
                       checks=(CheckOutcome("FWA102", "ssh from lan", True), CheckOutcome("FWA101", "lan tcp/5432", False)))


def test_junit_validates_and_carries_failures(result):
    xml = render_junit(result)
    doc = etree.fromstring(xml.encode())
    junit_schema().assertValid(doc)
    cases = doc.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["ssh from lan", "FWA101:lan:tcp/5432", "FWA002:tcp/443"]
    failure = cases[1].find("failure")
    assert "<&>" in failure.get("message") and '"drop it"' in failure.text
    assert doc.find("testsuite").get("failures") == "2"


@pytest.mark.parametrize("breakage", [
    lambda doc: doc.find(".//testcase").attrib.pop("name"),
    lambda doc: doc.find("testsuite").attrib.pop("failures"),
    lambda doc: setattr(doc.find(".//failure"), "tag", "failed"),
], ids=["testcase without name", "suite without failures count", "unknown element"])
def test_published_junit_schema_rejects_a_broken_report(result, breakage):
    """The judge above can fail."""
    doc = etree.fromstring(render_junit(result).encode())
    breakage(doc)
    assert not junit_schema().validate(doc)


def test_sarif_validates_and_points_at_rule_lines(result):
    doc = json.loads(render_sarif(result, Path("/srv/firewall")))
    r0, r1 = doc["runs"][0]["results"]
    assert r0["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "fw.nft", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 9}}
    assert doc["runs"][0]["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///srv/firewall/"}}
    assert r0["level"] == "error" and r1["level"] == "warning"
    assert r1["locations"][0]["physicalLocation"]["region"]["startLine"] == 14
    assert [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]] == ["FWA002", "FWA101"]
    assert r0["partialFingerprints"]["fwauditFindingId"] == "FWA101:lan:tcp/5432"


@pytest.mark.parametrize(("path", "expected"), [
    ("fw.nft", {"uri": "fw.nft", "uriBaseId": "%SRCROOT%"}),
    ("./rules/a b.nft", {"uri": "rules/a%20b.nft", "uriBaseId": "%SRCROOT%"}),
    ("/srv/firewall/rules/v4", {"uri": "rules/v4", "uriBaseId": "%SRCROOT%"}),
    ("/etc/nftables.conf", {"uri": "file:///etc/nftables.conf"}),
    ("../other/fw.nft", {"uri": "file:///srv/other/fw.nft"}),
])
def test_sarif_paths_are_relative_to_the_run_directory_or_absolute_uris(path, expected):
    assert artifact_location(path, Path("/srv/firewall")) == expected


def test_sarif_passes_the_official_schema_and_validator(result, tmp_path):
    doc = json.loads(render_sarif(result, tmp_path))
    assert schema_errors(doc) == []
    (tmp_path / "out.sarif").write_text(json.dumps(doc))
    assert multitool_errors(tmp_path / "out.sarif", tmp_path) == []


def test_official_sarif_judges_catch_a_broken_report(result, tmp_path):
    """The validators above can fail: a corrupted report is rejected by both."""
    doc = json.loads(render_sarif(result, tmp_path))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    doc["runs"][0]["tool"]["driver"]["vendor"] = "x"
    assert len(schema_errors(doc)) == 2
    doc["runs"][0]["results"][0]["level"] = "error"
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] = {"uri": "/abs/fw.nft"}
    (tmp_path / "bad.sarif").write_text(json.dumps(doc))
    found = " ".join(multitool_errors(tmp_path / "bad.sarif", tmp_path))
    assert "JSON1005" in found and "SARIF1004" in found


def test_prometheus_parses_with_expected_samples(result):
    families = {f.name: f for f in text_string_to_metric_families(render_prometheus(result))}
    by_sev = {s.labels["severity"]: s.value for s in families["fwaudit_findings"].samples}
    assert by_sev == {"info": 0, "low": 0, "medium": 1, "high": 1, "critical": 0}
    reach = families["fwaudit_port_reachable"].samples
    assert [(s.labels["zone"], s.labels["port"], s.value) for s in reach] == [("lan", "5432", 1.0)]
    assert families["fwaudit_audit_duration_seconds"].samples[0].value == 0.25
