"""The one way into a network namespace: run a function or a command there, with a deadline.

**Functions** (:func:`run_in_namespace`): ``setns`` switches only the calling thread, and a
Python process has threads we do not own, so we fork: the child joins the namespace, runs the
function, pickles the result (or the error) back through a pipe and exits. The caller's
namespace is never changed, so "returns to the caller's namespace afterwards, even on error"
holds by construction. Subprocesses started by the function (``nft``, ``iptables-save``)
inherit the child's namespace. We open the namespace file ourselves and call ``setns(2)`` with
``CLONE_NEWNET``: unlike pyroute2's helpers (which default to ``O_CREAT``) this can never
create a namespace by mistake.

**Commands** (:func:`run_command`, :func:`start_command`): a tool that hangs — ``nft -f`` told
to include a FIFO, a kernel lock held by a stuck process — must not hang an audit started from
cron. Every run gets a timeout; on expiry the tool's whole process group is killed (``unshare …
sh -c 'nft …'`` has grandchildren that a plain kill would leave behind). A command for another
namespace runs under ``nsenter --net=PATH``, which keeps the host's ``/sys``. Output goes to
temporary files, not pipes: a 100k-rule dump through a pipe costs thousands of polls, while a
file is written by the tool at its own speed and read once.

Every failure is a :class:`~auditor.errors.FwauditError`: a namespace that cannot be entered,
a tool that cannot start or does not finish is an :class:`EnvironmentProblem`; an unexpected
exception inside a worker is an :class:`InternalError` naming it (a bug, never a traceback).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import select
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, NoReturn, TypeVar, cast

from auditor.errors import EnvironmentProblem, FwauditError, InternalError
from auditor.target.workers import fork_worker, kill_worker
from auditor.untrusted import excerpt

CLONE_NEWNET = 0x40000000
#: Seconds a firewall tool may take by default. Dumping 100,000 rules takes ~10 s on the CI machine.
COMMAND_TIMEOUT = 120.0
#: Seconds a stopped long-running process gets to exit before it is killed.
STOP_GRACE = 2.0
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------


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


def run_in_namespace(path: str | None, fn: Callable[..., T], *args: Any,
                     time_limit: float | None = None, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` inside the namespace at ``path`` and return its result.

    ``None`` or the current namespace runs in-process. Exceptions raised in the namespace are
    re-raised here (user-facing :class:`FwauditError` subclasses keep their type). The worker
    dies with the caller (:mod:`auditor.target.workers`), and is killed if the caller is
    interrupted or ``time_limit`` seconds pass without a result (``timeout`` and every other
    keyword argument go to ``fn``).
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
    deadline = None if time_limit is None else time.monotonic() + time_limit
    try:
        data = _read_until_closed(read_fd, deadline)
        if data is None:
            kill_worker(pid)
            raise EnvironmentProblem(
                f"the worker inside network namespace {path} did not finish within {time_limit:g} s (stopped)")
        _, status = os.waitpid(pid, 0)
    except BaseException:
        # SIGTERM/SIGINT (or a bug) while the worker runs: it must not outlive this call
        kill_worker(pid)
        raise
    finally:
        os.close(read_fd)
    if len(data) < 8:
        why = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")
        raise EnvironmentProblem(f"the worker inside network namespace {path} died ({why})")
    kind, value = pickle.loads(data[8:])
    if kind == "ok":
        return cast(T, value)
    if kind == "err":
        raise value
    raise InternalError(f"inside network namespace {path}: {value}")


def _read_until_closed(fd: int, deadline: float | None) -> bytes | None:
    """Everything written to ``fd`` until the writer closes it; None when ``deadline`` passes."""
    chunks: list[bytes] = []
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _worker(write_fd: int, path: str, fn: Callable[..., Any], args: Any, kwargs: Any) -> NoReturn:
    """The child: enter the namespace, run ``fn``, send the pickled outcome, ``os._exit``."""
    try:
        try:
            setns(path)
            payload: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except FwauditError as e:
            payload = ("err", e)
        except PermissionError as e:
            payload = ("err", EnvironmentProblem(f"permission denied: {excerpt(str(e.filename or e))} (run as root)"))
        except BaseException as e:
            payload = ("bug", f"{type(e).__name__}: {excerpt(str(e), 300)}")
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            data = pickle.dumps(("bug", f"result not transferable: {e}"))
        with os.fdopen(write_fd, "wb") as w:
            w.write(struct.pack("!Q", len(data)))
            w.write(data)
    finally:
        os._exit(0)  # never unwind into the parent's stack (see auditor.target.workers)



# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


def in_namespace(cmd: Sequence[str], netns: str | None) -> list[str]:
    """``cmd`` as run inside the namespace at ``netns`` (``nsenter`` keeps the host's ``/sys``)."""
    return list(cmd) if netns is None else ["nsenter", f"--net={netns}", "--", *cmd]


def run_command(cmd: Sequence[str], *, netns: str | None = None, timeout: float = COMMAND_TIMEOUT,
                stdin: str | None = None, cwd: str | None = None, check: bool = False) -> CommandResult:
    """Run ``cmd`` (inside the namespace at ``netns``, if given) and wait at most ``timeout``
    seconds; decode its output as UTF-8 (undecodable bytes replaced). ``check``: a non-zero
    exit status is an :class:`EnvironmentProblem` quoting a short excerpt of the tool's error."""
    full = in_namespace(cmd, netns)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(full, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                    stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        except OSError as e:
            raise EnvironmentProblem(f"cannot run {full[0]}: {e.strerror or e}") from None
        try:
            proc.communicate(stdin.encode() if stdin is not None else None, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise EnvironmentProblem(f"{cmd[0]} did not finish within {timeout:g} s (stopped)") from None
        except BaseException:
            _kill_group(proc)
            raise
        out.seek(0)
        err.seek(0)
        res = CommandResult(proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if check and res.returncode != 0:
        where = f" in {netns}" if netns else ""
        raise EnvironmentProblem(f"{excerpt(' '.join(cmd), 120)}{where} failed (exit {res.returncode}): "
                                 f"{excerpt(res.stderr.strip(), 200)}")
    return res


def run_commands(cmds: Sequence[Sequence[str]], *, timeout: float = COMMAND_TIMEOUT) -> list[CommandResult]:
    """Run several commands at once (here), each with its output in a file of its own so that
    none waits on a reader, and wait at most ``timeout`` seconds for all: listing a large ruleset
    is mostly the tools' own work, and they run side by side on the other cores."""
    with contextlib.ExitStack() as stack:
        files = [(stack.enter_context(tempfile.TemporaryFile()), stack.enter_context(tempfile.TemporaryFile()))
                 for _ in cmds]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for cmd, (out, err) in zip(cmds, files):
                try:
                    procs.append(subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                                  start_new_session=True))
                except OSError as e:
                    raise EnvironmentProblem(f"cannot run {cmd[0]}: {e.strerror or e}") from None
            deadline = time.monotonic() + timeout
            for cmd, proc in zip(cmds, procs):
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise EnvironmentProblem(f"{cmd[0]} did not finish within {timeout:g} s (stopped)") from None
        except BaseException:
            for proc in procs:
                _kill_group(proc)
            raise
        results = []
        for proc, (out, err) in zip(procs, files):
            out.seek(0)
            err.seek(0)
            results.append(CommandResult(proc.returncode, out.read().decode(errors="replace"),
                                         err.read().decode(errors="replace")))
        return results


def start_command(cmd: Sequence[str], *, netns: str | None = None, stdout: int | IO[Any] | None = None,
                  text: bool = False) -> subprocess.Popen[Any]:
    """Start a long-running ``cmd`` (inside ``netns``) in a session of its own, stdin and
    stderr closed; ``stdout`` is ``subprocess.PIPE`` to read it, else discarded. Stop it with
    :func:`stop_process`."""
    full = in_namespace(cmd, netns)
    try:
        return subprocess.Popen(full, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL if stdout is None else stdout, text=text,
                                start_new_session=True)
    except OSError as e:
        raise EnvironmentProblem(f"cannot run {full[0]}: {e.strerror or e}") from None


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM to the process group of a :func:`start_command` process, SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
