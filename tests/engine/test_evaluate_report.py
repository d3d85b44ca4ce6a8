"""What evaluate_exposure reports around the verdicts: how sources are read and labelled, how
ports are partitioned into entries, what an order-dependent verdict says and names, and the
host's address classes as the kernel's inet_addr_type sees them."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from auditor.errors import InputError
from auditor.model.exposure import Exposure
from auditor.model.host import HostContext, Interface
from auditor.model.ruleset import (
    AddressMatch,
    AddrTypeMatch,
    Chain,
    EffectStatement,
    InterfaceMatch,
    MarkStatement,
    NatStatement,
    Rule,
    Table,
)
from tests.engine.builders import (
    ACCEPT,
    DEST6,
    DROP,
    ESTABLISHED,
    HOST,
    REJECT,
    at,
    base,
    evaluate,
    ipt,
    nft,
    rule,
    tcp,
)

# -- sources ---------------------------------------------------------------------------------------


def test_no_sources_means_every_client_of_the_destinations_family():
    assert {e.source for e in evaluate([], sources=(), protocols=("tcp",)).entries} == {"0.0.0.0/0"}
    assert {e.source for e in evaluate([], sources=(), protocols=("tcp",), dest=DEST6).entries} == {"::/0"}


def test_a_source_with_host_bits_is_read_as_its_network():
    assert [e.source for e in evaluate([], sources=("198.18.0.7/24",), protocols=("tcp",)).entries] == ["198.18.0.0/24"]


def test_a_two_address_source_keeps_its_prefix_length():
    assert [e.source for e in evaluate([], sources=("198.18.0.6/31",), protocols=("tcp",)).entries] == ["198.18.0.6/31"]


def test_bad_sources_are_input_errors_that_say_what_is_wrong():
    with pytest.raises(InputError, match=r"invalid source 'nonsense': expected an address or CIDR"):
        evaluate([], sources=("nonsense",))
    with pytest.raises(InputError, match=r"source fd00:db8::/64 is IPv6 but the destination is IPv4"):
        evaluate([], sources=("fd00:db8::/64",))


# -- entries ---------------------------------------------------------------------------------------


def test_ports_with_the_same_outcome_are_one_entry_even_when_the_rules_split_them():
    """A mark set for tcp/80 only cuts the port range on the way, but every port ends with the
    same outcome: the report shows one entry, not three."""
    mark = rule("PREROUTING", *tcp(80), MarkStatement("meta", 0xFFFFFFFF, 1), table="mangle")
    log = rule("INPUT", *tcp(443), EffectStatement("log"))
    exp = evaluate([ipt("mangle", base("PREROUTING", "prerouting", -150, "accept", mark)),
                    ipt("filter", base("INPUT", "input", 0, "accept", log))], protocols=("tcp",))
    assert [(e.ports, e.verdict) for e in exp.entries] == [((1, 65535), "accept")]


# -- orders the kernel does not reveal ------------------------------------------------------------


def _tie(hook: str, prio: int, i: int, *legacy: Rule, native: tuple[Rule, ...] = ()) -> tuple[Chain, Chain]:
    """An iptables-legacy and an nf_tables base chain sharing ``hook`` and ``prio``."""
    return (base(f"L{i}", hook, prio, "accept", *legacy),
            base(f"n{i}", hook, prio, "accept", *native))


def _order_dependent(extra_ties: int) -> tuple[Exposure, Rule, Rule]:
    """tcp/80: legacy rejects and nft drops at input 0; ``extra_ties`` more slots that only log."""
    refuse = rule("L0", *tcp(80), REJECT, backend="iptables-legacy", text="-A L0 -p tcp --dport 80 -j REJECT")
    drop = rule("n0", *tcp(80), DROP, backend="nftables", family="inet", text="tcp dport 80 drop")
    pairs = [_tie("input", 0, 0, refuse, native=(drop,))]
    for i, (hook, prio) in enumerate((("prerouting", -150), ("input", -150), ("output", -150))[:extra_ties], 1):
        pairs.append(_tie(hook, prio, i, rule(f"L{i}", EffectStatement("log"), backend="iptables-legacy"),
                          native=(rule(f"n{i}", EffectStatement("log"), backend="nftables", family="inet"),)))
    legacy = Table("iptables-legacy", "ip", "filter", tuple(p[0] for p in pairs))
    native = nft("t", *(p[1] for p in pairs))
    dnat = nft("nat", base("pre", "prerouting", -100, "accept",
                           rule("pre", *tcp(8080), NatStatement("redirect", ports=(80, 80)), backend="nftables"),
                           type_="nat"))
    return evaluate([legacy, native, dnat], protocols=("tcp",)), refuse, drop


def test_an_order_dependent_verdict_names_both_chains_and_both_outcomes():
    exp, refuse, drop = _order_dependent(0)
    e = at(exp, 8080)
    assert e.verdict == "indeterminate"
    assert e.reason == ("depends on the order of iptables-legacy ip filter L0 and nftables inet t n0 (hook input, "
                        "priority 0), which the kernel does not reveal (iptables-legacy beside nf_tables at "
                        "equal priority): one order gives reject, another drop")
    assert set(e.decided_by) == {refuse.origin, drop.origin}
    assert e.path == "input" and e.translated_to == ("198.18.0.1", 80)
    assert e.failed_leg is not None and e.failed_leg.name == "request"


def test_an_order_dependent_verdict_lists_up_to_three_ambiguous_slots():
    three = at(_order_dependent(2)[0], 80).reason or ""
    assert three.count("(hook ") == 3 and "; " in three and " …" not in three
    assert "(hook prerouting, priority -150); " in three and "(hook input, priority 0), which the kernel" in three
    four = at(_order_dependent(3)[0], 80).reason or ""
    assert four.count("(hook ") == 3 and "(hook input, priority 0) …, which the kernel" in four


# -- the host's addresses -------------------------------------------------------------------------


def _source_type(kind: str, host: HostContext, addr: str) -> str:
    flt = ipt("filter", base("INPUT", "input", 0, "accept",
                             rule("INPUT", AddrTypeMatch("saddr", frozenset({kind})), *tcp(80), DROP)))
    return at(evaluate([flt], sources=("0.0.0.0/0",), host=host, protocols=("tcp",)), 80, source=addr).verdict


def test_every_address_of_an_interface_is_local_whatever_family_is_listed_first():
    eth0 = Interface("eth0", (ipaddress.ip_interface("fd00::1/64"), ipaddress.ip_interface("198.18.0.1/24"),
                              ipaddress.ip_interface("198.18.0.2/24")))
    host = replace(HOST, interfaces=(eth0,))
    assert _source_type("LOCAL", host, "198.18.0.2") == "drop"
    assert _source_type("BROADCAST", host, "198.18.0.255") == "drop"


def test_an_address_on_the_loopback_device_makes_its_whole_prefix_local():
    """fib_add_ifaddr: on a loopback device the prefix route is RTN_LOCAL."""
    lo = Interface("lo", (ipaddress.ip_interface("127.0.0.1/8"), ipaddress.ip_interface("198.18.77.1/24")))
    host = replace(HOST, interfaces=(lo,) + HOST.interfaces[1:])
    assert _source_type("LOCAL", host, "198.18.77.9") == "drop"
    assert _source_type("LOCAL", host, "198.18.78.9") == "accept"


def test_the_zero_network_is_broadcast_and_ends_at_0_255_255_255():
    """inet_addr_type: ipv4_is_zeronet → RTN_BROADCAST."""
    assert _source_type("BROADCAST", HOST, "0.0.0.0") == "drop"
    assert _source_type("BROADCAST", HOST, "1.0.0.0") == "accept"


def test_a_forwarded_destinations_type_is_known_live_and_unknown_offline():
    nat = base("pre", "prerouting", -100, "accept",
               rule("pre", *tcp(8080), NatStatement("dnat", (0xC6130502, 0xC6130502), 4, (80, 80)),
                    backend="nftables", family="inet"), type_="nat")
    fwd = base("fwd", "forward", 0, "drop",
               rule("fwd", ESTABLISHED, ACCEPT, backend="nftables", family="inet"),
               rule("fwd", AddrTypeMatch("daddr", frozenset({"UNICAST"}), fib=True),
                    InterfaceMatch("oif", ("br0",)), ACCEPT, backend="nftables", family="inet"))
    tables = [nft("t", nat, fwd)]
    assert at(evaluate(tables, protocols=("tcp",)), 8080).verdict == "accept"
    offline = replace(HOST, complete=False)
    e = at(evaluate(tables, protocols=("tcp",), host=offline), 8080)
    assert e.verdict == "indeterminate" and "address type is unknown offline" in (e.reason or "")


def test_beyond_64_orders_the_reason_names_the_first_three_slots():
    from tests.engine.test_evaluate import _ties, verdicts

    e = at(verdicts(_ties(7)), 9)
    assert e.verdict == "indeterminate" and e.decided_by == ()
    assert e.reason is not None and e.reason.startswith(
        "too many base chains whose relative order the kernel does not reveal (iptables-legacy beside "
        "nf_tables at equal priority): iptables-legacy ip mangle C0 and nftables inet t n0 (hook prerouting, "
        "priority -150); ")


def test_sources_split_by_the_rules_are_labelled_by_the_prefixes_that_cover_them():
    one = rule("INPUT", AddressMatch("saddr", 4, ((0xC6120001, 0xC6120001),)), *tcp(80), DROP)
    exp = evaluate([ipt("filter", base("INPUT", "input", 0, "accept", one))], protocols=("tcp",))
    assert [e.source for e in exp.entries if e.ports[0] <= 80 <= e.ports[1]] == [
        "198.18.0.0", "198.18.0.1", "198.18.0.2/31", "198.18.0.4/30", "198.18.0.8/29", "198.18.0.16/28",
        "198.18.0.32/27", "198.18.0.64/26", "198.18.0.128/25"]
    assert at(exp, 80, source="198.18.0.1").verdict == "drop"


def test_an_exposure_computed_without_a_target_names_none():
    assert evaluate([], protocols=("tcp",)).target == ""
