"""Carrying packets through chains: statements, verdicts, maps and NAT as the kernel runs them."""

from __future__ import annotations

import dataclasses
import ipaddress

from auditor.model.host import HostContext
from auditor.model.ruleset import (
    AddressMatch,
    Chain,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    EffectStatement,
    InterfaceMatch,
    MarkCopyStatement,
    MarkMatch,
    MarkStatement,
    NatMapStatement,
    NatStatement,
    NondeterministicMatch,
    NotrackStatement,
    PortMatch,
    ProtocolMatch,
    SetElementMatch,
    UnknownMatch,
    Verdict,
    VerdictMap,
)
from tests.engine.builders import (
    ACCEPT,
    DEST6,
    DROP,
    ESTABLISHED,
    HOST,
    REJECT,
    RETURN,
    at,
    base,
    evaluate,
    ipt,
    net,
    nft,
    rule,
    tcp,
    udp,
)

ALL = 0xFFFFFFFF


def r(chain: str, *parts: object):
    return rule(chain, *parts, backend="nftables", family="inet")


def filtered(*rules, policy: str = "drop"):
    return base("in", "input", 0, policy, *rules)


def test_statements_before_a_verdict_do_not_stop_the_rule():
    # `log accept`, `meta mark set 1 accept`, `ct mark set meta mark accept`, `notrack accept`
    for effect in (EffectStatement("log"), MarkStatement("meta", ALL, 1), MarkCopyStatement("ct", "meta", 0, ALL),
                   NotrackStatement()):
        exp = evaluate([nft("t", filtered(r("in", *tcp(80), effect, ACCEPT), r("in", ESTABLISHED, ACCEPT)))])
        assert at(exp, 80).verdict == "accept", effect
        assert at(exp, 81).verdict == "drop", effect


def test_mark_set_xmark_clears_then_xors():
    # -j MARK --set-xmark 0x1/0xf after 0xf0: (0xf0 & ~0xf) ^ 0x1 = 0xf1
    mangle = base("pre", "prerouting", -150, "accept",
                  r("pre", MarkStatement("meta", ALL, 0xF0)), r("pre", *udp(80), MarkStatement("meta", 0x0F, 0x01)))
    flt = filtered(r("in", MarkMatch("meta", 0xF1, ALL), ACCEPT), r("in", MarkMatch("meta", 0xF0, ALL), REJECT))
    exp = evaluate([nft("t", mangle, flt)], protocols=("udp",))
    assert at(exp, 80, "udp").verdict == "accept"
    assert at(exp, 81, "udp").verdict == "reject"


def test_connmark_restore_copies_the_connection_mark_under_masks():
    # ct mark set 0x12 on the first packet; every packet: meta mark set (mark & 0xffffff00) ^ (ct mark & 0x0f)
    mangle = base("pre", "prerouting", -150, "accept",
                  r("pre", ProtocolMatch(frozenset({6})), MarkStatement("ct", ALL, 0x12)),
                  r("pre", MarkCopyStatement("meta", "ct", 0xFFFFFF00, 0x0F)))
    flt = filtered(r("in", *tcp(80), MarkMatch("meta", 0x02, ALL), ACCEPT))
    exp = evaluate([nft("t", mangle, flt)])
    assert at(exp, 80).verdict == "accept"
    assert at(exp, 81).verdict == "drop"


def test_connmark_save_copies_the_packet_mark_into_the_connection():
    # first packet: meta mark set 7; ct mark set meta mark. The client's ACK carries no packet mark
    # but its connection does.
    mangle = base("pre", "prerouting", -150, "accept",
                  r("pre", *tcp(80), ESTABLISHED, RETURN),
                  r("pre", *tcp(80), MarkStatement("meta", ALL, 7), MarkCopyStatement("ct", "meta", 0, ALL)))
    flt = filtered(r("in", MarkMatch("ct", 7, ALL), ACCEPT))
    exp = evaluate([nft("t", mangle, flt)])
    assert at(exp, 80).verdict == "accept"
    assert at(exp, 81).verdict == "drop"
    # a packet mark is not a connection mark: without the copy only the first packet passes
    only_meta = base("pre", "prerouting", -150, "accept",
                     r("pre", *tcp(80), ConntrackStateMatch(frozenset({"new"})), MarkStatement("meta", ALL, 7)))
    flt2 = filtered(r("in", MarkMatch("meta", 7, ALL), ACCEPT))
    exp = evaluate([nft("t", only_meta, flt2)])
    assert at(exp, 80).verdict == "drop"


