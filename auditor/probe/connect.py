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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from auditor.probe.inflight import InFlight, new_socket

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
          conversation: bool = False, window: int | None = None) -> dict[Point, Outcome]:
    """Probe the points concurrently, at most ``window`` (default :func:`socket_limit`) at a
    time, each for up to ``timeout`` seconds (in conversation mode, as long again for the
    greeting); every point gets an outcome."""
    result: dict[Point, Outcome] = {}
    greeting: set[Point] = set()  # connected TCP probes waiting for the service's first bytes
    with InFlight[Point](timeout, window) as flight:
        for p in points:
            while flight.full:
                _settle(flight, result, greeting if conversation else None)
            _start(p, flight, result, payload)
        while flight:
            _settle(flight, result, greeting if conversation else None)
    return result


def _start(p: Point, flight: InFlight[Point], result: dict[Point, Outcome], payload: bytes) -> None:
    family = socket.AF_INET6 if ":" in p.destination else socket.AF_INET
    s = new_socket(family, socket.SOCK_STREAM if p.protocol == "tcp" else socket.SOCK_DGRAM)
    try:
        if p.protocol == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.bind((p.source, 0))
        if p.protocol == "tcp":
            rc = s.connect_ex((p.destination, p.port))
            if rc not in (0, errno.EINPROGRESS):
                result[p] = "refused" if rc in _REFUSED else "silent"
                s.close()
                return
            flight.add(p, s, select.EPOLLOUT | select.EPOLLERR)
        else:
            s.connect((p.destination, p.port))
            s.send(payload)
            flight.add(p, s, select.EPOLLIN | select.EPOLLERR)
    except OSError as e:
        result[p] = "refused" if e.errno in _REFUSED else "silent"
        s.close()


def _settle(flight: InFlight[Point], result: dict[Point, Outcome], greeting: set[Point] | None) -> None:
    ready, expired = flight.wait()
    for p, s, events in ready:
        if greeting is not None and p.protocol == "tcp" and p not in greeting:
            err = _soft_error(s)  # reading SO_ERROR clears it: classify from err below
            if not events & (select.EPOLLERR | select.EPOLLHUP) and not err:
                greeting.add(p)  # connected: now the greeting must arrive
                flight.add(p, s, select.EPOLLIN | select.EPOLLERR)
                continue
            result[p] = ("refused" if err in _REFUSED else "silent") if err else _outcome(p, s, events)
        else:
            result[p] = _greeted(s) if greeting is not None and p in greeting else _outcome(p, s, events)
        s.close()
    for p, s in expired:
        # An error that reached the socket while the kernel held it (an ICMP error handled
        # while connect() was still sending the SYN on a fast link, or after the handshake)
        # is kept as a soft error: SO_ERROR reports it, as event-loop clients see it.
        err = _soft_error(s) if p.protocol == "tcp" else 0
        result[p] = "refused" if err in _REFUSED else "silent"
        s.close()


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
