"""Evaluator semantics on hand-built models (no root; the kernel oracle tests live in
tests/engine/test_oracle.py)."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.model.host import HostContext, Interface, Route
from auditor.model.ruleset import (
    AddressMatch,
    AddrTypeMatch,
    Chain,
    ConntrackStateMatch,
    EffectStatement,
    InterfaceMatch,
    MarkMatch,
    MarkStatement,
    NatStatement,
    NondeterministicMatch,
    NotrackStatement,
    Origin,
    PhysdevMatch,
    PortMatch,
    ProtocolMatch,
    ReversePathMatch,
    Rule,
    Ruleset,
    SetElementMatch,
    Table,
    UnknownMatch,
    Verdict,
    VerdictMap,
)

DEST = "198.18.0.1"
HOST = HostContext(
    interfaces=(
        Interface("lo", (ipaddress.ip_interface("127.0.0.1/8"),)),
        Interface("eth0", (ipaddress.ip_interface("198.18.0.1/24"),)),
        Interface("br0", (ipaddress.ip_interface("198.19.5.1/24"),)),
    ),
    routes=(
        Route(ipaddress.ip_network("198.18.0.0/24"), "eth0"),
        Route(ipaddress.ip_network("198.19.5.0/24"), "br0"),
    ),
    forwarding_v4=True,
    forwarding_v6=False,
)
_counter = iter(range(1, 10**6))


def ip(a: str) -> int:
    return int(ipaddress.ip_address(a))


def net(n: str) -> tuple[int, int]:
    x = ipaddress.ip_network(n)
    return int(x.network_address), int(x.broadcast_address)


def rule(chain: str, *parts, text: str | None = None, table: str = "filter", backend="iptables-legacy", family="ip"):
    matches = tuple(p for p in parts if not _is_statement(p))
    statements = tuple(p for p in parts if _is_statement(p))
    n = next(_counter)
    return Rule(matches, statements, Origin(backend, family, table, chain, n, text or f"rule {n}"))


def _is_statement(p) -> bool:
    return isinstance(p, (Verdict, VerdictMap, NatStatement, MarkStatement, NotrackStatement, EffectStatement))


def tcp(*ports):
    return (ProtocolMatch(frozenset({6})), PortMatch("dport", tuple((p, p) if isinstance(p, int) else p for p in ports)))


ACCEPT, DROP, REJECT, RETURN = Verdict("accept"), Verdict("drop"), Verdict("reject"), Verdict("return")


def ipt(name="filter", *chains, family="ip"):
    return Table("iptables-legacy", family, name, tuple(chains))


def nft(name, *chains, family="inet"):
    return Table("nftables", family, name, tuple(chains))


def base(name, hook, prio, policy, *rules, type_=None):
    return Chain(name, tuple(rules), hook=hook, priority=prio, policy=policy, type=type_)


def verdicts(tables, *, sources=("198.18.0.0/24",), iif="eth0", host=HOST, protocols=("tcp",), dest=DEST):
    exp = evaluate_exposure(Ruleset(tuple(tables)), host, ExposureQuery(iif, dest, sources, protocols))
    return exp


def at(exp, port, source=None, protocol="tcp"):
    hits = [
        e for e in exp.entries
        if e.protocol == protocol and e.ports[0] <= port <= e.ports[1]
        and (source is None or ipaddress.ip_address(source) in ipaddress.ip_network(e.source))
    ]
    assert len(hits) == 1, hits
    return hits[0]


def test_no_rules_accepts_everything_and_covers_all_ports_once():
    exp = verdicts([], protocols=("tcp", "udp"))
    assert [(e.protocol, e.ports, e.verdict) for e in exp.entries] == [
        ("tcp", (1, 65535), "accept"), ("udp", (1, 65535), "accept")]


def test_policy_drop_with_explicit_accept_names_rules():
    r = rule("INPUT", *tcp(22), ACCEPT, text="-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
    exp = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r))])
    assert at(exp, 22).verdict == "accept"
    assert at(exp, 22).decided_by[0].text.endswith("--dport 22 -j ACCEPT")
    assert at(exp, 21).verdict == "drop" and at(exp, 21).decided_by[0].text == ":INPUT DROP"
    assert at(exp, 65535).verdict == "drop"


def test_goto_then_return_returns_to_the_caller_of_the_jumping_chain():
    # INPUT -> jump A; A -> goto B; B returns => back in INPUT after the jump (not in A)
    a = Chain("A", (rule("A", Verdict("goto", "B")), rule("A", ACCEPT)))
    b = Chain("B", (rule("B", *tcp(80), RETURN), rule("B", ACCEPT)))
    inp = base("INPUT", "input", 0, "drop", rule("INPUT", Verdict("jump", "A")))
    exp = verdicts([ipt("filter", inp, a, b)])
    assert at(exp, 80).verdict == "drop"  # returned past A's accept, fell to policy
    assert at(exp, 81).verdict == "accept"


def test_accept_in_one_nft_table_then_drop_in_another_drops():
    t1 = nft("a", base("in", "input", -10, "accept",
                       rule("in", *tcp(22), ACCEPT, backend="nftables", family="inet", table="a", text="tcp dport 22 accept")))
    t2 = nft("b", base("in", "input", 0, "drop",
                       rule("in", *tcp(80), ACCEPT, backend="nftables", family="inet", table="b", text="tcp dport 80 accept")))
    exp = verdicts([t2, t1])
    assert at(exp, 22).verdict == "drop"
    assert at(exp, 80).verdict == "accept"
    # both base chains decided: a's (earlier priority) let it through by its policy, then b's rule
    assert [(o.table, o.text) for o in at(exp, 80).decided_by] == [("a", "policy accept"), ("b", "tcp dport 80 accept")]
    last = at(exp, 22).decided_by[-1]  # the drop is final: b's policy decided, a's accept did not
    assert (last.table, last.text) == ("b", "policy drop")


def test_source_prefix_negation_and_interface_wildcards():
    r = rule("INPUT", AddressMatch("saddr", 4, (net("198.18.0.0/25"),), negated=True),
             InterfaceMatch("iif", ("eth+",)), *tcp(22), ACCEPT)
    exp = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r))])
    assert at(exp, 22, "198.18.0.200").verdict == "accept"
    assert at(exp, 22, "198.18.0.5").verdict == "drop"
    other_iface = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r))], iif="wlan0")
    assert at(other_iface, 22, "198.18.0.200").verdict == "drop"


def test_negated_interface():
    r = rule("INPUT", InterfaceMatch("iif", ("lo",), negated=True), *tcp(1, (65535, 65535)), REJECT)
    exp = verdicts([ipt("filter", base("INPUT", "input", 0, "accept", r))])
    assert at(exp, 1).verdict == "reject" and at(exp, 65535).verdict == "reject"
    assert at(exp, 2).verdict == "accept"


def test_ct_state_established_rule_does_not_match_new_connection():
    r1 = rule("INPUT", ConntrackStateMatch(frozenset({"established", "related"})), ACCEPT)
    r2 = rule("INPUT", ConntrackStateMatch(frozenset({"invalid"})), DROP)
    exp = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r1, r2, rule("INPUT", *tcp(443), ACCEPT)))])
    assert at(exp, 22).verdict == "drop" and at(exp, 443).verdict == "accept"


def test_ct_state_before_conntrack_is_invalid_and_notrack_makes_untracked():
    raw = nft("raw", base("pre", "prerouting", -300, "accept",
                          rule("pre", ConntrackStateMatch(frozenset({"invalid"})), *tcp(9), DROP),
                          rule("pre", *tcp(10), NotrackStatement())))
    flt = nft("f", base("in", "input", 0, "drop",
                        rule("in", ConntrackStateMatch(frozenset({"untracked"})), ACCEPT),
                        rule("in", ConntrackStateMatch(frozenset({"new"})), *tcp(11), ACCEPT)))
    exp = verdicts([raw, flt])
    assert at(exp, 9).verdict == "drop"
    assert at(exp, 10).verdict == "accept"  # every packet to port 10 is untracked
    # a NEW-only accept admits the SYN, but the client's ACK is established: the handshake dies
    assert at(exp, 11).verdict == "drop" and at(exp, 11).failed_leg.name == "client"
    assert at(exp, 12).verdict == "drop"


def test_dnat_to_local_port_is_evaluated_with_translated_port():
    nat = ipt("nat", base("PREROUTING", "prerouting", -100, "accept",
                          rule("PREROUTING", *tcp(80), NatStatement("redirect", ports=(8080, 8080)), table="nat")))
    flt = ipt("filter", base("INPUT", "input", 0, "drop", rule("INPUT", *tcp(8080), ACCEPT)))
    exp = verdicts([nat, flt])
    e = at(exp, 80)
    assert e.verdict == "accept" and e.translated_to == ("198.18.0.1", 8080)
    assert at(exp, 8080).verdict == "accept" and at(exp, 8080).translated_to is None
    assert at(exp, 81).verdict == "drop"


def test_dnat_to_container_bypasses_input_and_takes_forward_path():
    nat = ipt("nat", base("PREROUTING", "prerouting", -100, "accept",
                          rule("PREROUTING", AddrTypeMatch("daddr", frozenset({"LOCAL"})), Verdict("jump", "DOCKER"), table="nat")),
              Chain("DOCKER", (rule("DOCKER", InterfaceMatch("iif", ("br0",)), RETURN, table="nat"),
                               rule("DOCKER", *tcp(8080), NatStatement("dnat", net("198.19.5.2/32"), 4, (80, 80)), table="nat"))))
    flt = ipt("filter",
              base("INPUT", "input", 0, "drop"),
              base("FORWARD", "forward", 0, "drop",
                   rule("FORWARD", AddressMatch("daddr", 4, (net("198.19.5.2/32"),)),
                        InterfaceMatch("oif", ("br0",)), *tcp(80), ACCEPT),
                   rule("FORWARD", InterfaceMatch("iif", ("br0",)), InterfaceMatch("oif", ("br0",), negated=True),
                        ACCEPT)))  # Docker's "-i docker0 ! -o docker0 -j ACCEPT": the replies
    exp = verdicts([nat, flt])
    e = at(exp, 8080)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "forward", ("198.19.5.2", 80))
    assert at(exp, 80).verdict == "drop" and at(exp, 80).path == "input"
    no_fwd = verdicts([nat, flt], host=HostContext(HOST.interfaces, HOST.routes, forwarding_v4=False))
    assert at(no_fwd, 8080).verdict == "drop"


def test_first_dnat_wins_and_nat_chains_run_at_the_nat_slot():
    # a nat chain declared at priority -190 still runs after a filter chain at -150
    early_nat = nft("n1", base("pre", "prerouting", -190, "accept",
                               rule("pre", *tcp(80), NatStatement("redirect", ports=(81, 81))), type_="nat"))
    late_nat = nft("n2", base("pre", "prerouting", -90, "accept",
                              rule("pre", *tcp(80), NatStatement("redirect", ports=(82, 82))), type_="nat"))
    mangle = nft("m", base("pre", "prerouting", -150, "accept",
                           rule("pre", *tcp(81), DROP)))
    flt = nft("f", base("in", "input", 0, "drop", rule("in", *tcp(81), ACCEPT)))
    exp = verdicts([late_nat, early_nat, mangle, flt])
    assert at(exp, 80).verdict == "accept" and at(exp, 80).translated_to == ("198.18.0.1", 81)
    assert at(exp, 81).verdict == "drop"  # the filter-type chain at -150 sees original port 81


def test_unknown_match_is_indeterminate_naming_the_rule_but_log_continues():
    r_log = rule("INPUT", UnknownMatch("-m weird"), EffectStatement("log"))
    r_unknown = rule("INPUT", *tcp(25), UnknownMatch("-m foo --bar"), ACCEPT, text="-A INPUT -p tcp --dport 25 -m foo --bar -j ACCEPT")
    r_limit = rule("INPUT", *tcp(26), NondeterministicMatch("limit", "-m limit --limit 1/s"), ACCEPT)
    exp = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r_log, r_unknown, r_limit))])
    e = at(exp, 25)
    assert e.verdict == "indeterminate" and e.decided_by[0].text.endswith("-m foo --bar -j ACCEPT")
    assert "-m foo --bar" in e.reason
    assert at(exp, 26).verdict == "indeterminate" and "limit" in at(exp, 26).reason
    assert at(exp, 24).verdict == "drop" and at(exp, 27).verdict == "drop"


def test_source_port_condition_is_indeterminate_unless_it_covers_all_ports():
    r = rule("INPUT", ProtocolMatch(frozenset({6})), PortMatch("sport", ((1024, 65535),)), ACCEPT)
    r_all = rule("INPUT", ProtocolMatch(frozenset({6})), PortMatch("sport", ((0, 65535),)), *tcp(5), REJECT)
    exp = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r_all, r))])
    assert at(exp, 5).verdict == "reject"
    assert at(exp, 6).verdict == "indeterminate" and "source port" in at(exp, 6).reason


def test_sets_of_address_port_pairs():
    s = SetElementMatch("allow", ("saddr", "dport"), ((net("198.18.0.10/32"), (22, 22)), (net("198.18.0.0/28"), (80, 80))), 4)
    exp = verdicts([nft("f", base("in", "input", 0, "drop", rule("in", ProtocolMatch(frozenset({6})), s, ACCEPT)))])
    assert at(exp, 22, "198.18.0.10").verdict == "accept"
    assert at(exp, 22, "198.18.0.11").verdict == "drop"
    assert at(exp, 80, "198.18.0.15").verdict == "accept"
    assert at(exp, 80, "198.18.0.16").verdict == "drop"


def test_verdict_map_miss_continues():
    vm = VerdictMap(("dport",), ((((22, 22),), ACCEPT), (((80, 80),), DROP)))
    exp = verdicts([nft("f", base("in", "input", 0, "accept",
                                  rule("in", ProtocolMatch(frozenset({6})), vm),
                                  rule("in", *tcp(80, 81), REJECT)))])
    assert at(exp, 22).verdict == "accept"
    assert at(exp, 80).verdict == "drop"
    assert at(exp, 81).verdict == "reject"
    assert at(exp, 82).verdict == "accept"


def test_marks_set_in_mangle_are_seen_in_filter():
    mangle = ipt("mangle", base("PREROUTING", "prerouting", -150, "accept",
                                rule("PREROUTING", *tcp(3000), MarkStatement("meta", 0xFFFFFFFF, 0x10), table="mangle")))
    flt = ipt("filter", base("INPUT", "input", 0, "drop", rule("INPUT", MarkMatch("meta", 0x10, 0xFF), ACCEPT)))
    exp = verdicts([mangle, flt])
    assert at(exp, 3000).verdict == "accept" and at(exp, 3001).verdict == "drop"


def test_udp_is_evaluated_separately_and_ipv6_needs_v6_tables():
    r = rule("INPUT", ProtocolMatch(frozenset({17})), PortMatch("dport", ((53, 53),)), ACCEPT)
    exp = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r))], protocols=("tcp", "udp"))
    assert at(exp, 53, protocol="udp").verdict == "accept" and at(exp, 53).verdict == "drop"
    v6 = verdicts([ipt("filter", base("INPUT", "input", 0, "drop", r))], sources=("fd00:db8::/64",), dest="fd00:db8::1")
    assert at(v6, 53).verdict == "accept"  # no ip6 table: nothing filters IPv6


def test_source_in_other_family_is_an_input_error():
    from auditor.errors import InputError

    with pytest.raises(InputError):
        verdicts([], sources=("fd00:db8::/64",))


# -- orders the kernel does not reveal: at most 64 are evaluated -----------------------------------

_HOOKS = ("prerouting", "input", "forward", "output", "postrouting")


def _ties(count):
    """``count`` slots where an iptables-legacy chain and an nft chain share a priority; every
    chain only logs, so every order gives the same verdicts."""
    slots = [(hook, -150) for hook in _HOOKS] + [("input", 0), ("output", 0)]
    legacy, native = [], []
    for i, (hook, prio) in enumerate(slots[:count]):
        name = f"C{i}"
        legacy.append(base(name, hook, prio, "accept", rule(name, EffectStatement("log"))))
        native.append(base(f"n{i}", hook, prio, "accept",
                           rule(f"n{i}", EffectStatement("log"), backend="nftables", family="inet")))
    return [ipt("mangle", *legacy), nft("t", *native)]


def test_up_to_64_possible_orders_are_all_evaluated():
    exp = verdicts(_ties(6))  # 2**6 = 64 orders
    assert at(exp, 9).verdict == "accept" and at(exp, 10).verdict == "accept"


def test_beyond_64_possible_orders_the_verdict_is_indeterminate_and_says_why():
    exp = verdicts(_ties(7))  # 128 orders
    e = at(exp, 9)
    assert e.verdict == "indeterminate" and "too many base chains" in e.reason
    assert "iptables-legacy ip mangle C0" in e.reason and e.reason.endswith(" …")


# -- what the evaluator knows of addresses (the kernel's inet_addr_type) ---------------------------


def _by_source_type(kind, host=HOST, sources=("0.0.0.0/0",)):
    flt = ipt("filter", base("INPUT", "input", 0, "accept",
                             rule("INPUT", AddrTypeMatch("saddr", frozenset({kind})), *tcp(80), DROP)))
    return verdicts([flt], sources=sources, host=host)


def test_source_address_types_follow_the_kernels_classes():
    exp = _by_source_type("BROADCAST")
    for addr, dropped in (("0.1.2.3", True), ("255.255.255.255", True), ("198.18.0.255", True),
                          ("198.18.0.254", False), ("224.0.0.5", False)):
        assert (at(exp, 80, addr).verdict == "drop") is dropped, addr
    exp = _by_source_type("MULTICAST")
    for addr, dropped in (("224.0.0.0", True), ("239.255.255.255", True), ("240.0.0.0", False),
                          ("223.255.255.255", False)):
        assert (at(exp, 80, addr).verdict == "drop") is dropped, addr
    # 127/8 is local whether or not lo is declared
    bare = HostContext((Interface("eth0", (ipaddress.ip_interface("198.18.0.1/24"),)),), HOST.routes,
                       forwarding_v4=True, forwarding_v6=False)
    exp = _by_source_type("LOCAL", host=bare)
    for addr, dropped in (("127.0.0.0", True), ("127.255.255.255", True), ("128.0.0.0", False),
                          ("198.18.0.1", True), ("198.18.0.2", False)):
        assert (at(exp, 80, addr).verdict == "drop") is dropped, addr


def test_a_slash_31_has_no_broadcast_address():
    host = HostContext((Interface("eth0", (ipaddress.ip_interface("198.18.0.1/24"),)),
                        Interface("p2p", (ipaddress.ip_interface("203.0.113.0/31"),)),
                        Interface("p30", (ipaddress.ip_interface("203.0.113.5/30"),))),
                       HOST.routes, forwarding_v4=True, forwarding_v6=False)
    exp = _by_source_type("BROADCAST", host=host)
    assert at(exp, 80, "203.0.113.1").verdict == "accept"
    assert at(exp, 80, "203.0.113.7").verdict == "drop"


def test_ipv6_address_types():
    host = HostContext((Interface("eth0", (ipaddress.ip_interface("fd00::1/64"),)),),
                       (Route(ipaddress.ip_network("fd00::/64"), "eth0"),), forwarding_v4=True, forwarding_v6=False)
    def exp_for(kind):
        flt = ipt("filter", base("INPUT", "input", 0, "accept",
                                 rule("INPUT", AddrTypeMatch("saddr", frozenset({kind}), fib=True), *tcp(80), DROP)),
                  family="ip6")
        return verdicts([flt], sources=("::/0",), host=host, dest="fd00::1")
    local, multicast = exp_for("LOCAL"), exp_for("MULTICAST")
    assert at(local, 80, "::1").verdict == "drop" and at(local, 80, "::2").verdict == "accept"
    assert at(local, 80, "fd00::1").verdict == "drop"
    assert at(multicast, 80, "ff02::1").verdict == "drop" and at(multicast, 80, "fe80::1").verdict == "accept"
    assert at(multicast, 80, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").verdict == "drop"


def test_reverse_path_fails_for_clients_behind_blackhole_routes_and_for_the_hosts_own_addresses():
    host = HostContext(HOST.interfaces, HOST.routes + (Route(ipaddress.ip_network("203.0.113.0/24"), None,
                                                             type="blackhole"),
                                                       Route(ipaddress.ip_network("0.0.0.0/0"), "eth0")),
                       forwarding_v4=True, forwarding_v6=False)
    raw = ipt("raw", base("PREROUTING", "prerouting", -300, "accept",
                          rule("PREROUTING", ReversePathMatch(strict=False, negated=True), DROP, table="raw")))
    exp = verdicts([raw], sources=("0.0.0.0/0",), host=host)
    assert at(exp, 80, "203.0.113.9").verdict == "drop"
    assert at(exp, 80, "198.18.0.1").verdict == "drop"
    assert at(exp, 80, "198.51.100.9").verdict == "accept"


def test_offline_only_declared_bridges_have_ports_and_the_verdict_says_it_assumed_so():
    flt = ipt("filter", base("INPUT", "input", 0, "accept",
                             rule("INPUT", PhysdevMatch(frozenset({"is-bridged"}), frozenset(), "--physdev-is-bridged"),
                                  *tcp(80), ACCEPT),
                             rule("INPUT", *tcp(80), DROP)))
    assert at(verdicts([flt]), 80).verdict == "drop"  # not bridged: the physdev match fails
    offline = HostContext(HOST.interfaces, HOST.routes, forwarding_v4=True, forwarding_v6=False, complete=False)
    e = at(verdicts([flt], host=offline), 80)
    assert e.verdict == "drop" and "assuming eth0 is no bridge" in (e.reason or "")
    declared = HostContext(HOST.interfaces + (Interface("eth0/port", bridge="eth0"),), HOST.routes,
                           forwarding_v4=True, forwarding_v6=False, complete=False)
    assert at(verdicts([flt], host=declared), 80).verdict == "indeterminate"


def test_bridge_and_arp_tables_are_named_as_not_evaluated():
    exp = verdicts([Table("nftables", "bridge", "br", ()), Table("nftables", "arp", "a", ()), nft("f")])
    assert exp.notes == ("not evaluated (bridge/arp layer): arp a, bridge br",)
    assert verdicts([nft("f")]).notes == ()


def test_entries_partition_sources_and_ports_exactly():
    flt = ipt("filter", base("INPUT", "input", 0, "drop",
                             rule("INPUT", AddressMatch("saddr", 4, (net("198.18.0.0/25"),)), *tcp(22, 80), ACCEPT),
                             rule("INPUT", ConntrackStateMatch(frozenset({"established"})), ACCEPT)))
    exp = verdicts([flt])
    rows = [(e.source, e.ports, e.verdict) for e in exp.entries]
    assert rows == [
        ("198.18.0.0/25", (1, 21), "drop"), ("198.18.0.0/25", (22, 22), "accept"),
        ("198.18.0.0/25", (23, 79), "drop"), ("198.18.0.0/25", (80, 80), "accept"),
        ("198.18.0.0/25", (81, 65535), "drop"), ("198.18.0.128/25", (1, 65535), "drop"),
    ]
    single = verdicts([flt], sources=("198.18.0.7",))
    assert [e.source for e in single.entries] == ["198.18.0.7"] * 5
    whole = verdicts([flt], sources=("198.18.0.0/25",))
    assert {e.source for e in whole.entries} == {"198.18.0.0/25"}