def test_verdicts_continue_queue_and_jumps_to_nowhere():
    chains = (filtered(r("in", *tcp(80), Verdict("continue")), r("in", *tcp(80, 81), ACCEPT),
                       r("in", *tcp(82), Verdict("queue")), r("in", *tcp(83), Verdict("jump", "missing")),
                       r("in", *tcp(84), Verdict("goto", "missing")), r("in", ESTABLISHED, ACCEPT)),)
    exp = evaluate([nft("t", *chains)])
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "accept"
    for port in (82, 83, 84):
        assert at(exp, port).verdict == "indeterminate", port
    assert at(exp, 85).verdict == "drop"


def test_jump_returns_to_the_next_rule_goto_to_the_callers_caller():
    sub = Chain("sub", (r("sub", *tcp(80), RETURN), r("sub", *tcp(81), DROP)))
    chains = (filtered(r("in", ProtocolMatch(frozenset({6})), Verdict("jump", "sub")), r("in", *tcp(80, 82), ACCEPT),
                       r("in", ESTABLISHED, ACCEPT)), sub)
    exp = evaluate([nft("t", *chains)])
    assert [at(exp, p).verdict for p in (80, 81, 82, 83)] == ["accept", "drop", "accept", "drop"]


def test_chains_that_loop_are_never_guessed():
    loop = Chain("loop", (r("loop", Verdict("jump", "loop")),))
    exp = evaluate([nft("t", filtered(r("in", *tcp(80), Verdict("jump", "loop")), r("in", ACCEPT)), loop)])
    assert at(exp, 80).verdict == "indeterminate" and at(exp, 81).verdict == "accept"
    # iptables sizes its jump stack by the number of chains: 64 nested user chains still run
    deep = tuple(Chain(f"c{i}", (rule(f"c{i}", Verdict("jump", f"c{i + 1}"), backend="iptables-legacy"),))
                 for i in range(63))
    end = Chain("c63", (rule("c63", *tcp(80), ACCEPT, backend="iptables-legacy"),))
    inp = base("INPUT", "input", 0, "drop", rule("INPUT", Verdict("jump", "c0"), backend="iptables-legacy"),
               rule("INPUT", ESTABLISHED, ACCEPT, backend="iptables-legacy"))
    exp = evaluate([ipt("filter", inp, *deep, end, backend="iptables-legacy")])
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "drop"


def test_verdict_maps_on_ports_addresses_and_unknown_interfaces():
    vm = VerdictMap(("saddr", "dport"), (((net("198.18.0.0/25"), (22, 22)), ACCEPT),
                                         ((net("198.18.0.128/25"), (22, 22)), REJECT),
                                         ((net("198.18.0.0/24"), (23, 23)), Verdict("jump", "sub"))))
    sub = Chain("sub", (r("sub", DROP),))
    exp = evaluate([nft("t", filtered(r("in", ProtocolMatch(frozenset({6})), vm), r("in", *tcp(22, 23, 24), ACCEPT),
                                      r("in", ESTABLISHED, ACCEPT)), sub)])
    assert at(exp, 22, source="198.18.0.5").verdict == "accept"
    assert at(exp, 22, source="198.18.0.200").verdict == "reject"
    assert at(exp, 23, source="198.18.0.5").verdict == "drop"
    assert at(exp, 24, source="198.18.0.5").verdict == "accept"  # a miss continues
    unknown = VerdictMap(("oif",), ((("eth0",), DROP),))
    exp = evaluate([nft("t", base("out", "output", 0, "accept", r("out", unknown)))], sources=("203.0.113.0/24",),
                   host=_no_routes())
    assert at(exp, 80).verdict == "indeterminate"


def _no_routes():
    return HostContext(HOST.interfaces, HOST.routes[:4], forwarding_v4=True, forwarding_v6=False)


