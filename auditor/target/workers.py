"""Forked workers that die with their parent.

fwaudit forks to enter a namespace (``setns`` moves only one thread) and to walk ``/proc`` on
the other core. A worker outliving its parent does harm: a scan worker whose parent was killed
with SIGKILL went on probing as a child of PID 1. So every worker is bound to its parent:

* ``PR_SET_PDEATHSIG`` = SIGKILL: the kernel kills the worker when the parent dies;
* the race before ``prctl`` took effect (the parent died in between) is closed by a pipe watch:
  the parent holds the read end of the worker's result pipe, and a pipe whose readers are all
  gone reports POLLERR to its writer; the parent's PID is checked as well;
* SIGTERM and SIGINT get their default action back: the parent handles them (and undoes its
  changes), a worker just dies;
* the parent forks inside :func:`auditor.interrupts.deferred`: a stop signal that arrives during
  ``fork()`` is handled in the at-fork callbacks, where a raised exception is swallowed, so it
  is held back and raised once ``fork()`` has returned — and then the new worker is killed and
  reaped before the signal goes up.

A worker must leave with ``os._exit``: it runs on a copy of the parent's stack, and unwinding
it would run the parent's ``finally`` blocks (undoing the parent's changes) in the child.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal

from auditor.interrupts import deferred

PR_SET_PDEATHSIG = 1  # include/uapi/linux/prctl.h
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_libc = ctypes.CDLL(None, use_errno=True)


def fork_worker(read_fd: int, write_fd: int) -> int:
    """``os.fork()`` for a worker that sends its result to the parent through a pipe.

    The parent keeps ``read_fd`` (its ``write_fd`` is closed), the child keeps ``write_fd``
    (its ``read_fd`` is closed) and is bound to the parent (see the module docstring). Returns
    the child's PID in the parent and 0 in the child, like ``os.fork``; may raise ``OSError``
    (or :class:`~auditor.errors.Terminated`), and then both descriptors are closed and no
    worker is left.
    """
    parent = os.getpid()
    pid = 0
    try:
        with deferred():
            pid = os.fork()
    except BaseException:
        if pid:  # forked, then a signal held back during fork() went up: no worker without a caller
            kill_worker(pid)
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid:
        os.close(write_fd)
        return pid
    os.close(read_fd)
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent or parent_gone(write_fd):
        os._exit(1)
    return 0


def kill_worker(pid: int) -> None:
    """Kill the worker ``pid`` (if it still runs) and reap it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def parent_gone(lifeline: int) -> bool:
    """True when nobody holds the read end of the pipe whose write end is ``lifeline``."""
    poller = select.poll()
    poller.register(lifeline, select.POLLOUT)
    return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
