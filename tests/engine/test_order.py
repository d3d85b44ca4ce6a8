"""The kernel's order of base chains on a hook: priority, the nat slot, and ties."""

from __future__ import annotations

from auditor.engine.order import hook_slots
from auditor.model.ruleset import Chain, HookEntry, Ruleset, Table
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


# -- the kernel's listing: which part of it speaks for a hook --------------------------------------


def _two_inet(hook: str = "input", family: str = "inet", device: str | None = None) -> tuple[Table, Table]:
    """Tables a (handle 1) and b (handle 2) with one base chain each on ``hook`` at priority 0:
    by handles b runs first."""
    def chain(name: str) -> Chain:
        return Chain(name, (), hook=hook, priority=0, policy="drop", device=device)

    return nft("a", chain("c"), family=family, handle=1), nft("b", chain("c"), family=family, handle=2)


def test_an_ipv6_hook_is_ordered_by_the_ip6_listing():
    a, b = _two_inet()
    hooks = (HookEntry("ip6", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "a", "c")),
             HookEntry("ip6", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "b", "c")))
    slot, = hook_slots(Ruleset((a, b), hooks=hooks), "input", 6)
    assert slot.source == "nft list hooks" and names([slot]) == [["a/c", "b/c"]]


def test_ingress_and_egress_are_ordered_by_the_netdev_listing():
    for hook in ("ingress", "egress"):
        a, b = _two_inet(hook, "netdev", "eth0")
        hooks = (HookEntry("netdev", hook, 0, "nft_do_chain_netdev", "nf_tables", ("netdev", "a", "c")),
                 HookEntry("netdev", hook, 0, "nft_do_chain_netdev", "nf_tables", ("netdev", "b", "c")))
        slot, = hook_slots(Ruleset((a, b), hooks=hooks), hook, 4, "eth0")
        assert slot.source == "nft list hooks" and names([slot]) == [["a/c", "b/c"]], hook


def test_only_the_listing_of_the_hooks_own_family_places_its_chains():
    """An inet chain is listed under ip and ip6 alike; for IPv4 only the ip part counts."""
    a, b = _two_inet()
    hooks = (HookEntry("ip6", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "b", "c")),
             HookEntry("ip6", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "a", "c")),
             HookEntry("ip", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "a", "c")),
             HookEntry("ip", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "b", "c")))
    slot, = hook_slots(Ruleset((a, b), hooks=hooks), "input", 4)
    assert slot.source == "nft list hooks" and names([slot]) == [["a/c", "b/c"]]


def test_the_listing_places_each_chain_at_its_own_line():
    a, b = _two_inet()
    hooks = (HookEntry("ip", "input", -200, "ipv4_conntrack_in", "nf_conntrack"),
             HookEntry("ip", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "a", "c")),
             HookEntry("ip", "input", 0, "nft_do_chain_inet", "nf_tables", ("inet", "b", "c")))
    slot, = hook_slots(Ruleset((a, b), hooks=hooks), "input", 4)
    assert names([slot]) == [["a/c", "b/c"]]


def test_an_unreadable_order_says_why_and_keeps_its_idle_chains_apart():
    legacy = ipt("filter", base("INPUT", "input", 0, "drop"), backend="iptables-legacy")
    native = nft("x", base("in", "input", 0, "drop"), handle=2)
    idle = nft("y", base("in", "input", 0, "accept"), handle=3)
    slot, = hook_slots(Ruleset((legacy, native, idle)), "input", 4)
    assert slot.ambiguous and slot.source == "unknown: iptables-legacy beside nf_tables"
    assert names([slot]) == [["filter/INPUT", "x/in"]] and [m.table.name for m in slot.idle] == ["y"]


def test_a_table_of_another_family_or_a_chain_on_another_device_hides_nothing_after_it():
    rs = Ruleset((nft("six", base("in", "input", 5, "drop"), family="ip6"), nft("i", base("in", "input", 0, "drop"))))
    assert names(hook_slots(rs, "input", 4)) == [["i/in"]]
    other = Chain("o", (), hook="ingress", priority=0, policy="drop", device="eth1")
    mine = Chain("m", (), hook="ingress", priority=0, policy="drop", device="eth0")
    rs = Ruleset((nft("nd", other, mine, family="netdev"),))
    assert names(hook_slots(rs, "ingress", 4, "eth0")) == [["nd/m"]]
