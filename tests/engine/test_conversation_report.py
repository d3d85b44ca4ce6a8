"""What the report says about a conversation: the legs, which leg failed and with what verdict,
the rules named as deciding evidence, and the reason a user reads. The verdicts themselves are
held in test_conversation.py; here each outcome is checked as the user sees it."""

from __future__ import annotations

from auditor.model.exposure import ExposureEntry, Leg
from auditor.model.ruleset import (
    ConntrackStateMatch,
    IcmpTypeMatch,
    NatStatement,
    NondeterministicMatch,
    Origin,
    PayloadMatch,
    Rule,
    Table,
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
    ipt,
    nft,
    rule,
    tcp,
    udp,
)

LIMIT = NondeterministicMatch("limit", "limit rate 3/minute", first_client=True)
NOTE = "assuming one new client, within 'limit rate 3/minute'"
STRING = PayloadMatch("-m string --string GET --algo bm")
NEW = ConntrackStateMatch(frozenset({"new"}))


def n(chain: str, *parts: object, text: str, table: str = "t") -> Rule:
    return rule(chain, *parts, backend="nftables", family="inet", table=table, text=text)


def legs(e: ExposureEntry) -> list[tuple[str, str, list[Origin]]]:
    return [(leg.name, leg.verdict, list(leg.decided_by)) for leg in e.legs]


def policy(table: Table, chain: str) -> Origin:
    """The origin a base chain's policy is reported as."""
    from auditor.engine.walk import policy_origin_of

    return policy_origin_of(table, next(c for c in table.chains if c.name == chain))


# -- a conversation that gets through -------------------------------------------------------------


def test_an_accepted_conversation_names_the_rule_that_let_each_leg_through():
    """Every leg is reported as accepted with the rules that let it pass; the verdict's evidence
    is those rules once each, in the order of the conversation; no reason is needed."""
    est_in = n("in", ESTABLISHED, ACCEPT, text="ct state established,related accept")
    port = n("in", *tcp(80), ACCEPT, text="tcp dport 80 accept")
    est_out = n("out", ESTABLISHED, ACCEPT, text="ct state established,related accept")
    t = nft("t", base("in", "input", 0, "drop", est_in, port), base("out", "output", 0, "drop", est_out))
    e = at(evaluate([t], protocols=("tcp",)), 80)
    assert e.verdict == "accept" and e.reason is None and e.failed_leg is None
    assert legs(e) == [("request", "accept", [port.origin]), ("reply", "accept", [est_out.origin]),
                       ("client", "accept", [est_in.origin]), ("reply-data", "accept", [est_out.origin])]
    assert e.decided_by == (port.origin, est_out.origin, est_in.origin)


def test_with_no_rule_on_the_path_the_reason_says_so():
    for proto in ("tcp", "udp"):
        e = at(evaluate([], protocols=(proto,)), 80, proto)
        assert e.verdict == "accept" and e.decided_by == ()
        assert e.reason == "no rule on the path drops it"
        assert all(leg.verdict == "accept" and leg.decided_by == () for leg in e.legs)


def test_an_accepted_conversation_states_the_assumptions_made_on_the_way():
    port = rule("INPUT", *tcp(80), LIMIT, ACCEPT, text="-A INPUT -p tcp --dport 80 -m limit -j ACCEPT")
    e = at(evaluate([ipt("filter", base("INPUT", "input", 0, "drop", port, rule("INPUT", ESTABLISHED, ACCEPT)))],
                    protocols=("tcp",)), 80)
    assert e.verdict == "accept" and e.reason == NOTE


# -- a reply lost on its way out ---------------------------------------------------------------


def _limited_input(*, output: tuple[Rule, ...] = (), out_policy: str = "drop") -> Table:
    inp = base("INPUT", "input", 0, "drop",
               rule("INPUT", *tcp(80), LIMIT, ACCEPT, text="-A INPUT -p tcp --dport 80 -m limit -j ACCEPT"),
               rule("INPUT", *udp(53), LIMIT, REJECT, text="-A INPUT -p udp --dport 53 -m limit -j REJECT"))
    return ipt("filter", inp, base("OUTPUT", "output", 0, out_policy, *output))


