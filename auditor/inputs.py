"""Reading files a user names (policies, rulesets, baselines, audit documents), within limits.

Root reads files that others may control. Every such read goes through :func:`read_input_file`:

* only regular files — a FIFO would block forever, ``/dev/zero`` never ends, a directory is a
  mistake; the check is made on the opened descriptor (``fstat``), so a path swapped after a
  check cannot slip a device in;
* at most :data:`MAX_INPUT_BYTES` (64 MiB; ``FWAUDIT_MAX_INPUT_BYTES`` overrides it), checked on
  the size and again while reading, since a file can grow;
* UTF-8 text, or a clear error naming the byte offset, never a decoder traceback;
* error messages name the file but never quote its content.
"""

from __future__ import annotations

import errno
import os
import stat

from auditor.errors import InputError
from auditor.untrusted import escape

DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024


def max_input_bytes() -> int:
    """The size cap: ``FWAUDIT_MAX_INPUT_BYTES`` when set to a positive integer, else 64 MiB."""
    raw = os.environ.get("FWAUDIT_MAX_INPUT_BYTES", "")
    if raw.isascii() and raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_MAX_INPUT_BYTES


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages ("a FIFO", "a character device" …)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_input_bytes(path: str | os.PathLike[str], *, what: str, limit: int | None = None) -> bytes:
    """The bytes of a regular file, at most ``limit`` (default :func:`max_input_bytes`)."""
    limit = max_input_bytes() if limit is None else limit
    shown = escape(os.fspath(path))
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: never adopt a tty
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {shown}") from None
    except IsADirectoryError:
        raise InputError(f"{what} {shown} is a directory, not a file") from None
    except OSError as e:
        reason = "permission denied" if e.errno in (errno.EACCES, errno.EPERM) else (e.strerror or str(e))
        raise InputError(f"cannot read {what} {shown}: {reason}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{what} {shown} is {file_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise InputError(_too_large(what, shown, limit))
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            except OSError as e:
                raise InputError(f"cannot read {what} {shown}: {e.strerror or e}") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise InputError(_too_large(what, shown, limit))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_input_file(path: str | os.PathLike[str], *, what: str, limit: int | None = None) -> str:
    """The UTF-8 text of a regular file (see the module docstring for the rules)."""
    data = read_input_bytes(path, what=what, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{what} {escape(os.fspath(path))} is not UTF-8 text (invalid byte at offset {e.start})"
        ) from None


def _too_large(what: str, shown: str, limit: int) -> str:
    return (f"{what} {shown} is larger than {limit} bytes, the input limit "
            "(set FWAUDIT_MAX_INPUT_BYTES to raise it)")
