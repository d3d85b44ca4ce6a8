"""Text tables off a terminal: a value longer than its column is folded onto more lines, never cut.

rich's default overflow cuts a long word with "…"; in a 200-column pipe a ruleset path of ~80
characters lost its ``:line`` that way (found by running the suite under a longer ``TMPDIR``).
"""

from __future__ import annotations

from auditor.model.finding import Finding, Severity
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy
from auditor.model.result import AuditResult
from auditor.model.scan import ScanEntry, ScanResult
from auditor.report.audit_text import render_audit_text
from auditor.report.listeners import listeners_text
from auditor.report.scan import scan_text

LONG = "/srv/" + "/".join(f"directory-{i:02d}" for i in range(20)) + "/candidate.nft"  # 285 characters


def column(text: str, index: int) -> str:
    """One column of the body of the table in ``text`` (the header's borders are ``┃``), its lines
    joined without whitespace: a cell wraps at spaces and folds long words."""
    return "".join("".join(line.split("│")[index].split()) for line in text.splitlines() if line.startswith("│"))


def test_audit_text_keeps_a_long_location_and_fix_whole():
    finding = Finding("FWA201:internet:tcp/3306-3306", "FWA201", "opens undeclared ports", Severity.HIGH,
                      "admits tcp 3306", fix=f"narrow or remove the rule at {LONG}:8", location=(LONG, 8))
    result = AuditResult(LONG, Policy("p.yaml", "web", (), ()), (), (finding,), 0.0, 0.0)
    text = render_audit_text(result, tty=False)
    assert max(map(len, text.splitlines())) <= 200
    assert column(text, 2) == f"opensundeclaredports:admitstcp3306[{LONG}:8]"
    assert column(text, 3) == f"narroworremovetheruleat{LONG}:8"
    assert column(text, 1) == "FWA201:internet:tcp/3306-3306"


def test_listeners_text_keeps_many_processes_whole():
    procs = tuple(Process(1000 + i, f"worker-with-a-long-name-{i}", "www-data") for i in range(12))
    text = listeners_text("host", [Listener("tcp", "ipv4", "198.18.0.1", 8080, processes=procs)])
    assert max(map(len, text.splitlines())) <= 200
    assert column(text, 5) == "".join(
        f"worker-with-a-long-name-{i}({1000 + i},www-data)" + ("," if i < 11 else "") for i in range(12))


def test_scan_text_keeps_a_long_reason_whole():
    reason = "icmp-admin-prohibited-" * 15
    scan = ScanResult("host", "eth0", "198.18.0.1", (ScanEntry("198.18.0.9", "tcp", (22, 22), "closed", reason),))
    text = scan_text(scan)
    assert max(map(len, text.splitlines())) <= 200
    assert column(text, 5) == reason