def test_a_reply_dropped_by_a_policy_is_silence_and_says_where_and_what_was_assumed():
    t = _limited_input()
    e = at(evaluate([t]), 80)
    out = policy(t, "OUTPUT")
    assert e.verdict == "drop" and e.failed_leg == Leg("reply", "drop", (out,))
    assert e.decided_by == (out,)
    assert e.reason == f"the service's SYN-ACK is dropped by OUTPUT policy drop: the client sees silence; {NOTE}"


def test_a_reply_rejected_on_its_way_out_is_silence_not_a_refusal():
    """A REJECT of the service's own reply sends the reset to the service, not to the client:
    the client sees nothing."""
    out = rule("OUTPUT", *[], RESET, text="-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset")
    t = _limited_input(output=(out,), out_policy="accept")
    e = at(evaluate([t], protocols=("tcp",)), 80)
    assert e.verdict == "drop" and e.failed_leg == Leg("reply", "reject", (out.origin,))
    assert e.reason == ("the service's SYN-ACK is rejected by ip filter OUTPUT rule "
                        f"{out.origin.position} (-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset): "
                        f"the client sees silence; {NOTE}")


def test_an_nft_policy_is_named_with_its_table():
    inp = n("in", *tcp(80), ACCEPT, text="tcp dport 80 accept", table="fw")
    t = nft("fw", base("in", "input", 0, "drop", inp), base("out", "output", 0, "drop"))
    e = at(evaluate([t], protocols=("tcp",)), 80)
    assert e.reason == "the service's SYN-ACK is dropped by inet fw out policy drop: the client sees silence"


def test_a_long_rule_is_named_by_an_excerpt_of_its_first_60_characters():
    text = "ip saddr 198.18.0.0/24 tcp sport 80 counter packets 0 bytes 0 log prefix outbound drop"
    out = n("out", *[], DROP, text=text)
    t = nft("t", base("in", "input", 0, "accept"), base("out", "output", 0, "accept", out))
    e = at(evaluate([t], protocols=("tcp",)), 80)
    assert e.reason == (f"the service's SYN-ACK is dropped by inet t out rule {out.origin.position} "
                        f"({text[:60]}…): the client sees silence")


def test_a_reply_made_undecidable_names_the_packet_in_the_reason():
    inp = n("in", *udp(53), LIMIT, ACCEPT, text="udp dport 53 limit rate 3/minute accept")
    out = n("out", STRING, DROP, text="@th,64,32 0x47455420 drop")
    t = nft("t", base("in", "input", 0, "drop", inp), base("out", "output", 0, "accept", out))
    e = at(evaluate([t], protocols=("udp",)), 53, "udp")
    assert e.verdict == "indeterminate" and e.failed_leg == Leg("reply", "indeterminate", (out.origin,))
    assert e.reason == ("the service's reply: '-m string --string GET --algo bm' depends on the packet's content; "
                        f"{NOTE}")


# -- the client's packets: request and the handshake's ACK ----------------------------------------


def test_a_request_made_undecidable_keeps_the_reason_of_the_rule():
    """The first packet needs no phrase: the rule's own reason is the whole story."""
    inp = n("in", STRING, DROP, text="@th,64,32 0x47455420 drop")
    e = at(evaluate([nft("t", base("in", "input", 0, "accept", inp))], protocols=("udp",)), 53, "udp")
    assert e.verdict == "indeterminate" and e.failed_leg == Leg("request", "indeterminate", (inp.origin,))
    assert e.reason == "'-m string --string GET --algo bm' depends on the packet's content"


def test_a_request_dropped_keeps_the_reason_of_the_chain_and_the_assumption():
    t = nft("t", base("in", "input", 0, "drop", n("in", LIMIT, Verdict("continue"), text="limit rate 3/minute")))
    e = at(evaluate([t], protocols=("tcp",)), 80)
    assert e.verdict == "drop" and e.failed_leg == Leg("request", "drop", (policy(t, "in"),))
    assert e.reason == f"no rule matched; chain policy drop; {NOTE}"


def test_a_dropped_ack_is_a_handshake_that_never_completes_and_names_the_rule():
    port = n("in", *tcp(80), NEW, LIMIT, ACCEPT, text="tcp dport 80 ct state new limit rate 3/minute accept")
    t = nft("t", base("in", "input", 0, "drop", port), base("out", "output", 0, "accept"))
    e = at(evaluate([t], protocols=("tcp",)), 80)
    pol = policy(t, "in")
    assert e.verdict == "drop" and e.decided_by == (pol,)
    assert legs(e) == [("request", "accept", [port.origin]), ("reply", "accept", []), ("client", "drop", [pol])]
    assert e.reason == f"the client's ACK is dropped by inet t in policy drop: the handshake never completes; {NOTE}"


