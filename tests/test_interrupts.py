"""SIGTERM/SIGINT as Terminated: never lost where Python swallows exceptions.

Each case runs in a fresh interpreter (it installs signal handlers and signals itself). The
signal is sent from inside the callback, so the handler runs exactly there: ``os.kill`` runs
pending handlers before it returns.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from auditor.errors import Terminated
from auditor.interrupts import stop_signals_raise

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import os, signal, sys, time
from auditor.errors import Terminated
from auditor.interrupts import stop_signals_raise
"""


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(script)], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=30)


def test_a_signal_during_fork_is_raised_by_fork_worker_which_leaves_no_worker():
    """Reproduction: a SIGTERM that arrived while the scan forked a worker was handled in
    logging's at-fork callback, where the Terminated was swallowed ("Exception ignored in
    _releaseLock"); every later SIGTERM was ignored and the scan ran on."""
    res = run("""
        from auditor.target.workers import fork_worker

        os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGTERM))
        read_fd, write_fd = os.pipe()
        try:
            with stop_signals_raise():
                if fork_worker(read_fd, write_fd) == 0:
                    os._exit(0)
                print("fork_worker returned")
        except Terminated as e:
            print("raised", e.signum)
        try:
            print("a worker is left:", os.waitpid(-1, os.WNOHANG))
        except ChildProcessError:
            print("no worker left")
        for fd in (read_fd, write_fd):
            try:
                os.fstat(fd)
                print("descriptor left open:", fd)
            except OSError:
                pass
    """)
    assert res.stdout.splitlines() == ["raised 15", "no worker left"], res.stdout + res.stderr
    assert res.stderr == ""


def test_a_terminated_swallowed_in_a_finalizer_is_raised_again():
    """A Terminated raised inside ``__del__`` (or a weakref callback: the import system's module
    locks, seen in a scan) never goes up; the signal is sent again and raised right after, even
    into a blocking call, with nothing printed about the swallowed one."""
    res = run("""
        class Finalized:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)

        started = time.monotonic()
        try:
            with stop_signals_raise():
                Finalized()
                time.sleep(5)
                print("not raised")
        except Terminated as e:
            print("raised", e.signum, "within", "1 s" if time.monotonic() - started < 1 else "too long")
    """)
    assert res.stdout.splitlines() == ["raised 15 within 1 s"], res.stdout + res.stderr
    assert res.stderr == ""


def test_other_unraisable_exceptions_are_still_reported():
    res = run("""
        class Broken:
            def __del__(self):
                raise ValueError("in __del__")

        with stop_signals_raise():
            Broken()
        print("done")
    """)
    assert res.stdout == "done\n"
    assert "Exception ignored in" in res.stderr and "ValueError: in __del__" in res.stderr


def test_a_stop_signal_landing_in_an_event_loop_callback_is_not_lost():
    """Reproduction: a SIGTERM arriving while pyroute2's asyncio loop ran a callback raised
    Terminated there; the loop logged and dropped it, and the scan ran on for a minute."""
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(Terminated), stop_signals_raise():
            loop.call_soon(lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(0.01)))
            loop.run_until_complete(asyncio.sleep(0.05))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the signal is sent again and lands here
                time.sleep(0.01)
    finally:
        loop.close()
