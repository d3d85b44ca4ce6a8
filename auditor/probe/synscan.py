"""TCP SYN scan over raw sockets and a UDP scan, run inside a vantage point.

TCP: a SYN per port; SYN-ACK = open, RST = closed, ICMP unreachable (admin-prohibited, host/net
unreachable …) = filtered with the ICMP reason, nothing after the retries = filtered
("no-response"). The probe namespace's own kernel answers SYN-ACKs with RST, so no connection
is left half-open. Timeouts follow the measured round trip (nmap-style srtt + 4·rttvar, bounded).
Without raw sockets (no CAP_NET_RAW) the connect scan of :mod:`auditor.probe.connect` is used.

UDP: a payload per port (DNS, NTP, SNMP where they apply); a reply = open, ICMP port unreachable
= closed, other ICMP unreachable = filtered, silence = open_filtered. The target rate-limits the
ICMP errors it sends per peer (``net.ipv4.icmp_ratelimit``, a token bucket of ~1/s after a
burst), so silent ports are re-probed at a slow pace before being called open_filtered.
"""

from __future__ import annotations

import errno
import os
import random
import select
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.model.scan import ScanEntry
from auditor.probe.inflight import InFlight, new_socket

#: One probed point: (source, port, state, reason).
Row = tuple[str, int, str, str]

SYN, RST, ACK = 0x02, 0x04, 0x10
ICMP_REASONS = {0: "icmp net-unreachable", 1: "icmp host-unreachable", 2: "icmp protocol-unreachable",
                3: "icmp port-unreachable", 9: "icmp net-prohibited", 10: "icmp host-prohibited",
                13: "icmp admin-prohibited"}
ICMP6_REASONS = {0: "icmp6 no-route", 1: "icmp6 admin-prohibited", 3: "icmp6 address-unreachable",
                 4: "icmp6 port-unreachable", 5: "icmp6 policy-fail", 6: "icmp6 reject-route"}


# ---------------------------------------------------------------------------------------------
# Packets
# ---------------------------------------------------------------------------------------------


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn_segment(src: str, dst: str, sport: int, dport: int, seq: int) -> bytes:
    """A TCP SYN (with MSS option) and a correct checksum over the pseudo-header."""
    options = struct.pack("!BBH", 2, 4, 1460)
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, offset << 4, SYN, 64240, 0, 0) + options
    if ":" in dst:
        pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                  + struct.pack("!I3xB", len(header), socket.IPPROTO_TCP))
    else:
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", socket.IPPROTO_TCP, len(header))
    csum = checksum(pseudo + header)
    return header[:16] + struct.pack("!H", csum) + header[18:]


def parse_tcp_reply(packet: bytes, v6: bool) -> tuple[str, str, int, int, int] | None:
    """(src, dst, sport, dport, flags) of a TCP packet as a raw socket delivers it."""
    if v6:  # IPv6 raw sockets deliver the transport header only; addresses come from recvfrom
        return None
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if len(packet) < ihl + 14:
        return None
    src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
    sport, dport = struct.unpack_from("!HH", packet, ihl)
    flags = packet[ihl + 13]
    return src, dst, sport, dport, flags