def test_a_refused_ack_names_the_rule_and_the_answer_that_got_out():
    port = n("in", *tcp(80), NEW, LIMIT, ACCEPT, text="tcp dport 80 ct state new limit rate 3/minute accept")
    refuse = n("in", *tcp(80), RESET, text="tcp dport 80 reject with tcp reset")
    related = n("out", ConntrackStateMatch(frozenset({"related"})), ACCEPT, text="ct state related accept")
    est = n("out", ConntrackStateMatch(frozenset({"established"})), ACCEPT, text="ct state established accept")
    t = nft("t", base("in", "input", 0, "drop", port, refuse), base("out", "output", 0, "drop", est, related))
    e = at(evaluate([t], protocols=("tcp",)), 80)
    assert e.verdict == "reject" and e.decided_by == (refuse.origin,)
    assert legs(e) == [("request", "accept", [port.origin]), ("reply", "accept", [est.origin]),
                       ("client", "reject", [refuse.origin]), ("reject-answer", "accept", [related.origin])]
    assert e.reason == (f"the client's ACK is rejected by inet t in rule {refuse.origin.position} "
                        f"(tcp dport 80 reject with tcp reset): the connection is refused; {NOTE}")


def test_a_refused_request_keeps_the_rules_reason_and_names_the_answers_way_out():
    """The answer is a packet of its own: its leg names only the rules it crossed, not the ones
    the refused packet crossed before (here prerouting's accept)."""
    pre = n("pre", *tcp(80), ACCEPT, text="tcp dport 80 accept")
    refuse = n("in", *tcp(80), LIMIT, RESET, text="tcp dport 80 limit rate 3/minute reject with tcp reset")
    related = n("out", ConntrackStateMatch(frozenset({"related"})), ACCEPT, text="ct state related accept")
    t = nft("t", base("pre", "prerouting", 0, "accept", pre), base("in", "input", 0, "accept", refuse),
            base("out", "output", 0, "drop", related))
    e = at(evaluate([t], protocols=("tcp",)), 80)
    assert e.verdict == "reject" and e.decided_by == (refuse.origin,)
    assert legs(e) == [("request", "reject", [refuse.origin]), ("reject-answer", "accept", [related.origin])]
    assert e.reason == NOTE


# -- the reject's answer ---------------------------------------------------------------------------


def test_a_lost_answer_names_the_reject_and_what_stopped_its_answer():
    t = _limited_input()
    e = at(evaluate([t]), 53, "udp")
    refuse = t.chains[0].rules[1].origin
    out = policy(t, "OUTPUT")
    assert e.verdict == "drop" and e.decided_by == (refuse, out)
    assert legs(e) == [("request", "reject", [refuse]), ("reject-answer", "drop", [out])]
    assert e.reason == ("the reject's answer (icmp port-unreachable) is dropped by OUTPUT policy drop: "
                        f"the client sees silence; {NOTE}")


def test_an_answer_rejected_in_output_is_silence_too():
    refuse = rule("INPUT", *tcp(22), RESET, text="-A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset")
    out = rule("OUTPUT", REJECT, text="-A OUTPUT -j REJECT")
    t = ipt("filter", base("INPUT", "input", 0, "accept", refuse), base("OUTPUT", "output", 0, "accept", out))
    e = at(evaluate([t], protocols=("tcp",)), 22)
    assert e.verdict == "drop"
    assert legs(e) == [("request", "reject", [refuse.origin]), ("reject-answer", "reject", [out.origin])]
    assert e.reason == ("the reject's answer (tcp reset) is rejected by ip filter OUTPUT rule "
                        f"{out.origin.position} (-A OUTPUT -j REJECT): the client sees silence")


