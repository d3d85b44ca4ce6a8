"""The command line's wiring: its format choices are the renderers', and nothing unexpected
ever reaches the user as a traceback."""

from __future__ import annotations

import pytest

from auditor import cli
from auditor.errors import EXIT_INTERNAL
from auditor.report.formats import RENDERERS, VERIFY_FORMATS


def test_format_choices_are_the_registered_renderers():
    assert [f.value for f in cli.ReportFormat] == list(RENDERERS["audit"])
    assert [f.value for f in cli.FleetFormat] == list(RENDERERS["fleet"])
    assert [f.value for f in cli.VerifyFormat] == list(VERIFY_FORMATS) and set(VERIFY_FORMATS) <= set(RENDERERS["audit"])
    for kind in ("listeners", "exposure", "rules", "scan", "checks"):
        assert [f.value for f in cli.OutputFormat] == list(RENDERERS[kind])


def test_a_bug_is_one_line_and_exit_70_not_a_traceback(monkeypatch, capsys):
    """Exit 1 means findings to cron: an unexpected exception must never look like that."""
    def broken() -> None:
        raise ZeroDivisionError("division by zero in \x1b[31mred")

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.delenv("FWAUDIT_DEBUG", raising=False)
    with pytest.raises(SystemExit) as e:
        cli.main()
    err = capsys.readouterr().err
    assert e.value.code == EXIT_INTERNAL == 70
    assert err.startswith("fwaudit: internal error: ZeroDivisionError: division by zero in \\x1b[31mred")
    assert "Traceback" not in err and err.count("\n") == 1
    monkeypatch.setenv("FWAUDIT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main()
