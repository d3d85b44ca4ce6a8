"""A pytest plugin for ``scripts/test``: how many tests ran per marker, and no silent skips.

Loaded with ``-p tests.run_summary``. At the end it prints, for each marker the suite uses
(``root``, ``oracle``, ``docker``) and for unmarked tests, how many ran and how many were
skipped — so a CI log shows at a glance that the namespace, oracle and Docker tests did run.
With ``--require-all`` any skipped test fails the session: a runner that quietly lacks root or
Docker must not report green.
"""

from __future__ import annotations

from collections import Counter

import pytest

MARKERS = ("root", "oracle", "docker")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--require-all", action="store_true",
                     help="fail the run if any test is skipped (scripts/test as root)")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(RunSummary(config.getoption("--require-all")), "fwaudit-run-summary")


class RunSummary:
    def __init__(self, require_all: bool) -> None:
        self.require_all = require_all
        self.ran: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.skipped_ids: list[str] = []

    @staticmethod
    def _categories(report: pytest.TestReport) -> list[str]:
        return [m for m in MARKERS if m in report.keywords] or ["unmarked"]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.ran.update(self._categories(report))
        elif report.skipped and report.when in ("setup", "call"):
            self.skipped.update(self._categories(report))
            self.skipped_ids.append(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.require_all and self.skipped_ids and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        parts = [f"{c} {self.ran[c]}" + (f" (+{self.skipped[c]} skipped)" if self.skipped[c] else "")
                 for c in (*MARKERS, "unmarked")]
        terminalreporter.write_line("tests run per marker: " + ", ".join(parts))
        if self.require_all and self.skipped_ids:
            terminalreporter.write_line(
                f"FAILED: {len(self.skipped_ids)} test(s) skipped, e.g. {self.skipped_ids[0]}: "
                "under --require-all every test must run", red=True)
