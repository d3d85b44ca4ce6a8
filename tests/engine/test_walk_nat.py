"""NAT as the kernel applies it: the nat chains of a hook run for a connection's first packet only
until one of them sets up the mapping (``nf_nat_initialized`` per manip type), NAT maps look
their keys up in order, and the nat core re-addresses replies and reject answers of an
established connection (``nf_nat_packet`` with the direction-swapped status bit)."""

from __future__ import annotations

from auditor.model.ruleset import (
    AddressMatch,
    Chain,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    NatMapStatement,
    NatStatement,
    PortMatch,
    ProtocolMatch,
    Rule,
    Table,
    Verdict,
    VerdictMap,
)
from tests.engine.builders import ACCEPT, DROP, ESTABLISHED, RESET, at, base, evaluate, net, nft, rule, tcp

TCP = ProtocolMatch(frozenset({6}))
CLIENTS = net("198.18.0.0/24")
BACKEND, OTHER = net("198.19.5.2/32"), net("198.19.5.3/32")
NEW = ConntrackStateMatch(frozenset({"new"}))


def r(chain: str, *parts: object) -> Rule:
    return rule(chain, *parts, backend="nftables", family="inet")


def nat(name: str, hook: str, prio: int, *rules: Rule) -> Chain:
    return base(name, hook, prio, "accept", *rules, type_="nat")


def test_a_dnat_onto_the_same_address_still_ends_the_hooks_nat_chains() -> None:
    """An identity DNAT sets DST_NAT_DONE without IPS_DST_NAT: a later nat chain of the same hook
    is not run, the connection is not NATed, and the nat rule is named for the first packet."""
    same = r("a", *tcp(80), NatStatement("dnat", net("198.18.0.1/32"), 4))
    first = nat("a", "prerouting", -100, same)
    second = nat("b", "prerouting", -90, r("b", *tcp(80), NatStatement("dnat", BACKEND, 4)))
    allow = r("in", *tcp(80), ACCEPT)
    flt = base("in", "input", 0, "drop", r("in", ConntrackStatusMatch(frozenset({"dnat"})), DROP), allow,
               r("in", ESTABLISHED, ACCEPT))
    e = at(evaluate([nft("t", first, second, flt)], protocols=("tcp",)), 80)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "input", None)
    assert e.admitted_by == (same.origin, allow.origin)


def test_a_real_dnat_ends_the_hooks_nat_chains_and_is_named() -> None:
    """After a DNAT that changes the tuple no later nat chain of the hook rewrites it again."""
    to_backend = r("a", *tcp(80), NatStatement("dnat", BACKEND, 4, (8080, 8080)))
    first = nat("a", "prerouting", -100, to_backend)
    second = nat("b", "prerouting", -90, r("b", TCP, NatStatement("dnat", OTHER, 4, (9090, 9090))))
    e = at(evaluate([nft("t", first, second)], protocols=("tcp",)), 80)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "forward", ("198.19.5.2", 8080))
    assert e.admitted_by == (to_backend.origin,)


def test_a_dnat_to_a_port_range_outside_the_clients_port_translates() -> None:
    """``dnat to :8000-8001`` for a client port outside the range rewrites the port (IPS_DST_NAT);
    the port the kernel picks from the range is not named."""
    pre = nat("pre", "prerouting", -100, r("pre", *tcp(9000), NatStatement("dnat", None, None, (8000, 8001))))
    flt = base("in", "input", 0, "drop", r("in", ConntrackStatusMatch(frozenset({"dnat"})), ACCEPT))
    e = at(evaluate([nft("t", pre, flt)], protocols=("tcp",)), 9000)
    assert (e.verdict, e.translated_to) == ("accept", ("198.18.0.1", None))