def test_dnat_maps_translate_per_key_and_a_miss_leaves_the_packet_alone():
    nmap = NatMapStatement("dnat", ("dport",), ((((80, 80),), net("198.19.5.2/32"), (8080, 8080)),
                                                 (((81, 81),), None, (22, 22))), 4)
    nat = base("pre", "prerouting", -100, "accept", r("pre", ProtocolMatch(frozenset({6})), nmap),
               r("pre", *tcp(82), NatStatement("redirect", ports=(22, 22))), type_="nat")
    fwd = base("fwd", "forward", 0, "drop", r("fwd", ESTABLISHED, ACCEPT), r("fwd", *tcp(8080), ACCEPT))
    flt = filtered(r("in", *tcp(22, 83), ACCEPT), r("in", ESTABLISHED, ACCEPT))
    exp = evaluate([nft("t", nat, fwd, flt)])
    e = at(exp, 80)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "forward", ("198.19.5.2", 8080))
    e = at(exp, 81)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "input", ("198.18.0.1", 22))
    assert at(exp, 82).translated_to == ("198.18.0.1", 22)  # the miss fell through to the next rule
    assert at(exp, 83).verdict == "accept" and at(exp, 83).translated_to is None
    assert at(exp, 84).verdict == "drop"


def test_a_dnat_map_keyed_on_the_client_splits_clients():
    nmap = NatMapStatement("dnat", ("saddr",), (((net("198.18.0.0/25"),), None, (22, 22)),), 4)
    nat = base("pre", "prerouting", -100, "accept", r("pre", *tcp(80), nmap), type_="nat")
    flt = filtered(r("in", *tcp(22), ACCEPT), r("in", ESTABLISHED, ACCEPT))
    exp = evaluate([nft("t", nat, flt)])
    assert at(exp, 80, source="198.18.0.5").verdict == "accept"
    assert at(exp, 80, source="198.18.0.200").verdict == "drop"


def test_nat_outside_a_nat_chain_and_snat_in_postrouting():
    exp = evaluate([nft("t", filtered(r("in", *tcp(80), NatStatement("dnat", net("198.19.5.9/32"), 4)),
                                      r("in", ACCEPT)))])
    assert at(exp, 80).verdict == "indeterminate" and at(exp, 81).verdict == "accept"
    post = base("post", "postrouting", 100, "accept", r("post", NatStatement("masquerade")), type_="nat")
    exp = evaluate([nft("t", post, filtered(r("in", *tcp(80), ACCEPT), r("in", ESTABLISHED, ACCEPT)))])
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "drop"


def test_many_regions_are_merged_without_losing_any_point():
    # a set of (client, port) pairs cuts the input into many regions; later rules must still see
    # every client and port exactly once
    pairs = tuple((net(f"198.18.0.{16 * i}/28"), (1000 + i, 1000 + i)) for i in range(8))
    s = SetElementMatch("pairs", ("saddr", "dport"), pairs, 4)
    chains = filtered(r("in", ProtocolMatch(frozenset({6})), s, DROP),
                      r("in", InterfaceMatch("iif", ("eth0",)), *tcp(*range(1000, 1010)), ACCEPT),
                      r("in", ESTABLISHED, ACCEPT))
    exp = evaluate([nft("t", chains)])
    for i in range(8):
        assert at(exp, 1000 + i, source=f"198.18.0.{16 * i + 3}").verdict == "drop"
        assert at(exp, 1000 + i, source=f"198.18.0.{(16 * i + 19) % 256}").verdict == "accept"
    assert at(exp, 1008, source="198.18.0.3").verdict == "accept"
    assert at(exp, 1010, source="198.18.0.3").verdict == "drop"


def test_nat_chains_see_only_a_connections_first_packet():
    # a rule in a nat chain can never drop the client's later packets: they skip the nat chains
    nat = base("pre", "prerouting", -100, "accept", r("pre", ESTABLISHED, DROP), type_="nat")
    exp = evaluate([nft("t", nat, filtered(r("in", *tcp(80), ACCEPT)))])
    assert at(exp, 80).verdict == "accept"


def test_source_nat_in_the_input_hook_marks_the_connection():
    nat = base("nin", "input", 100, "accept", r("nin", *tcp(80), NatStatement("snat", net("198.18.0.1/32"), 4)),
               type_="nat")
    flt = base("in", "input", 200, "drop", r("in", ConntrackStatusMatch(frozenset({"snat"})), ACCEPT))
    exp = evaluate([nft("t", nat, flt)], protocols=("tcp",))
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "drop"


