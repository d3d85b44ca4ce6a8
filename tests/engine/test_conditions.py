"""Single matches against single packet states: the kernel's semantics one construct at a time."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from auditor.engine.conditions import (
    TCP_ACK,
    TCP_PSH,
    AddressFacts,
    Assumed,
    PacketState,
    Space,
    Uncertain,
    condition,
)
from auditor.engine import intervals as iv
from auditor.engine.evaluate import address_facts
from auditor.model.ruleset import (
    AddrTypeMatch,
    AddressMatch,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    NondeterministicMatch,
    PayloadMatch,
    PhysdevMatch,
    PortMatch,
    ReversePathMatch,
)
from tests.engine.builders import HOST

LOCAL6 = int(ipaddress.ip_address("fd00::1"))
V4 = PacketState(4, 6, "eth0", (0xC6120001, 0xC6120001), (0xC6120001, 0xC6120001))
V6 = PacketState(6, 6, "eth0", (LOCAL6, LOCAL6), (LOCAL6, LOCAL6))
FACTS4 = address_facts(HOST, 4, 0xC6120001, "eth0")
FACTS6 = address_facts(HOST, 6, LOCAL6, "eth0")


def test_ipv6_addrtype_classes_overlap_in_iptables_but_not_in_nft_fib():
    unicast = AddrTypeMatch("daddr", frozenset({"UNICAST"}))
    assert condition(unicast, V6, FACTS6) is True  # xt_addrtype: a local address is unicast too
    assert condition(AddrTypeMatch("daddr", frozenset({"UNICAST"}), fib=True), V6, FACTS6) is False
    assert condition(unicast, V4, FACTS4) is False  # IPv4: one type per address
    assert condition(AddrTypeMatch("daddr", frozenset({"LOCAL"})), V6, FACTS6) is True


def test_client_address_types_are_regions_of_the_client_space():
    c = condition(AddrTypeMatch("saddr", frozenset({"UNICAST"})), V4, FACTS4)
    assert isinstance(c, Space) and c.saddr is not None
    assert iv.contains_point(c.saddr, int(ipaddress.ip_address("203.0.113.9")))
    assert not iv.contains_point(c.saddr, int(ipaddress.ip_address("224.0.0.5")))
    assert not iv.contains_point(c.saddr, int(ipaddress.ip_address("198.18.0.1")))  # the host itself


def test_addresses_and_ports_swap_sides_on_the_way_back():
    reply = PacketState(4, 6, "", V4.daddr, V4.orig_daddr, reply=True, ct="established")
    client = AddressMatch("daddr", 4, ((0xC6120000, 0xC61200FF),))
    assert condition(client, reply, FACTS4) == Space(saddr=((0xC6120000, 0xC61200FF),))
    assert condition(PortMatch("sport", ((80, 80),)), reply, FACTS4) == Space(dport=((80, 80),))
    dport = condition(PortMatch("dport", ((1024, 65535),)), reply, FACTS4)
    assert isinstance(dport, Uncertain)  # the client's own port
    assert condition(PortMatch("dport", ((0, 65535),)), reply, FACTS4) is True


def test_conntrack_state_and_status_per_packet():
    new = ConntrackStateMatch(frozenset({"new"}))
    assert condition(new, V4, FACTS4) is False  # before the conntrack hook: invalid
    assert condition(new, PacketState(4, 6, "eth0", V4.daddr, V4.daddr, ct="new"), FACTS4) is True
    assured = ConntrackStatusMatch(frozenset({"assured"}))
    udp_reply = PacketState(4, 17, "", V4.daddr, V4.daddr, ct="established", reply=True, assured=None)
    assert isinstance(condition(assured, udp_reply, FACTS4), Uncertain)
    seen = PacketState(4, 17, "", V4.daddr, V4.daddr, ct="established", seen_reply=True)
    assert condition(ConntrackStatusMatch(frozenset({"seen-reply"})), seen, FACTS4) is True
    assert condition(ConntrackStatusMatch(frozenset({"seen-reply"})), V4, FACTS4) is False  # no entry yet


def test_payload_matches_never_hold_for_bare_tcp_segments():
    string = PayloadMatch("-m string --string GET --algo bm")
    assert condition(string, PacketState(4, 6, "eth0", V4.daddr, V4.daddr, ct="new"), FACTS4) is False
    data = PacketState(4, 6, "", V4.daddr, V4.daddr, ct="established", tcp_flags=TCP_PSH | TCP_ACK, payload=True)
    assert isinstance(condition(string, data, FACTS4), Uncertain)


def test_physdev_on_an_unbridged_packet_follows_xt_physdev():
    plain = AddressFacts((), (), (), bridges=frozenset())
    assert condition(PhysdevMatch(frozenset({"is-bridged"}), frozenset(), "--physdev-is-bridged"), V4, plain) is False
    assert condition(PhysdevMatch(frozenset({"is-bridged"}), frozenset({"is-bridged"}), "! --physdev-is-bridged"),
                     V4, plain) is True
    across = AddressFacts((), (), (), bridges=frozenset({"eth0"}))
    assert isinstance(condition(PhysdevMatch(frozenset({"in"}), frozenset(), "--physdev-in x"), V4, across), Uncertain)
    unknown = AddressFacts((), (), (), bridges=None)
    assert isinstance(condition(PhysdevMatch(frozenset({"in"}), frozenset(), "--physdev-in x"), V4, unknown), Uncertain)
    # offline: interfaces not declared as bridges are taken as plain ones, and the verdict says so
    offline = AddressFacts((), (), (), bridges=frozenset({"br0"}), bridges_declared=True)
    held = condition(PhysdevMatch(frozenset({"in"}), frozenset(), "--physdev-in x"), V4, offline)
    assert isinstance(held, Assumed) and held.holds is False and "no bridge" in held.note
    assert isinstance(condition(PhysdevMatch(frozenset({"in"}), frozenset(), "--physdev-in x"), replace(V4, iif="br0"),
                                offline), Uncertain)


def test_reverse_path_checks_split_clients_by_their_route():
    strict = condition(ReversePathMatch(strict=True), V4, FACTS4)
    assert isinstance(strict, Space) and strict.saddr is not None
    assert iv.contains_point(strict.saddr, int(ipaddress.ip_address("198.18.0.7")))  # routed via eth0
    assert not iv.contains_point(strict.saddr, int(ipaddress.ip_address("203.0.113.7")))  # via eth1
    loose = condition(ReversePathMatch(strict=False), V4, FACTS4)
    assert isinstance(loose, Space) and iv.contains_point(loose.saddr or (), int(ipaddress.ip_address("203.0.113.7")))


def test_rate_limits_are_decided_for_one_new_client_under_an_assumption():
    under = condition(NondeterministicMatch("limit", "limit rate 5/second", first_client=True), V4, FACTS4)
    assert isinstance(under, Assumed) and under.holds
    negated = condition(NondeterministicMatch("limit", "x", negated=True, first_client=True), V4, FACTS4)
    assert isinstance(negated, Assumed) and not negated.holds
    assert isinstance(condition(NondeterministicMatch("statistic", "x"), V4, FACTS4), Uncertain)
