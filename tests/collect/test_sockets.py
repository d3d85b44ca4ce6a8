"""Listening sockets: the netlink decoder, and agreement with ss in a busy namespace."""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import sys

import pytest

from auditor.target.runner import run_in_namespace
from auditor.collect.sockets import INET_DIAG_SKV6ONLY, SOCK_DIAG_BY_FAMILY, collect_listeners, parse_messages

FWAUDIT = [sys.executable, "-m", "auditor"]

SERVER = r"""
import os, socket, sys, time
V6ONLY = 26
socks = []
def tcp(fam, addr, port, v6only=None, dev=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, V6ONLY, v6only)
    if dev: s.setsockopt(socket.SOL_SOCKET, 25, dev.encode())
    s.bind((addr, port)); s.listen(8); socks.append(s)
def udp(fam, addr, port, v6only=None, dev=None):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, V6ONLY, v6only)
    if dev: s.setsockopt(socket.SOL_SOCKET, 25, dev.encode())
    s.bind((addr, port)); socks.append(s)
A4, A6 = socket.AF_INET, socket.AF_INET6
for p in range(1001, 1031): tcp(A4, "0.0.0.0", p)
tcp(A4, "127.0.0.1", 1031); tcp(A4, "198.18.44.1", 1032)
for p in range(2001, 2021): tcp(A6, "::", p, v6only=1)
for p in range(2021, 2026): tcp(A6, "::", p, v6only=0)
tcp(A6, "::1", 2026); tcp(A6, "::ffff:127.0.0.1", 2027); tcp(A6, "fd00:db8:44::1", 2028)
for p in range(3001, 3021): udp(A4, "0.0.0.0", p)
udp(A4, "127.0.0.1", 3021); udp(A4, "0.0.0.0", 3022, dev="fwv0")
udp(A6, "::", 3023, v6only=1); udp(A6, "::", 3024, v6only=0); udp(A6, "::1", 3025)
tcp(A4, "0.0.0.0", 4000)
if os.fork() == 0:   # the child inherits every socket: tcp/4000 has two owners
    time.sleep(3600)
print("ready", flush=True)
time.sleep(3600)
"""


def _ss(ns) -> set[tuple]:
    out = ns.exec(["ss", "-tulpnH"]).stdout
    found = set()
    for line in out.splitlines():
        cols = line.split()
        proto, local = cols[0], cols[4]
        addr, _, port = local.rpartition(":")
        dev = None
        if "%" in addr:
            addr, dev = addr.split("%", 1)
        dual = addr == "*"
        addr = "::" if dual else addr.strip("[]")
        pids = tuple(sorted(int(p) for p in re.findall(r"pid=(\d+)", line)))
        found.add((proto, addr, int(port), dev, dual, pids))
    return found


def _ours(listeners) -> set[tuple]:
    return {(l.protocol, l.address, l.port, l.interface, l.dual_stack, tuple(sorted(p.pid for p in l.processes)))
            for l in listeners}


@pytest.fixture
def busy(netns):
    netns.exec(["ip", "link", "add", "fwv0", "type", "veth", "peer", "name", "fwv1"])
    netns.exec(["ip", "addr", "add", "198.18.44.1/24", "dev", "fwv0"])
    netns.exec(["ip", "addr", "add", "fd00:db8:44::1/64", "dev", "fwv0", "nodad"])
    netns.exec(["ip", "link", "set", "fwv0", "up"])
    proc = netns.spawn([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return netns


@pytest.mark.root
def test_matches_ss_for_both_families_and_protocols(busy):
    ours = run_in_namespace(busy.path, collect_listeners)
    assert len(ours) == 86
    assert _ours(ours) == _ss(busy)
    by_port = {(l.protocol, l.port): l for l in ours}
    assert by_port[("tcp", 2021)].dual_stack and by_port[("tcp", 2021)].accepts_ipv4
    assert not by_port[("tcp", 2001)].dual_stack and not by_port[("tcp", 2001)].accepts_ipv4
    mapped = by_port[("tcp", 2027)]
    assert mapped.address == "::ffff:127.0.0.1" and mapped.accepts_ipv4 and mapped.is_loopback
    assert by_port[("udp", 3022)].interface == "fwv0"
    assert len(by_port[("tcp", 4000)].processes) == 2


@pytest.mark.root
def test_cli_json_agrees_and_text_has_no_colour_when_piped(busy):
    res = subprocess.run([*FWAUDIT, "listeners", "--target", f"netns:{busy.name}", "--format", "json"],
                         capture_output=True, text=True, check=True)
    doc = json.loads(res.stdout)
    assert doc["target"] == f"netns:{busy.name}"
    rows = {(l["protocol"], l["address"], l["port"], l["interface"], l["dual_stack"],
             tuple(sorted(p["pid"] for p in l["processes"]))) for l in doc["listeners"]}
    assert rows == _ss(busy)
    text = subprocess.run([*FWAUDIT, "listeners", "--target", f"netns:{busy.name}"],
                          capture_output=True, text=True, check=True).stdout
    assert "\x1b[" not in text and "[::ffff:127.0.0.1]" in text


def test_unknown_namespace_is_input_error():
    res = subprocess.run([*FWAUDIT, "listeners", "--target", "netns:fwa-does-not-exist"], capture_output=True, text=True)
    assert res.returncode == 2 and "no network namespace named 'fwa-does-not-exist'" in res.stderr
    res = subprocess.run([*FWAUDIT, "listeners", "--target", "bogus"], capture_output=True, text=True)
    assert res.returncode == 2 and "invalid target" in res.stderr


def _msg(family, port, src, v6only=None, inode=7):
    body = struct.pack("=BBBB HH 16s 16s I 8s IIIII", family, 10, 0, 0, socket.htons(port), 0, src, b"\0" * 16,
                       0, b"\0" * 8, 0, 0, 0, 1000, inode)
    if v6only is not None:
        body += struct.pack("=HHB3x", 5, INET_DIAG_SKV6ONLY, int(v6only))
    return struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body


def test_decoder_reads_messages_attributes_and_done():
    data = (_msg(socket.AF_INET, 22, socket.inet_aton("0.0.0.0") + b"\0" * 12)
            + _msg(socket.AF_INET6, 443, socket.inet_pton(socket.AF_INET6, "::"), v6only=False, inode=9))
    out: list = []
    assert parse_messages(data, out) is False
    assert [(r[0], r[3], r[6], r[7]) for r in out] == [(socket.AF_INET, 22, 7, None), (socket.AF_INET6, 443, 9, False)]
    done = struct.pack("=IHHII", 20, 3, 2, 1, 0) + b"\0" * 4
    assert parse_messages(done, out) is True