def test_source_nat_in_postrouting_still_runs_after_a_dnat_in_prerouting() -> None:
    """DNAT and SNAT are separate manip types: masquerade in postrouting applies to a DNATed
    connection, and its replies carry ``ct status snat``."""
    pre = nat("pre", "prerouting", -100, r("pre", *tcp(80), NatStatement("dnat", BACKEND, 4, (8080, 8080))))
    post = nat("post", "postrouting", 100, r("post", NatStatement("masquerade")))
    fwd = base("fwd", "forward", 0, "drop", r("fwd", ConntrackStatusMatch(frozenset({"snat"})), ACCEPT),
               r("fwd", NEW, ACCEPT))
    e = at(evaluate([nft("t", pre, post, fwd)], protocols=("tcp",)), 80)
    assert (e.verdict, e.path) == ("accept", "forward")
    assert e.leg("reply") is not None and e.leg("reply").verdict == "accept"  # type: ignore[union-attr]


def test_a_local_reply_is_readdressed_to_the_client_at_the_nat_slot_of_output() -> None:
    """Replies of a source-NATed local connection reach the client's address at output -100:
    a later output chain can match the client, an earlier one cannot know it."""
    snat = nat("nin", "input", 100, r("nin", *tcp(80), NatStatement("snat", net("198.18.0.1/32"), 4)))
    out = base("out", "output", 0, "drop", r("out", AddressMatch("daddr", 4, (CLIENTS,)), ACCEPT))
    exp = evaluate([nft("t", snat, out)], protocols=("tcp",))
    assert at(exp, 80).verdict == "accept"
    early = base("out", "output", -150, "drop", r("out", AddressMatch("daddr", 4, (CLIENTS,)), ACCEPT))
    e = at(evaluate([nft("t", snat, early)], protocols=("tcp",)), 80)
    assert e.verdict == "indeterminate" and "source-NAT address" in (e.reason or "")


def test_a_forwarded_reply_is_readdressed_to_the_client_at_the_nat_slot_of_prerouting() -> None:
    """A masqueraded connection's replies are de-SNATed in prerouting, so forward sees the client."""
    pre = nat("pre", "prerouting", -100, r("pre", *tcp(80), NatStatement("dnat", BACKEND, 4, (8080, 8080))))
    post = nat("post", "postrouting", 100, r("post", NatStatement("masquerade")))
    fwd = base("fwd", "forward", 0, "drop",
               r("fwd", ESTABLISHED, AddressMatch("daddr", 4, (CLIENTS,)), ACCEPT),
               r("fwd", AddressMatch("saddr", 4, (CLIENTS,)), ACCEPT))
    e = at(evaluate([nft("t", pre, post, fwd)], protocols=("tcp",)), 80)
    assert (e.verdict, e.path) == ("accept", "forward")


def test_a_forwarded_reply_leaves_from_the_address_and_port_the_client_chose() -> None:
    """At postrouting +100 the reply of a DNATed connection gets the original destination back as
    its source (198.18.0.1:80, not the backend's 198.19.5.2:8080)."""
    pre = nat("pre", "prerouting", -100, r("pre", *tcp(80), NatStatement("dnat", BACKEND, 4, (8080, 8080))))
    late = base("late", "postrouting", 200, "drop",
                r("late", NEW, ACCEPT),
                r("late", AddressMatch("daddr", 4, (BACKEND,)), ACCEPT),  # the client's ACK
                r("late", TCP, AddressMatch("saddr", 4, (net("198.18.0.1/32"),)), PortMatch("sport", ((80, 80),)),
                  ACCEPT))
    e = at(evaluate([nft("t", pre, late)], protocols=("tcp",)), 80)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "forward", ("198.19.5.2", 8080))


def test_a_reject_answer_leaves_from_the_port_the_client_chose() -> None:
    """The reset for a redirected connection is attached to it (related, reply direction), so the
    nat core gives it the port the client chose at postrouting +100."""
    pre = nat("pre", "prerouting", -100, r("pre", *tcp(80), NatStatement("redirect", ports=(8080, 8080))))
    flt = base("in", "input", 0, "accept", r("in", *tcp(8080), RESET))
    late = base("late", "postrouting", 200, "drop", r("late", TCP, PortMatch("sport", ((80, 80),)), ACCEPT))
    e = at(evaluate([nft("t", pre, flt, late)], protocols=("tcp",)), 80)
    assert e.verdict == "reject"


