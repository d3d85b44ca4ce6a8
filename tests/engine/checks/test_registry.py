"""The registry: every finding a check makes is of a registered check, with that check's title
and one of its severities; checks run only in their scopes and with the views they need."""

from __future__ import annotations

import pytest

from auditor.engine.checks import CHECKS, CheckInput, run_checks
from auditor.engine.checks.registry import check
from auditor.engine.zones import zone_exposures
from auditor.model.finding import Severity
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
