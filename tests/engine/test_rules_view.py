"""``fwaudit rules``: every base chain at its place in the kernel's order, per hook and IP version
(IPv6 only where it differs), ingress/egress per device, and the places that cannot be known
marked as such — what a user reads in the rules text."""

from __future__ import annotations

from dataclasses import replace

from auditor.engine.rules_view import base_chain_order, rules_view
from auditor.model.ruleset import Chain, Rule, Ruleset, Table
from auditor.report.rules import rules_text
from tests.engine.builders import ACCEPT, DROP, base, nft, rule, tcp


def r(chain: str, table: str, *parts: object) -> Rule:
    made = rule(chain, *parts, table=table, family="inet", backend="nftables", text=f"{chain} rule")
    return replace(made, origin=replace(made.origin, position=1))  # the builders number rules globally


RS = Ruleset((
    # a chain with rules at exactly conntrack's priority: its place beside conntrack is unknown
    nft("raw", base("pre", "prerouting", -200, "accept", r("pre", "raw", *tcp(1), ACCEPT)), handle=1),
    # a filter chain at exactly the nat core's priority, beside a nat chain the core runs
    nft("f", base("in", "input", 100, "accept", r("in", "f", *tcp(2), DROP)),
        base("nat_in", "input", 50, "accept", type_="nat"), handle=2),
    nft("v4", base("out", "output", 0, "drop"), family="ip", handle=3),
    nft("v6", base("fwd", "forward", 0, "drop"), base("post", "postrouting", 0, "drop"), family="ip6", handle=4),
    Table("nftables", "netdev", "nd", (Chain("ing1", (), hook="ingress", priority=0, policy="drop", device="eth1"),
                                       Chain("ing0", (), hook="ingress", priority=0, policy="drop", device="eth0"),
                                       Chain("any", (), hook="ingress", priority=5, policy="drop"),
                                       Chain("eg", (), hook="egress", priority=0, policy="drop", device="eth0")),
          handle=5),
    # two ip tables at one priority: the one created last (handle) runs first
    nft("t1", base("a", "forward", 10, "drop"), handle=6, family="ip"),
    nft("t2", base("b", "forward", 10, "drop"), handle=7, family="ip"),
))

CONNTRACK = "[order UNKNOWN: conntrack runs at the same priority, before or after by registration; every order evaluated]"
NAT_CORE = ("[order UNKNOWN: the nat core runs at the same priority, before or after by registration; "
            "every order evaluated]")


def test_rules_text_lists_every_base_chain_in_kernel_order_with_unknown_places_marked():
    view = rules_view("h", RS)
    assert (view.target, view.ruleset) == ("h", RS)
    assert rules_text(view).splitlines() == [
        "Firewall of h: 7 table(s), 2 rule(s)",
        "",
        "hook ingress (IPv4):",  # per device: the chain without one, then eth0, eth1
        "  priority 5: nftables netdev nd / any (type filter, policy drop)",
        "  priority 0: nftables netdev nd / ing0 (type filter, policy drop device eth0)",
        "  priority 0: nftables netdev nd / ing1 (type filter, policy drop device eth1)",
        "",
        "hook prerouting (IPv4):",  # inet only: IPv6 is the same order and not repeated
        f"  priority -200: nftables inet raw / pre (type filter, policy accept) {CONNTRACK}",
        "         1  pre rule",
        "",
        "hook input (IPv4):",
        "  priority 100 (nat slot): nftables inet f / nat_in (type nat, policy accept)",
        f"  priority 100: nftables inet f / in (type filter, policy accept) {NAT_CORE}",
        "         1  in rule",
        "",
        "hook forward (IPv4):",
        "  priority 10: nftables ip t2 / b (type filter, policy drop) [order: table handles]",
        "  priority 10: nftables ip t1 / a (type filter, policy drop) [order: table handles]",
        "",
        "hook forward (IPv6):",  # differs from IPv4's
        "  priority 0: nftables ip6 v6 / fwd (type filter, policy drop)",
        "",
        "hook output (IPv4):",
        "  priority 0: nftables ip v4 / out (type filter, policy drop)",
        "",
        "hook postrouting (IPv6):",  # nothing for IPv4
        "  priority 0: nftables ip6 v6 / post (type filter, policy drop)",
        "",
        "hook egress (IPv4):",
        "  priority 0: nftables netdev nd / eg (type filter, policy drop device eth0)",
    ]


def test_placements_say_how_many_chains_share_a_place_and_whether_its_order_is_known():
    assert [(p.hook, p.ip_version, p.priority, p.chain.name, p.nat, p.order_known, p.tied_with)
            for p in base_chain_order(RS)] == [
        ("ingress", 4, 5, "any", False, True, 0),
        ("ingress", 4, 0, "ing0", False, True, 0),
        ("ingress", 4, 0, "ing1", False, True, 0),
        ("prerouting", 4, -200, "pre", False, False, 0),
        ("input", 4, 100, "nat_in", True, True, 0),
        ("input", 4, 100, "in", False, False, 0),
        ("forward", 4, 10, "b", False, True, 1),
        ("forward", 4, 10, "a", False, True, 1),
        ("forward", 6, 0, "fwd", False, True, 0),
        ("output", 4, 0, "out", False, True, 0),
        ("postrouting", 6, 0, "post", False, True, 0),
        ("egress", 4, 0, "eg", False, True, 0),
    ]
    assert base_chain_order(Ruleset(())) == ()
