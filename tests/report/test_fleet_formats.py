"""The fleet report formats, each held against its schema or parser, with hostile host data."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from auditor.engine.fleet import host_from_document, merge_fleet
from auditor.model.fleet import Fleet, HostDrift, HostReport, InputProblem
from auditor.report.fleet import RENDERERS, render_fleet
from auditor.report.html import render_audit_html
from tests.fleet_documents import audit_doc, audit_result
from tests.report.published_junit import junit_schema

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EVIL_HOST = "web<script>alert(1)</script>\x1b[2J"
EVIL_PROCESS = '"><img src=x onerror=alert(1)>'


def make_fleet() -> Fleet:
    hosts = [
        host_from_document(audit_doc(), "r/db1.json", "db1"),
        host_from_document(audit_doc(pg_open_to_internet=False), "r/db2.json", "db2"),
        host_from_document(audit_doc(process=EVIL_PROCESS), "r/evil.json", EVIL_HOST),
        HostReport("db9", "r/db9.json", "unreachable", error="ssh: connect to host 198.18.9.9 port 22: refused"),
        HostReport("db8", "r/db8.json", "failed", error="Audit the host: fwaudit: error: bad policy"),
    ]
    drifted = host_from_document(audit_doc({"drift": {"baseline": "b.json", "new": 1, "unchanged": 0,
                                                      "resolved": ["FWA002:tcp/443"]}}), "r/db3.json", "db3")
    assert drifted.drift == HostDrift("b.json", 1, 0, ("FWA002:tcp/443",))
    return merge_fleet(hosts + [drifted], [InputProblem("r/junk.json", "r/junk.json: not valid JSON")], 1_700_000_000.0)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return make_fleet()


def test_json_follows_its_schema_and_answers_fleet_questions(fleet):
    doc = json.loads(render_fleet(fleet, "json"))
    schema = json.loads((ROOT / "auditor/report/schemas/fleet-1.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema)
    s = doc["summary"]
    assert (s["hosts"], s["audited"], s["unreachable"], s["failed"], s["drifted"], s["problems"]) == (6, 4, 1, 1, 1, 1)
    assert s["hosts_by_worst"] == {"info": 0, "low": 1, "medium": 0, "high": 3, "critical": 0, "none": 0}
    pg = next(g for g in doc["findings"] if g["check"] == "FWA101")
    assert pg["hosts"] == ["db1", "db3", EVIL_HOST] and pg["zone"] == "internet" and pg["ports"] == [5432, 5432]
    open_pg = next(e for e in doc["exposure"] if e["zone"] == "internet" and e["ports"] == [5432, 5432])
    assert open_pg["hosts"] == ["db1", "db3", EVIL_HOST]
    db9 = next(h for h in doc["hosts"] if h["host"] == "db9")
    assert db9["status"] == "unreachable" and db9["summary"]["worst"] is None and db9["findings"] == []
    db1 = next(h for h in doc["hosts"] if h["host"] == "db1")
    assert db1["worst_finding"]["id"] == "FWA101:internet:tcp/5432" and db1["summary"]["by_severity"]["high"] == 1


def test_json_of_a_fleet_with_an_invalid_host_violates_the_schema(fleet):
    """The schema is strict enough to fail: an unaudited host cannot carry findings."""
    doc = json.loads(render_fleet(fleet, "json"))
    schema = json.loads((ROOT / "auditor/report/schemas/fleet-1.schema.json").read_text())
    db9 = next(h for h in doc["hosts"] if h["host"] == "db9")
    db9["findings"] = [doc["hosts"][0]["findings"][0]]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_junit_validates_with_a_suite_per_host(fleet):
    xml = render_fleet(fleet, "junit")
    tree = etree.fromstring(xml.encode())
    junit_schema().assertValid(tree)
    suites = {s.get("name"): s for s in tree.findall("testsuite")}
    assert suites["db9"].find("testcase/error").get("type") == "unreachable"
    assert suites["db2"].find("testcase/failure").get("type") == "FWA001"
    assert suites["fleet inputs"].get("errors") == "1"
    evil = next(n for n in suites if n.startswith("web<script>"))
    assert "\x1b" not in evil and "\\x1b" in evil  # XML 1.0 cannot carry ESC: escaped, still valid
    assert tree.get("tests") == str(sum(int(s.get("tests")) for s in suites.values()))


def test_prometheus_parses_and_counts(fleet):
    families = {f.name: f for f in text_string_to_metric_families(render_fleet(fleet, "prometheus"))}
    hosts = {s.labels["status"]: s.value for s in families["fwaudit_fleet_hosts"].samples}
    assert hosts == {"audited": 4, "unreachable": 1, "failed": 1}
    up = {s.labels["host"]: s.value for s in families["fwaudit_fleet_host_audited"].samples}
    assert up["db9"] == 0 and up["db1"] == 1
    high = {s.labels["host"]: s.value for s in families["fwaudit_fleet_host_findings"].samples
            if s.labels["severity"] == "high"}
    assert high["db1"] == 1 and high["db2"] == 0 and "db9" not in high
    reach = [s for s in families["fwaudit_fleet_port_reachable_hosts"].samples
             if s.labels == {"zone": "internet", "port": "tcp/5432", "verdict": "accept"}]
    assert [s.value for s in reach] == [3]


def test_text_escapes_host_strings_and_leads_with_the_counts(fleet):
    text = render_fleet(fleet, "text")
    assert text.splitlines()[0] == (
        "fwaudit fleet: 6 host(s): 4 audited (0 compliant, 4 with findings), 1 unreachable, 1 failed; "
        "7 finding(s) (3 high, 4 low); 1 host(s) drifted from their baseline; 1 file(s) were not host reports")
    assert "\x1b" not in text and "\\x1b[2J" in text
    assert "unreachable: db9: ssh: connect to host 198.18.9.9 port 22: refused" in text


def _csp_hashes(html: str) -> tuple[set[str], set[str]]:
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    allowed = set(re.findall(r"'sha256-([^']+)'", csp))
    blocks = re.findall(r"<(?:style|script)>(.*?)</(?:style|script)>", html, re.S)
    return allowed, {base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() for b in blocks}


def test_html_is_self_contained_escaped_and_allows_only_its_own_blocks(fleet):
    html = render_fleet(fleet, "html")
    assert not re.search(r'(?:src|href|action)\s*=\s*"(?!#)', html), "nothing may be loaded from anywhere"
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "web&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    allowed, blocks = _csp_hashes(html)
    assert allowed == blocks and len(blocks) == 2
    assert "default-src 'none'" in html


def test_audit_html_shows_one_host_open_without_an_overview():
    html = render_audit_html(audit_result(target="netns:db1"))
    assert '<details class="host" id="host-0" open>' in html and 'id="hosts"' not in html
    assert html.count('data-verdict="accept"') == 3  # lan ssh, lan postgres, internet postgres
    assert "FWA101:internet:tcp/5432" in html


def test_every_format_has_a_renderer(fleet):
    from auditor.cli import FleetFormat

    assert set(RENDERERS) == {f.value for f in FleetFormat}
