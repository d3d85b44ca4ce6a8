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

Python runs a signal handler wherever the main thread happens to be, and in some places an
exception it raises is swallowed ("Exception ignored in ...") instead of unwinding: callbacks
Python calls on its own — ``os.register_at_fork`` callbacks (``logging`` has some: a signal
that arrives during ``fork()`` is always handled in them), weakref callbacks (the import
system's module locks), ``__del__`` — and the callbacks of pyroute2's asyncio loop. A
Terminated swallowed there was lost, and with it every later signal (ignored once one has
been raised): the scan ran on and ``kill`` did nothing. Hence:

* ``fork()`` and pyroute2 calls run inside :func:`deferred`, so a signal arriving during them
  is raised when they have returned;
* a signal that interrupts code known to catch and only log (asyncio's loop callbacks — pyroute2
  outside fwaudit's namespaces module —, ``logging``) raises nothing there: it is sent again
  shortly (:data:`RESEND_AFTER`), until it lands where it can unwind fwaudit's own code;
* anywhere else, a swallowed Terminated reaches ``sys.unraisablehook``; the hook installed
  with the handlers recognises it and has the signal sent again to the main thread, by a
  helper thread once the hook has returned, so it is raised at the next point that lets it
  through (and nothing is printed for it).

Forked children inherit the handlers; in them the handler restores the default action and
re-sends the signal, so a worker simply dies as it would have without fwaudit's handler.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
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
_in_flight: Terminated | None = None  # the Terminated last raised by the handler
_main_thread = 0    # where signals are sent again (_thread.get_ident() of the owner's main thread)
_previous_hook: Any = None    # sys.unraisablehook before ours

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
    global _pending, _raised, _in_flight
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
    _in_flight = Terminated(signum)
    raise _in_flight


def _unraisable_hook(unraisable: Any) -> None:
    """``sys.unraisablehook``: a Terminated swallowed where it was raised is sent again."""
    global _raised, _pending, _deferring
    lost = _in_flight
    if lost is None or unraisable.exc_value is not lost or not _raised or os.getpid() != _owner:
        (_previous_hook or sys.__unraisablehook__)(unraisable)
        return
    # it never went up: unless a signal is sent again it is lost, and later ones ignored. Not
    # from here (a handler run inside this hook would be swallowed too): from a thread that
    # waits until this hook has returned. A handler run meanwhile only records its signal.
    gate = _thread.allocate_lock()
    gate.acquire()
    _deferring += 1
    try:
        _raised = False
        _thread.start_new_thread(_send_again, (gate, lost.signum))
    except RuntimeError:  # no thread: raised when the next deferred() block ends
        _pending = lost.signum
    finally:
        _deferring -= 1
        gate.release()


def _send_again(gate: Any, signum: int) -> None:
    with gate:
        signal.pthread_kill(_main_thread, signum)  # the main thread: a blocking call is interrupted


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM/SIGINT raise :class:`Terminated` in the main thread.

    Nests (the previous handlers come back when the outermost block ends). Outside the main
    thread, where handlers cannot be installed, it does nothing: journals still allow cleanup.
    """
    global _owner, _depth, _raised, _pending, _main_thread, _previous_hook, _in_flight
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
        _main_thread, _previous_hook = _thread.get_ident(), sys.unraisablehook
        sys.unraisablehook = _unraisable_hook
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        for num, handler in old.items():
            signal.signal(num, handler)
        if old:
            sys.unraisablehook, _previous_hook = _previous_hook, None
            _in_flight = None


@contextmanager
def deferred() -> Iterator[None]:
    """Hold stop signals back until the block has finished (for undo steps and journal writes)."""
    global _deferring, _pending, _raised
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        # only in the process that installed the handlers: a child forked inside the block
        # inherits _pending, and must not unwind its copy of the parent's stack
        if not _deferring and _pending is not None and not _raised and os.getpid() == _owner:
            signum, _pending = _pending, None
            _raised = True
            raise Terminated(signum)
