"""Carrying packets through chains: statements, verdicts, maps and NAT as the kernel runs them."""

from __future__ import annotations

from auditor.model.host import HostContext
from auditor.model.ruleset import (
    Chain,
    ConntrackStateMatch,
    EffectStatement,
    InterfaceMatch,
    MarkCopyStatement,
    MarkMatch,
    MarkStatement,
    NatMapStatement,
    NatStatement,
    NotrackStatement,
    ProtocolMatch,
    SetElementMatch,
    Verdict,
    VerdictMap,
)
from tests.engine.builders import (
    ACCEPT,
    DROP,
    ESTABLISHED,
    HOST,
    REJECT,
    RETURN,
    at,
    base,
    evaluate,
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
    # 63 nested jumps are fine (the kernel allows a stack of that depth)
    deep = tuple(Chain(f"c{i}", (r(f"c{i}", Verdict("jump", f"c{i + 1}")),)) for i in range(62))
    end = Chain("c62", (r("c62", *tcp(80), ACCEPT),))
    exp = evaluate([nft("t", filtered(r("in", Verdict("jump", "c0")), r("in", ESTABLISHED, ACCEPT)), *deep, end)])
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
    exp = evaluate([nft("t", filtered(r("in", *tcp(80), NatStatement("dnat", net("10.0.0.1/32"), 4)),
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