def test_replies_of_a_redirected_connection_are_restored_at_the_nat_slot_of_postrouting():
    # before +100 the reply still comes from port 8080; after it, from the port the client chose
    nat = base("pre", "prerouting", -100, "accept", r("pre", *tcp(80), NatStatement("redirect", ports=(8080, 8080))),
               type_="nat")
    early = base("early", "postrouting", 0, "drop", r("early", PortMatch("sport", ((8080, 8080),)), ACCEPT))
    late = base("late", "postrouting", 200, "drop", r("late", PortMatch("sport", ((80, 80),)), ACCEPT),
                r("late", ProtocolMatch(frozenset({6})), AddressMatch("saddr", 4, (net("198.18.0.1/32"),)),
                  PortMatch("sport", ((81, 81),)), ACCEPT))
    exp = evaluate([nft("t", nat, early, late, filtered(r("in", *tcp(8080), ACCEPT), r("in", ESTABLISHED, ACCEPT)))],
                   protocols=("tcp",))
    assert at(exp, 80).verdict == "accept"
    assert at(exp, 81).verdict == "drop"  # not redirected: port 81 is closed


def test_redirect_goes_to_the_primary_address_of_the_arrival_interface():
    nat = base("pre", "prerouting", -100, "accept", r("pre", *tcp(80), NatStatement("redirect", ports=(8080, 8080))),
               type_="nat")
    flt = filtered(r("in", AddressMatch("daddr", 4, (net("198.18.9.1/32"),)), *tcp(8080), ACCEPT),
                   r("in", ESTABLISHED, ACCEPT))
    exp = evaluate([nft("t", nat, flt)], iif="eth1", sources=("198.18.9.0/24",))
    e = at(exp, 80)
    assert (e.verdict, e.translated_to) == ("accept", ("198.18.9.1", 8080))


def test_redirect_on_an_interface_without_an_address_of_the_family_drops():
    # nf_nat_redirect_ipv6 returns NF_DROP (measured for IPv4: a redirect arriving on a veth
    # with no IPv4 address was never answered); offline the declared addresses may be partial
    nat = base("pre", "prerouting", -100, "accept", r("pre", *tcp(80), NatStatement("redirect", ports=(8080, 8080))),
               type_="nat")
    flt = filtered(r("in", *tcp(80, 8080), ACCEPT), r("in", ESTABLISHED, ACCEPT))
    query = dict(iif="eth1", sources=("fd00:9::/64",), dest=DEST6)
    e = at(evaluate([nft("t", nat, flt)], **query), 80)
    assert (e.verdict, e.reason) == ("drop", "redirect: eth1 has no IPv6 address to redirect to")
    assert e.decided_by == (nat.rules[0].origin,)
    offline = dataclasses.replace(HOST, complete=False)
    e = at(evaluate([nft("t", nat, flt)], host=offline, **query), 80)
    assert (e.verdict, e.reason) == ("indeterminate", "redirect: no IPv6 address of eth1 declared (--interface)")
    assert at(evaluate([nft("t", nat, flt)], **query), 81).verdict == "drop"  # not redirected: the policy


def test_nat_of_the_other_family_does_nothing_and_the_rule_goes_on():
    # nft_nat_inet_eval: `dnat ip6 to …` / `snat ip6 to …` leave an IPv4 packet alone and the
    # chain goes on to its next rule (held against the kernel in test_oracle_regressions)
    nat = base("pre", "prerouting", -100, "accept",
               r("pre", *tcp(80, 81), NatStatement("dnat", (1, 1), 6, (22, 22))),
               r("pre", *tcp(81), NatStatement("dnat", None, None, (22, 22))), type_="nat")
    nin = base("nin", "input", 100, "accept",
               r("nin", NatStatement("snat", (1, 1), 6)), r("nin", *tcp(80), DROP), type_="nat")
    flt = filtered(r("in", *tcp(22, 80), ACCEPT), r("in", ESTABLISHED, ACCEPT))
    exp = evaluate([nft("t", nat, flt)])
    assert at(exp, 80).verdict == "accept" and at(exp, 80).translated_to is None
    assert at(exp, 81).verdict == "accept" and at(exp, 81).translated_to == ("198.18.0.1", 22)
    exp = evaluate([nft("t", nat, nin, flt)], protocols=("tcp",))
    assert at(exp, 80).verdict == "drop"  # the snat ip6 rule did not end the input nat chain


