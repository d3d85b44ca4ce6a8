"""The directory fwaudit keeps run state in (audit locks, scan journals), private and safely made.

Where: ``/run/fwaudit`` for root; for other users ``$XDG_RUNTIME_DIR/fwaudit``, or
``/tmp/fwaudit-UID`` without one (cron); ``FWAUDIT_RUN_DIR`` overrides all of them.

Root must never write through a path another user controls: anyone can ``mkdir
/tmp/fwaudit-0`` first and plant a symlink in it. So the directory is created with mode 0700,
then opened with ``O_NOFOLLOW | O_DIRECTORY`` and checked on the descriptor: a real directory,
owned by the effective user, writable by nobody else (its mode is tightened to 0700 if it is
merely readable by others). Anything else is refused with an :class:`EnvironmentProblem` that
says what is wrong; fwaudit never changes the owner of a directory it did not make. Files in
it are opened relative to the descriptor with ``O_NOFOLLOW`` (:func:`open_private_file`), so a
path swapped after the check cannot redirect a write.
"""

from __future__ import annotations

import errno
import os
import stat

from auditor.errors import EnvironmentProblem
from auditor.untrusted import escape


def run_dir_path() -> str:
    """Where the current user's run directory is (see the module docstring)."""
    override = os.environ.get("FWAUDIT_RUN_DIR")
    if override:
        return override
    if os.geteuid() == 0:
        return "/run/fwaudit"
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "fwaudit")
    return f"/tmp/fwaudit-{os.geteuid()}"


def open_run_dir() -> int:
    """A descriptor of the run directory, created if missing and checked (module docstring)."""
    path = run_dir_path()
    shown = escape(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise EnvironmentProblem(f"cannot create the run directory {shown}: {e.strerror}") from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        why = ("it is a symbolic link or not a directory" if e.errno in (errno.ELOOP, errno.ENOTDIR)
               else e.strerror)
        raise EnvironmentProblem(f"refusing the run directory {shown}: {why}; remove it") from None
    try:
        _check_private_dir(fd, shown)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_private_dir(fd: int, shown: str) -> None:
    st = os.fstat(fd)
    uid = os.geteuid()
    if st.st_uid != uid:
        raise EnvironmentProblem(
            f"refusing the run directory {shown}: it belongs to uid {st.st_uid}, not to uid {uid} "
            "(someone else made it); remove it" + (" or set XDG_RUNTIME_DIR" if uid else ""))
    if st.st_mode & 0o022:
        raise EnvironmentProblem(
            f"refusing the run directory {shown}: others may write to it (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); remove it")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.fchmod(fd, 0o700)


def open_private_file(dir_fd: int, name: str, flags: int) -> int:
    """Open (creating with mode 0600) ``name`` in the run directory, never through a link.

    The file must be a regular file owned by the effective user with a single link (a hard
    link to someone else's file is refused too). ``flags`` adds to ``O_CREAT | O_NOFOLLOW``;
    it must not contain ``O_TRUNC`` (truncate after the checks).
    """
    assert not flags & os.O_TRUNC
    try:
        fd = os.open(name, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError as e:
        why = "it is a symbolic link" if e.errno == errno.ELOOP else e.strerror
        raise EnvironmentProblem(f"refusing {escape(name)} in {escape(run_dir_path())}: {why}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
        os.close(fd)
        raise EnvironmentProblem(
            f"refusing {escape(name)} in {escape(run_dir_path())}: not a private regular file; remove it")
    return fd
