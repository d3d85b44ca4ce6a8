"""What each packet of the conversation is, as the rules see it: the hooks it crosses, its
flags, mark, interfaces, payload, addressing and conntrack direction. Each case is a rule that
tells the kernel's packet from a plausible wrong one (complements test_conversation.py)."""

from __future__ import annotations

from auditor.model.ruleset import (
    AddressMatch,
    Chain,
    ConntrackDirectionMatch,
    ConntrackStateMatch,
    InterfaceMatch,
    MarkMatch,
    MarkStatement,
    NatStatement,
    NotrackStatement,
    PayloadMatch,
    PortMatch,
    ProtocolMatch,
    Rule,
    Table,
    TcpFlagsMatch,
    Verdict,
)
from tests.engine.builders import (
    ACCEPT,
    DEST6,
    DROP,
    ESTABLISHED,
    REJECT,
    RESET,
    at,
    base,
    evaluate,
    net,
    nft,
    rule,
    tcp,
    udp,
)

STRING = PayloadMatch("-m string --string GET --algo bm")
RST = TcpFlagsMatch(0x04, 0x04)
BACKEND = (0xC6130502, 0xC6130502)  # 198.19.5.2, behind br0


def n(chain: str, *parts: object) -> Rule:
    return rule(chain, *parts, backend="nftables", family="inet")


# -- the reject's answer ------------------------------------------------------------------------


def _refusing(*chains: Chain, out: tuple[Rule, ...] = (), out_policy: str = "accept") -> list[Table]:
    """tcp/22 refused with a reset, udp/53 with the default ICMP error; output as given."""
    inp = base("in", "input", 0, "accept", n("in", *tcp(22), RESET), n("in", *udp(53), REJECT))
    return [nft("t", inp, base("out", "output", 0, out_policy, *out), *chains)]


def test_the_answer_crosses_postrouting_and_egress_after_output():
    assert at(evaluate(_refusing(), protocols=("tcp",)), 22, source="198.18.0.7").verdict == "reject"
    post = base("post", "postrouting", 0, "accept", n("post", RST, DROP))
    e = at(evaluate(_refusing(post), protocols=("tcp",)), 22, source="198.18.0.7")
    assert e.verdict == "drop" and e.legs[-1].name == "reject-answer"
    egress = Chain("eg", (rule("eg", RST, DROP, backend="nftables", family="netdev"),), hook="egress", priority=0,
                   policy="accept", device="eth0")
    e = at(evaluate(_refusing() + [nft("nd", egress, family="netdev")], protocols=("tcp",)), 22, source="198.18.0.7")
    assert e.verdict == "drop" and e.legs[-1] == e.leg("reject-answer") and e.legs[-1].verdict == "drop"


def test_the_answer_is_in_the_reply_direction_from_the_service_address_and_port():
    """nf_send_reset / nf_send_unreach answer from the address and port the client talked to;
    nf_ct_attach makes them RELATED in the reply direction."""
    for match in (ConntrackDirectionMatch("reply"), AddressMatch("saddr", 4, (net("198.18.0.1/32"),)),
                  PortMatch("sport", ((22, 22),))):
        exp = evaluate(_refusing(out=(n("out", match, ACCEPT),), out_policy="drop"), protocols=("tcp",))
        assert at(exp, 22, source="198.18.0.7").verdict == "reject", match


def test_a_reset_carries_no_payload_and_an_icmp_error_carries_the_offending_packet():
    exp = evaluate(_refusing(out=(n("out", STRING, DROP),)))
    assert at(exp, 22).verdict == "reject"  # a reset has no content for the string match
    assert at(exp, 53, "udp").verdict == "indeterminate"  # an ICMP error quotes the datagram


def test_nft_icmpv6_variants_are_read_like_the_xtables_ones():
    """``reject with icmpv6 addr-unreachable`` (nft) is code 3, a soft error a UDP client does
    not hear; ``icmpv6 admin-prohibited`` (code 1) it does."""
    def verdict(detail: str) -> str:
        inp = base("in", "input", 0, "accept",
                   rule("in", *udp(53), Verdict("reject", detail=detail), backend="nftables", family="ip6"))
        exp = evaluate([nft("t", inp, family="ip6")], sources=("fd00::/64",), dest=DEST6, protocols=("udp",))
        return at(exp, 53, "udp").verdict

    assert verdict("icmpv6 addr-unreachable") == "drop"
    assert verdict("icmpv6 admin-prohibited") == "reject"


# -- the client's ACK -----------------------------------------------------------------------------


def _ack_host(*first: Rule, out: tuple[Rule, ...] = ()) -> list[Table]:
    """Input drops what ``first`` matches, then accepts tcp/80 and the connection; output accepts."""
    inp = base("in", "input", 0, "drop", *first, n("in", *tcp(80), ACCEPT), n("in", ESTABLISHED, ACCEPT))
    return [nft("t", inp, base("out", "output", 0, "accept", *out))]


def test_the_clients_ack_is_a_bare_ack_not_the_syn_ack_it_answers():
    syn_ack = TcpFlagsMatch(0x12, 0x12)
    assert at(evaluate(_ack_host(n("in", syn_ack, DROP)), protocols=("tcp",)), 80).verdict == "accept"