def test_nat_leaves_a_destination_already_inside_its_ranges_alone():
    # get_unique_tuple maps only a tuple not already in range (held against the kernel in
    # test_oracle_regressions): port 8050 stays under `dnat to :8000-8100`, 7000 is moved; an
    # address range is chosen from by a hash even when it holds the destination, so whether the
    # connection is NATed depends on the client (test_oracle_regressions holds this too)
    flt = filtered(r("in", ConntrackStatusMatch(frozenset({"dnat"})), DROP), r("in", ProtocolMatch(frozenset({6})),
                                                                                ACCEPT),
                   r("in", ESTABLISHED, ACCEPT))
    ports = base("pre", "prerouting", -100, "accept",
                 r("pre", *tcp(8050, 7000), NatStatement("dnat", None, None, (8000, 8100))), type_="nat")
    exp = evaluate([nft("t", ports, flt)], protocols=("tcp",))
    assert at(exp, 8050).verdict == "accept" and at(exp, 8050).translated_to is None
    assert at(exp, 7000).verdict == "drop"
    dest = int(ipaddress.ip_address("198.18.0.1"))
    addresses = base("pre", "prerouting", -100, "accept",
                     r("pre", *tcp(80), NatStatement("dnat", (dest - 1, dest + 1), 4)),
                     r("pre", *tcp(81), NatStatement("dnat", (dest + 1, dest + 2), 4)), type_="nat")
    exp = evaluate([nft("t", addresses, flt)], protocols=("tcp",))
    for port in (80, 81):
        assert at(exp, port).verdict == "indeterminate" and "address range" in at(exp, port).reason
    single = base("pre", "prerouting", -100, "accept",
                  r("pre", *tcp(80), NatStatement("dnat", (dest, dest), 4)), type_="nat")
    exp = evaluate([nft("t", single, flt)], protocols=("tcp",))
    assert at(exp, 80).verdict == "accept" and at(exp, 80).translated_to is None  # onto itself: no NAT


def test_a_port_only_dnat_of_the_port_range_changes_only_the_other_ports():
    nat = base("pre", "prerouting", -100, "accept",
               r("pre", ProtocolMatch(frozenset({6})), PortMatch("dport", ((80, 81),)),
                 NatStatement("dnat", None, None, (80, 80))), type_="nat")
    flt = filtered(r("in", ConntrackStatusMatch(frozenset({"dnat"})), DROP), r("in", *tcp(80), ACCEPT),
                   r("in", ESTABLISHED, ACCEPT))
    exp = evaluate([nft("t", nat, flt)])
    assert at(exp, 80).verdict == "accept" and at(exp, 80).translated_to is None  # mapped onto itself
    assert at(exp, 81).verdict == "drop" and at(exp, 81).translated_to == ("198.18.0.1", 80)


def test_the_answer_to_an_unroutable_packet_is_invalid_to_the_rules():
    nat = base("pre", "prerouting", -100, "accept",
               r("pre", *tcp(8080), NatStatement("dnat", net("198.18.200.2/32"), 4, (80, 80))), type_="nat")
    out = base("out", "output", 0, "drop", r("out", ConntrackStateMatch(frozenset({"related"})), ACCEPT))
    no_default = HostContext(HOST.interfaces, HOST.routes[:4], forwarding_v4=True)
    exp = evaluate([nft("t", nat, out)], host=no_default, protocols=("tcp",))
    assert at(exp, 8080).verdict == "drop"
    out = base("out", "output", 0, "drop", r("out", ConntrackStateMatch(frozenset({"invalid"})), ACCEPT))
    exp = evaluate([nft("t", nat, out)], host=no_default, protocols=("tcp",))
    assert at(exp, 8080).verdict == "reject"


