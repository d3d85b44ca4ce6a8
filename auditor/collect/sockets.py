"""The *listening* view: TCP sockets in LISTEN and bound UDP sockets, via netlink sock_diag.

A small decoder of ``inet_diag`` messages on a raw ``NETLINK_SOCK_DIAG`` socket rather than
pyroute2's ``DiagSocket``: with 20,000 sockets pyroute2's generic parser takes ~0.95 s where
``ss -tulpn`` takes 0.15 s, and the issue budget is 1.5× ss. The wire format is small and stable
(``linux/inet_diag.h``); only the fields the audit needs are decoded.

Runs in the current network namespace (the caller enters the target first).
"""

from __future__ import annotations

import os
import socket
import struct

from auditor.collect.processes import processes_by_inode
from auditor.errors import EnvironmentProblem
from auditor.model.listener import Listener

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN, TCP_CLOSE = 10, 7
INET_DIAG_SKV6ONLY = 11

_NLMSGHDR = struct.Struct("=IHHII")
_REQ = struct.Struct("=BBBxI48s")  # family, protocol, ext, pad, states, sockid
_MSG = struct.Struct("=BBBB HH 16s 16s I 8s IIIII")  # inet_diag_msg (sport/dport big-endian)
_RTA = struct.Struct("=HH")


def _request(family: int, protocol: int, states: int, seq: int) -> bytes:
    body = _REQ.pack(family, protocol, 0, states, b"\0" * 48)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def parse_messages(data: bytes, out: list[tuple]) -> bool:
    """Decode one recv() worth of messages into ``out``; True once the dump is done.

    Each entry: (family, state, src bytes, sport, bound ifindex, uid, inode, v6only or None).
    """
    offset = 0
    end = len(data)
    while offset + _NLMSGHDR.size <= end:
        length, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size:
            raise EnvironmentProblem("malformed sock_diag reply from the kernel")
        if mtype == NLMSG_DONE:
            return True
        if mtype == NLMSG_ERROR:
            (err,) = struct.unpack_from("=i", data, offset + _NLMSGHDR.size)
            if err:
                raise EnvironmentProblem(f"sock_diag: {os.strerror(-err)}")
            return True
        if mtype == SOCK_DIAG_BY_FAMILY:
            p = offset + _NLMSGHDR.size
            (family, state, _timer, _retrans, sport_be, _dport, src, _dst, ifindex, _cookie,
             _expires, _rq, _wq, uid, inode) = _MSG.unpack_from(data, p)
            v6only = None
            a = p + _MSG.size
            stop = offset + length
            while a + _RTA.size <= stop:
                alen, atype = _RTA.unpack_from(data, a)
                if alen < _RTA.size:
                    break
                if atype == INET_DIAG_SKV6ONLY:
                    v6only = bool(data[a + _RTA.size])
                a += (alen + 3) & ~3
            out.append((family, state, src, socket.ntohs(sport_be), ifindex, uid, inode, v6only))
        offset += (length + 3) & ~3
    return False


def _dump(family: int, protocol: int, states: int) -> list[tuple]:
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    except OSError as e:
        raise EnvironmentProblem(f"cannot open a netlink sock_diag socket: {e}") from None
    out: list[tuple] = []
    with s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.sendto(_request(family, protocol, states, 1), (0, 0))
        while True:
            data = s.recv(1 << 20)
            if not data or parse_messages(data, out):
                break
    return out


def collect_listeners() -> tuple[Listener, ...]:
    """Every TCP LISTEN and bound UDP socket in this network namespace, with owners."""
    raw: list[tuple[str, tuple]] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        raw += [("tcp", r) for r in _dump(family, socket.IPPROTO_TCP, 1 << TCP_LISTEN)]
        raw += [("udp", r) for r in _dump(family, socket.IPPROTO_UDP, 1 << TCP_CLOSE)]
    owners = processes_by_inode({r[6] for _, r in raw})
    names: dict[int, str | None] = {}
    addrs: dict[tuple[int, bytes], tuple[str, str]] = {}  # most sockets share a few addresses
    out = []
    for proto, (family, _state, src, port, ifindex, _uid, inode, v6only) in raw:
        key = (family, src)
        if key not in addrs:
            addrs[key] = (("ipv4", socket.inet_ntop(socket.AF_INET, src[:4])) if family == socket.AF_INET
                          else ("ipv6", socket.inet_ntop(socket.AF_INET6, src)))
        fam, addr = addrs[key]
        if ifindex and ifindex not in names:
            try:
                names[ifindex] = socket.if_indextoname(ifindex)
            except OSError:
                names[ifindex] = str(ifindex)
        procs = owners.get(inode, ())
        out.append(Listener(
            protocol=proto, family=fam, address=addr, port=port,
            interface=names.get(ifindex) if ifindex else None,
            dual_stack=fam == "ipv6" and addr == "::" and v6only is False,
            processes=tuple(sorted(procs)),
        ))
    out.sort(key=lambda l: (l.protocol, l.port, l.family, l.address))
    return tuple(out)