def test_the_clients_ack_has_no_output_interface_although_the_reply_had_one():
    # the SYN-ACK left by eth0 (the route to the client); the ACK arrives on the input path
    e = at(evaluate(_ack_host(n("in", InterfaceMatch("oif", ("eth0",)), DROP)), protocols=("tcp",)), 80)
    assert e.verdict == "accept"


def test_the_clients_ack_does_not_carry_a_mark_set_on_the_reply():
    mark = n("out", MarkStatement("meta", 0xFFFFFFFF, 1))
    e = at(evaluate(_ack_host(n("in", MarkMatch("meta", 1), DROP), out=(mark,)), protocols=("tcp",)), 80)
    assert e.verdict == "accept"


# -- replies ---------------------------------------------------------------------------------------


def test_a_reply_to_a_source_natted_connection_is_addressed_to_the_nat_address_before_output_nat():
    """Input SNAT: the service answers the SNAT address, which the nat core re-addresses to the
    client only at output's nat slot (-100); a client-address rule before it cannot match the
    client, and is not claimed to."""
    snat = base("nin", "input", 100, "accept", n("nin", *tcp(80), NatStatement("snat", net("198.18.9.50/32"), 4)),
                type_="nat")
    early = base("early", "output", -150, "drop", n("early", AddressMatch("daddr", 4, (net("198.18.0.0/24"),)), ACCEPT))
    e = at(evaluate([nft("t", snat, early)], protocols=("tcp",)), 80)
    assert e.verdict == "indeterminate" and e.failed_leg is not None and e.failed_leg.name == "reply"
    assert "source-NAT address" in (e.reason or "")


def _to_backend(*fwd_rules: Rule) -> list[Table]:
    nat = base("pre", "prerouting", -100, "accept",
               n("pre", *tcp(8080), NatStatement("dnat", BACKEND, 4, (80, 80))), type_="nat")
    return [nft("t", nat, base("fwd", "forward", 0, "drop", *fwd_rules))]


def test_a_forwarded_request_crosses_forward():
    """Forward accepts only the established connection: the first packet (new) is dropped there."""
    e = at(evaluate(_to_backend(n("fwd", ESTABLISHED, ACCEPT)), protocols=("tcp",)), 8080)
    assert e.verdict == "drop" and e.failed_leg is not None and e.failed_leg.name == "request"


def test_the_backends_data_carries_payload_through_forward():
    fwd = _to_backend(n("fwd", STRING, DROP), n("fwd", ESTABLISHED, ACCEPT),
                      n("fwd", *tcp(80), InterfaceMatch("oif", ("br0",)), ACCEPT))
    e = at(evaluate(fwd, protocols=("tcp",)), 8080)
    assert e.verdict == "indeterminate" and e.failed_leg is not None and e.failed_leg.name == "reply-data"


def test_an_answer_to_a_dnatted_packet_leaves_from_the_address_the_client_chose():
    """The nat core undoes the connection's DNAT on the related answer at postrouting: after
    it the answer comes from the original destination, not from the DNAT target."""
    dnat = base("pre", "prerouting", -100, "accept",
                n("pre", *tcp(80), NatStatement("dnat", net("198.18.9.1/32"), 4, None)), type_="nat")
    inp = base("in", "input", 0, "accept", n("in", *tcp(80), RESET))
    late = base("late", "postrouting", 200, "accept",
                n("late", ProtocolMatch(frozenset({6})), AddressMatch("saddr", 4, (net("198.18.9.1/32"),)), DROP))
    exp = evaluate([nft("t", dnat, inp, late)], protocols=("tcp",))
    assert at(exp, 80, source="198.18.0.7").verdict == "reject"


def test_replies_to_an_untracked_request_are_not_taken_for_an_established_connection():
    """NOTRACK on the first packet: conntrack has no entry when the reply leaves, so the reply is
    not ``established`` (the kernel would call a lone SYN-ACK invalid and a UDP reply new; the
    model does not follow conntrack's pick-up and says so rather than guess)."""
    raw = base("raw", "prerouting", -300, "accept", n("raw", NotrackStatement()))
    inp = base("in", "input", 0, "drop", n("in", ConntrackStateMatch(frozenset({"untracked"})), ACCEPT))
    out = base("out", "output", 0, "drop", n("out", ConntrackStateMatch(frozenset({"established"})), ACCEPT))
    exp = evaluate([nft("t", raw, inp, out)])
    for proto, port in (("tcp", 80), ("udp", 53)):
        e = at(exp, port, proto)
        assert e.verdict == "indeterminate" and e.failed_leg is not None and e.failed_leg.name == "reply", e
        assert "did not track" in (e.reason or "")


def test_a_notrack_on_the_reply_does_not_make_the_clients_ack_untracked():
    """The ACK is a new packet: a NOTRACK that hit the SYN-ACK on its way out is not its own.
    (Conntrack then finds the entry in SYN_SENT and calls the ACK invalid; the model, which does
    not follow that, leaves it undecided — but never drops it as untracked.)"""
    raw = base("raw", "output", -300, "accept", n("raw", ProtocolMatch(frozenset({6})), NotrackStatement()))
    inp = base("in", "input", 0, "drop", n("in", ConntrackStateMatch(frozenset({"untracked"})), DROP),
               n("in", *tcp(80), ACCEPT))
    e = at(evaluate([nft("t", raw, inp)], protocols=("tcp",)), 80)
    assert e.verdict in ("accept", "indeterminate"), e
