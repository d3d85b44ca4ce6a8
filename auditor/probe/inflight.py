"""A bounded window of probe sockets in flight, each waiting at most a timeout for an answer.

Probing 65,535 UDP ports with one socket each at once needs 65,535 descriptors: under the usual
``ulimit -n 1024`` the scan died with EMFILE. Probes now go through an :class:`InFlight`
window of at most :func:`socket_limit` sockets: a new probe starts when an earlier one has its
answer or has timed out, and every probe still gets its full timeout, so results are the same
as with all sockets open at once — only a very large, silent scan takes longer.
"""

from __future__ import annotations

import errno
import os
import resource
import select
import socket
import time
from typing import Generic, TypeVar

from auditor.errors import EnvironmentProblem

K = TypeVar("K")

MIN_WINDOW = 16
MAX_WINDOW = 4096


def socket_limit() -> int:
    """How many probe sockets may be open at once: half the descriptors ``RLIMIT_NOFILE`` still
    allows this process, between :data:`MIN_WINDOW` and :data:`MAX_WINDOW`.

    A soft limit below what :data:`MAX_WINDOW` needs is first raised toward the hard limit (as
    far as it allows; probes run in a forked worker, so this stays there)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(os.listdir("/proc/self/fd"))
    wanted = in_use + 2 * MAX_WINDOW
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        if raised > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
                soft = raised
            except (ValueError, OSError):
                pass
    if soft == resource.RLIM_INFINITY:
        return MAX_WINDOW
    return max(MIN_WINDOW, min(MAX_WINDOW, (soft - in_use) // 2))


def new_socket(family: int, kind: int) -> socket.socket:
    """A non-blocking socket; running out of descriptors is an environment problem, not a bug."""
    try:
        s = socket.socket(family, kind)
    except OSError as e:
        if e.errno in (errno.EMFILE, errno.ENFILE):
            raise EnvironmentProblem(f"out of file descriptors for probe sockets ({e.strerror}); "
                                     "raise 'ulimit -n'") from None
        raise
    s.setblocking(False)
    return s


class InFlight(Generic[K]):
    """Sockets waiting for an answer, in the order they were started (oldest times out first)."""

    def __init__(self, timeout: float, limit: int | None = None) -> None:
        self.timeout = timeout
        self.limit = limit or socket_limit()
        self._poller = select.epoll()
        self._waiting: dict[int, tuple[K, socket.socket, float]] = {}  # fd -> (key, socket, deadline)

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def full(self) -> bool:
        return len(self._waiting) >= self.limit

    def add(self, key: K, sock: socket.socket, events: int) -> None:
        """Wait for ``events`` on ``sock`` (which now belongs to the window until returned)."""
        self._poller.register(sock.fileno(), events)
        self._waiting[sock.fileno()] = (key, sock, time.monotonic() + self.timeout)

    def wait(self) -> tuple[list[tuple[K, socket.socket, int]], list[tuple[K, socket.socket]]]:
        """Block until a socket is ready or the oldest one times out.

        Returns (ready with their events, timed out); both leave the window and the caller
        closes them.
        """
        if not self._waiting:
            return [], []
        oldest = next(iter(self._waiting.values()))[2]
        ready = []
        for fd, events in self._poller.poll(max(0.0, oldest - time.monotonic())):
            key, sock, _ = self._waiting.pop(fd)
            self._poller.unregister(fd)
            ready.append((key, sock, events))
        expired = []
        now = time.monotonic()
        while self._waiting:
            fd, (key, sock, deadline) = next(iter(self._waiting.items()))
            if deadline > now:
                break
            del self._waiting[fd]
            self._poller.unregister(fd)
            expired.append((key, sock))
        return ready, expired

    def close(self) -> None:
        for _, sock, _ in self._waiting.values():
            sock.close()
        self._waiting.clear()
        self._poller.close()

    def __enter__(self) -> InFlight[K]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