def test_a_rule_holds_only_where_all_its_matches_hold():
    # after a match decided for all (a rate limit's first client, the protocol) or an unknown one,
    # the remaining matches still narrow the rule
    limit = NondeterministicMatch("limit", "limit rate 5/second", first_client=True)
    unknown = UnknownMatch("-m foo")
    exp = evaluate([nft("t", filtered(r("in", limit, *tcp(22), ACCEPT), r("in", unknown, *tcp(23), ACCEPT),
                                      r("in", ESTABLISHED, ACCEPT)))])
    assert at(exp, 22).verdict == "accept" and at(exp, 23).verdict == "indeterminate"
    assert at(exp, 24).verdict == "drop"


def test_sets_of_addresses_ports_and_pairs_split_exactly():
    a, b = net("198.18.0.0/28"), net("198.18.0.64/28")
    addrs = SetElementMatch("a", ("saddr",), ((a,), (b,)), 4)
    pairs = SetElementMatch("p", ("saddr", "dport"), ((a, (22, 22)), (b, (22, 22)), (a, (80, 80))), 4)
    ports = SetElementMatch("d", ("dport",), (((443, 443),), ((8443, 8443),)), 4)
    exp = evaluate([nft("t", filtered(r("in", ProtocolMatch(frozenset({6})), addrs, PortMatch("dport", ((25, 25),)),
                                        ACCEPT),
                                      r("in", ProtocolMatch(frozenset({6})), pairs, ACCEPT),
                                      r("in", ProtocolMatch(frozenset({6})), ports, ACCEPT),
                                      r("in", ESTABLISHED, ACCEPT)))])
    for port, source, verdict in ((25, "198.18.0.3", "accept"), (25, "198.18.0.67", "accept"),
                                  (25, "198.18.0.20", "drop"), (22, "198.18.0.3", "accept"),
                                  (22, "198.18.0.67", "accept"), (80, "198.18.0.3", "accept"),
                                  (80, "198.18.0.67", "drop"), (443, "198.18.0.200", "accept"),
                                  (8443, "198.18.0.200", "accept"), (444, "198.18.0.200", "drop")):
        assert at(exp, port, source=source).verdict == verdict, (port, source)


def _on(hook: str, device: str, *rules, family: str = "netdev") -> Chain:
    return Chain(f"{hook}-{device}", tuple(rules), hook=hook, priority=0, policy="accept", device=device)


def test_ingress_chains_see_only_packets_arriving_on_their_device():
    drop80 = (r("x", *tcp(80), DROP),)
    for family in ("netdev", "inet"):
        here = nft("d", _on("ingress", "eth0", *drop80), family=family)
        elsewhere = nft("e", _on("ingress", "eth1", r("x", *tcp(81), DROP)), family=family)
        exp = evaluate([here, elsewhere, nft("t", filtered(r("in", ACCEPT)))])
        assert at(exp, 80).verdict == "drop" and at(exp, 81).verdict == "accept", family


def test_egress_chains_see_replies_leaving_by_their_device():
    # replies to 198.18.0.0/24 leave by eth0 (its route); a chain on eth1's egress never sees them
    here = nft("d", _on("egress", "eth0", r("x", PortMatch("sport", ((80, 80),)), DROP)), family="netdev")
    elsewhere = nft("e", _on("egress", "eth1", r("x", PortMatch("sport", ((81, 81),)), DROP)), family="netdev")
    exp = evaluate([here, elsewhere, nft("t", filtered(r("in", ACCEPT)))], protocols=("udp",))
    client = "198.18.0.7"
    assert at(exp, 80, "udp", client).verdict == "drop" and at(exp, 81, "udp", client).verdict == "accept"


