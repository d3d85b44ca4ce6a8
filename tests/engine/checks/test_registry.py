"""The registry: every finding a check makes is of a registered check, with that check's title
and one of its severities; checks run only in their scopes and with the views they need."""

from __future__ import annotations

import pytest

from auditor.engine.checks import CHECKS, CheckInput, registry, run_checks
from auditor.engine.checks.registry import check
from auditor.engine.zones import zone_exposures
from auditor.model.evidence import ServiceDownEvidence
from auditor.model.finding import CheckInfo, CheckOutcome, Finding, Severity
from tests.engine.checks import test_firewall as fw
from tests.engine.checks import test_listening as ls


def all_case_findings():
    for _, policy, listeners, _ in ls.CASES:
        yield from run_checks("audit", CheckInput(policy, tuple(listeners)))[0]
    for _, policy, listeners, rs, _ in fw.CASES:
        views = zone_exposures(rs, fw.HOST, policy, target="t")
        yield from run_checks("audit", CheckInput(policy, tuple(listeners), views))[0]
        yield from run_checks("verify", CheckInput(policy, (), views))[0]


def test_findings_are_of_registered_checks_with_their_title_and_severities():
    seen = set()
    for f in all_case_findings():
        info = CHECKS[f.check].info
        assert f.title.startswith(info.title) and f.severity in info.severities and f.id.startswith(f.check + ":")
        seen.add(f.check)
    assert seen >= {"FWA001", "FWA002", "FWA003", "FWA004", "FWA101", "FWA102", "FWA104", "FWA106", "FWA108", "FWA201"}


def test_checks_run_in_their_scope_and_only_with_the_views_they_need():
    policy, listeners, rs = fw.CASES[1][1], fw.CASES[1][2], fw.CASES[1][3]  # ssh open to the internet
    views = zone_exposures(rs, fw.HOST, policy, target="t")
    without_firewall = run_checks("audit", CheckInput(policy, tuple(listeners)))
    assert {o.check for o in without_firewall[1]} == {"FWA002", "FWA004"}  # listening checks only
    audit = run_checks("audit", CheckInput(policy, tuple(listeners), views))
    assert {f.check for f in audit[0]} == {"FWA101"} and "FWA201" not in {o.check for o in audit[1]}
    verify = run_checks("verify", CheckInput(policy, (), views))
    assert {o.check for o in verify[1]} == {"FWA102", "FWA201"}  # no listeners in a verify: no FWA00x


def test_a_check_is_registered_once_and_documented():
    with pytest.raises(ValueError, match="registered twice"):
        check("FWA001", "again", Severity.LOW, needs="listening")(lambda data: ())
    with pytest.raises(ValueError, match="has no docstring"):
        check("FWA999", "undocumented", Severity.LOW, needs="listening")(lambda data: ())
    assert "FWA999" not in CHECKS


def test_registering_a_check_records_what_users_see_of_it_and_runs_it_by_scope_need_and_severity(monkeypatch):
    monkeypatch.setattr(registry, "CHECKS", {})  # a fresh registry: registration happens here, not at import

    def demo(data):
        """first line
        continues here

        How it decides.

        More."""
        yield Finding("FWA902:b", "FWA902", "demo", Severity.LOW, "m", ServiceDownEvidence(1))
        yield CheckOutcome("FWA902", "b passed", True)
        yield Finding("FWA902:a", "FWA902", "demo", Severity.HIGH, "m", ServiceDownEvidence(1))

    def plain(data):
        """plain check"""
        yield Finding("FWA901:z", "FWA901", "plain", Severity.LOW, "m", ServiceDownEvidence(1))
        yield CheckOutcome("FWA901", "z", False)

    assert check("FWA902", "demo", Severity.HIGH, also=(Severity.LOW,), needs="listening",
                 scopes=("audit", "verify"))(demo) is demo
    check("FWA901", "plain", Severity.LOW, needs="listening")(plain)
    check("FWA903", "needs a firewall view", Severity.LOW, needs="firewall")(plain)
    c = registry.CHECKS["FWA902"]
    assert c.info == CheckInfo("FWA902", "demo", Severity.HIGH, (Severity.LOW,), ("audit", "verify"), "listening",
                               "first line continues here",
                               "first line\ncontinues here\n\nHow it decides.\n\nMore.")
    assert (c.needs, c.scopes, c.run) == ("listening", frozenset({"audit", "verify"}), demo)
    p = registry.CHECKS["FWA901"]
    assert (p.info.scopes, p.info.also, p.info.summary, p.scopes) == (("audit",), (), "plain check", frozenset({"audit"}))
    assert [x.info.id for x in registry.all_checks()] == ["FWA901", "FWA902", "FWA903"]

    data = CheckInput(fw.policy())
    findings, outcomes = registry.run_checks("audit", data)
    assert [f.id for f in findings] == ["FWA902:a", "FWA901:z", "FWA902:b"]  # worst first, then check, then id
    assert [(o.check, o.subject) for o in outcomes] == [("FWA901", "z"), ("FWA902", "b passed")]  # check order
    assert [f.id for f in registry.run_checks("verify", data)[0]] == ["FWA902:a", "FWA902:b"]
