"""Writing reports to ``--output``: atomically, keeping the file's mode, never through a link.

cron jobs and node_exporter's textfile collector read these files at any moment, and fwaudit
runs as root. So:

* a temp file in the same directory plus ``rename`` makes the switch atomic — a reader (or a
  run killed half-way) never sees half a report; at worst a hidden ``.NAME.*.tmp`` is left;
* an existing report keeps its permission bits (a 0600 report stays 0600) and, when root
  writes it, its owner and group; a new one gets ``0666 & ~umask`` like any file a program
  creates;
* only regular files are replaced: a symbolic link, a device (``/dev/null``), a directory or a
  FIFO is refused with a message rather than replaced by a file; ``-`` and ``/dev/stdout``
  mean standard output;
* in a shared sticky directory such as ``/tmp``, a file that belongs to someone else is not
  replaced (as ``fs.protected_regular`` has the kernel refuse root's ``O_CREAT`` there): its
  owner would otherwise get root's report, keeping the right to change it;
* every failure is an :class:`InputError` (a wrong path, exit 2) or an
  :class:`EnvironmentProblem` (read-only, full, not permitted, exit 3) naming the file.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from auditor.errors import EnvironmentProblem, FwauditError, InputError
from auditor.inputs import file_kind
from auditor.untrusted import escape

STDOUT_NAMES = ("-", "/dev/stdout")
_INPUT_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL}


def write_output(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` as the module docstring says."""
    if str(path) in STDOUT_NAMES:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    p = Path(path)
    shown = escape(str(p))
    try:
        _replace(p, shown, text.encode())
    except FwauditError:
        raise
    except OSError as e:
        cls = InputError if e.errno in _INPUT_ERRNOS else EnvironmentProblem
        raise cls(f"cannot write {shown}: {e.strerror or e}") from None


def _existing(p: Path, shown: str) -> os.stat_result | None:
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"--output {shown} is a symbolic link; give the path of the file itself")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"--output {shown} is {file_kind(st.st_mode)}, not a regular file "
                         f"(use - for standard output)")
    return st


def _replace(p: Path, shown: str, data: bytes) -> None:
    directory = p.parent
    old = _existing(p, shown)
    try:
        dir_st = os.stat(directory)
    except FileNotFoundError:
        raise InputError(f"cannot write {shown}: directory {escape(str(directory))} does not exist") from None
    if not stat.S_ISDIR(dir_st.st_mode):
        raise InputError(f"cannot write {shown}: {escape(str(directory))} is not a directory")
    if (old is not None and dir_st.st_mode & stat.S_ISVTX and dir_st.st_mode & stat.S_IWOTH
            and old.st_uid not in (os.geteuid(), dir_st.st_uid)):
        raise EnvironmentProblem(f"refusing to replace {shown}: it belongs to uid {old.st_uid} in a "
                                 "shared directory; remove it or write elsewhere")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777 if old is not None else 0o666 & ~_umask())
            if old is not None:
                _keep_owner(fd, old)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_directory(directory)


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _keep_owner(fd: int, old: os.stat_result) -> None:
    """Root gives the new file the old one's owner and group; others keep the group if they may."""
    if os.geteuid() == 0:
        os.fchown(fd, old.st_uid, old.st_gid)
        return
    try:
        os.fchown(fd, -1, old.st_gid)
    except PermissionError:
        pass


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (a crash right after must not bring the old report back)."""
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
