"""One audit at a time per network namespace: a non-blocking flock, released by the kernel if we die.

Cron and systemd timers overlap when an audit runs long; the second run must say so and exit
rather than collide (namespaces, probe addresses, output files).

The lock is keyed on the namespace's identity — device and inode of its nsfs file — not on how
the target was spelt: ``pid:<a pid in it>``, ``netns:x`` and ``' netns:x'`` are one namespace
and one lock. It is therefore taken after the target has been resolved (a target that does not
exist never leaves a lock file behind), in the private run directory of :mod:`auditor.rundir`.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from auditor.errors import AlreadyRunning
from auditor.rundir import open_private_file, open_run_dir, run_dir_path


def lock_name(namespace: os.stat_result) -> str:
    """The lock file of the namespace whose nsfs file has this ``stat``."""
    return f"audit-{namespace.st_dev}-{namespace.st_ino}.lock"


@contextmanager
def audit_lock(label: str, namespace: os.stat_result) -> Iterator[None]:
    """Hold the audit lock of ``namespace`` (``os.stat`` of its nsfs file); ``label`` names it."""
    name = lock_name(namespace)
    dir_fd = open_run_dir()
    try:
        fd = open_private_file(dir_fd, name, os.O_RDWR)
    finally:
        os.close(dir_fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
            holder = holder if holder.isdigit() else "unknown"
            raise AlreadyRunning(
                f"another fwaudit audit of {label} is running (pid {holder}); "
                f"lock {os.path.join(run_dir_path(), name)}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