def parse_icmp_unreachable(packet: bytes) -> tuple[int, str, str, int, int, int] | None:
    """(code, original src, original dst, protocol, original sport, original dport)."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8 + 20 or icmp[0] != 3:
        return None
    inner = icmp[8:]
    iihl = (inner[0] & 0x0F) * 4
    if len(inner) < iihl + 4:
        return None
    proto = inner[9]
    osrc, odst = socket.inet_ntoa(inner[12:16]), socket.inet_ntoa(inner[16:20])
    osport, odport = struct.unpack_from("!HH", inner, iihl)
    return icmp[1], osrc, odst, proto, osport, odport


# ---------------------------------------------------------------------------------------------
# TCP SYN scan
# ---------------------------------------------------------------------------------------------


@dataclass
class _Rtt:
    srtt: float | None = None
    rttvar: float = 0.0

    def update(self, sample: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = sample, sample / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - sample)
            self.srtt = 0.875 * self.srtt + 0.125 * sample

    @property
    def timeout(self) -> float:
        if self.srtt is None:
            return 1.0
        return min(1.0, max(0.05, self.srtt + 4 * self.rttvar))


def syn_scan(sources: list[str], destination: str, ports: list[int], *, retries: int = 2,
             rate: float = 50000.0) -> tuple[list[tuple[str, int, str, str]], str]:
    """[(source, port, state, reason)], method. Falls back to connect scans without raw sockets."""
    v6 = ":" in destination
    if v6:  # the IPv6 raw receive path is not implemented yet: connect scan (reported as such)
        return _connect_fallback(sources, destination, ports), "connect"
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)  # receives every TCP packet
        icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        senders = {}
        for src in sources:  # one bound sender per source, so the kernel uses it as the IP source
            senders[src] = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
            senders[src].bind((src, 0))
    except PermissionError:
        return _connect_fallback(sources, destination, ports), "connect"
    results: dict[tuple[str, int], tuple[str, str]] = {}
    rtt = _Rtt()
    with raw, icmp:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        icmp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        raw.setblocking(False)
        icmp.setblocking(False)
        pending = [(s, p) for s in sources for p in ports]
        for _ in range(retries + 1):
            if not pending:
                break
            sport = random.randint(33000, 60000)
            sent: dict[tuple[str, int], float] = {}
            round_start = time.monotonic()
            for n, (s, p) in enumerate(pending, 1):
                seg = syn_segment(s, destination, sport, p, random.getrandbits(32))
                try:
                    senders[s].sendto(seg, (destination, 0))
                except OSError as e:
                    if e.errno in (errno.EPERM, errno.EACCES):  # our own output firewall refused
                        results[(s, p)] = ("filtered", "local-output-denied")
                        continue
                    raise
                sent[(s, p)] = time.monotonic()
                if n % 256 == 0:  # pace in bursts: read answers, keep under ``rate`` packets/s
                    _drain(raw, icmp, destination, sport, sent, results, rtt)
                    ahead = n / rate - (time.monotonic() - round_start)
                    if ahead > 0:
                        time.sleep(ahead)
            deadline = time.monotonic() + rtt.timeout
            while time.monotonic() < deadline and any(k not in results for k in sent):
                r, _, _ = select.select([raw, icmp], [], [], max(0.0, deadline - time.monotonic()))
                if r:
                    _drain(raw, icmp, destination, sport, sent, results, rtt)
            pending = [k for k in pending if k not in results]
        for k in pending:
            results[k] = ("filtered", "no-response")
    for sock in senders.values():
        sock.close()
    return [(s, p, *results[(s, p)]) for s in sources for p in ports], "syn"


def _drain(raw: socket.socket, icmp: socket.socket, destination: str, sport: int,
           sent: dict[tuple[str, int], float], results: dict[tuple[str, int], tuple[str, str]], rtt: _Rtt) -> None:
    while True:
        try:
            packet = raw.recv(65535)
        except BlockingIOError:
            break
        parsed = parse_tcp_reply(packet, False)
        if parsed is None:
            continue
        src, dst, psport, pdport, flags = parsed
        key = (dst, psport)
        if src != destination or pdport != sport or key not in sent or key in results:
            continue
        rtt.update(time.monotonic() - sent[key])
        if flags & SYN and flags & ACK:
            results[key] = ("open", "syn-ack")
        elif flags & RST:
            results[key] = ("closed", "rst")
    while True:
        try:
            packet = icmp.recv(65535)
        except BlockingIOError:
            break
        unreachable = parse_icmp_unreachable(packet)
        if unreachable is None:
            continue
        code, osrc, odst, proto, osport, odport = unreachable
        key = (osrc, odport)
        if proto != socket.IPPROTO_TCP or odst != destination or osport != sport or key not in sent or key in results:
            continue
        results[key] = ("filtered", ICMP_REASONS.get(code, f"icmp code {code}"))


def _connect_fallback(sources: list[str], destination: str, ports: list[int]) -> list[Row]:
    from auditor.probe.connect import Point, probe

    points = [Point(s, destination, "tcp", p) for s in sources for p in ports]
    res = probe(points, timeout=1.0)
    state = {"open": ("open", "connect"), "refused": ("closed", "rst-or-icmp"), "silent": ("filtered", "no-response")}
    return [(pt.source, pt.port, *state[res[pt]]) for pt in points]


# ---------------------------------------------------------------------------------------------
# UDP
# ---------------------------------------------------------------------------------------------


def udp_payload(port: int) -> bytes:
    if port == 53:  # DNS query for "." NS
        return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x00\x00\x02\x00\x01"
    if port == 123:  # NTP v4 client request
        return b"\x23" + b"\0" * 47
    if port == 161:  # SNMPv1 get-request, community "public", sysDescr.0
        return bytes.fromhex("302602010004067075626c6963a019020400000001020100020100300b300906052b060102010500")
    return b"fwaudit\n"


_UDP_REFUSED = {errno.ECONNREFUSED: ("closed", "icmp port-unreachable")}
_UDP_FILTERED = {errno.EHOSTUNREACH: "icmp host-unreachable", errno.ENETUNREACH: "icmp net-unreachable",
                 errno.EACCES: "icmp admin-prohibited", errno.EPERM: "local-output-denied"}


def udp_scan(sources: list[str], destination: str, ports: list[int], *, timeout: float = 0.5,
             budget: float = 12.0, pace: float = 1.05) -> list[tuple[str, int, str, str]]:
    """A fast pass over all ports, then silent ports again one at a time, paced to the target's
    ICMP token bucket (about one error per second per peer after a burst of ~6), within
    ``budget`` seconds. Ports still silent stay ``open_filtered``; those never re-probed say so."""
    results: dict[tuple[str, int], tuple[str, str]] = {}
    pending = [(s, p) for s in sources for p in ports]
    results.update(_udp_round(destination, pending, timeout))
    silent = [k for k in pending if results[k][0] == "open_filtered"]
    deadline = time.monotonic() + budget
    for i, k in enumerate(silent):
        if time.monotonic() + pace > deadline:
            for rest in silent[i:]:
                results[rest] = ("open_filtered", "no-response; not re-probed (the target rate-limits ICMP errors)")
            break
        time.sleep(pace)
        results.update(_udp_round(destination, [k], timeout))
    return [(s, p, *results[(s, p)]) for s, p in pending]


def _udp_round(destination: str, keys: list[tuple[str, int]], timeout: float,
               window: int | None = None) -> dict[tuple[str, int], tuple[str, str]]:
    """One probe per key, at most ``window`` sockets at a time (:mod:`auditor.probe.inflight`)."""
    fam = socket.AF_INET6 if ":" in destination else socket.AF_INET
    out: dict[tuple[str, int], tuple[str, str]] = {}

    def settle() -> None:
        ready, expired = flight.wait()
        for key, sock, _ in ready:
            try:
                sock.recv(4096)
                out[key] = ("open", "udp-reply")
            except OSError as e:
                out[key] = _udp_error(e.errno)
            sock.close()
        for key, sock in expired:
            out[key] = ("open_filtered", "no-response")
            sock.close()

    with InFlight[tuple[str, int]](timeout, window) as flight:
        for s, p in keys:
            while flight.full:
                settle()
            sock = new_socket(fam, socket.SOCK_DGRAM)
            try:
                sock.bind((s, 0))
                sock.connect((destination, p))
                sock.send(udp_payload(p))
            except OSError as e:
                out[(s, p)] = _udp_error(e.errno)
                sock.close()
                continue
            flight.add((s, p), sock, select.EPOLLIN | select.EPOLLERR)
        while flight:
            settle()
    return out


def _udp_error(err: int | None) -> tuple[str, str]:
    if err in _UDP_REFUSED:
        return _UDP_REFUSED[err]
    return ("filtered", _UDP_FILTERED.get(err or 0, os.strerror(err or 0)))


def ranges(results: Iterable[tuple[str, int, str, str]], protocol: str) -> list[ScanEntry]:
    """Merge adjacent ports with the same state (per source) into ranges."""
    out: list[ScanEntry] = []
    for s, p, state, reason in sorted(results, key=lambda r: (r[0], r[1])):
        last = out[-1] if out else None
        if last and last.source == s and last.state == state and last.ports[1] + 1 == p and last.reason == reason:
            out[-1] = ScanEntry(s, protocol, (last.ports[0], p), state, reason)  # type: ignore[arg-type]
        else:
            out.append(ScanEntry(s, protocol, (p, p), state, reason))  # type: ignore[arg-type]
    return out
