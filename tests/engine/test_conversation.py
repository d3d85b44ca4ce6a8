"""Whole conversations on hand-built models: a port is reachable only if every packet gets
through. Each case here is also held against the kernel in test_oracle_regressions.py."""

from __future__ import annotations

from auditor.model.host import HostContext
from auditor.model.ruleset import (
    AddressMatch,
    Chain,
    ConntrackDirectionMatch,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    IcmpTypeMatch,
    InterfaceMatch,
    MarkMatch,
    MarkStatement,
    NatStatement,
    NondeterministicMatch,
    NotrackStatement,
    PayloadMatch,
    PortMatch,
    ProtocolMatch,
    TcpFlagsMatch,
    Verdict,
)
from tests.engine.builders import (
    ACCEPT,
    DEST6,
    DROP,
    ESTABLISHED,
    HOST,
    REJECT,
    RESET,
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

SYN_ACK_ONLY = TcpFlagsMatch(0x12, 0x12)


def cis_host(*output_rules, output_policy="drop"):
    return [ipt("filter",
                base("INPUT", "input", 0, "drop", rule("INPUT", *tcp(80), ACCEPT), rule("INPUT", *udp(53), ACCEPT)),
                base("OUTPUT", "output", 0, output_policy, *output_rules))]


def test_replies_dropped_in_output_make_the_port_unreachable():
    exp = evaluate(cis_host())
    for proto, port in (("tcp", 80), ("udp", 53)):
        e = at(exp, port, proto)
        assert e.verdict == "drop", e
        assert e.failed_leg is not None and e.failed_leg.name == "reply"
        assert [o.text for o in e.decided_by] == [":OUTPUT DROP"]
        assert "OUTPUT policy drop" in (e.reason or "")
    assert at(exp, 22).verdict == "drop" and at(exp, 22).failed_leg.name == "request"


def test_an_established_rule_in_output_completes_the_conversation_and_is_named():
    out = rule("OUTPUT", ESTABLISHED, ACCEPT, text="-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")
    exp = evaluate(cis_host(out))
    e = at(exp, 80)
    assert e.verdict == "accept"
    assert [leg.name for leg in e.legs] == ["request", "reply", "client", "reply-data"]
    assert [leg.name for leg in at(exp, 53, "udp").legs] == ["request", "reply"]
    assert out.origin in e.decided_by and e.admitted_by == (e.legs[0].decided_by)
    assert e.admitted_by[0].text != out.origin.text


def test_new_only_accept_never_completes_the_handshake():
    new = ConntrackStateMatch(frozenset({"new"}))
    exp = evaluate([ipt("filter", base("INPUT", "input", 0, "drop",
                                        rule("INPUT", *tcp(80), new, ACCEPT), rule("INPUT", *udp(53), new, ACCEPT)))])
    e = at(exp, 80)
    assert e.verdict == "drop" and e.failed_leg.name == "client"
    assert "the client's ACK is dropped" in e.reason
    assert at(exp, 53, "udp").verdict == "accept"  # a UDP exchange is the datagram and its reply


def test_syn_only_accept_needs_an_established_rule():
    syn = TcpFlagsMatch(0x17, 0x02)
    exp = evaluate([ipt("filter", base("INPUT", "input", 0, "drop",
                                        rule("INPUT", *tcp(22), syn, ACCEPT),
                                        rule("INPUT", *tcp(80), syn, ACCEPT),
                                        rule("INPUT", *tcp(80), ConntrackStateMatch(frozenset({"established"})), ACCEPT)))])
    assert at(exp, 22).verdict == "drop" and at(exp, 80).verdict == "accept"


def test_an_established_reject_refuses_the_connection():
    r = rule("in", ProtocolMatch(frozenset({6})), ESTABLISHED, REJECT, backend="nftables", family="inet")
    exp = evaluate([nft("a", base("in", "input", 0, "accept", r))])
    e = at(exp, 80)
    assert e.verdict == "reject" and e.failed_leg.name == "client" and e.decided_by == (r.origin,)
    assert at(exp, 53, "udp").verdict == "accept"


def test_a_reject_whose_answer_cannot_leave_looks_like_a_drop():
    def host(*output):
        return [ipt("filter",
                    base("INPUT", "input", 0, "accept", rule("INPUT", *tcp(22), RESET), rule("INPUT", *udp(53), REJECT)),
                    base("OUTPUT", "output", 0, "drop", *output))]

    only_established = evaluate(host(rule("OUTPUT", ConntrackStateMatch(frozenset({"established"})), ACCEPT)))
    e = at(only_established, 22)
    assert e.verdict == "drop" and "reject's answer (tcp reset)" in e.reason
    assert [leg.name for leg in e.legs] == ["request", "reject-answer"]
    related = evaluate(host(rule("OUTPUT", ConntrackStateMatch(frozenset({"related"})), ACCEPT)))
    assert at(related, 22).verdict == "reject" and at(related, 53, "udp").verdict == "reject"
    icmp_only = evaluate(host(rule("OUTPUT", ProtocolMatch(frozenset({1})), ACCEPT)))
    assert at(icmp_only, 22).verdict == "drop"  # a TCP reset is not ICMP
    assert at(icmp_only, 53, "udp").verdict == "reject"  # the port-unreachable is


def test_source_port_and_flags_rules_in_output():
    sport22 = rule("OUTPUT", ProtocolMatch(frozenset({6})), PortMatch("sport", ((22, 22),)), ACCEPT)
    synack = rule("OUTPUT", ProtocolMatch(frozenset({6})), SYN_ACK_ONLY, ACCEPT)
    exp = evaluate([ipt("filter", base("OUTPUT", "output", 0, "drop", sport22, synack))])
    assert at(exp, 22).verdict == "accept" and at(exp, 80).verdict == "drop"
    assert at(exp, 80).failed_leg.name == "reply-data"  # the SYN-ACK got out, the greeting did not
    # the client's own source port is the reply's destination port: not decidable
    dport = rule("OUTPUT", ProtocolMatch(frozenset({6})), PortMatch("dport", ((1024, 65535),)), ACCEPT)
    exp = evaluate([ipt("filter", base("OUTPUT", "output", 0, "drop", dport))])
    assert at(exp, 80).verdict == "indeterminate" and "source port" in at(exp, 80).reason


def test_replies_leave_by_the_route_to_the_client():
    out = base("OUTPUT", "output", 0, "drop", rule("OUTPUT", InterfaceMatch("oif", ("eth1",)), ACCEPT))
    exp = evaluate([ipt("filter", out)], sources=("198.18.0.0/24", "203.0.113.0/24"))
    assert at(exp, 80, source="198.18.0.7").verdict == "drop"  # answered through eth0
    assert at(exp, 80, source="203.0.113.7").verdict == "accept"  # default route via eth1


def test_output_interface_without_a_route_is_unknown_except_loopback():
    no_routes = HostContext(HOST.interfaces, (), forwarding_v4=False)
    lo_only = base("OUTPUT", "output", 0, "drop", rule("OUTPUT", InterfaceMatch("oif", ("lo",)), ACCEPT))
    assert at(evaluate([ipt("filter", lo_only)], host=no_routes), 80, source="198.18.0.7").verdict == "drop"
    eth0 = base("OUTPUT", "output", 0, "drop", rule("OUTPUT", InterfaceMatch("oif", ("eth0",)), ACCEPT))
    e = at(evaluate([ipt("filter", eth0)], host=no_routes), 80, source="198.18.0.7")
    assert e.verdict == "indeterminate" and "output interface is unknown" in e.reason


def test_offline_clients_beyond_the_declared_subnets_are_answered_through_the_arrival_interface():
    offline = HostContext(HOST.interfaces[:2], HOST.routes[:2], complete=False)
    eth0 = base("OUTPUT", "output", 0, "drop", rule("OUTPUT", InterfaceMatch("oif", ("eth0",)), ACCEPT))
    assert at(evaluate([ipt("filter", eth0)], host=offline, sources=("203.0.113.0/24",)), 80).verdict == "accept"


def test_a_redirect_onto_itself_is_no_dnat():
    """OpenWrt fw4: ``redirect to :26`` for a packet already to 26, then ``ct status dnat accept``."""
    pre = base("pre", "prerouting", -100, "accept",
               rule("pre", *tcp(25, 26), NatStatement("redirect", ports=(26, 26)), backend="nftables", family="inet"),
               type_="nat")
    inp = base("in", "input", 0, "drop",
               rule("in", ConntrackStatusMatch(frozenset({"dnat"})), ACCEPT, backend="nftables", family="inet"))
    exp = evaluate([nft("fw4", pre, inp)])
    assert at(exp, 25).verdict == "accept" and at(exp, 25).translated_to == ("198.18.0.1", 26)
    assert at(exp, 26).verdict == "drop" and at(exp, 26).translated_to is None


def test_a_connection_mark_set_on_the_first_packet_stays_with_the_connection():
    mangle = base("pre", "prerouting", -150, "accept",
                  rule("pre", ConntrackStateMatch(frozenset({"new"})), *tcp(80), MarkStatement("ct", 0xFFFFFFFF, 1),
                       backend="nftables", family="inet"))
    inp = base("in", "input", 0, "drop", rule("in", MarkMatch("ct", 1), ACCEPT, backend="nftables", family="inet"))
    exp = evaluate([nft("t", mangle, inp)])
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "drop"


def test_a_first_client_is_within_any_positive_rate_limit_and_the_reason_says_so():
    limit = NondeterministicMatch("limit", "-m limit --limit 3/min", first_client=True)
    over = NondeterministicMatch("limit", "limit rate over 10/second", first_client=False)
    inp = base("INPUT", "input", 0, "drop", rule("INPUT", *tcp(80), over, DROP), rule("INPUT", *tcp(80, 22), limit, ACCEPT))
    exp = evaluate([ipt("filter", inp)])
    assert at(exp, 22).verdict == "accept" and "assuming one new client" in at(exp, 22).reason
    assert at(exp, 80).verdict == "accept"
    history = NondeterministicMatch("recent", "-m recent --rcheck", first_client=None)
    exp = evaluate([ipt("filter", base("INPUT", "input", 0, "drop", rule("INPUT", *tcp(22), history, ACCEPT)))])
    assert at(exp, 22).verdict == "indeterminate"


def test_ipv6_conversations_follow_the_same_rules():
    out = base("OUTPUT", "output", 0, "drop")
    inp = base("INPUT", "input", 0, "drop", rule("INPUT", *tcp(80), ACCEPT, family="ip6"))
    exp = evaluate([ipt("filter", inp, out, family="ip6")], sources=("fd00::/64",), dest=DEST6)
    assert at(exp, 80).verdict == "drop" and at(exp, 80).failed_leg.name == "reply"


# -- base chains at equal priority ---------------------------------------------------------------


def _two_tables(first_handle: int, second_handle: int):
    a = nft("a", base("in", "input", 0, "accept", rule("in", *tcp(80), DROP, backend="nftables", family="inet")),
            handle=first_handle)
    b = ipt("filter", base("INPUT", "input", 0, "accept", rule("INPUT", *tcp(80), REJECT)), handle=second_handle)
    return [a, b]


def test_at_equal_priority_the_chain_registered_last_runs_first():
    assert at(evaluate(_two_tables(1, 2)), 80).verdict == "reject"  # ip filter created after inet a
    assert at(evaluate(_two_tables(2, 1)), 80).verdict == "drop"


def test_legacy_beside_nf_tables_at_equal_priority_is_decided_only_where_orders_agree():
    legacy = ipt("filter", base("INPUT", "input", 0, "accept", rule("INPUT", *tcp(80), REJECT, backend="iptables-legacy"),
                                rule("INPUT", *tcp(443), DROP, backend="iptables-legacy")), backend="iptables-legacy")
    native = nft("a", base("in", "input", 0, "accept", rule("in", *tcp(80, 443), DROP, backend="nftables", family="inet")),
                 handle=5)
    exp = evaluate([legacy, native])
    e = at(exp, 80)
    assert e.verdict == "indeterminate" and "iptables-legacy ip filter INPUT" in e.reason
    assert "one order gives" in e.reason
    assert at(exp, 443).verdict == "drop"  # both orders drop
    assert at(exp, 22).verdict == "accept"


def test_a_chain_at_exactly_conntracks_priority_may_run_before_or_after_it():
    # measured: loaded after conntrack was registered, a chain at -200 runs first (ct state
    # invalid for every packet); loaded with or before it, after. The place is never known.
    invalid = ConntrackStateMatch(frozenset({"invalid"}))

    def pre(priority: int) -> list:
        chain = base("p", "prerouting", priority, "accept",
                     rule("p", invalid, *tcp(80), DROP, backend="nftables", family="inet"))
        flt = base("in", "input", 0, "accept", rule("in", *tcp(443), DROP, backend="nftables", family="inet"))
        return [nft("t", chain, flt)]

    e = at(evaluate(pre(-200)), 80)
    assert e.verdict == "indeterminate"
    assert "nftables inet t p and conntrack (hook prerouting, priority -200)" in e.reason
    assert "conntrack's priority -200" in e.reason and "one order gives" in e.reason
    assert at(evaluate(pre(-200)), 22).verdict == "accept"  # no order drops it
    assert at(evaluate(pre(-200)), 443).verdict == "drop"
    assert at(evaluate(pre(-201)), 80).verdict == "drop"  # before conntrack: invalid
    assert at(evaluate(pre(-199)), 80).verdict == "accept"  # after it: new


def test_a_filter_chain_at_exactly_the_nat_cores_priority_may_run_before_or_after_it():
    # the nat core registers with a family's first nat user, which no ruleset shows
    def tables(priority: int, nat: bool = True) -> list:
        flt = base("f", "prerouting", priority, "accept", rule("f", *tcp(8080), DROP, backend="nftables", family="inet"))
        dnat = base("n", "prerouting", -100, "accept",
                    rule("n", *tcp(80), NatStatement("dnat", None, None, (8080, 8080)), backend="nftables",
                         family="inet"), type_="nat")
        return [nft("t", flt, *([dnat] if nat else []))]

    e = at(evaluate(tables(-100)), 80)
    assert e.verdict == "indeterminate"
    assert "nftables inet t f and the nat core (hook prerouting, priority -100)" in e.reason
    assert "the nat core's priority, run before or after it by registration order" in e.reason
    assert at(evaluate(tables(-100)), 8080).verdict == "drop"  # in every order
    assert at(evaluate(tables(-100)), 81).verdict == "accept"
    assert at(evaluate(tables(-99)), 80).verdict == "drop"  # after the core: sees 8080
    assert at(evaluate(tables(-101)), 80).verdict == "accept"  # before it: sees 80
    assert at(evaluate(tables(-100, nat=False)), 80).verdict == "accept"  # no nat, no core to place


def test_with_two_unknown_orders_the_reason_names_what_the_orders_themselves_give():
    # 4 orders: the filter tie decides (reject or drop), the mangle tie changes nothing; the
    # reason must list the orders' own verdicts, never a merge's "indeterminate"
    legacy = [ipt("filter", base("INPUT", "input", 0, "accept",
                                 rule("INPUT", *tcp(80), REJECT, backend="iptables-legacy")), backend="iptables-legacy"),
              ipt("mangle", base("INPUT", "input", -150, "accept",
                                 rule("INPUT", *tcp(9), ACCEPT, backend="iptables-legacy", table="mangle")),
                  backend="iptables-legacy")]
    native = nft("a", base("in", "input", 0, "accept", rule("in", *tcp(80), DROP, backend="nftables", family="inet")),
                 base("m", "input", -150, "accept", rule("m", *tcp(10), ACCEPT, backend="nftables", family="inet")),
                 handle=5)
    e = at(evaluate([*legacy, native], protocols=("tcp",)), 80)
    assert e.verdict == "indeterminate"
    assert e.reason.endswith("one order gives reject, another drop"), e.reason


def test_an_empty_legacy_table_does_not_make_the_order_unknown():
    legacy = ipt("filter", base("INPUT", "input", 0, "accept"), backend="iptables-legacy")
    native = nft("a", base("in", "input", 0, "accept", rule("in", *tcp(80), DROP, backend="nftables", family="inet")))
    assert at(evaluate([legacy, native]), 80).verdict == "drop"


def test_ipv6_equal_priority_inet_and_ip6():
    inet = nft("a", base("in", "input", 0, "drop"), handle=1)
    ip6 = nft("b", base("in", "input", 0, "accept", rule("in", *tcp(80), REJECT, backend="nftables", family="ip6")),
              family="ip6", handle=2)
    assert at(evaluate([inet, ip6], sources=("fd00::/64",), dest=DEST6), 80).verdict == "reject"
    swapped = [nft("a", base("in", "input", 0, "drop"), handle=2),
               nft("b", base("in", "input", 0, "accept", rule("in", *tcp(80), REJECT, backend="nftables", family="ip6")),
                   family="ip6", handle=1)]
    assert at(evaluate(swapped, sources=("fd00::/64",), dest=DEST6), 80).verdict == "drop"



def test_never_guessed_dnat_ranges_queues_and_chance():
    from auditor.model.ruleset import Verdict

    pre = base("PREROUTING", "prerouting", -100, "accept",
               rule("PREROUTING", *tcp(8080), NatStatement("dnat", (0xC6130502, 0xC6130509), 4, (80, 80)), table="nat"),
               type_="nat")
    inp = base("INPUT", "input", 0, "accept",
               rule("INPUT", *tcp(25), Verdict("queue", detail="--queue-num 3")),
               rule("INPUT", *tcp(26), NondeterministicMatch("statistic", "-m statistic --mode random"), DROP))
    exp = evaluate([ipt("nat", pre), ipt("filter", inp)])
    assert at(exp, 8080).verdict == "indeterminate" and "range" in at(exp, 8080).reason
    assert at(exp, 25).verdict == "indeterminate" and "userspace" in at(exp, 25).reason
    assert at(exp, 26).verdict == "indeterminate" and "statistic" in at(exp, 26).reason
    assert at(exp, 27).verdict == "accept"


def test_a_udp_client_never_hears_of_a_soft_icmp_error():
    """icmp-host-unreachable and kin are "soft" errors: a connected UDP socket does not report
    them (without IP_RECVERR), so the client sees silence; TCP reports them while connecting."""
    from auditor.model.ruleset import Verdict

    def host(detail):
        return [ipt("filter", base("INPUT", "input", 0, "accept",
                                   rule("INPUT", *udp(53), Verdict("reject", detail=detail)),
                                   rule("INPUT", *tcp(22), Verdict("reject", detail=detail))))]

    for detail in ("icmp-host-unreachable", "icmp-net-unreachable", "icmpx host-unreachable"):
        exp = evaluate(host(detail))
        assert at(exp, 53, "udp").verdict == "drop" and "soft ICMP error" in at(exp, 53, "udp").reason
        assert at(exp, 22).verdict == "reject"
    for detail in ("icmp-port-unreachable", "icmp-admin-prohibited", "icmp-host-prohibited"):
        assert at(evaluate(host(detail)), 53, "udp").verdict == "reject"
    v6 = [ipt("filter", base("INPUT", "input", 0, "accept",
                             rule("INPUT", *udp(53), Verdict("reject", detail="icmp6-addr-unreachable"), family="ip6"),
                             rule("INPUT", *udp(54), Verdict("reject", detail="icmp6-adm-prohibited"), family="ip6")),
              family="ip6")]
    exp = evaluate(v6, sources=("fd00::/64",), dest=DEST6)
    assert at(exp, 53, "udp").verdict == "drop" and at(exp, 54, "udp").verdict == "reject"


def test_dnat_to_an_unroutable_address_is_answered_by_the_router():
    """Measured: with forwarding on and no route the kernel answers net-unreachable (IPv6:
    no-route, also when IPv6 forwarding is off); a TCP client is refused, a UDP one hears
    nothing (a soft error). Offline, a target outside the declared subnets is unknown."""
    from auditor.model.host import HostContext

    pre = base("PREROUTING", "prerouting", -100, "accept",
               rule("PREROUTING", ProtocolMatch(frozenset({6, 17})), PortMatch("dport", ((8080, 8080),)),
                    NatStatement("dnat", (0xC612C802, 0xC612C802), 4, (80, 80)), table="nat"), type_="nat")
    no_default = HostContext(HOST.interfaces, HOST.routes[:4], forwarding_v4=True)
    exp = evaluate([ipt("nat", pre)], host=no_default)
    tcp_e, udp_e = at(exp, 8080), at(exp, 8080, "udp")
    assert tcp_e.verdict == "reject" and "no route to 198.18.200.2" in tcp_e.reason
    assert udp_e.verdict == "drop" and "soft ICMP error" in udp_e.reason
    offline = HostContext(HOST.interfaces, HOST.routes[:4], forwarding_v4=True, complete=False)
    assert at(evaluate([ipt("nat", pre)], host=offline), 8080).verdict == "indeterminate"
    not_forwarding = HostContext(HOST.interfaces, HOST.routes, forwarding_v4=False)
    assert at(evaluate([ipt("nat", pre)], host=not_forwarding), 8080).verdict == "drop"  # IPv4: silence


def _bridged_host(switch):
    """HOST with br0 a bridge that has a port, br_netfilter's switch as given."""
    from dataclasses import replace

    from auditor.model.host import Interface

    return replace(HOST, interfaces=HOST.interfaces + (Interface("br0p0", bridge="br0"),),
                   bridge_netfilter_v4=switch, bridge_netfilter_v6=switch)


def _reset_behind_redirect():
    """A redirect of tcp/80 to 123, a TCP reset for 123 and 22 in input, every output dropped."""
    return [ipt("nat", base("PREROUTING", "prerouting", -100, "accept",
                            rule("PREROUTING", *tcp(80), NatStatement("redirect", ports=(123, 123)), table="nat"),
                            type_="nat")),
            ipt("filter", base("INPUT", "input", 0, "accept", rule("INPUT", *tcp(123, 22), RESET)),
                base("OUTPUT", "output", 0, "drop"))]


def test_a_reset_of_a_bridged_packet_bypasses_output_and_keeps_the_translated_port():
    """nf_send_reset sends a bridged packet's reset straight out of the bridge port: the OUTPUT
    drop does not stop it (tcp/22 refused), and nothing un-NATs it (tcp/80 redirected to 123:
    the client ignores a reset from port 123 and sees silence). Held against the kernel in
    test_oracle_bridge.py."""
    exp = evaluate(_reset_behind_redirect(), sources=("198.19.5.0/24",), iif="br0", dest="198.19.5.1",
                   host=_bridged_host(True), protocols=("tcp",))
    assert at(exp, 22).verdict == "reject"
    e = at(exp, 80)
    assert e.verdict == "drop" and "translated address and port" in (e.reason or ""), e
    assert [leg.name for leg in e.legs][-1] == "reject-answer"


def test_without_br_netfilter_a_reset_goes_through_output_like_any_local_packet():
    for host, iif in ((_bridged_host(False), "br0"), (_bridged_host(True), "eth0")):
        dest, src = ("198.19.5.1", "198.19.5.0/24") if iif == "br0" else ("198.18.0.1", "198.18.0.0/24")
        exp = evaluate(_reset_behind_redirect(), sources=(src,), iif=iif, dest=dest, host=host, protocols=("tcp",))
        for port in (22, 80):
            e = at(exp, port)
            assert e.verdict == "drop" and "OUTPUT" in (e.reason or ""), (iif, port, e)


def test_an_unknown_br_netfilter_switch_leaves_a_bridged_reset_indeterminate():
    exp = evaluate(_reset_behind_redirect(), sources=("198.19.5.0/24",), iif="br0", dest="198.19.5.1",
                   host=_bridged_host(None), protocols=("tcp",))
    for port in (22, 80):
        e = at(exp, port)
        assert e.verdict == "indeterminate" and "br_netfilter" in (e.reason or ""), e


# -- what each packet of the conversation carries ----------------------------------------------

STRING = PayloadMatch("-m string --string GET --algo bm")


def nft_host(*, inp=(), out=(), pre=(), out_policy="drop", in_policy="drop"):
    chains = [base("in", "input", 0, in_policy, *inp), base("out", "output", 0, out_policy, *out)]
    if pre:
        chains.append(base("pre", "prerouting", -150, "accept", *pre))
    return [nft("t", *chains)]


def n(chain, *parts):
    return rule(chain, *parts, backend="nftables", family="inet")


def test_replies_are_confirmed_seen_reply_and_in_the_reply_direction():
    # conntrack (-200 in output) has already marked the entry confirmed and seen-reply
    for match in (ConntrackStatusMatch(frozenset({"confirmed"})), ConntrackStatusMatch(frozenset({"seen-reply"})),
                  ConntrackDirectionMatch("reply")):
        exp = evaluate(nft_host(inp=[n("in", *tcp(80), ACCEPT), n("in", ESTABLISHED, ACCEPT)],
                                out=[n("out", match, ACCEPT)]), protocols=("tcp",))
        assert at(exp, 80).verdict == "accept", match


def test_the_clients_ack_is_assured_seen_reply_original_direction_and_has_no_output_interface():
    # the ACK that completes the handshake makes conntrack set ASSURED before the input chain
    for match in (ConntrackStatusMatch(frozenset({"assured"})), ConntrackStatusMatch(frozenset({"seen-reply"})),
                  ConntrackStatusMatch(frozenset({"confirmed"})), ConntrackDirectionMatch("original")):
        exp = evaluate(nft_host(inp=[n("in", ConntrackStateMatch(frozenset({"new"})), *tcp(80), ACCEPT),
                                     n("in", ESTABLISHED, match, ACCEPT)],
                                out=[n("out", ESTABLISHED, ACCEPT)]), protocols=("tcp",))
        assert at(exp, 80).verdict == "accept", match
    # on the input path no packet has an output interface: `oifname` never matches there
    exp = evaluate(nft_host(inp=[n("in", InterfaceMatch("oif", ("eth9",)), DROP), n("in", *tcp(80), ACCEPT),
                                 n("in", ESTABLISHED, ACCEPT)],
                            out=[n("out", ESTABLISHED, ACCEPT)]), protocols=("tcp",))
    assert at(exp, 80).verdict == "accept"


def test_only_the_services_data_carries_payload_and_only_it_is_assured():
    # content matches: never true for SYN, SYN-ACK and the bare ACK; unknown for data
    exp = evaluate(nft_host(inp=[n("in", STRING, DROP), n("in", *tcp(80), ACCEPT), n("in", *udp(53), ACCEPT),
                                 n("in", ESTABLISHED, ACCEPT)],
                            out=[n("out", STRING, DROP), n("out", ESTABLISHED, ACCEPT)]))
    e = at(exp, 80)
    assert e.verdict == "indeterminate" and [leg.name for leg in e.legs][-1] == "reply-data"
    assert at(exp, 53, "udp").verdict == "indeterminate"  # a datagram always carries data
    # the SYN-ACK leaves before the handshake completes: not assured; the data after it: assured
    assured = ConntrackStatusMatch(frozenset({"assured"}))
    exp = evaluate(nft_host(inp=[n("in", *tcp(80), ACCEPT), n("in", ESTABLISHED, ACCEPT)],
                            out=[n("out", assured, ACCEPT), n("out", SYN_ACK_ONLY, ACCEPT)]), protocols=("tcp",))
    assert at(exp, 80).verdict == "accept"
    exp = evaluate(nft_host(inp=[n("in", *tcp(80), ACCEPT), n("in", ESTABLISHED, ACCEPT)],
                            out=[n("out", assured, ACCEPT)]), protocols=("tcp",))
    assert at(exp, 80).verdict == "drop"
    exp = evaluate(nft_host(inp=[n("in", *udp(53), ACCEPT), n("in", ESTABLISHED, ACCEPT)],
                            out=[n("out", assured, ACCEPT)]), protocols=("udp",))
    assert at(exp, 53, "udp").verdict == "indeterminate"  # a UDP flow's assured bit depends on timing
    # the service's data is PSH+ACK
    exp = evaluate(nft_host(inp=[n("in", *tcp(80), ACCEPT), n("in", ESTABLISHED, ACCEPT)],
                            out=[n("out", SYN_ACK_ONLY, ACCEPT), n("out", TcpFlagsMatch(0x18, 0x18), ACCEPT)]),
                   protocols=("tcp",))
    assert at(exp, 80).verdict == "accept"


def test_replies_and_later_packets_do_not_inherit_the_first_packets_mark():
    # a packet mark belongs to one skb: the SYN-ACK (a new skb, mark 0 by default) does not carry it
    pre = [n("pre", *tcp(80), ConntrackStateMatch(frozenset({"new"})), MarkStatement("meta", 0xFFFFFFFF, 1))]
    exp = evaluate(nft_host(pre=pre, inp=[n("in", *tcp(80), ACCEPT), n("in", ESTABLISHED, ACCEPT)],
                            out=[n("out", MarkMatch("meta", 1), DROP)], out_policy="accept"), protocols=("tcp",))
    assert at(exp, 80).verdict == "accept"


def _rejecting(out, *, leg="request", detail=None):
    verdict = Verdict("reject", detail=detail) if detail else REJECT
    if leg == "request":
        inp = [n("in", *tcp(80), verdict), n("in", *udp(53), verdict)]
    else:  # the handshake's ACK is refused
        inp = [n("in", ConntrackStateMatch(frozenset({"new"})), *tcp(80), ACCEPT), n("in", *tcp(80), verdict)]
    return nft_host(inp=inp, out=[n("out", ConntrackStateMatch(frozenset({"established"})), ACCEPT), *out])


def test_a_rejects_answer_is_related_to_the_connection_on_either_packet():
    related = ConntrackStateMatch(frozenset({"related"}))
    for leg in ("request", "client"):
        exp = evaluate(_rejecting([n("out", related, ACCEPT)], leg=leg, detail="tcp-reset"), protocols=("tcp",))
        assert at(exp, 80).verdict == "reject", leg
    for leg in ("request", "client"):
        exp = evaluate(_rejecting([], leg=leg, detail="tcp-reset"), protocols=("tcp",))
        assert at(exp, 80).verdict == "drop", leg  # output drops the (related) answer: silence


def test_a_rejects_answer_to_an_untracked_packet_is_invalid():
    # nf_ct_attach finds no entry: conntrack in output sees a lone RST, which it calls invalid
    raw = base("raw", "prerouting", -300, "accept", n("raw", *tcp(80), NotrackStatement()))
    flt = nft_host(inp=[n("in", *tcp(80), RESET)],
                   out=[n("out", ConntrackStateMatch(frozenset({"invalid"})), DROP)], out_policy="accept")
    flt = [nft("t", raw, *flt[0].chains)]
    exp = evaluate(flt, protocols=("tcp",))
    assert at(exp, 80).verdict == "drop"


def test_a_rejects_answer_is_a_locally_generated_reply_to_the_client_without_the_packets_mark():
    pre = [n("pre", *tcp(80), MarkStatement("meta", 0xFFFFFFFF, 1))]
    out = [n("out", InterfaceMatch("iif", ("eth0",)), DROP), n("out", MarkMatch("meta", 1), DROP),
           n("out", AddressMatch("daddr", 4, (net("198.18.0.128/25"),)), ACCEPT)]
    flt = [nft("t", base("pre", "prerouting", -150, "accept", *pre),
               base("in", "input", 0, "drop", n("in", *tcp(80), RESET)), base("out", "output", 0, "drop", *out))]
    exp = evaluate(flt, protocols=("tcp",), sources=("198.18.0.128/25",))
    assert at(exp, 80).verdict == "reject"


def test_a_rejects_answer_is_a_reset_or_an_icmp_error_of_the_variant_named():
    rst = TcpFlagsMatch(0x04, 0x04)
    exp = evaluate(_rejecting([n("out", ProtocolMatch(frozenset({6})), rst, ACCEPT)], detail="tcp-reset"),
                   protocols=("tcp",))
    assert at(exp, 80).verdict == "reject"
    unreachable = IcmpTypeMatch(4, ("destination-unreachable",))
    for detail in (None, "icmp-port-unreachable", "with icmp admin-prohibited"):
        exp = evaluate(_rejecting([n("out", ProtocolMatch(frozenset({1})), unreachable, ACCEPT)], detail=detail))
        assert at(exp, 80).verdict == "reject", detail
        assert at(exp, 53, "udp").verdict == "reject", detail
    prohibited = IcmpTypeMatch(4, ("admin-prohibited",))
    exp = evaluate(_rejecting([n("out", prohibited, ACCEPT)], detail="icmp-admin-prohibited"), protocols=("udp",))
    assert at(exp, 53, "udp").verdict == "reject"
    exp = evaluate(_rejecting([n("out", prohibited, ACCEPT)], detail="icmp-port-unreachable"), protocols=("udp",))
    assert at(exp, 53, "udp").verdict == "drop"


def test_an_ipv6_rejects_answer_is_icmpv6():
    unreachable = IcmpTypeMatch(6, ("destination-unreachable",))
    rs = [nft("t", base("in", "input", 0, "drop", n("in", *udp(53), REJECT)),
              base("out", "output", 0, "drop", n("out", ProtocolMatch(frozenset({58})), unreachable, ACCEPT)))]
    exp = evaluate(rs, dest=DEST6, sources=("fd00::/64",), protocols=("udp",))
    assert at(exp, 53, "udp").verdict == "reject"


# -- the forwarded conversation: every hook on the way -----------------------------------------


def _to_backend(*extra_chains):
    """DNAT 8080 → 198.19.5.2:80 behind br0; forward accepts the connection both ways."""
    nat = base("pre", "prerouting", -100, "accept",
               n("pre", *tcp(8080), NatStatement("dnat", (0xC6130502, 0xC6130502), 4, (80, 80))), type_="nat")
    fwd = base("fwd", "forward", 0, "drop", n("fwd", ESTABLISHED, ACCEPT),
               n("fwd", *tcp(80), InterfaceMatch("oif", ("br0",)), ACCEPT))
    return [nft("t", nat, fwd, *extra_chains)]


def test_a_forwarded_connection_crosses_forward_postrouting_and_egress():
    assert at(evaluate(_to_backend(), protocols=("tcp",)), 8080).verdict == "accept"
    to_backend = AddressMatch("daddr", 4, ((0xC6130502, 0xC6130502),))
    post = base("post", "postrouting", 0, "accept", n("post", to_backend, *tcp(80), DROP))
    assert at(evaluate(_to_backend(post), protocols=("tcp",)), 8080).verdict == "drop"
    egress = Chain("eg", (n("eg", to_backend, *tcp(80), DROP),), hook="egress", priority=0, policy="accept",
                   device="br0")
    exp = evaluate(_to_backend() + [nft("nd", egress, family="netdev")], protocols=("tcp",))
    assert at(exp, 8080).verdict == "drop"


def test_the_backends_reply_crosses_ingress_prerouting_forward_postrouting_and_egress():
    from_backend = AddressMatch("saddr", 4, ((0xC6130502, 0xC6130502),))
    # after the nat core's slot in postrouting the reply comes from the address the client chose
    from_host = AddressMatch("saddr", 4, ((0xC6120001, 0xC6120001),))
    for hook, device, family, match in (("ingress", "br0", "netdev", from_backend),
                                        ("prerouting", None, "inet", from_backend),
                                        ("postrouting", None, "inet", from_backend),
                                        ("egress", "eth0", "netdev", from_host)):
        chain = Chain(f"c-{hook}", (n(f"c-{hook}", match, DROP),), hook=hook, priority=0, policy="accept",
                      device=device)
        exp = evaluate(_to_backend() + [nft(f"x{hook}", chain, family=family)], protocols=("tcp",))
        assert at(exp, 8080, source="198.18.0.7").verdict == "drop", hook
    fwd_reply = base("fwd", "forward", 0, "drop", n("fwd", *tcp(80), InterfaceMatch("oif", ("br0",)), ACCEPT))
    nat = _to_backend()[0].chains[0]
    assert at(evaluate([nft("t", nat, fwd_reply)], protocols=("tcp",)), 8080).verdict == "drop"
