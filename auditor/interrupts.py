"""SIGTERM and SIGINT as an exception, so every change fwaudit made is undone before it exits.

A scan adds a namespace, a veth and routes in the target; systemd stops a unit with SIGTERM and
a user presses Ctrl-C. :func:`stop_signals_raise` turns both into :class:`Terminated`, raised in
the main thread, so ``with``/``finally`` blocks run their undo, and the CLI then exits 143
(SIGTERM) or 130 (SIGINT) with a one-line message.

Two refinements keep the undo itself from being cut short:

* once a stop signal has been raised, later ones are only remembered (a second Ctrl-C during
  the undo does not abandon it halfway; ``kill -9`` still does, and leaves the journal for
  ``fwaudit cleanup``);
* inside :func:`deferred` (the undo, a journal update) a signal is held back and raised when the
  block ends.

Forked children inherit the handlers; in them the handler restores the default action and
re-sends the signal, so a worker simply dies as it would have without fwaudit's handler.

Some library code runs Python where an exception is caught and only logged: asyncio's event
loop callbacks (pyroute2's netlink sockets), the interpreter's after-fork hooks (``logging``).
A :class:`Terminated` raised there would be dropped and the stop lost, so when the signal
interrupts such code the handler raises nothing and has the signal sent again shortly, until
it lands where it can unwind fwaudit's own code.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from auditor.errors import Terminated

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_owner = 0          # the process whose handlers are installed
_depth = 0          # nesting of stop_signals_raise()
_deferring = 0      # nesting of deferred()
_pending: int | None = None   # a signal held back by deferred()
_raised = False     # a Terminated is already on its way up

#: Code that catches every exception and only logs it: a signal landing there is sent again.
_SWALLOWING = (f"{os.sep}asyncio{os.sep}", f"{os.sep}logging{os.sep}", f"{os.sep}pyroute2{os.sep}")
_OURS = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: Seconds until a signal that landed in such code is sent again.
RESEND_AFTER = 0.05


def _in_swallowing_code(frame: FrameType | None) -> bool:
    """Whether ``frame``, or a caller of it below fwaudit's own innermost frame, is code that
    would swallow an exception."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_OURS):
            return False
        if any(part in name for part in _SWALLOWING):
            return True
        frame = frame.f_back
    return False


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending, _raised
    if os.getpid() != _owner:  # an inherited handler in a forked child: die as by default
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _raised:
        return
    if _deferring:
        _pending = _pending or signum
        return
    if _in_swallowing_code(frame):
        timer = threading.Timer(RESEND_AFTER, os.kill, (os.getpid(), signum))
        timer.daemon = True
        timer.start()
        return
    _raised = True
    raise Terminated(signum)


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM/SIGINT raise :class:`Terminated` in the main thread.

    Nests (the previous handlers come back when the outermost block ends). Outside the main
    thread, where handlers cannot be installed, it does nothing: journals still allow cleanup.
    """
    global _owner, _depth, _raised, _pending
    old: dict[int, Any] = {}
    if _depth == 0:
        try:
            for sig in STOP_SIGNALS:
                old[sig] = signal.signal(sig, _handler)
        except ValueError:  # not the main thread
            for num, handler in old.items():
                signal.signal(num, handler)
            old.clear()
        if not old:
            yield
            return
        _owner, _raised, _pending = os.getpid(), False, None
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        for num, handler in old.items():
            signal.signal(num, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold stop signals back until the block has finished (for undo steps and journal writes)."""
    global _deferring, _pending, _raised
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None and not _raised:
            signum, _pending = _pending, None
            _raised = True
            raise Terminated(signum)