def test_merged_regions_keep_their_rules_legs_path_and_assumptions() -> None:
    """A set that cuts the clients into many pieces must not lose, for any of them, the rules that
    let earlier packets through, the forwarded path or the assumptions made on the way."""
    limit = NondeterministicMatch("limit", "limit rate 5/second", first_client=True)
    early = r("pre", limit, ACCEPT)
    pre = base("pre", "prerouting", 0, "accept", early)
    send = r("nat", ProtocolMatch(frozenset({6})), NatStatement("dnat", net("198.19.5.2/32"), 4))
    nat = base("nat", "prerouting", -100, "accept", send, type_="nat")
    pairs = tuple((net(f"198.18.0.{16 * i}/28"), (1000 + i, 1000 + i)) for i in range(8))
    let = r("fwd", ACCEPT)
    fwd = base("fwd", "forward", 0, "drop",
               r("fwd", ProtocolMatch(frozenset({6})), SetElementMatch("pairs", ("saddr", "dport"), pairs, 4), DROP), let)
    exp = evaluate([nft("t", pre, nat, fwd)], protocols=("tcp",))
    e = at(exp, 1000, source="198.18.0.200")
    assert (e.verdict, e.path) == ("accept", "forward")
    assert [leg.name for leg in e.legs] == ["request", "reply", "client", "reply-data"]
    assert e.admitted_by == (send.origin, early.origin, let.origin)
    assert "assuming one new client, within 'limit rate 5/second'" in (e.reason or "")
    assert at(exp, 1000, source="198.18.0.3").verdict == "drop"


def test_a_set_match_and_a_later_match_hold_together_for_every_element() -> None:
    """``ip saddr . tcp dport @pairs tcp dport 1-1000 accept``: every pair within the port range
    is accepted, not only the last one the set lookup produced."""
    a, b = net("198.18.0.0/28"), net("198.18.0.64/28")
    pairs = SetElementMatch("p", ("saddr", "dport"), ((a, (22, 22)), (b, (80, 80))), 4)
    exp = evaluate([nft("t", filtered(r("in", ProtocolMatch(frozenset({6})), pairs, PortMatch("dport", ((1, 1000),)),
                                        ACCEPT), r("in", ESTABLISHED, ACCEPT)))], protocols=("tcp",))
    assert at(exp, 22, source="198.18.0.3").verdict == "accept"
    assert at(exp, 80, source="198.18.0.67").verdict == "accept"
    assert at(exp, 80, source="198.18.0.3").verdict == "drop"


def test_a_set_of_pairs_with_one_client_range_on_several_ports_matches_each_port() -> None:
    """``{ 198.18.0.0/28 . 22, 198.18.0.0/28 . 80 }`` matches that client range on both ports."""
    a = net("198.18.0.0/28")
    pairs = SetElementMatch("p", ("saddr", "dport"), ((a, (22, 22)), (a, (80, 80))), 4)
    exp = evaluate([nft("t", filtered(r("in", ProtocolMatch(frozenset({6})), pairs, ACCEPT),
                                      r("in", ESTABLISHED, ACCEPT)))], protocols=("tcp",))
    assert at(exp, 22, source="198.18.0.3").verdict == "accept"
    assert at(exp, 80, source="198.18.0.3").verdict == "accept"
    assert at(exp, 80, source="198.18.0.67").verdict == "drop"


def test_an_undecidable_match_before_continue_changes_nothing() -> None:
    """A rule whose only verdict is ``continue`` leaves every packet's fate to the next rules,
    whether its matches hold or not."""
    unknown = UnknownMatch("-m foo")
    exp = evaluate([nft("t", filtered(r("in", unknown, Verdict("continue")), r("in", *tcp(80), ACCEPT),
                                      r("in", ESTABLISHED, ACCEPT)))], protocols=("tcp",))
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "drop"


def test_an_assumption_made_twice_is_stated_once() -> None:
    """Two rules with the same rate limit make one assumption, stated once in the reason."""
    limit = NondeterministicMatch("limit", "limit rate 5/second", first_client=True)
    exp = evaluate([nft("t", filtered(r("in", limit, EffectStatement("log")), r("in", limit, *tcp(80), ACCEPT),
                                      r("in", ESTABLISHED, ACCEPT)))], protocols=("tcp",))
    e = at(exp, 80)
    assert e.verdict == "accept" and (e.reason or "").count("assuming one new client") == 1


def test_an_ip6_verdict_map_does_not_apply_to_ipv4_packets() -> None:
    """``ip6 saddr vmap { ::/0 : drop }`` in an inet table carries an implicit ``meta nfproto
    ipv6``: IPv4 packets go on to the next rule."""
    every_ip6 = VerdictMap(("saddr",), ((((0, (1 << 128) - 1),), DROP),), 6)
    exp = evaluate([nft("t", filtered(r("in", every_ip6), r("in", *tcp(80), ACCEPT), r("in", ESTABLISHED, ACCEPT)))],
                   protocols=("tcp",))
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "drop"
