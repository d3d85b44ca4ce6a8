"""Run a function inside another network namespace and come back, whatever happens.

``setns`` switches only the calling thread, and a Python process has threads we do not own, so
we fork: the child joins the namespace, runs the function, pickles the result (or the error)
back through a pipe and exits. The caller's namespace is never changed, so "returns to the
caller's namespace afterwards, even on error" holds by construction. Subprocesses started by the
function (``nft``, ``iptables-save``) inherit the child's namespace.

We open the namespace file ourselves and call ``setns(2)`` with ``CLONE_NEWNET``: unlike
pyroute2's helpers (which default to ``O_CREAT``) this can never create a namespace by mistake.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import struct
from typing import Any, Callable, NoReturn, TypeVar, cast

from auditor.errors import EnvironmentProblem, FwauditError
from auditor.workers import fork_worker, kill_worker

CLONE_NEWNET = 0x40000000
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


def setns(path: str) -> None:
    """Move the calling thread into the network namespace at ``path`` (must exist)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise EnvironmentProblem(
                f"cannot enter network namespace {path}: {os.strerror(err)}"
                + (" (needs CAP_SYS_ADMIN: run as root)" if err == 1 else "")
            )
    finally:
        os.close(fd)


def same_namespace(path: str) -> bool:
    """True when ``path`` is the namespace this process is already in."""
    a, b = os.stat(path), os.stat("/proc/self/ns/net")
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def run_in_namespace(path: str | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` inside the namespace at ``path`` and return its result.

    ``None`` or the current namespace runs in-process. Exceptions raised in the namespace are
    re-raised here (user-facing :class:`FwauditError` subclasses keep their type). The worker
    dies with the caller (:mod:`auditor.workers`), and is killed if the caller is interrupted.
    """
    if path is None or same_namespace(path):
        return fn(*args, **kwargs)
    read_fd, write_fd = os.pipe()
    try:
        pid = fork_worker(read_fd, write_fd)
    except OSError as e:  # fork_worker closed both descriptors
        raise EnvironmentProblem(f"cannot start a worker for network namespace {path}: {e.strerror}") from None
    if pid == 0:
        _worker(write_fd, path, fn, args, kwargs)
    try:
        with os.fdopen(read_fd, "rb") as r:
            header = r.read(8)
            data = r.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:
        # SIGTERM/SIGINT (or a bug) while the worker runs: it must not outlive this call
        kill_worker(pid)
        raise
    if len(header) < 8:
        why = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")
        raise EnvironmentProblem(f"the worker inside network namespace {path} died ({why})")
    kind, value = pickle.loads(data)
    if kind == "ok":
        return cast(T, value)
    if kind == "err":
        raise value
    raise RuntimeError(f"in namespace {path}: {value}")


def _worker(write_fd: int, path: str, fn: Callable[..., Any], args: Any, kwargs: Any) -> NoReturn:
    """The child: enter the namespace, run ``fn``, send the pickled outcome, ``os._exit``."""
    try:
        try:
            setns(path)
            payload = ("ok", fn(*args, **kwargs))
        except FwauditError as e:
            payload = ("err", e)
        except BaseException as e:  # noqa: BLE001 - carried to the parent, not swallowed
            payload = ("bug", f"{type(e).__name__}: {e}")
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001
            data = pickle.dumps(("bug", f"result not transferable: {e}"))
        with os.fdopen(write_fd, "wb") as w:
            w.write(struct.pack("!Q", len(data)))
            w.write(data)
    finally:
        os._exit(0)  # never unwind into the parent's stack (see auditor.workers)

