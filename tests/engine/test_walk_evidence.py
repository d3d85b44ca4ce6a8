"""The evidence a report gives for a verdict: which rule or chain policy decided it, spelled as the
user's own tools print it (iptables-save's ``:INPUT DROP`` or nft's ``policy drop``) with the file
and line it came from, and the reason shown when the outcome cannot be decided."""

from __future__ import annotations

from dataclasses import replace

from auditor.model.ruleset import (
    Chain,
    NatMapStatement,
    NatStatement,
    Origin,
    ProtocolMatch,
    Rule,
    Table,
    UnknownStatement,
    Verdict,
    VerdictMap,
)
from tests.engine.builders import ACCEPT, DEST6, DROP, ESTABLISHED, RETURN, at, base, evaluate, net, nft, rule, tcp

TCP = ProtocolMatch(frozenset({6}))
BACKEND = net("198.19.5.2/32")


def r(chain: str, *parts: object) -> Rule:
    return rule(chain, *parts, backend="nftables", family="inet")


def _unknown(chain: str, port: int, text: str) -> Rule:
    """A rule on ``tcp dport PORT`` whose only statement the model does not understand."""
    known = r(chain, *tcp(port), ACCEPT)
    return replace(known, statements=(UnknownStatement(text),))


def test_undecidable_rules_are_named_with_the_reason() -> None:
    """queue, a jump to a missing chain, a jump loop, an unknown statement, NAT in a filter chain
    and a map key the model cannot read: each is indeterminate, naming the rule that stopped it."""
    loop_rule = r("loop", Verdict("jump", "loop"))
    loop = Chain("loop", (loop_rule,))
    marks = VerdictMap(("mark",), ((((1, 1),), ACCEPT),), set_name="marks")
    stops = {
        82: (r("in", *tcp(82), Verdict("queue")), "queued to a userspace program"),
        83: (r("in", *tcp(83), Verdict("jump", "missing")), "jump to missing chain 'missing'"),
        85: (_unknown("in", 85, "-j FOO"), "unsupported statement '-j FOO'"),
        86: (r("in", *tcp(86), NatStatement("dnat", BACKEND, 4)), "dnat outside a nat chain"),
        87: (r("in", *tcp(87), marks), "set @marks: set field mark is not modelled"),
    }
    jump_loop = r("in", *tcp(84), Verdict("jump", "loop"))
    flt = base("in", "input", 0, "drop", *(rl for rl, _ in stops.values()), jump_loop, r("in", ACCEPT))
    exp = evaluate([nft("t", flt, loop)], protocols=("tcp",))
    for port, (stopped_by, reason) in stops.items():
        e = at(exp, port)
        assert (e.verdict, e.decided_by, e.reason) == ("indeterminate", (stopped_by.origin,), reason), port
    e = at(exp, 84)
    assert (e.verdict, e.decided_by, e.reason) == ("indeterminate", (loop_rule.origin,),
                                                   "chain jumps nest too deep (loop?)")
    assert at(exp, 88).verdict == "accept"


def test_a_nat_map_key_the_model_cannot_read_names_the_nat_rule() -> None:
    """``dnat to meta mark map @backends``: the mark is not modelled, so the first packet's fate
    is indeterminate and the nat rule is the one named."""
    nmap = NatMapStatement("dnat", ("mark",), ((((1, 1),), BACKEND, None),), 4, set_name="backends")
    by_mark = r("pre", TCP, nmap)
    pre = base("pre", "prerouting", -100, "accept", by_mark, type_="nat")
    e = at(evaluate([nft("t", pre)], protocols=("tcp",)), 80)
    assert (e.verdict, e.decided_by) == ("indeterminate", (by_mark.origin,))
    assert e.reason == "set @backends: set field mark is not modelled"


