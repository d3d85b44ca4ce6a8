"""One audit at a time per target: a non-blocking flock, released by the kernel if we die.

Cron and systemd timers overlap when an audit runs long; the second run must say so and exit
rather than collide (namespaces, probe addresses, output files).
"""

from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from typing import Iterator

from auditor.errors import AlreadyRunning

LOCK_DIR = os.environ.get("FWAUDIT_LOCK_DIR", "/run/fwaudit")


@contextmanager
def audit_lock(target: str) -> Iterator[None]:
    name = "audit-" + re.sub(r"[^A-Za-z0-9_.-]", "_", target) + ".lock"
    try:
        os.makedirs(LOCK_DIR, exist_ok=True)
        path = os.path.join(LOCK_DIR, name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:
        # not root: the audit will say which privilege it lacks; lock per user meanwhile
        directory = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", f"fwaudit-{os.getuid()}")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        path = os.path.join(directory, name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise AlreadyRunning(
                f"another fwaudit audit of {target} is running (pid {holder}); lock {path}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
