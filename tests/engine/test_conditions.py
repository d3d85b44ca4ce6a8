"""Single matches against single packet states: the kernel's semantics one construct at a time."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from auditor.engine import intervals as iv
from auditor.engine.conditions import (
    TCP_ACK,
    TCP_PSH,
    AddressFacts,
    Assumed,
    Masked,
    Not,
    PacketState,
    Space,
    Uncertain,
    condition,
    icmp_type,
)
from auditor.engine.evaluate import address_facts
from auditor.engine.intervals import IntervalSet
from auditor.model.ruleset import (
    AddressMatch,
    AddrTypeMatch,
    ConntrackDirectionMatch,
    ConntrackOriginalMatch,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    FamilyMatch,
    IcmpTypeMatch,
    MarkMatch,
    MaskedAddressMatch,
    NondeterministicMatch,
    PacketTypeMatch,
    PayloadMatch,
    PhysdevMatch,
    PortMatch,
    ReversePathMatch,
    SetElementMatch,
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


# -- conntrack status and original tuple -------------------------------------------------------

EST4 = PacketState(4, 6, "eth0", V4.daddr, V4.daddr, ct="established", confirmed=True, seen_reply=True)


def status(*names: str, negated: bool = False) -> ConntrackStatusMatch:
    return ConntrackStatusMatch(frozenset(names), negated)


def test_each_conntrack_status_bit_holds_exactly_when_the_connection_has_it():
    # nft `ct status & X` / xt_conntrack --ctstatus: a test of ct->status bits
    flags = {"dnat": "dnat", "snat": "snat", "confirmed": "confirmed", "seen-reply": "seen_reply",
             "assured": "assured"}
    for name, attr in flags.items():
        without = replace(EST4, **{attr: False})
        assert condition(status(name), replace(EST4, **{attr: True}), FACTS4) is True, name
        assert condition(status(name), without, FACTS4) is False, name
        assert condition(status(name, negated=True), without, FACTS4) is True, name


def test_expected_and_dying_are_never_set_on_a_live_unexpected_connection():
    assert condition(status("expected"), EST4, FACTS4) is False
    assert condition(status("dying"), EST4, FACTS4) is False
    assert condition(status("expected", "dying", "confirmed"), EST4, FACTS4) is True  # any of them


def test_a_udp_flows_unknown_assured_bit_leaves_other_status_bits_decided():
    udp = replace(EST4, protocol=17, assured=None)
    assert condition(status("dnat"), udp, FACTS4) is False
    assert condition(status("confirmed"), udp, FACTS4) is True
    assert isinstance(condition(status("assured"), udp, FACTS4), Uncertain)


def test_unmodelled_status_bits_and_picked_up_connections_are_uncertain():
    assert isinstance(condition(status("fixed-timeout"), EST4, FACTS4), Uncertain)
    assert isinstance(condition(status("confirmed"), replace(EST4, ct="pickup"), FACTS4), Uncertain)
    # without a conntrack entry the match never holds, negated or not (xt_conntrack, NFT_BREAK)
    assert condition(status("confirmed", negated=True), replace(EST4, ct="untracked"), FACTS4) is False


def test_the_original_tuple_is_the_clients_whatever_the_direction_and_nat():
    dnated = replace(EST4, daddr=(0x0A000005, 0x0A000005), dnat=True)
    reply = replace(dnated, reply=True, ct_reply=True)
    client = ((0xC6120000, 0xC61200FF),)
    for st in (dnated, reply):
        assert condition(ConntrackOriginalMatch("saddr", client, 4), st, FACTS4) == Space(saddr=client)
        assert condition(ConntrackOriginalMatch("dport", ((80, 80),)), st, FACTS4) == Space(dport=((80, 80),))
        # the destination the client chose, before DNAT
        assert condition(ConntrackOriginalMatch("daddr", (V4.daddr,), 4), st, FACTS4) is True
        assert condition(ConntrackOriginalMatch("daddr", ((0x0A000005, 0x0A000005),), 4), st, FACTS4) is False
        assert condition(ConntrackOriginalMatch("daddr", ((0x0A000005, 0x0A000005),), None), st, FACTS4) is False
        assert isinstance(condition(ConntrackOriginalMatch("sport", ((1024, 65535),)), st, FACTS4), Uncertain)
        assert condition(ConntrackOriginalMatch("sport", ((0, 65535),)), st, FACTS4) is True
    # an IPv6 address never matches an IPv4 connection, negated or not
    six = ((LOCAL6, LOCAL6),)
    assert condition(ConntrackOriginalMatch("saddr", six, 6, negated=True), dnated, FACTS4) is False
    assert condition(ConntrackOriginalMatch("daddr", six, 6, negated=True), dnated, FACTS4) is False
    assert condition(ConntrackOriginalMatch("saddr", client, None), dnated, FACTS4) == Space(saddr=client)


def test_the_original_tuple_needs_a_conntrack_entry():
    for ct in ("none", "untracked", "invalid"):
        st = replace(EST4, ct=ct)
        assert condition(ConntrackOriginalMatch("dport", ((80, 80),), negated=True), st, FACTS4) is False
    assert isinstance(condition(ConntrackOriginalMatch("dport", ((80, 80),)), replace(EST4, ct="pickup"), FACTS4),
                      Uncertain)


# -- ICMP types --------------------------------------------------------------------------------


def test_icmp_type_names_and_numbers_as_iptables_and_nft_write_them():
    assert icmp_type(4, "port-unreachable") == (3, 3)
    assert icmp_type(4, " echo-request ") == (8, None)
    assert icmp_type(6, "port-unreachable") == (1, 4)
    assert icmp_type(6, "echo-request") == (128, None)
    assert icmp_type(4, "3/13") == (3, 13)
    assert icmp_type(4, "11") == (11, None)
    assert icmp_type(6, "any") == (-1, None)
    assert icmp_type(4, "no-such-type") is None


def test_icmp_type_matches_the_type_and_where_named_the_code():
    port_unreachable = replace(EST4, protocol=1, ct="related", icmp=(3, 3))
    holds = {("destination-unreachable",), ("port-unreachable",), ("3",), ("3/3",), ("any",),
             ("echo-request", "port-unreachable")}
    fails = {("host-unreachable",), ("3/1",), ("echo-request",), ("1",), ("echo-request", "3/0")}
    for types in holds:
        assert condition(IcmpTypeMatch(4, types), port_unreachable, FACTS4) is True, types
        assert condition(IcmpTypeMatch(4, types, negated=True), port_unreachable, FACTS4) is False, types
    for types in fails:
        assert condition(IcmpTypeMatch(4, types), port_unreachable, FACTS4) is False, types
        assert condition(IcmpTypeMatch(4, types, negated=True), port_unreachable, FACTS4) is True, types
    v6 = replace(port_unreachable, version=6, protocol=58, icmp=(1, 4))
    assert condition(IcmpTypeMatch(6, ("port-unreachable",)), v6, FACTS6) is True
    assert condition(IcmpTypeMatch(6, ("destination-unreachable",)), v6, FACTS6) is True
    assert isinstance(condition(IcmpTypeMatch(4, ("bogus",)), port_unreachable, FACTS4), Uncertain)


def test_icmp_type_never_holds_for_other_packets_or_the_other_family_even_negated():
    # iptables needs -p icmp for --icmp-type; nft's icmp type implies meta l4proto icmp
    assert condition(IcmpTypeMatch(4, ("any",), negated=True), EST4, FACTS4) is False
    icmp = replace(EST4, protocol=1, ct="related", icmp=(3, 3))
    assert condition(IcmpTypeMatch(6, ("any",), negated=True), icmp, FACTS4) is False
    assert condition(IcmpTypeMatch(6, ("any",)), icmp, FACTS4) is False


# -- reverse path --------------------------------------------------------------------------------


def test_reverse_path_of_a_reply_checks_the_route_to_the_service():
    # a forwarded connection's reply arrives from the backend: its source is the service address
    backend = int(ipaddress.ip_address("198.18.0.7"))
    reply = replace(EST4, reply=True, ct_reply=True, iif="eth0", daddr=(backend, backend))
    assert condition(ReversePathMatch(strict=True), reply, FACTS4) is True
    assert condition(ReversePathMatch(strict=True), replace(reply, iif="eth1"), FACTS4) is False
    assert condition(ReversePathMatch(strict=False), replace(reply, iif="eth1"), FACTS4) is True
    # a source that is one of the host's own addresses fails (RTN_LOCAL without --accept-local)
    own = replace(reply, daddr=V4.daddr)
    assert condition(ReversePathMatch(strict=False), own, FACTS4) is False
    ranged = replace(reply, daddr=(backend, backend + 3))
    assert isinstance(condition(ReversePathMatch(strict=False), ranged, FACTS4), Uncertain)


def test_reverse_path_fails_for_clients_without_a_route_or_with_a_local_address():
    facts = AddressFacts(((1, 1),), (), (), routes=((((1, 1),), "lo"), (((2, 9),), None), (((10, 19),), "eth0"),
                                                   (((20, 29),), "eth1")))
    assert condition(ReversePathMatch(strict=False), V4, facts) == Space(saddr=((10, 29),))
    assert condition(ReversePathMatch(strict=True), V4, facts) == Space(saddr=((10, 19),))
    reply = replace(EST4, reply=True, ct_reply=True, iif="eth0")
    for addr, holds in ((1, False), (5, False), (15, True), (25, False)):
        assert condition(ReversePathMatch(strict=True), replace(reply, daddr=(addr, addr)), facts) is holds, addr
    hidden = replace(V4, client_hidden=True)
    assert isinstance(condition(ReversePathMatch(strict=False), hidden, facts), Uncertain)


# -- set lookups -------------------------------------------------------------------------------

NET10, NET20 = (0x0A000000, 0x0A0000FF), (0x14000000, 0x140000FF)


def lookup(fields: tuple[str, ...], *elements: tuple[object, ...], negated: bool = False,
           version: int | None = None) -> SetElementMatch:
    return SetElementMatch("s", fields, elements, version, negated)  # type: ignore[arg-type]


def test_a_set_of_client_and_service_addresses_keeps_the_elements_naming_this_service():
    other = (0x0A0A0A0A, 0x0A0A0A0A)
    m = lookup(("saddr", "daddr"), (NET10, V4.daddr), (NET20, other))
    assert condition(m, EST4, FACTS4) == (Space(saddr=(NET10,)),)
    # on the way back the client is the destination and the service the source
    back = lookup(("saddr", "daddr"), (V4.daddr, NET20), (other, NET10))
    assert condition(back, replace(EST4, reply=True), FACTS4) == (Space(saddr=(NET20,)),)
    assert condition(lookup(("daddr",), (other,)), EST4, FACTS4) is False
    assert condition(lookup(("daddr",), (other,), negated=True), EST4, FACTS4) is True
    ranged = replace(EST4, daddr=(V4.daddr[0], V4.daddr[0] + 1))
    assert isinstance(condition(lookup(("daddr",), (V4.daddr,)), ranged, FACTS4), Uncertain)
    hidden = replace(EST4, reply=True, client_hidden=True)
    assert isinstance(condition(lookup(("daddr",), (NET10,)), hidden, FACTS4), Uncertain)


def test_a_key_naming_the_client_address_twice_needs_both_parts_to_hold():
    m = lookup(("saddr", "saddr"), ((0x0A000000, 0x0A00007F), (0x0A000040, 0x0A0000FF)))
    assert condition(m, EST4, FACTS4) == (Space(saddr=((0x0A000040, 0x0A00007F),)),)


def test_set_ports_the_service_port_is_symbolic_or_concrete_and_the_client_port_unknown():
    m = lookup(("saddr", "dport"), (NET10, (22, 22)), (NET20, (80, 80)))
    assert condition(m, EST4, FACTS4) == (Space(saddr=(NET10,), dport=((22, 22),)), Space(saddr=(NET20,), dport=((80, 80),)))
    translated = replace(EST4, dport=(8080, 8080))
    assert condition(lookup(("dport",), ((8080, 8080),)), translated, FACTS4) is True
    assert condition(lookup(("dport",), ((80, 80),)), translated, FACTS4) is False
    assert condition(lookup(("sport",), ((0, 65535),)), EST4, FACTS4) is True
    assert condition(lookup(("sport",), ((1, 1023),)), EST4, FACTS4) == Uncertain(
        "set @s: depends on the client's source port, which a static audit cannot fix")
    # on the way back the service's port is the source port
    reply = replace(EST4, reply=True)
    assert condition(lookup(("sport",), ((443, 443),)), reply, FACTS4) == (Space(dport=((443, 443),)),)
    assert isinstance(condition(lookup(("dport",), ((1024, 65535),)), reply, FACTS4), Uncertain)
    # an ICMP packet has no ports: a port key never matches it
    icmp = replace(EST4, protocol=1, icmp=(3, 3))
    assert condition(lookup(("dport",), ((0, 65535),)), icmp, FACTS4) is False
    assert condition(lookup(("sport",), ((0, 65535),)), icmp, FACTS4) is False


def test_set_keys_on_protocol_interfaces_state_and_family():
    tcp80 = lookup(("l4proto", "dport"), ((6, 6), (80, 80)), ((17, 17), (53, 53)))
    assert condition(tcp80, EST4, FACTS4) == (Space(dport=((80, 80),)),)
    assert condition(tcp80, replace(EST4, protocol=17), FACTS4) == (Space(dport=((53, 53),)),)
    assert condition(lookup(("l4proto",), ((1, 6),)), EST4, FACTS4) is True
    assert condition(lookup(("l4proto",), ((6, 17),)), EST4, FACTS4) is True
    assert condition(lookup(("l4proto",), ((7, 17),)), EST4, FACTS4) is False
    assert condition(lookup(("iif",), ("eth0",)), EST4, FACTS4) is True
    assert condition(lookup(("iif",), ("eth1",)), EST4, FACTS4) is False
    assert condition(lookup(("oif",), ("eth1",)), replace(EST4, oif="eth1"), FACTS4) is True
    assert condition(lookup(("oif",), ("eth0",)), replace(EST4, oif="eth1"), FACTS4) is False
    assert isinstance(condition(lookup(("oif",), ("eth1",)), replace(EST4, oif=None), FACTS4), Uncertain)
    assert condition(lookup(("ctstate",), ("established",)), EST4, FACTS4) is True
    assert condition(lookup(("ctstate",), ("new",)), EST4, FACTS4) is False
    assert condition(lookup(("nfproto",), ((4, 4),)), EST4, FACTS4) is True
    assert condition(lookup(("nfproto",), ((6, 6),)), EST4, FACTS4) is False
    assert isinstance(condition(lookup(("mark",), ((1, 1),)), EST4, FACTS4), Uncertain)
    # an IPv6 set never matches an IPv4 packet, negated or not
    assert condition(lookup(("nfproto",), ((4, 4),), negated=True, version=6), EST4, FACTS4) is False


# -- address types, marks, packet types, families, conntrack states ---------------------------


def test_ipv6_iptables_address_types_of_clients_overlap_as_in_match_type6():
    mc, uc, local = (int(ipaddress.ip_address(a)) for a in ("ff02::1", "fd00::5", "fd00::1"))

    def space(*types: str) -> IntervalSet:
        c = condition(AddrTypeMatch("saddr", frozenset(types)), V6, FACTS6)
        assert isinstance(c, Space) and c.saddr is not None
        return c.saddr

    assert [iv.contains_point(space("MULTICAST"), a) for a in (mc, uc, local)] == [True, False, False]
    assert [iv.contains_point(space("UNICAST"), a) for a in (mc, uc, local)] == [False, True, True]
    assert [iv.contains_point(space("LOCAL"), a) for a in (mc, uc, local)] == [False, False, True]
    assert [iv.contains_point(space("UNICAST", "LOCAL"), a) for a in (mc, uc, local)] == [False, False, True]
    assert space("MULTICAST", "UNICAST") == ()  # both must hold: never
    # nft's fib gives one type per address
    fib = condition(AddrTypeMatch("saddr", frozenset({"UNICAST"}), fib=True), V6, FACTS6)
    assert isinstance(fib, Space) and not iv.contains_point(fib.saddr or (), local)


def test_ipv4_client_address_types_combine_as_a_union():
    c = condition(AddrTypeMatch("saddr", frozenset({"LOCAL", "MULTICAST", "BROADCAST"})), V4, FACTS4)
    assert isinstance(c, Space) and c.saddr is not None
    for addr, inside in (("198.18.0.1", True), ("224.0.0.1", True), ("255.255.255.255", True),
                         ("198.18.0.255", True), ("203.0.113.1", False)):
        assert iv.contains_point(c.saddr, int(ipaddress.ip_address(addr))) is inside, addr


def test_the_services_address_type_from_the_hosts_tables():
    mcast, bcast, local = 0xE0000001, 0xC61200FF, 0xC6120001
    facts = AddressFacts(local=((local, local),), broadcast=((bcast, bcast),), multicast=((0xE0000000, 0xEFFFFFFF),))
    for addr, kind in ((mcast, "MULTICAST"), (bcast, "BROADCAST"), (local, "LOCAL"), (0x0A000001, "UNICAST")):
        st = replace(V4, daddr=(addr, addr))
        for other in ("MULTICAST", "BROADCAST", "LOCAL", "UNICAST"):
            assert condition(AddrTypeMatch("daddr", frozenset({other})), st, facts) is (other == kind), (kind, other)
    offline = replace(facts, certain=False)
    assert isinstance(condition(AddrTypeMatch("daddr", frozenset({"UNICAST"})), replace(V4, daddr=(9, 9)), offline),
                      Uncertain)
    assert condition(AddrTypeMatch("daddr", frozenset({"LOCAL"})), V4, offline) is True
    ranged = replace(V4, daddr=(local, local + 1))
    assert isinstance(condition(AddrTypeMatch("daddr", frozenset({"LOCAL"})), ranged, facts), Uncertain)


def test_packet_marks_exist_without_conntrack_connection_marks_do_not():
    assert condition(MarkMatch("meta", 0), V4, FACTS4) is True  # before the conntrack hook
    assert condition(MarkMatch("meta", 5, 0xFF), replace(V4, mark=0x105), FACTS4) is True
    assert condition(MarkMatch("ct", 0, negated=True), V4, FACTS4) is False
    assert condition(MarkMatch("ct", 0), replace(V4, ct="untracked"), FACTS4) is False
    assert condition(MarkMatch("ct", 3), replace(EST4, ctmark=3), FACTS4) is True


def test_conntrack_direction_needs_an_entry():
    assert condition(ConntrackDirectionMatch("original"), EST4, FACTS4) is True
    assert condition(ConntrackDirectionMatch("reply"), replace(EST4, ct_reply=True), FACTS4) is True
    assert condition(ConntrackDirectionMatch("reply", negated=True), V4, FACTS4) is False
    assert isinstance(condition(ConntrackDirectionMatch("reply"), replace(EST4, ct="pickup"), FACTS4), Uncertain)


def test_a_connection_to_this_host_is_a_host_unicast_packet_of_its_family():
    assert condition(PacketTypeMatch(frozenset({"host"})), V4, FACTS4) is True
    assert condition(PacketTypeMatch(frozenset({"Unicast"})), V4, FACTS4) is True
    assert condition(PacketTypeMatch(frozenset({"broadcast", "multicast"})), V4, FACTS4) is False
    assert condition(FamilyMatch(4), V4, FACTS4) is True
    assert condition(FamilyMatch(6), V4, FACTS4) is False
    assert condition(FamilyMatch(6, negated=True), V4, FACTS4) is True


def test_conntrack_states_before_conntrack_untracked_and_the_virtual_nat_states():
    assert condition(ConntrackStateMatch(frozenset({"invalid"})), V4, FACTS4) is True  # no entry yet
    assert condition(ConntrackStateMatch(frozenset({"untracked"})), replace(V4, ct="untracked"), FACTS4) is True
    assert condition(ConntrackStateMatch(frozenset({"new"})), replace(V4, ct="untracked"), FACTS4) is False
    dnat = ConntrackStateMatch(frozenset({"dnat"}))
    snat = ConntrackStateMatch(frozenset({"snat"}))
    assert condition(dnat, replace(EST4, dnat=True), FACTS4) is True
    assert condition(dnat, EST4, FACTS4) is False
    assert condition(snat, replace(EST4, snat=True), FACTS4) is True
    assert condition(snat, replace(EST4, dnat=True), FACTS4) is False
    assert isinstance(condition(ConntrackStateMatch(frozenset({"new"})), replace(EST4, ct="pickup"), FACTS4),
                      Uncertain)


def test_masked_addresses_are_a_client_region_or_a_decided_service_address():
    # `ip saddr & 0.0.0.255 == 0.0.0.5` (iptables -s 0.0.0.5/0.0.0.255): on the way in the
    # client's side is a region to cut; the service's address is known and decided at once
    client = MaskedAddressMatch("saddr", 4, 0xFF, 5)
    assert condition(client, V4, FACTS4) == Masked(0xFF, 5, 32)
    assert condition(replace(client, negated=True), V4, FACTS4) == Not(Masked(0xFF, 5, 32))
    v6 = MaskedAddressMatch("saddr", 6, (1 << 64) - 1, 0x1234)
    assert condition(v6, V6, FACTS6) == Masked((1 << 64) - 1, 0x1234, 128)
    assert condition(v6, V4, FACTS4) is False and condition(replace(v6, negated=True), V4, FACTS4) is False
    service = MaskedAddressMatch("daddr", 4, 0xFF, 1)  # the service is 198.18.0.1
    assert condition(service, V4, FACTS4) is True
    assert condition(replace(service, value=2), V4, FACTS4) is False
    assert condition(replace(service, value=2, negated=True), V4, FACTS4) is True
    # on the way back the sides swap: the reply's destination is the client
    reply = replace(EST4, reply=True)
    assert condition(service, reply, FACTS4) == Masked(0xFF, 1, 32)
    assert condition(client, reply, FACTS4) is False  # the reply comes from the service, .1
    assert condition(replace(client, value=1), reply, FACTS4) is True
    hidden = replace(reply, client_hidden=True)
    assert isinstance(condition(service, hidden, FACTS4), Uncertain)
    # a DNAT to an address range leaves the service's address to the kernel's choice
    ranged = replace(V4, daddr=(0xC6120001, 0xC6120002))
    assert isinstance(condition(service, ranged, FACTS4), Uncertain)
    assert condition(replace(service, mask=0xFF00, value=0), ranged, FACTS4) is True  # both hold
    assert condition(replace(service, mask=0xFF00, value=0x100), ranged, FACTS4) is False  # neither


def test_a_masked_client_match_cuts_exactly_the_addresses_it_names():
    from tests.engine.builders import DROP, at, base, evaluate, ipt, rule, tcp

    flt = ipt("filter", base("INPUT", "input", 0, "accept",
                             rule("INPUT", MaskedAddressMatch("saddr", 4, 0xFF, 5), *tcp(80), DROP)))
    exp = evaluate([flt], protocols=("tcp",))
    assert at(exp, 80, source="198.18.0.5").verdict == "drop"
    assert at(exp, 80, source="198.18.0.4").verdict == "accept"
    assert at(exp, 80, source="198.18.0.6").verdict == "accept"