def test_a_dnat_to_an_address_range_names_the_nat_rule() -> None:
    """Which address of a range DNAT picks is the kernel's choice: indeterminate, naming the rule."""
    spread = r("pre", *tcp(80), NatStatement("dnat", net("198.19.5.2/31"), 4))
    pre = base("pre", "prerouting", -100, "accept", spread, type_="nat")
    e = at(evaluate([nft("t", pre)], protocols=("tcp",)), 80)
    assert (e.verdict, e.decided_by) == ("indeterminate", (spread.origin,))
    assert e.reason == "DNAT to an address range: the kernel chooses"


def test_a_verdict_map_can_return_from_a_jumped_chain() -> None:
    """``tcp dport vmap { 80 : return }`` in a jumped chain returns to the rule after the jump."""
    sub = Chain("sub", (r("sub", TCP, VerdictMap(("dport",), ((((80, 80),), RETURN),))), r("sub", DROP)))
    flt = base("in", "input", 0, "drop", r("in", Verdict("jump", "sub")), r("in", *tcp(80), ACCEPT))
    exp = evaluate([nft("t", flt, sub)], protocols=("tcp",))
    assert at(exp, 80).verdict == "accept" and at(exp, 81).verdict == "drop"


def test_chains_that_decide_nothing_are_not_named() -> None:
    """An empty chain and a nat chain no rule of which matched decide nothing: with no rule on
    the path the report says so instead of naming their policies."""
    idle = base("in", "input", 0, "accept")
    pre = base("pre", "prerouting", -100, "accept", r("pre", *tcp(9999), NatStatement("redirect", ports=(22, 22))),
               type_="nat")
    e = at(evaluate([nft("t", idle, pre)], protocols=("tcp",)), 80)
    assert (e.verdict, e.decided_by, e.reason) == ("accept", (), "no rule on the path drops it")


def _policy(exp_table: Table, dest: str = "198.18.0.1", sources: tuple[str, ...] = ("198.18.0.0/24",)) -> Origin:
    e = at(evaluate([exp_table], protocols=("tcp",), dest=dest, sources=sources), 80)
    assert e.verdict == "drop"
    (origin,) = e.decided_by
    return origin


def test_a_policy_read_from_an_iptables_save_file_is_shown_as_iptables_prints_it() -> None:
    """An ``ip``/``ip6`` table read from a file whose chain is upper case came from
    iptables-save: its policy is ``:INPUT DROP`` at the chain's line of that file."""
    for family, dest, sources in (("ip", "198.18.0.1", ("198.18.0.0/24",)), ("ip6", DEST6, ("fd00::100/120",))):
        inp = Chain("INPUT", (rule("INPUT", ESTABLISHED, ACCEPT, backend="file", family=family),), hook="input",
                    priority=0, policy="drop", line=7)
        table = Table("file", family, "filter", (inp,), source="/etc/iptables/rules.v4")
        assert _policy(table, dest, sources) == Origin("file", family, "filter", "INPUT", 0, ":INPUT DROP", "iptables",
                                                       file="/etc/iptables/rules.v4", line=7), family


def test_a_policy_read_from_an_nft_file_is_shown_as_nft_prints_it() -> None:
    """An nft file's base chain — an inet table, or a lower-case chain name — keeps nft's
    spelling ``policy drop``, with its file and line."""
    for family, name in (("inet", "INPUT"), ("ip", "input")):
        inp = Chain(name, (rule(name, ESTABLISHED, ACCEPT, backend="file", family=family),), hook="input",
                    priority=0, policy="drop", line=3)
        table = Table("file", family, "fw", (inp,), source="/etc/nftables.conf")
        assert _policy(table) == Origin("file", family, "fw", name, 0, "policy drop", "nft",
                                        file="/etc/nftables.conf", line=3), (family, name)


def test_an_nft_base_chain_without_a_policy_accepts_and_is_named_so() -> None:
    """A base chain declared without a policy has the default ``policy accept``; a packet that
    falls through it is let through by that policy."""
    inp = Chain("in", (r("in", *tcp(22), DROP),), hook="input", priority=0)
    e = at(evaluate([nft("t", inp)], protocols=("tcp",)), 80)
    assert e.verdict == "accept"
    assert e.admitted_by == (Origin("nftables", "inet", "t", "in", 0, "policy accept", "nft"),)