def test_a_nat_map_looks_its_keys_up_until_one_matches() -> None:
    """``dnat to iif map { "eth1" : …, "eth0" : … }``: a key that does not match is skipped, the
    one that matches translates."""
    nmap = NatMapStatement("dnat", ("iif",), ((("eth1",), OTHER, (9090, 9090)), (("eth0",), BACKEND, (8080, 8080))), 4)
    pre = nat("pre", "prerouting", -100, r("pre", *tcp(80), nmap))
    e = at(evaluate([nft("t", pre)], protocols=("tcp",)), 80)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "forward", ("198.19.5.2", 8080))


def test_a_nat_map_on_clients_and_ports_loses_no_client() -> None:
    """``dnat to ip saddr . tcp dport map``: each (client, port) goes to its entry's address and
    every other one stays untranslated."""
    nmap = NatMapStatement("dnat", ("saddr", "dport"), (((net("198.18.0.0/25"), (80, 80)), BACKEND, None),
                                                       ((CLIENTS, (81, 81)), OTHER, None)), 4)
    pre = nat("pre", "prerouting", -100, r("pre", TCP, nmap))
    exp = evaluate([nft("t", pre)], protocols=("tcp",))
    assert at(exp, 80, source="198.18.0.5").translated_to == ("198.19.5.2", None)
    assert at(exp, 80, source="198.18.0.200").translated_to is None
    assert at(exp, 81, source="198.18.0.200").translated_to == ("198.19.5.3", None)
    assert at(exp, 82, source="198.18.0.200").translated_to is None
    assert at(exp, 82, source="198.18.0.5").translated_to is None


def test_a_redirect_map_sends_to_the_arrival_interfaces_address() -> None:
    """``redirect to tcp dport map { 80 : 8080 }`` redirects to the primary address of the
    interface the packet arrived on, like a plain redirect."""
    nmap = NatMapStatement("redirect", ("dport",), ((((80, 80),), None, (8080, 8080)),), 4)
    pre = nat("pre", "prerouting", -100, r("pre", TCP, nmap))
    e = at(evaluate([nft("t", pre)], iif="eth1", sources=("198.18.9.0/24",), protocols=("tcp",)), 80)
    assert (e.verdict, e.translated_to) == ("accept", ("198.18.9.1", 8080))


def test_a_nat_map_of_the_other_family_lets_the_chain_go_on() -> None:
    """In an inet table an ``ip6`` NAT map does nothing to an IPv4 packet: the next rule of the
    nat chain still runs."""
    fd00_2 = (int.from_bytes(bytes.fromhex("fd00" + "0" * 27 + "2"), "big"),) * 2
    nmap = NatMapStatement("dnat", ("dport",), ((((80, 80),), fd00_2, (8080, 8080)),), 6)
    pre = nat("pre", "prerouting", -100, r("pre", TCP, nmap), r("pre", *tcp(80), NatStatement("redirect", ports=(22, 22))))
    e = at(evaluate([nft("t", pre)], protocols=("tcp",)), 80)
    assert e.translated_to == ("198.18.0.1", 22)


def test_a_verdict_map_in_a_nat_chain_jumps_to_a_chain_that_still_nats() -> None:
    """``tcp dport vmap { 80 : jump to_backend }`` in a nat chain: the jumped chain is part of the
    nat chain and its DNAT applies."""
    sub = Chain("sub", (r("sub", NatStatement("dnat", BACKEND, 4, (8080, 8080))),))
    vm = VerdictMap(("dport",), ((((80, 80),), Verdict("jump", "sub")),))
    pre = nat("pre", "prerouting", -100, r("pre", TCP, vm))
    e = at(evaluate([Table("nftables", "inet", "t", (pre, sub))], protocols=("tcp",)), 80)
    assert (e.verdict, e.path, e.translated_to) == ("accept", "forward", ("198.19.5.2", 8080))

