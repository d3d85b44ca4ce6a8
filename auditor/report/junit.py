"""JUnit XML: one testcase per policy expectation / CIS check that passed, and one failing
testcase per finding (its id as the name, the evidence in the failure body).

The shape is the one Jenkins, GitLab and GitHub test reporters accept (``testsuites`` →
``testsuite`` → ``testcase`` with optional ``failure``), checked against the Jenkins xUnit
plugin's published schema (``tests/report/junit-10.xsd``). XML 1.0 cannot carry most control
characters at all (a process named ``"\\x01"`` made the report unparsable), so every untrusted
string is escaped.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

from auditor.model.result import AuditResult
from auditor.report.evidence import evidence_json
from auditor.untrusted import escape


def render_junit(result: AuditResult) -> str:
    passed = [(c.check, c.subject) for c in result.checks if c.passed]
    suites = ET.Element("testsuites", name="fwaudit", tests=str(len(passed) + len(result.findings)),
                        failures=str(len(result.findings)), errors="0", time=f"{result.duration:.3f}")
    suite = ET.SubElement(
        suites, "testsuite", name=escape(f"fwaudit {result.target} ({result.policy.name})"),
        tests=str(len(passed) + len(result.findings)), failures=str(len(result.findings)),
        errors="0", skipped="0", time=f"{result.duration:.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(result.started_at)),
        hostname=escape(result.target),
    )
    for check, subject in passed:
        ET.SubElement(suite, "testcase", classname=escape(f"fwaudit.{check}"), name=escape(subject), time="0")
    for f in result.findings:
        case = ET.SubElement(suite, "testcase", classname=escape(f"fwaudit.{f.check}"), name=escape(f.id), time="0")
        fail = ET.SubElement(case, "failure", message=escape(f"[{f.severity}] {f.title}: {f.message}"), type=escape(f.check))
        body = {"severity": str(f.severity), "fix": f.fix, "evidence": evidence_json(f.evidence)}
        fail.text = json.dumps(body, indent=2)  # ASCII only: controls are \uXXXX already
    if result.notes:
        out = ET.SubElement(suite, "system-out")
        out.text = "\n".join(escape(n) for n in result.notes)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
