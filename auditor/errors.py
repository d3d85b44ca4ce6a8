"""The error hierarchy users see.

Every failure a user can cause or fix is one of these, with a message written for them; the CLI
maps the class to an exit code and prints the message without a traceback. Anything else that
escapes is a bug in fwaudit.
"""

from __future__ import annotations

import signal
from typing import Any

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_ENVIRONMENT = 3
#: A bug in fwaudit (``EX_SOFTWARE`` of sysexits.h): never 1, which means "findings" to cron.
EXIT_INTERNAL = 70


class FwauditError(Exception):
    """Base of all user-facing errors."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # picklable across the namespace fork boundary
        return (type(self), (self.message,))


class InputError(FwauditError):
    """Bad input: a malformed file, an unknown target, an invalid option value (exit 2)."""

    exit_code = EXIT_INPUT


class LocatedInputError(InputError):
    """Bad input that can be pinned to a file and line (``file:line: message``)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.detail, self.file, self.line))


class EnvironmentProblem(FwauditError):
    """The machine cannot do what was asked: missing privilege, tool or kernel support (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class InternalError(FwauditError):
    """Something fwaudit did not expect happened (a bug): reported in one line, exit 70."""

    exit_code = EXIT_INTERNAL


class AlreadyRunning(EnvironmentProblem):
    """Another fwaudit run holds the lock."""


class Terminated(BaseException):
    """SIGTERM or SIGINT, raised where the program is so that ``finally`` blocks undo changes.

    Exit code 128 + the signal (143 for SIGTERM, 130 for SIGINT). A :class:`BaseException`
    rather than a ``KeyboardInterrupt``: typer turns those into a silent exit 130 before the
    CLI could say what happened, and ``except Exception`` handlers must not swallow it.
    """

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.signum,))
