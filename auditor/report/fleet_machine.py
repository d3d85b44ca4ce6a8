"""Fleet reports for machines: JUnit XML (one test suite per host) and the Prometheus
textfile format (hosts by status, findings per host, hosts per finding and per open port).

Both formats have characters they cannot carry (XML 1.0 has no control characters; a Prometheus
label is one line), and host names and messages come from other machines, so every untrusted
string is passed through :func:`auditor.untrusted.escape` first.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from auditor.model.finding import Severity
from auditor.model.fleet import Fleet
from auditor.report.fleet_text import port_label
from auditor.report.prometheus import _labels
from auditor.untrusted import escape


def render_fleet_junit(fleet: Fleet) -> str:
    """One ``testsuite`` per host: a failing ``testcase`` per finding, a passing ``compliant``
    one for a host without findings, an ``error`` for a host that could not be audited; the
    files that were not host reports are errors of a suite of their own."""
    suites = ET.Element("testsuites", name="fwaudit fleet")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for h in fleet.hosts:
        suite = ET.SubElement(suites, "testsuite", name=escape(h.host), hostname=escape(h.host))
        tests = failures = errors = 0
        if h.status != "audited":
            case = ET.SubElement(suite, "testcase", classname="fwaudit.fleet", name="audit")
            ET.SubElement(case, "error", message=escape(h.error or h.status), type=h.status)
            tests, errors = 1, 1
        elif not h.findings:
            ET.SubElement(suite, "testcase", classname="fwaudit.fleet", name="compliant")
            tests = 1
        for f in h.findings:
            case = ET.SubElement(suite, "testcase", classname=f"fwaudit.{escape(f.check)}", name=escape(f.id))
            fail = ET.SubElement(case, "failure", message=escape(f"[{f.severity}] {f.title}: {f.message}"),
                                 type=escape(f.check))
            fail.text = escape(f.fix or "")
            tests += 1
            failures += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        if h.duration is not None:
            suite.set("time", f"{h.duration:.3f}")
        for key, n in (("tests", tests), ("failures", failures), ("errors", errors)):
            totals[key] += n
    if fleet.problems:
        suite = ET.SubElement(suites, "testsuite", name="fleet inputs", tests=str(len(fleet.problems)),
                              failures="0", errors=str(len(fleet.problems)))
        for p in fleet.problems:
            case = ET.SubElement(suite, "testcase", classname="fwaudit.fleet.input", name=escape(p.file))
            ET.SubElement(case, "error", message=escape(p.message), type="input")
        totals["tests"] += len(fleet.problems)
        totals["errors"] += len(fleet.problems)
    for key, n in totals.items():
        suites.set(key, str(n))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _family(name: str, help_text: str, samples: list[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]


def render_fleet_prometheus(fleet: Fleet) -> str:
    hosts = fleet.hosts
    lines = _family("fwaudit_fleet_hosts", "Hosts in the fleet report, by audit status.", [
        f"fwaudit_fleet_hosts{_labels(status=status)} {sum(1 for h in hosts if h.status == status)}"
        for status in ("audited", "unreachable", "failed")])
    lines += _family("fwaudit_fleet_host_audited", "1 if the host was audited, 0 if it was unreachable or failed.", [
        f"fwaudit_fleet_host_audited{_labels(host=escape(h.host))} {int(h.status == 'audited')}" for h in hosts])
    lines += _family("fwaudit_fleet_host_findings", "Findings of each audited host, by severity.", [
        f"fwaudit_fleet_host_findings{_labels(host=escape(h.host), severity=str(s))} {h.count(s)}"
        for h in hosts if h.status == "audited" for s in Severity])
    lines += _family("fwaudit_fleet_finding_hosts", "Hosts that have a finding of this check on this zone and port.", [
        "fwaudit_fleet_finding_hosts" + _labels(check=escape(g.check), severity=str(g.severity), zone=escape(g.zone or ""),
                                                port=port_label(g.protocol, g.ports)) + f" {len(g.hosts)}"
        for g in fleet.findings])
    lines += _family("fwaudit_fleet_port_reachable_hosts", "Hosts whose firewall admits (or cannot decide) new "
                     "connections from the zone to a listening or declared port.", [
        "fwaudit_fleet_port_reachable_hosts"
        + _labels(zone=escape(e.zone), port=port_label(e.protocol, e.ports), verdict=e.verdict) + f" {len(e.hosts)}"
        for e in fleet.exposure])
    lines += _family("fwaudit_fleet_report_timestamp_seconds", "When the fleet report was made (Unix time).", [
        f"fwaudit_fleet_report_timestamp_seconds {fleet.generated_at or time.time():.3f}"])
    return "\n".join(lines) + "\n"
