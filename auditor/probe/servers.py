"""Minimal real listeners for labs and proofs: TCP greet-and-close, UDP echo.

A TCP client learns that a port is reachable only when the whole conversation gets through —
the SYN in, the SYN-ACK out, its ACK in, data back — so every accepted connection is greeted
with a banner (``GREETING``) before it is closed: a probe that reads the banner has proved all
of that, one that stops at ``connect()`` has proved only the first two.

Run as ``python -m auditor.probe.servers --tcp 22,80 --udp 53 [--bind ADDR] [--name NAME]``
inside a namespace. One process serves every port (epoll), so a lab with dozens of ports
costs one process. ``--name`` sets the process name (``/proc/PID/comm``) so a lab can show a
realistic owner such as ``sshd`` or ``postgres``. Prints ``ready`` once every socket is bound.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import selectors
import socket
import sys

GREETING = b"fwaudit-greeting\n"


def _ports(spec: str) -> list[int]:
    return [int(p) for p in spec.split(",") if p]


def serve(tcp: list[int], udp: list[int], bind: str) -> None:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sel = selectors.DefaultSelector()
    for port in tcp:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((bind, port))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "tcp")
    for port in udp:
        s = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((bind, port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "udp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            try:
                if key.data == "tcp":
                    conn, _ = sock.accept()  # type: ignore[union-attr]
                    try:
                        conn.send(GREETING)  # a fresh socket's send buffer is empty: never blocks
                    finally:
                        conn.close()
                else:
                    data, peer = sock.recvfrom(2048)  # type: ignore[union-attr]
                    sock.sendto(data, peer)  # type: ignore[union-attr]
            except OSError:
                continue


def _set_name(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, ctypes.c_char_p(os.fsencode(name)[:15]), 0, 0, 0)  # PR_SET_NAME (any bytes)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tcp", default="", help="comma-separated TCP ports")
    ap.add_argument("--udp", default="", help="comma-separated UDP ports")
    ap.add_argument("--bind", default="0.0.0.0", help="address to bind (:: for dual-stack)")
    ap.add_argument("--name", help="process name to show in /proc/PID/comm")
    args = ap.parse_args(argv)
    if args.name:
        _set_name(args.name)
    try:
        serve(_ports(args.tcp), _ports(args.udp), args.bind)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
