"""Unprivileged probes: TCP connect and UDP request/response, many at once.

Runs in the caller's network namespace (the vantage point). Each probe binds the requested
source address, so one namespace holding several addresses can speak for several sources.
Outcomes are what the kernel of the target answered:

* ``open``    — TCP handshake completed / a UDP reply came back;
* ``refused`` — an error came back: TCP RST or an ICMP unreachable/prohibited;
* ``silent``  — nothing within the timeout (dropped, or UDP with no reply).

With ``conversation=True`` a TCP port is ``open`` only when the service's first bytes arrive
(the lab listeners of :mod:`auditor.probe.servers` greet every client): that proves the whole
conversation — SYN in, SYN-ACK out, the client's ACK in, data out — which is what a client
experiences, while a completed ``connect()`` proves only the first two packets. An error on
the connected socket (a reset, or an ICMP error the kernel records as a soft error, which
``SO_ERROR`` reports as event-loop clients see it) is ``refused``; no bytes in time is
``silent``.

The caller is responsible for the ICMP rate limit of the target (the kernel paces ICMP errors
per peer); see the scanner for pacing.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from dataclasses import dataclass
from typing import Iterable, Literal

Outcome = Literal["open", "refused", "silent"]
UDP_PAYLOAD = b"fwaudit-probe\n"
_REFUSED = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM,
            errno.ECONNRESET, errno.EHOSTDOWN, errno.ENOPROTOOPT}


@dataclass(frozen=True)
class Point:
    source: str
    destination: str
    protocol: Literal["tcp", "udp"]
    port: int


def probe(points: Iterable[Point], *, timeout: float = 0.6, payload: bytes = UDP_PAYLOAD,
          conversation: bool = False) -> dict[Point, Outcome]:
    """Probe all points concurrently; every point gets an outcome."""
    pending: dict[int, tuple[Point, socket.socket]] = {}
    greeting: set[int] = set()  # connected TCP sockets waiting for the service's first bytes
    result: dict[Point, Outcome] = {}
    poller = select.epoll()
    try:
        for p in points:
            family = socket.AF_INET6 if ":" in p.destination else socket.AF_INET
            kind = socket.SOCK_STREAM if p.protocol == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(family, kind)
            s.setblocking(False)
            if p.protocol == "tcp":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.bind((p.source, 0))
            try:
                if p.protocol == "tcp":
                    rc = s.connect_ex((p.destination, p.port))
                    if rc not in (0, errno.EINPROGRESS):
                        result[p] = "refused" if rc in _REFUSED else "silent"
                        s.close()
                        continue
                    poller.register(s.fileno(), select.EPOLLOUT | select.EPOLLERR)
                else:
                    s.connect((p.destination, p.port))
                    s.send(payload)
                    poller.register(s.fileno(), select.EPOLLIN | select.EPOLLERR)
            except OSError as e:
                result[p] = "refused" if e.errno in _REFUSED else "silent"
                s.close()
                continue
            pending[s.fileno()] = (p, s)
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for fd, events in poller.poll(left):
                p, s = pending[fd]
                if conversation and p.protocol == "tcp" and fd not in greeting:
                    err = _soft_error(s)  # reading SO_ERROR clears it: classify from err below
                    if not events & (select.EPOLLERR | select.EPOLLHUP) and not err:
                        greeting.add(fd)  # connected: now the greeting must arrive
                        poller.modify(fd, select.EPOLLIN | select.EPOLLERR)
                        continue
                    del pending[fd]
                    poller.unregister(fd)
                    result[p] = ("refused" if err in _REFUSED else "silent") if err else _outcome(p, s, events)
                    s.close()
                    continue
                del pending[fd]
                poller.unregister(fd)
                result[p] = _greeted(s) if fd in greeting else _outcome(p, s, events)
                s.close()
        for p, s in pending.values():
            # An error that reached the socket while the kernel held it (an ICMP error handled
            # while connect() was still sending the SYN on a fast link, or after the handshake)
            # is kept as a soft error: SO_ERROR reports it, as event-loop clients see it.
            err = _soft_error(s) if p.protocol == "tcp" else 0
            result[p] = "refused" if err in _REFUSED else "silent"
            s.close()
    finally:
        poller.close()
    return result


def _outcome(p: Point, s: socket.socket, events: int) -> Outcome:
    if p.protocol == "tcp" and not events & (select.EPOLLERR | select.EPOLLHUP):
        # The handshake completed: the SYN was admitted. A later error on the established
        # connection (a rule dropping its ACK) is a soft error and not what this probe asks.
        return "open"
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if p.protocol == "tcp":
        if err == 0:
            return "open"
        return "refused" if err in _REFUSED else "silent"
    if err:
        return "refused" if err in _REFUSED else "silent"
    try:
        s.recv(2048)
        return "open"
    except OSError as e:
        return "refused" if e.errno in _REFUSED else "silent"


def _soft_error(s: socket.socket) -> int:
    """``SO_ERROR`` — which also returns the soft error an ICMP message left on a connection."""
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


def _greeted(s: socket.socket) -> Outcome:
    try:
        data = s.recv(64)
    except OSError as e:
        return "refused" if e.errno in _REFUSED else "silent"
    if data:
        return "open"
    return "refused" if _soft_error(s) in _REFUSED else "open"  # closed without a word
