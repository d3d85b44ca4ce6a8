"""The kernel's order of base chains on a hook: priority, the nat slot, and ties."""

from __future__ import annotations

from auditor.engine.order import hook_slots
from auditor.model.ruleset import HookEntry, Ruleset
from tests.engine.builders import ACCEPT, DROP, base, ipt, nft, rule, tcp


def names(slots):
    return [[f"{m.table.name}/{m.chain.name}" for m in s.members] for s in slots]


def test_priorities_and_the_nat_slot():
    rs = Ruleset((
        nft("n", base("pre", "prerouting", -190, "accept", type_="nat",
                      *[rule("pre", *tcp(1), ACCEPT, backend="nftables")])),
        nft("m", base("pre", "prerouting", -150, "accept", rule("pre", DROP, backend="nftables"))),
        nft("r", base("pre", "prerouting", -300, "accept", rule("pre", DROP, backend="nftables"))),
    ))
    slots = hook_slots(rs, "prerouting", 4)
    assert names(slots) == [["r/pre"], ["m/pre"], ["n/pre"]]  # the nat chain runs at -100
    assert [s.priority for s in slots] == [-300, -150, -100]


def test_ties_registered_last_runs_first_by_table_then_chain_handle():
    a = nft("a", base("in1", "input", 0, "drop", handle=1), base("in2", "input", 0, "drop", handle=7), handle=3)
    b = nft("b", base("in", "input", 0, "drop", handle=1), handle=9)
    slot, = hook_slots(Ruleset((a, b)), "input", 4)
    assert slot.known and slot.source == "table handles"
    assert names([slot]) == [["b/in", "a/in2", "a/in1"]]


def test_ties_without_handles_follow_the_load_order_of_files():
    first = ipt("filter", base("INPUT", "input", 0, "drop"), backend="file")
    second = nft("x", base("in", "input", 0, "drop"))
    slot, = hook_slots(Ruleset((first, second)), "input", 4)
    assert names([slot]) == [["x/in", "filter/INPUT"]] and slot.source == "file order"


def test_legacy_beside_nf_tables_at_equal_priority_is_unknown():
    legacy = ipt("filter", base("INPUT", "input", 0, "drop"), backend="iptables-legacy")
    native = nft("x", base("in", "input", 0, "drop"), handle=2)
    slot, = hook_slots(Ruleset((legacy, native)), "input", 4)
    assert slot.ambiguous and len(slot.orders()) == 2


def test_idle_chains_do_not_create_ties():
    legacy = ipt("filter", base("INPUT", "input", 0, "accept"), backend="iptables-legacy")
    native = nft("x", base("in", "input", 0, "drop"), handle=2)
    slot, = hook_slots(Ruleset((legacy, native)), "input", 4)
    assert not slot.ambiguous and names([slot]) == [["x/in"]] and [m.table.name for m in slot.idle] == ["filter"]


def test_the_kernels_own_listing_wins_when_available():
    legacy = ipt("filter", base("INPUT", "input", 0, "drop"), backend="iptables-legacy")
    native = nft("x", base("in", "input", 0, "drop"), handle=2)
    hooks = (HookEntry("ip", "input", 0, "ipt_do_table", "ip_tables"),
             HookEntry("ip", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "x", "in")))
    slot, = hook_slots(Ruleset((legacy, native), hooks=hooks), "input", 4)
    assert slot.known and slot.source == "nft list hooks"
    assert names([slot]) == [["filter/INPUT", "x/in"]]


def test_families_inet_serves_both_ip_versions_and_ip6_only_v6():
    rs = Ruleset((nft("i", base("in", "input", 0, "drop")), nft("six", base("in", "input", 5, "drop"), family="ip6")))
    assert names(hook_slots(rs, "input", 4)) == [["i/in"]]
    assert names(hook_slots(rs, "input", 6)) == [["i/in"], ["six/in"]]


def test_an_nft_table_named_nat_is_a_filter_chain_unless_its_type_says_nat():
    rs = Ruleset((nft("nat", base("pre", "prerouting", -50, "accept", rule("pre", DROP, backend="nftables"))),))
    slot, = hook_slots(rs, "prerouting", 4)
    assert slot.priority == -50 and not slot.members[0].nat
    legacy = Ruleset((ipt("nat", base("PREROUTING", "prerouting", -100, "accept", rule("PREROUTING", DROP)),
                          backend="iptables-legacy"),))
    assert hook_slots(legacy, "prerouting", 4)[0].members[0].nat


def test_the_listing_places_legacy_chains_by_function_and_priority():
    legacy = ipt("filter", base("INPUT", "input", 10, "drop"), backend="iptables-legacy")
    native = nft("x", base("in", "input", 10, "drop"), handle=2)
    hooks = (HookEntry("ip", "input", -150, "ipt_do_table", "ip_tables"),  # legacy mangle, not filter
             HookEntry("ip", "input", 10, "nft_do_chain_inet", "nf_tables", ("inet", "x", "in")),
             HookEntry("ip", "input", 10, "ipt_do_table", "ip_tables"))
    slot, = hook_slots(Ruleset((legacy, native), hooks=hooks), "input", 4)
    assert slot.priority == 10 and slot.known and slot.source == "nft list hooks"
    assert names([slot]) == [["x/in", "filter/INPUT"]]


def test_a_listing_that_misses_a_chain_is_not_used():
    a = nft("a", base("in", "input", 0, "drop"), handle=1)
    b = nft("b", base("in", "input", 0, "drop"), handle=2)
    hooks = (HookEntry("ip", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "a", "in")),)
    slot, = hook_slots(Ruleset((a, b), hooks=hooks), "input", 4)
    assert slot.source == "table handles" and names([slot]) == [["b/in", "a/in"]]