def test_an_undecidable_answer_leaves_the_verdict_undecided_with_the_rules_reason():
    refuse = rule("INPUT", *udp(53), LIMIT, REJECT, text="-A INPUT -p udp --dport 53 -m limit -j REJECT")
    out = rule("OUTPUT", STRING, DROP, text="-A OUTPUT -m string --string GET --algo bm -j DROP")
    t = ipt("filter", base("INPUT", "input", 0, "accept", refuse), base("OUTPUT", "output", 0, "accept", out))
    e = at(evaluate([t], protocols=("udp",)), 53, "udp")
    assert e.verdict == "indeterminate" and e.decided_by == (refuse.origin, out.origin)
    assert legs(e) == [("request", "reject", [refuse.origin]), ("reject-answer", "indeterminate", [out.origin])]
    assert e.reason == ("the reject's answer (icmp port-unreachable): '-m string --string GET --algo bm' "
                        f"depends on the packet's content; {NOTE}")


def test_a_soft_icmp_error_is_silence_and_names_the_reject_and_the_answers_way_out():
    refuse = rule("INPUT", *udp(53), LIMIT, Verdict("reject", detail="icmp-host-unreachable"),
                  text="-A INPUT -p udp --dport 53 -m limit -j REJECT --reject-with icmp-host-unreachable")
    t = ipt("filter", base("INPUT", "input", 0, "accept", refuse))
    e = at(evaluate([t], protocols=("udp",)), 53, "udp")
    assert e.verdict == "drop" and e.decided_by == (refuse.origin,)
    assert legs(e) == [("request", "reject", [refuse.origin]), ("reject-answer", "accept", [])]
    assert e.reason == ("the reject's answer (icmp host-unreachable) is not reported to a UDP client "
                        f"(a soft ICMP error): it sees silence; {NOTE}")


def test_the_answer_is_named_for_its_family_and_variant():
    def answer_of(detail: str | None, version: int) -> str:
        v = Verdict("reject", detail=detail) if detail else REJECT
        fam = "ip" if version == 4 else "ip6"
        t = ipt("filter", base("INPUT", "input", 0, "accept", rule("INPUT", *udp(53), v, family=fam)),
                base("OUTPUT", "output", 0, "drop"), family=fam)
        kw = {} if version == 4 else {"sources": ("fd00::/64",), "dest": DEST6}
        reason = at(evaluate([t], protocols=("udp",), **kw), 53, "udp").reason or ""
        return reason.split("(", 1)[1].split(")", 1)[0]

    assert answer_of(None, 4) == "icmp port-unreachable"
    assert answer_of(None, 6) == "icmpv6 port-unreachable"
    assert answer_of("icmp-admin-prohibited", 4) == "icmp admin-prohibited"
    assert answer_of("icmp6-adm-prohibited", 6) == "icmpv6 adm-prohibited"
    assert answer_of("icmpx admin-prohibited", 6) == "icmpv6 admin-prohibited"


def test_a_bare_reject_answers_port_unreachable_as_the_kernel_does():
    # REJECT without --reject-with and nft's bare `reject` send port-unreachable: an output
    # chain that lets only that ICMP out lets the answer out, and the client is refused
    for version, kw in ((4, {}), (6, {"sources": ("fd00::/64",), "dest": DEST6})):
        fam = "ip" if version == 4 else "ip6"
        out = base("OUTPUT", "output", 0, "drop",
                   rule("OUTPUT", IcmpTypeMatch(version, ("port-unreachable",)), ACCEPT, family=fam))
        t = ipt("filter", base("INPUT", "input", 0, "accept", rule("INPUT", *udp(53), REJECT, family=fam)), out,
                family=fam)
        e = at(evaluate([t], protocols=("udp",), **kw), 53, "udp")
        assert e.verdict == "reject", (version, e.reason)


# -- the translated-to label ---------------------------------------------------------------------


def test_the_translated_destination_names_a_port_only_when_dnat_chose_exactly_one():
    def translated(ports: tuple[int, int] | None) -> tuple[str, int | None] | None:
        pre = base("pre", "prerouting", -100, "accept",
                   n("pre", *tcp(8080), NatStatement("dnat", (0xC6120901, 0xC6120901), 4, ports), text="dnat"),
                   type_="nat")
        return at(evaluate([nft("t", pre)], protocols=("tcp",)), 8080).translated_to

    assert translated((80, 80)) == ("198.18.9.1", 80)
    assert translated((80, 81)) == ("198.18.9.1", None)  # the kernel picks the port
    assert translated(None) == ("198.18.9.1", None)  # the port is kept
