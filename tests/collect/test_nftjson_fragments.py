"""The nft JSON reader on small hand-written fragments, without root.

What nft itself prints is covered by the stored listings (test_nftjson_listings.py); here are
the corners no loadable ruleset reaches: JSON fwaudit cannot read (an EnvironmentProblem, or a
rule part kept as unknown, never guessed), the reader's options (skip, file lines, source), and
the listing-text helpers on edge-case text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.collect.nftjson import chain_devices_from_listing, rule_texts_from_listing, tables_from_nft_json
from auditor.errors import EnvironmentProblem
from auditor.model.ruleset import (
    AddressMatch,
    AddrTypeMatch,
    ConntrackDirectionMatch,
    ConntrackOriginalMatch,
    ConntrackStateMatch,
    EffectStatement,
    FamilyMatch,
    IcmpTypeMatch,
    InterfaceMatch,
    MarkCopyStatement,
    MarkMatch,
    MarkStatement,
    MaskedAddressMatch,
    NatMapStatement,
    NatStatement,
    NondeterministicMatch,
    PayloadMatch,
    PortMatch,
    ProtocolMatch,
    ReversePathMatch,
    Rule,
    SetElementMatch,
    TcpFlagsMatch,
    UnknownMatch,
    UnknownStatement,
    Verdict,
    VerdictMap,
)

TCP = ProtocolMatch(frozenset({6}))
V4 = FamilyMatch(4)


def P(proto: str, field: str) -> dict[str, Any]:
    return {"payload": {"protocol": proto, "field": field}}


def M(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def ip4(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


def doc(*exprs: list[Any], family: str = "ip", sets: tuple[dict[str, Any], ...] = (),
        maps: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"table": {"family": family, "name": "t", "handle": 1}},
        {"chain": {"family": family, "table": "t", "name": "c", "handle": 2, "type": "filter", "hook": "input",
                   "prio": 0, "policy": "accept"}},
    ]
    items += [{"set": dict(s, family=family, table="t")} for s in sets]
    items += [{"map": dict(m, family=family, table="t")} for m in maps]
    items += [{"rule": {"family": family, "table": "t", "chain": "c", "handle": 10 + i, "expr": e}}
              for i, e in enumerate(exprs)]
    return {"nftables": items}


def rules(*exprs: list[Any], **kw: Any) -> list[Rule]:
    tables, _ = tables_from_nft_json(doc(*exprs, **kw))
    return list(tables[0].chains[0].rules)


def rule(*expr: Any, **kw: Any) -> Rule:
    return rules(list(expr), **kw)[0]


def frag(expr: Any) -> str:
    return json.dumps(expr, separators=(",", ":"))


# --- the document -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad, error", [
    ({"nftables": [{"table": {"family": "ip"}}]}, "KeyError"),
    ({"nftables": [{"rule": {"family": "ip", "table": "t", "chain": "c", "expr": []}}, 7]}, "TypeError"),
    ({"nftables": [{"table": {"family": "ip", "name": "t"}},
                   {"chain": {"family": "ip", "table": "t", "name": "c", "hook": "input", "prio": 0}},
                   {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": "x", "expr": 5}}]}, "TypeError"),
])
def test_json_nft_would_not_print_is_an_environment_problem(bad, error):
    with pytest.raises(EnvironmentProblem) as e:
        tables_from_nft_json(bad)
    assert str(e.value) == f"nft printed a ruleset fwaudit cannot read ({error} in its JSON)"


def test_an_empty_document_has_no_tables():
    assert tables_from_nft_json({}) == ((), ())
    assert tables_from_nft_json({"nftables": [{"metainfo": {"version": "1.0.6"}}]}) == ((), ())


def test_tables_chains_and_their_hooks():
    d = {"nftables": [
        {"table": {"family": "ip", "name": "a", "handle": 3}},
        {"table": {"family": "bridge", "name": "b", "handle": "x"}},
        {"table": {"family": "ip", "name": "skipped", "handle": 5}},
        {"table": {"family": "ip", "name": "a", "handle": 4}},  # listed twice: one table, the last handle
        {"chain": {"family": "ip", "table": "a", "name": "in", "handle": 1, "type": "filter", "hook": "input",
                   "prio": "mangle"}},
        {"chain": {"family": "ip", "table": "a", "name": "sub", "handle": "?", "prio": 7, "policy": "drop"}},
        {"chain": {"family": "ip", "table": "a", "name": "ing", "hook": "ingress", "prio": 0, "dev": "eth9",
                   "policy": "drop"}},
        {"chain": {"family": "ip", "table": "a", "name": "odd", "hook": "input", "prio": "nosuch"}},
        {"chain": {"family": "bridge", "table": "b", "name": "f", "hook": "forward", "prio": "filter"}},
        {"chain": {"family": "bridge", "table": "b", "name": "o", "hook": "output", "prio": "out"}},
        {"chain": {"family": "ip", "table": "skipped", "name": "c", "hook": "input", "prio": 0}},
    ]}
    tables, notes = tables_from_nft_json(d, skip=frozenset({("ip", "skipped")}),
                                         chain_devices={("ip", "a", "ing"): "eth1", ("ip", "a", "in"): "eth2"})
    assert notes == ("bridge table b read but not evaluated (bridge/arp layer)",)
    assert [(t.family, t.name, t.handle, t.backend) for t in tables] == [
        ("ip", "a", 4, "nftables"), ("bridge", "b", None, "nftables")]
    got = [(c.name, c.hook, c.priority, c.type, c.policy, c.device, c.handle) for t in tables for c in t.chains]
    assert got == [
        ("in", "input", -150, "filter", "accept", "eth2", 1),
        ("sub", None, None, None, None, None, None),
        ("ing", "ingress", 0, None, "drop", "eth9", None),  # the JSON's device comes first
        ("odd", "input", 0, None, "accept", None, None),
        ("f", "forward", -200, None, "accept", None, None),
        ("o", "output", 100, None, "accept", None, None),
    ]


def test_tables_after_a_skipped_one_and_parts_of_unlisted_tables():
    d = {"nftables": [
        {"table": {"family": "ip", "name": "skipped"}}, {"table": {"family": "ip", "name": "kept"}},
        {"chain": {"family": "ip", "table": "ghost", "name": "c"}},
        {"set": {"family": "ip", "table": "ghost", "name": "s", "type": "ipv4_addr"}},
        {"rule": {"family": "ip", "table": "ghost", "chain": "c", "expr": []}},
    ]}
    tables, _ = tables_from_nft_json(d, skip=frozenset({("ip", "skipped")}))
    assert [(t.name, t.chains, t.sets) for t in tables] == [("kept", (), ())]


def test_rules_know_where_they_come_from():
    d = doc([{"accept": None}], [{"drop": None}])
    d["nftables"][-1]["rule"].pop("handle")
    d["nftables"][-1]["rule"]["comment"] = "why"
    tables, _ = tables_from_nft_json(d, backend="file", source="/etc/nftables.conf",
                                     rule_texts={("ip", "t", 10): "accept", ("ip", "t", 11): "wrong",
                                                 ("ip6", "t", 10): "wrong"},
                                     lines={("ip", "t", "c", 2): ("/etc/inc.nft", 7)},
                                     chain_lines={("ip", "t", "c"): ("/etc/nftables.conf", 3)})
    t = tables[0]
    assert (t.backend, t.source) == ("file", "/etc/nftables.conf")
    assert t.chains[0].line == 3
    first, second = t.chains[0].rules
    o = first.origin
    assert (o.backend, o.family, o.table, o.chain, o.position, o.text, o.syntax, o.handle, o.file, o.line) == (
        "file", "ip", "t", "c", 1, "accept", "nft", 10, "/etc/nftables.conf", None)
    o = second.origin
    assert (o.position, o.text, o.handle, o.file, o.line) == (2, '[{"drop":null}]', None, "/etc/inc.nft", 7)
    assert (first.comment, second.comment) == (None, "why")
    bare = doc([])
    bare["nftables"][-1]["rule"].pop("expr")
    (t,), _ = tables_from_nft_json(bare)
    assert t.chains[0].rules[0].origin.text == "[]" and t.chains[0].rules[0].matches == ()
    live, _ = tables_from_nft_json(doc([{"accept": None}]), source="x")
    assert live[0].chains[0].rules[0].origin.file is None and live[0].chains[0].line is None


def test_named_sets_are_listed_with_their_type_and_elements():
    d = doc(sets=({"name": "s", "type": ["ipv4_addr", "inet_service"], "flags": ["interval"],
                   "elem": [{"concat": ["198.18.0.1", 22]}]},
                  {"name": "u", "type": "ipv4_addr"}),
            maps=({"name": "m", "type": "inet_service", "map": "verdict", "elem": [[22, {"accept": None}]]},))
    (t,), _ = tables_from_nft_json(d)
    assert [(s.name, s.kind, s.elements, s.flags, s.is_map) for s in t.sets] == [
        ("s", "ipv4_addr . inet_service", ('{"concat": ["198.18.0.1", 22]}',), ("interval",), False),
        ("u", "ipv4_addr", (), (), False),
        ("m", "inet_service", ('[22, {"accept": null}]',), (), True),
    ]


# --- statements -------------------------------------------------------------------------------


def test_verdicts_and_effects():
    r = rule({"counter": {"packets": 0, "bytes": 0}}, {"nflog": {}}, {"trace": None}, {"notrack": None},
             {"ct helper": "ftp"}, {"queue": {"num": 3}}, {"jump": {"target": "x"}}, {"goto": {"target": "y"}},
             {"return": None}, {"continue": None}, {"accept": None}, {"drop": None})
    assert r.statements[:5] == (EffectStatement("counter"), EffectStatement("nflog"), EffectStatement("trace"),
                                r.statements[3], EffectStatement("ct helper"))
    assert type(r.statements[3]).__name__ == "NotrackStatement"
    assert r.statements[5:] == (Verdict("queue", detail='{"num": 3}'), Verdict("jump", "x"), Verdict("goto", "y"),
                                Verdict("return"), Verdict("continue"), Verdict("accept"), Verdict("drop"))
    assert r.matches == ()


@pytest.mark.parametrize("value, op", [({"op": "add", "set": "@s"}, "add"), ({"set": "@s"}, "update"),
                                       ({"op": "delete", "set": "@s"}, "delete")])
def test_set_and_map_statements_change_only_later_packets(value, op):
    assert rule({"set": value}).statements == (EffectStatement(f"set {op}"),)
    assert rule({"map": value}).statements == (EffectStatement(f"map {op}"),)


def test_odd_set_statements():
    assert rule({"map": "odd"}).statements == (EffectStatement("map update"),)
    assert rule({"set": "odd"}).statements == (UnknownStatement('{"set":"odd"}'),)


@pytest.mark.parametrize("family, value, detail", [
    ("ip", None, "icmp port-unreachable"),
    ("ip6", None, "icmpv6 port-unreachable"),
    ("inet", None, "icmpx port-unreachable"),
    ("bridge", {}, "icmpx port-unreachable"),
    ("ip", {"type": "icmpx"}, "icmpx port-unreachable"),
    ("ip", {"type": "icmp", "expr": "host-unreachable"}, "icmp host-unreachable"),
    ("ip", {"type": "tcp reset", "expr": "x"}, "tcp reset"),
    ("ip", {"type": "", "expr": "host-unreachable"}, "icmp port-unreachable"),
])
def test_reject_details_as_nft_writes_them(family, value, detail):
    assert rule({"reject": value}, family=family).statements == (Verdict("reject", detail=detail),)


@pytest.mark.parametrize("family, value, implied", [
    ("ip", {"type": "tcp reset"}, TCP),
    ("inet", {"type": "tcp reset"}, TCP),
    ("inet", {"type": "icmp", "expr": "host-unreachable"}, V4),
    ("bridge", {"type": "icmpv6", "expr": "admin-prohibited"}, FamilyMatch(6)),
    ("netdev", {"type": "icmp", "expr": "admin-prohibited"}, V4),
    ("ip", {"type": "icmp", "expr": "host-unreachable"}, None),
    ("ip6", {"type": "icmpv6", "expr": "admin-prohibited"}, None),
    ("inet", {"type": "icmpx", "expr": "admin-prohibited"}, None),
    ("inet", None, None),
])
def test_what_a_reject_implies_comes_first(family, value, implied):
    r = rule(M({"meta": {"key": "iifname"}}, "eth0"), {"reject": value}, family=family)
    iif = InterfaceMatch("iif", ("eth0",))
    assert r.matches == ((implied, iif) if implied else (iif,))
    later = rule({"counter": None}, {"reject": {"type": "icmpx"}}, {"reject": {"type": "tcp reset"}}, family=family)
    assert later.matches == (TCP,)
    already = rule(M({"meta": {"key": "l4proto"}}, "tcp"), {"reject": {"type": "tcp reset"}})
    assert already.matches == (TCP,)


def test_statements_nothing_can_type_stay_verbatim():
    odd = [{"frobnicate": 1}, {"xt": {"type": "target", "name": "LOG"}}, {"xt": {"type": "match", "name": "recent"}},
           {"xt": "match"}, {"jump": {}}, "accept", {"mangle": {"key": {"payload": P("ip", "ttl")}, "value": 1}}]
    r = rule(*odd)
    assert r.matches == (UnknownMatch(frag(odd[2])), UnknownMatch('"accept"'))
    assert r.statements == tuple(UnknownStatement(frag(e)) for e in odd[:6] if e not in (odd[2], odd[5])) + (
        UnknownStatement(frag(odd[6])),)


def MARK(kind: str = "meta") -> dict[str, Any]:
    return {kind: {"key": "mark"}}


@pytest.mark.parametrize("key, value, statement", [
    (MARK(), 0x1_0000_0005, MarkStatement("meta", 0xFFFFFFFF, 5)),
    (MARK("ct"), {"|": [MARK("ct"), 0x10]}, MarkStatement("ct", 0x10, 0x10)),
    (MARK(), {"^": [MARK(), 0x3]}, MarkStatement("meta", 0, 3)),
    (MARK(), {"^": [{"&": [MARK(), 0xF0]}, 0x3]}, MarkStatement("meta", 0xFFFFFF0F, 3)),
    (MARK(), {"&": [{"|": [MARK(), 0x1]}, 0x3]}, MarkStatement("meta", 0xFFFFFFFD, 1)),
    (MARK(), {"|": [{"^": [MARK(), 0x1]}, 0x2]}, MarkStatement("meta", 2, 3)),
    (MARK(), {"&": [MARK("ct"), 0xFF]}, MarkCopyStatement("meta", "ct", 0, 0xFF)),
    (MARK("ct"), MARK(), MarkCopyStatement("ct", "meta", 0, 0xFFFFFFFF)),
    (MARK(), {"&": [MARK(), 0x1_0000_00FF]}, MarkStatement("meta", 0xFFFFFF00, 0)),
    ({"meta": {"key": "nftrace"}}, 1, EffectStatement("nftrace")),
    ({"meta": {"key": "priority"}}, "1:1", EffectStatement("priority")),
    ({"tcp option": {"name": "maxseg", "field": "size"}}, 1400, EffectStatement("tcp option")),
])
def test_mark_and_fate_neutral_statements(key, value, statement):
    assert rule({"mangle": {"key": key, "value": value}}).statements == (statement,)


@pytest.mark.parametrize("key, value", [
    (MARK(), {"^": [MARK("ct"), 1]}),          # a copy with a flip: not one statement
    (MARK(), {"+": [MARK(), 1]}),
    (MARK(), {"&": [MARK(), "x"]}),
    (MARK(), {"&": [MARK(), 1, 2]}),
    (MARK(), {"&": MARK()}),
    (MARK(), {"meta": {"key": "priority"}}),
    (MARK(), {"meta": "mark"}),
    (MARK(), "0x1"),
    ({"meta": {"key": "mark"}, "ct": {"key": "mark"}}, 1),
    ({"ct": {"key": "zone"}}, 1),
    ({"payload": {"key": "mark"}}, 1),
    ({"meta": "mark"}, 1),
    ("mark", 1),
])
def test_marks_the_model_cannot_say_stay_unknown(key, value):
    e = {"mangle": {"key": key, "value": value}}
    assert rule(e).statements == (UnknownStatement(frag(e)),)


def test_a_missing_mangle_key_is_unknown():
    e = {"mangle": {"value": 1}}
    assert rule(e).statements == (UnknownStatement(frag(e)),)


# --- NAT --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, value, statement", [
    ("masquerade", None, NatStatement("masquerade")),
    ("masquerade", {"flags": ["random"]}, NatStatement("masquerade")),
    ("redirect", None, NatStatement("redirect")),
    ("redirect", {"port": 8080}, NatStatement("redirect", ports=(8080, 8080))),
    ("redirect", {"port": {"range": [8000, 8010]}}, NatStatement("redirect", ports=(8000, 8010))),
    ("dnat", {"addr": "198.18.0.1"}, NatStatement("dnat", (ip4("198.18.0.1"),) * 2, 4)),
    ("snat", {"addr": {"range": ["198.18.0.1", "198.18.0.9"]}, "port": 9, "family": "ip"},
     NatStatement("snat", (ip4("198.18.0.1"), ip4("198.18.0.9")), 4, (9, 9))),
    ("dnat", {"addr": "fd00::1", "flags": []}, NatStatement("dnat", (0xFD00 << 112 | 1,) * 2, 6)),
    ("snat", {"port": {"range": [5, 6]}}, NatStatement("snat", None, None, (5, 6))),
])
def test_nat_statements(kind, value, statement):
    assert rule({kind: value}).statements == (statement,)


@pytest.mark.parametrize("kind, value", [
    ("dnat", {"addr": "198.18.0.1", "flags": ["persistent"]}),
    ("dnat", {"addr": "198.18.0.1", "type_flags": "x"}),
    ("dnat", {"addr": {"prefix": {"addr": "198.18.0.0", "len": 30}}}),
    ("dnat", {"addr": "not-an-address"}),
    ("dnat", {"addr": "198.18.0.1", "port": "http"}),
    ("redirect", {"port": {"map": 1}, "flags": 1}),
])
def test_nat_the_model_cannot_say_stays_unknown(kind, value):
    e = {kind: value}
    assert rule(e).statements == (UnknownStatement(frag(e)),)


def dport_map(data: Any) -> dict[str, Any]:
    return {"map": {"key": P("tcp", "dport"), "data": data}}


def test_nat_maps():
    r = rule({"dnat": {"family": "ip", "addr": dport_map({"set": [[80, "198.18.3.2"], [81, {"concat": [
        "198.18.3.3", 8081]}]]})}}, family="inet")
    assert r.matches == (TCP,)
    assert r.statements == (NatMapStatement("dnat", ("dport",), (
        (((80, 80),), (ip4("198.18.3.2"),) * 2, None),
        (((81, 81),), (ip4("198.18.3.3"),) * 2, (8081, 8081))), 4, None),)
    # a fixed address with mapped ports; the version from the addresses when nft names no family
    r = rule({"dnat": {"addr": "fd00::9", "port": dport_map({"set": [[{"elem": {"val": 80}}, {"range": [1, 2]}]]})}},
             family="inet")
    assert r.statements == (NatMapStatement("dnat", ("dport",), (
        (((80, 80),), (0xFD00 << 112 | 9,) * 2, (1, 2)),), 6, None),)
    r = rule({"snat": {"port": 5, "addr": {"map": {"key": P("ip", "saddr"), "data": "@m"}}}}, family="inet",
             maps=({"name": "m", "type": "ipv4_addr", "map": "ipv4_addr", "elem": [["198.18.0.1", "198.18.1.1"]]},))
    assert r.matches == (V4,)
    assert r.statements == (NatMapStatement("snat", ("saddr",), (
        (((ip4("198.18.0.1"),) * 2,), (ip4("198.18.1.1"),) * 2, (5, 5)),), 4, "m"),)
    r = rule({"redirect": {"port": dport_map({"set": [[80, 8080]]})}}, family="ip")
    assert r.statements == (NatMapStatement("redirect", ("dport",), ((((80, 80),), None, (8080, 8080)),), None, None),)
    # in an inet table without a family named, the version comes from the addresses
    r = rule({"dnat": {"addr": dport_map({"set": [[80, "255.255.255.255"]]})}}, family="inet")
    assert r.statements == (NatMapStatement("dnat", ("dport",), ((((80, 80),), (0xFFFFFFFF,) * 2, None),), 4, None),)
    # the version of a port-only map comes from the family nft names, or the table's
    for table, named, version in (("ip6", None, 6), ("ip", None, 4), ("inet", "ip", 4), ("inet", "ip6", 6),
                                  ("inet", None, None), ("ip", "ip6", 6)):
        value: dict[str, Any] = {"port": dport_map({"set": [[80, 8080]]})}
        if named:
            value["family"] = named
        assert rule({"dnat": value}, family=table).statements == (
            NatMapStatement("dnat", ("dport",), ((((80, 80),), None, (8080, 8080)),), version, None),), (table, named)


@pytest.mark.parametrize("value, keeps_protocol", [
    ({"addr": dport_map({"set": [80]})}, True),                                     # not a key : value pair
    ({"addr": dport_map({"set": [[80, "198.18.0.1", 1]]})}, True),
    ({"addr": dport_map({"set": [[{"concat": [80, 81]}, "198.18.0.1"]]})}, True),  # more values than key fields
    ({"addr": dport_map({"set": [[80, {"concat": ["198.18.0.1", 1, 2]}]]})}, True),
    ({"addr": dport_map({"set": [[80, "198.18.0.1"]]}), "flags": ["random"]}, False),
    # the protocol is lost here (less precise, not wrong: the unknown part then covers more)
    ({"addr": dport_map({"set": [[80, 8080]]})}, None),
    ({"port": dport_map({"set": [[80, "x"]]})}, None),
    ({"addr": dport_map("@nosuch")}, None),
    ({"addr": "198.18.0.1/x", "port": dport_map({"set": [[80, 1]]})}, None),
])
def test_nat_maps_the_model_cannot_say_are_unknown(value, keeps_protocol):
    e = {"dnat": value}
    r = rule(e)
    assert r.statements == (UnknownStatement(frag(e)),)
    if keeps_protocol is not None:
        assert r.matches == ((TCP,) if keeps_protocol else ())


def test_a_nat_map_on_an_untyped_key_is_unknown():
    e = {"dnat": {"addr": {"map": {"key": {"meta": {"key": "mark"}}, "data": {"set": [[1, "198.18.0.1"]]}}}}}
    assert rule(e).statements == (UnknownStatement(frag(e)),) and rule(e).matches == ()
    e = {"dnat": {"addr": {"map": {"key": {"concat": [P("tcp", "dport"), {"meta": {"key": "mark"}}]},
                                   "data": {"set": []}}}}}
    assert rule(e).matches == (TCP,)


# --- matches ----------------------------------------------------------------------------------


def ports(*ranges: tuple[int, int], neg: bool = False, field: str = "dport") -> PortMatch:
    return PortMatch(field, tuple(ranges), neg)  # type: ignore[arg-type]


@pytest.mark.parametrize("op, right, match", [
    ("<", 22, ports((0, 21))),
    ("<=", 22, ports((0, 22))),
    (">", 22, ports((23, 65535))),
    (">=", 22, ports((22, 65535))),
    ("==", "ssh", ports((22, 22))),                  # a service name nft did not translate
    ("==", {"set": ["ssh", {"range": [80, 90]}]}, ports((22, 22), (80, 90))),
    ("==", {"range": ["ftp", "ssh"]}, ports((21, 22))),
    ("!=", [1, {"range": [5, 6]}], ports((1, 1), (5, 6), neg=True)),
])
def test_ports(op, right, match):
    assert rule(M(P("tcp", "dport"), right, op)).matches == (TCP, match)


@pytest.mark.parametrize("left, kept", [
    (P("icmp", "type"), (ProtocolMatch(frozenset({1})),)), ({"meta": {"key": "pkttype"}}, ()),
    ({"ct": {"key": "state"}}, ()), ({"fib": {"result": "type", "flags": ["daddr"]}}, ()),
    ({"meta": {"key": "l4proto"}}, ()), ({"meta": {"key": "mark"}}, ()), ({"meta": {"key": "iifname"}}, ()),
    ({"ct": {"key": "ip saddr", "dir": "original"}}, ()),
])
def test_comparisons_on_fields_typed_by_name_are_unknown(left, kept):
    for op in ("<", ">", "<=", ">="):
        e = M(left, 3, op)
        assert rule(e).matches == kept + (UnknownMatch(frag(e)),)


def test_none_of_these_bits_on_a_field_without_bits_is_unknown():
    e = M(DPORT, [1, 2], "!")
    assert rule(e).matches == (TCP, UnknownMatch(frag(e)))


def test_service_names_on_every_port_field():
    assert rule(M(P("udp", "sport"), "domain")).matches[-1] == ports((53, 53), field="sport")
    for key, field in (("proto-dst", "dport"), ("proto-src", "sport")):
        e = M({"ct": {"key": key, "dir": "original"}}, {"set": ["ssh", {"range": ["ftp", 22]}]})
        assert rule(e).matches == (ConntrackOriginalMatch(field, ((22, 22), (21, 22))),)  # type: ignore[arg-type]


def test_comparisons_on_original_ports():
    e = M({"ct": {"key": "proto-dst", "dir": "original"}}, 1024, "<")
    assert rule(e).matches == (ConntrackOriginalMatch("dport", ((0, 1023),)),)
    e = M({"ct": {"key": "proto-src", "dir": "original"}}, 1024, ">")
    assert rule(e).matches == (ConntrackOriginalMatch("sport", ((1025, 65535),)),)
    e = M({"ct": {"key": "proto-dst", "dir": "original"}}, 1024, ">=")
    assert rule(e).matches == (ConntrackOriginalMatch("dport", ((1024, 65535),)),)


@pytest.mark.parametrize("right", ["no-such-service", {"prefix": {"addr": "1", "len": 1}}, 2.5,
                                   {"range": [1, "x"]}])
def test_ports_nothing_can_read_keep_their_protocol(right):
    e = M(P("udp", "sport"), right)
    assert rule(e).matches == (ProtocolMatch(frozenset({17})), UnknownMatch(frag(e)))


@pytest.mark.parametrize("field, op, right, ranges", [
    ("saddr", "<", "198.18.0.10", ((0, ip4("198.18.0.9")),)),
    ("daddr", ">=", "198.18.0.10", ((ip4("198.18.0.10"), 0xFFFFFFFF),)),
    ("saddr", "==", {"prefix": {"addr": "198.18.0.0", "len": 15}}, ((ip4("198.18.0.0"), ip4("198.19.255.255")),)),
    ("saddr", "==", {"prefix": {"addr": "198.18.0.5", "len": 24}}, ((ip4("198.18.0.0"), ip4("198.18.0.255")),)),
    ("saddr", "==", {"range": ["198.18.0.1", "198.18.0.3"]}, ((ip4("198.18.0.1"), ip4("198.18.0.3")),)),
])
def test_ipv4_addresses(field, op, right, ranges):
    assert rule(M(P("ip", field), right, op)).matches == (V4, AddressMatch(field, 4, ranges))  # type: ignore[arg-type]


def test_ipv6_addresses():
    top = (1 << 128) - 1
    assert rule(M(P("ip6", "daddr"), "fd00::1", ">"), family="ip6").matches == (
        FamilyMatch(6), AddressMatch("daddr", 6, ((0xFD00 << 112 | 2, top),)))
    assert rule(M(P("ip6", "saddr"), "::ffff:198.18.0.1", "!="), family="ip6").matches == (
        FamilyMatch(6), AddressMatch("saddr", 6, ((0xFFFF << 32 | ip4("198.18.0.1"),) * 2,), True))


@pytest.mark.parametrize("right", ["198.18.0", "fd00:::1", 7, {"set": [["198.18.0.1"]]}, "bogus", "3323068417"])
def test_addresses_nothing_can_read_are_unknown(right):
    e = M(P("ip", "saddr"), right)
    assert rule(e).matches[-1] == UnknownMatch(frag(e))
    assert not any(isinstance(m, AddressMatch) for m in rule(e).matches)


@pytest.mark.parametrize("left, right, match", [
    ({"ct": {"key": "original", "dir": "original"}}, 1, None),
    ({"ct": {"key": "saddr", "dir": "original"}}, "fd00::1",
     ConntrackOriginalMatch("saddr", ((0xFD00 << 112 | 1,) * 2,), 6)),
    ({"ct": {"key": "ip daddr", "dir": "original"}}, {"set": [{"prefix": {"addr": "198.18.0.0", "len": 24}}]},
     ConntrackOriginalMatch("daddr", ((ip4("198.18.0.0"), ip4("198.18.0.255")),), 4)),
    ({"ct": {"key": "ip6 daddr", "dir": "original"}}, {"set": [{"range": ["fd00::1", "fd00::2"]}]},
     ConntrackOriginalMatch("daddr", ((0xFD00 << 112 | 1, 0xFD00 << 112 | 2),), 6)),
    ({"ct": {"key": "ip6 saddr", "dir": "original"}}, {"set": [{"prefix": {"addr": "fd00::", "len": 127}}]},
     ConntrackOriginalMatch("saddr", ((0xFD00 << 112, 0xFD00 << 112 | 1),), 6)),
    ({"ct": {"key": "proto-src", "dir": "original"}}, 7, ConntrackOriginalMatch("sport", ((7, 7),))),
    ({"ct": {"key": "proto-dst", "dir": "original"}}, ">", None),
    ({"ct": {"key": "proto-dst", "dir": "reply"}}, 7, None),
    ({"ct": {"key": "state", "dir": "original"}}, "new", None),
    ({"ct": {"key": "mark"}}, 5, MarkMatch("ct", 5, 0xFFFFFFFF)),
    ({"ct": {"key": "mark"}}, "5", MarkMatch("ct", 5, 0xFFFFFFFF)),
    ({"ct": {"key": "mark"}}, [1, 2], None),
    ({"meta": {"key": "mark"}}, 0x1_0000_0001, MarkMatch("meta", 1, 0xFFFFFFFF)),
    ({"meta": {"key": "mark"}}, "x", None),
    ({"meta": {"key": "mark"}}, {"set": [1, 2]}, None),
    ({"meta": {"key": "length"}}, 5, None),
    ({"meta": {"key": "iif"}}, 3, None),
    ({"meta": {"key": "nfproto"}}, "ipx", None),
    ({"meta": {"key": "protocol"}}, "ip6", FamilyMatch(6)),
    ({"meta": {"key": "l4proto"}}, "nosuchproto", None),
    ({"meta": {"key": "l4proto"}}, {"set": ["tcp", 17, "icmp"]}, ProtocolMatch(frozenset({6, 17, 1}))),
    ({"fib": {"result": "type", "flags": "daddr"}}, "local", AddrTypeMatch("daddr", frozenset({"LOCAL"}), fib=True)),
    ({"fib": {"result": "type", "flags": ["saddr"]}}, {"set": ["local", "Multicast"]},
     AddrTypeMatch("saddr", frozenset({"LOCAL", "MULTICAST"}), fib=True)),
    ({"fib": {"result": "type", "flags": ["daddr", "iif"]}}, "local", None),
    ({"fib": {"result": "oif", "flags": ["saddr", "mark"]}}, False, None),
    ({"fib": {"result": "oif", "flags": ["saddr"]}}, 1, None),
    ({"fib": {"result": "oif", "flags": ["saddr"]}}, False, ReversePathMatch(strict=False, negated=True)),
    ({"fib": {"result": "oif", "flags": ["saddr", "iif"]}}, True, ReversePathMatch(strict=True, negated=False)),
    ({"rt": {"key": "mtu"}}, 1, None),
    ({"ct": {"key": "direction"}}, "sideways", None),
    ({"ct": {"key": "direction"}}, "reply", ConntrackDirectionMatch("reply")),
    ({"socket": {"key": "transparent"}}, 1, None),
])
def test_fields(left, right, match):
    e = M(left, right)
    assert rule(e).matches == ((match,) if match else (UnknownMatch(frag(e)),))


def test_reverse_path_and_direction_only_compare_for_equality():
    rp = {"fib": {"result": "oif", "flags": ["saddr"]}}
    assert rule(M(rp, False, "!=")).matches == (ReversePathMatch(strict=False, negated=False),)
    assert rule(M(rp, True, "!=")).matches == (ReversePathMatch(strict=False, negated=True),)
    assert rule(M(rp, False, "<")).matches == (UnknownMatch(frag(M(rp, False, "<"))),)
    d = {"ct": {"key": "direction"}}
    assert rule(M(d, "original", "!=")).matches[0].negated is True  # type: ignore[union-attr]
    assert rule(M(d, "original", "in")).matches == (UnknownMatch(frag(M(d, "original", "in"))),)


def test_the_default_operator_is_equality():
    e = {"match": {"left": P("tcp", "dport"), "right": 22}}
    assert rule(e).matches == (TCP, ports((22, 22)))
    e = {"match": {"left": {"&": [P("ip", "saddr"), "0.0.0.255"]}, "right": "0.0.0.7"}}
    assert rule(e).matches == (V4, MaskedAddressMatch("saddr", 4, 0xFF, 7))


def test_negations():
    assert rule(M({"meta": {"key": "mark"}}, 5, "!=")).matches == (MarkMatch("meta", 5, 0xFFFFFFFF, True),)
    assert rule(M({"ct": {"key": "ip saddr", "dir": "original"}}, "198.18.0.1", "!=")).matches == (
        ConntrackOriginalMatch("saddr", ((ONE, ONE),), 4, True),)
    assert rule(M({"ct": {"key": "proto-dst", "dir": "original"}}, 22, "!=")).matches == (
        ConntrackOriginalMatch("dport", ((22, 22),), None, True),)
    assert rule(M(P("icmp", "type"), "echo-request", "!=")).matches[-1] == IcmpTypeMatch(4, ("echo-request",), True)


def test_raw_payload_and_numgen():
    ih = {"payload": {"base": "ih", "offset": 0, "len": 8}}
    nh = {"payload": {"base": "nh", "offset": 0, "len": 8}}
    for e in (M(ih, 1), M(ih, 1, "!="), M({"&": [ih, 3]}, 1)):
        assert rule(e).matches == (PayloadMatch(frag(e["match"]), e["match"]["op"] == "!="),)
    for e in (M(nh, 1), M({"&": [nh, 3]}, 1)):
        assert rule(e).matches == (UnknownMatch(frag(e)),)
    e = M({"numgen": {"mode": "random", "mod": 2}}, 0)
    assert rule(e).matches == (NondeterministicMatch("numgen", frag(e["match"])),)


@pytest.mark.parametrize("left, right, op, match", [
    (P("tcp", "flags"), "syn", "==", TcpFlagsMatch(0xFF, 2)),
    (P("tcp", "flags"), ["syn", "ack"], "==", TcpFlagsMatch(0xFF, 0x12)),
    (P("tcp", "flags"), {"set": [["syn", "ack"]]}, "!=", TcpFlagsMatch(0xFF, 0x12, True)),
    (P("tcp", "flags"), ["fin", "rst"], "in", TcpFlagsMatch(0x05, 0, True)),
    (P("tcp", "flags"), ["fin", "rst"], "!", TcpFlagsMatch(0x05, 0)),
    ({"&": [P("tcp", "flags"), ["syn", "ack"]]}, "syn", "==", TcpFlagsMatch(0x12, 0x02)),
    ({"&": [P("tcp", "flags"), [2, "fin"]]}, [], "==", TcpFlagsMatch(0x03, 0)),
    ({"&": [P("tcp", "flags"), 0x12]}, 0, "!=", TcpFlagsMatch(0x12, 0, True)),
    ({"&": [P("tcp", "flags"), ["fin", "syn"]]}, 1, "==", TcpFlagsMatch(0x03, 0x01)),
    ({"&": [P("tcp", "flags"), "syn"]}, "syn", "!=", TcpFlagsMatch(0x02, 0x02, True)),
])
def test_tcp_flags(left, right, op, match):
    assert rule(M(left, right, op)).matches == (TCP, match)


@pytest.mark.parametrize("right, op", [({"set": ["syn", "ack"]}, "=="), ({"set": ["syn", "ack"]}, "!="),
                                       ({"set": ["syn", ["syn", "ack"]]}, "==")])
def test_tcp_flags_one_match_cannot_say_keep_their_protocol(right, op):
    # "tcp flags { syn, ack }": exactly syn or exactly ack (nft looks the byte up in a set)
    e = M(P("tcp", "flags"), right, op)
    assert rule(e).matches == (TCP, UnknownMatch(frag(e)))


@pytest.mark.parametrize("right, op", [("nosuchflag", "=="), ("syn", "<")])
def test_tcp_flags_nothing_can_read_are_unknown(right, op):
    e = M(P("tcp", "flags"), right, op)
    assert rule(e).matches[-1] == UnknownMatch(frag(e))


@pytest.mark.parametrize("left, right, op, match", [
    ({"&": [P("ip", "saddr"), "0.0.0.255"]}, "0.0.0.7", "==", MaskedAddressMatch("saddr", 4, 0xFF, 7)),
    ({"&": [P("ip6", "daddr"), "ffff::"]}, "fd00::", "!=",
     MaskedAddressMatch("daddr", 6, 0xFFFF << 112, 0xFD00 << 112, True)),
    ({"&": [{"meta": {"key": "mark"}}, 0xF0]}, 0x1F, "==", MarkMatch("meta", 0x10, 0xF0)),
    ({"&": [{"ct": {"key": "mark"}}, 0xF0]}, 0x10, "!=", MarkMatch("ct", 0x10, 0xF0, True)),
    ({"&": [{"ct": {"key": "state"}}, ["new", "untracked"]]}, 0, "==",
     ConntrackStateMatch(frozenset({"new", "untracked"}), True)),
    ({"&": [{"ct": {"key": "state"}}, "invalid"]}, 0, "!=", ConntrackStateMatch(frozenset({"invalid"}))),
])
def test_masks(left, right, op, match):
    r = rule(M(left, right, op))
    assert r.matches[-1] == match
    assert r.matches[:-1] == ((FamilyMatch(match.version),) if isinstance(match, MaskedAddressMatch) else ())


@pytest.mark.parametrize("left, right, op", [
    ({"&": [P("ip", "saddr"), "0.0.0.255"]}, "0.0.0.7", "<"),
    ({"&": [P("ip", "saddr"), "0.0.0.x"]}, "0.0.0.7", "=="),
    ({"&": [P("ip", "saddr"), 255]}, "0.0.0.7", "=="),
    ({"&": [P("ip", "saddr"), "0.0.0.255"]}, 7, "=="),
    ({"&": [{"meta": {"key": "mark"}}, "0xf0"]}, 1, "=="),
    ({"&": [{"ct": {"key": "mark"}}, 0xF0]}, "1", "=="),
    ({"&": [{"ct": {"key": "state"}}, "new"]}, 1, "=="),
    ({"&": [{"ct": {"key": "state"}}, "new"]}, 0, "in"),
    ({"&": [{"meta": {"key": "pkttype"}}, 1]}, 0, "=="),
])
def test_masks_the_model_cannot_say_are_unknown(left, right, op):
    e = M(left, right, op)
    assert rule(e).matches[-1] == UnknownMatch(frag(e))


# --- limits, meters, counts -------------------------------------------------------------------


@pytest.mark.parametrize("expr, kind, first", [
    ({"limit": {"rate": 10, "per": "second"}}, "limit", True),
    ({"limit": {"rate": 10, "per": "second", "inv": True}}, "limit", False),
    ({"limit": 10}, "limit", None),
    ({"ct count": {"val": 1}}, "ct count", True),
    ({"ct count": {"val": 0}}, "ct count", False),
    ({"ct count": {"val": 0, "inv": True}}, "ct count", True),
    ({"ct count": {"val": 1, "inv": True}}, "ct count", False),
    ({"ct count": {"val": "1"}}, "ct count", None),
    ({"ct count": 1}, "ct count", None),
    ({"quota": {"val": 1}}, "quota", None),
    ({"last": None}, "last", None),
    ({"connlimit": {"val": 1}}, "connlimit", None),
    ({"meter": {"name": "m", "stmt": {"limit": {"rate": 1}}}}, "meter", True),
    ({"meter": {"name": "m", "stmt": [{"limit": {"rate": 1, "inv": True}}]}}, "meter", False),
    ({"meter": {"name": "m", "stmt": [{"limit": {"rate": 1}}, {"counter": None}]}}, "meter", None),
    ({"meter": {"name": "m", "stmt": {"counter": None}}}, "meter", None),
    ({"meter": {"name": "m", "stmt": {"limit": {}, "counter": None}}}, "meter", None),
    ({"meter": {"name": "m", "stmt": "limit"}}, "meter", None),
    ({"meter": "m"}, "meter", None),
    ({"set": {"op": "add", "set": "@m", "stmt": [{"ct count": {"val": 2, "inv": True}}]}}, "meter", False),
])
def test_rate_limits_and_counts_say_what_a_first_client_gets(expr, kind, first):
    (m,) = rule(expr).matches
    assert m == NondeterministicMatch(kind, '[' + frag(expr) + ']', False, first)


def test_a_long_rule_is_named_by_its_fragment():
    long = {"limit": {"rate": 10, "per": "second", "burst": 5}}
    padding = M({"meta": {"key": "iifname"}}, "x" * 200)
    r = rule(padding, long)
    assert r.origin.text == frag([padding, long])
    assert r.matches[1] == NondeterministicMatch("limit", frag(long), False, True)
    texts = {("ip", "t", 10): "y" * 199}
    (t,), _ = tables_from_nft_json(doc([long]), rule_texts=texts)
    assert t.chains[0].rules[0].matches == (NondeterministicMatch("limit", "y" * 199, False, True),)
    (t,), _ = tables_from_nft_json(doc([long]), rule_texts={("ip", "t", 10): "y" * 200})
    assert t.chains[0].rules[0].matches == (NondeterministicMatch("limit", frag(long), False, True),)


# --- sets, concatenations, verdict maps -------------------------------------------------------


SADDR, DPORT, IIF = P("ip", "saddr"), P("tcp", "dport"), {"meta": {"key": "iifname"}}
ONE = ip4("198.18.0.1")


def test_named_sets_and_the_sets_the_ruleset_fills():
    sets = ({"name": "a", "type": "ipv4_addr", "elem": ["198.18.0.1", {"elem": {"val": "198.18.0.2", "timeout": 5}}]},
            {"name": "p", "type": "inet_service"}, {"name": "k", "type": "ipv4_addr"},
            {"name": "c", "type": ["ipv4_addr", "inet_service"]}, {"name": "n", "type": "ipv4_addr"},
            {"name": "s", "type": "ct_state", "elem": ["new"]}, {"name": "Xk", "type": "ipv4_addr"})
    rs = rules([M(SADDR, "@a")], [M(DPORT, "@p", "!=")], [M(SADDR, "@k", "!=")],
               [M({"concat": [SADDR, DPORT]}, "@c")], [M(SADDR, "@n")], [M({"ct": {"key": "state"}}, "@s")],
               [{"set": {"op": "add", "elem": SADDR, "set": "@k"}}],
               [{"map": {"op": "update", "elem": SADDR, "map": "@c"}}],
               [{"set": {"op": "delete", "elem": SADDR, "set": "@n"}}],
               [{"set": {"op": "add", "elem": SADDR, "set": 5}}], ["odd"],
               [{"set": {"op": "add", "elem": SADDR, "set": "@Xk"}}], [M(SADDR, "@Xk")], sets=sets)
    assert rs[-1].matches == (V4, NondeterministicMatch("dynamic set", "@Xk (filled by the ruleset's own rules)"))
    assert [r.matches for r in rs[:6]] == [
        (V4, AddressMatch("saddr", 4, ((ONE, ONE), (ONE + 1, ONE + 1)), set_name="a")),
        (TCP, PortMatch("dport", (), True, set_name="p")),
        (V4, NondeterministicMatch("dynamic set", "@k (filled by the ruleset's own rules)", True)),
        (V4, TCP, NondeterministicMatch("dynamic set", "@c (filled by the ruleset's own rules)", False)),
        (V4, AddressMatch("saddr", 4, (), set_name="n")),  # only ever deleted from: not history
        (ConntrackStateMatch(frozenset({"new"})),),
    ]
    (t,), _ = tables_from_nft_json(doc([M(SADDR, "@a")], sets=sets))
    assert [s.name for s in t.sets] == ["a", "p", "k", "c", "n", "s", "Xk"]


def test_missing_sets_are_unknown():
    for e in (M(SADDR, "@nosuch"), M({"concat": [SADDR, DPORT]}, "@nosuch")):
        assert rule(e).matches[-1] == UnknownMatch(frag(e))


def elements(*items: Any) -> dict[str, Any]:
    return {"set": [{"concat": list(i)} if isinstance(i, tuple) else i for i in items]}


def test_concatenations():
    r = rule(M({"concat": [IIF, SADDR, DPORT]}, elements(("eth0", "198.18.0.1", {"range": [1, 2]})), "!="))
    assert r.matches == (V4, TCP, SetElementMatch("anonymous", ("iif", "saddr", "dport"),
                                                  (("eth0", (ONE, ONE), (1, 2)),), 4, True))
    r = rule(M({"concat": [P("ip6", "daddr"), {"meta": {"key": "l4proto"}}, {"meta": {"key": "nfproto"}}]},
               elements(("fd00::1", "udp", "ipv6"))), family="inet")
    assert r.matches == (FamilyMatch(6), SetElementMatch("anonymous", ("daddr", "l4proto", "nfproto"),
                                                         (((0xFD00 << 112 | 1,) * 2, (17, 17), (6, 6)),), 6))
    r = rule(M({"concat": [{"ct": {"key": "state"}}, {"meta": {"key": "oifname"}}, {"meta": {"key": "protocol"}},
                           P("udp", "sport")]}, elements(("new", "eth1", "ip", 53))), family="netdev")
    assert r.matches == (ProtocolMatch(frozenset({17})), SetElementMatch(
        "anonymous", ("ctstate", "oif", "nfproto", "sport"), (("new", "eth1", (4, 4), (53, 53)),), None))
    r = rule(M({"concat": [SADDR, P("ip", "daddr")]}, "@c"),
             sets=({"name": "c", "type": ["ipv4_addr", "ipv4_addr"],
                    "elem": [{"elem": {"val": {"concat": ["198.18.0.1", "198.18.0.2"]}}}]},))
    assert r.matches == (V4, SetElementMatch("c", ("saddr", "daddr"), (((ONE, ONE), (ONE + 1, ONE + 1)),), 4))
    r = rule(M({"concat": [SADDR, DPORT]}, elements(("198.18.0.1", "ssh"))))
    assert r.matches == (V4, TCP, SetElementMatch("anonymous", ("saddr", "dport"), (((ONE, ONE), (22, 22)),), 4))
    r = rule(M({"concat": [SADDR, DPORT]}, "@e"), sets=({"name": "e", "type": ["ipv4_addr", "inet_service"]},))
    assert r.matches == (V4, TCP, SetElementMatch("e", ("saddr", "dport"), (), 4))


@pytest.mark.parametrize("parts, right, kept", [
    # an element that does not fit: unknown (what the key implies is not kept here)
    ([SADDR, DPORT], elements("198.18.0.1"), None),                              # not a concatenation
    ([SADDR, DPORT], elements(("198.18.0.1",)), None),                           # too short
    ([SADDR, DPORT], elements(("198.18.0.1", 1, 2)), None),                      # too long
    ([IIF, DPORT], elements((5, 1)), None),                                      # an index, not a name
    ([{"meta": {"key": "l4proto"}}, DPORT], elements(("nosuch", 1)), None),
    ([{"meta": {"key": "nfproto"}}, DPORT], elements(("ipx", 1)), None),
    # a field sets cannot key on: what the other fields imply comes first
    ([{"meta": {"key": "mark"}}, DPORT], elements((1, 1)), (TCP,)),
    ([SADDR, {"rt": {"key": "mtu"}}, DPORT], elements(("198.18.0.1", 1, 2)), (V4, TCP)),
    ([P("icmp", "code"), DPORT], elements((1, 1)), (V4, ProtocolMatch(frozenset({1})), TCP)),
    ([P("tcp", "sport"), {"meta": {"key": "mark"}}, P("tcp", "dport")], elements((1, 1, 1)), (TCP,)),
])
def test_concatenations_the_model_cannot_say_are_unknown(parts, right, kept):
    e = M({"concat": parts}, right)
    r = rule(e)
    assert r.matches[-1] == UnknownMatch(frag(e))
    assert not any(isinstance(m, SetElementMatch) for m in r.matches)
    if kept is not None:
        assert r.matches[:-1] == kept


def test_verdict_maps():
    r = rule({"vmap": {"key": {"concat": [SADDR, DPORT]}, "data": {"set": [
        [{"concat": ["198.18.0.1", 22]}, {"jump": {"target": "x"}}],
        [{"elem": {"val": {"concat": ["198.18.0.2", {"range": [1, 3]}]}}}, {"return": None}]]}}})
    assert r.matches == (V4, TCP)
    assert r.statements == (VerdictMap(("saddr", "dport"), (
        (((ONE, ONE), (22, 22)), Verdict("jump", "x")), (((ONE + 1, ONE + 1), (1, 3)), Verdict("return"))), 4),)
    r = rule({"vmap": {"key": IIF, "data": "@m"}},
             maps=({"name": "m", "type": "ifname", "map": "verdict",
                    "elem": [["eth0", {"goto": {"target": "y"}}], ["eth1", {"continue": None}]]},))
    assert r.statements == (VerdictMap(("iif",), ((("eth0",), Verdict("goto", "y")),
                                                  (("eth1",), Verdict("continue"))), None, "m"),)
    r = rule({"vmap": {"key": IIF, "data": "@e"}}, maps=({"name": "e", "type": "ifname", "map": "verdict"},))
    assert r.statements == (VerdictMap(("iif",), (), None, "e"),)
    r = rule({"vmap": {"key": IIF, "data": [["eth0", {"drop": None}]]}})  # the pairs without a set around them
    assert r.statements == (VerdictMap(("iif",), ((("eth0",), Verdict("drop")),), None, None),)
    r = rule(M(DPORT, 22), {"vmap": {"key": P("tcp", "sport"), "data": {"set": [[1, {"drop": None}]]}}})
    assert r.matches == (TCP, ports((22, 22))), "the key's protocol once"
    r = rule({"vmap": {"key": P("ip6", "saddr"), "data": {"set": [["fd00::1", {"accept": None}]]}}}, family="ip6")
    assert r.statements[0].version == 6  # type: ignore[union-attr]


@pytest.mark.parametrize("data, kept", [
    ({"set": [[22]]}, (TCP,)),
    ({"set": [[22, {"accept": None}, 1]]}, (TCP,)),
    ({"set": [22]}, (TCP,)),
    ({"set": [[22, {"queue": {"num": 1}}]]}, (TCP,)),
    ({"set": [[{"concat": [22, 23]}, {"accept": None}]]}, (TCP,)),
    ({"set": [["x", {"accept": None}]]}, (TCP,)),
    ("@nosuch", (TCP,)),
])
def test_verdict_maps_the_model_cannot_say_are_unknown(data, kept):
    e = {"vmap": {"key": DPORT, "data": data}}
    r = rule(e)
    assert r.statements == (UnknownStatement(frag(e)),)
    assert r.matches in (kept, ())


def test_a_verdict_map_on_an_untyped_key_keeps_the_protocol_before_it():
    e = {"vmap": {"key": {"concat": [DPORT, {"meta": {"key": "mark"}}]}, "data": {"set": []}}}
    assert rule(e).matches == (TCP,) and rule(e).statements == (UnknownStatement(frag(e)),)
    e = {"vmap": {"key": {"concat": [{"meta": {"key": "mark"}}, DPORT]}, "data": {"set": []}}}
    assert rule(e).matches == () and rule(e).statements == (UnknownStatement(frag(e)),)


# --- the listing text -------------------------------------------------------------------------


LISTING = """\
tcp dport 1 accept # handle 99
table inet filter { # handle 7
\tset blocked { # handle 3
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 198.18.0.1 }
\t}
\tchain input { # handle 1
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established accept # handle 4
\t\tiifname "lo"   accept comment "loopback" # handle 5
\t\t# handle 6
\t\telements = { 198.18.0.9 } # handle 20
\t\tflags interval # handle 21
\t\ttype ipv4_addr # handle 22
\t\tpolicy drop; # handle 23
\t\ttable ip odd # handle 24
\t\tcounter packets 0 bytes 0
\t}
\tflowtable f { # handle 8
\t}
}
table ip nat { # handle 2
\tmap m { # handle 9
\t}
\tchain pre { # handle 1
\t\ttcp dport 80 dnat to 198.18.0.5 # handle 4
\t}
}
"""


def test_rule_texts_come_from_the_listing_by_family_table_and_handle():
    assert rule_texts_from_listing(LISTING) == {
        ("inet", "filter", 4): "ct state established accept",
        ("inet", "filter", 5): 'iifname "lo"   accept comment "loopback"',
        ("ip", "nat", 4): "tcp dport 80 dnat to 198.18.0.5",
    }
    assert rule_texts_from_listing("") == {}


def test_chain_devices_come_from_the_listing():
    text = """\
table netdev edge {
\tchain ing {
\t\ttype filter hook ingress device "eth0" priority filter; policy accept;
\t\ttype filter hook ingress device "eth9" priority filter; policy accept;
\t}
\tchain many {
\t\ttype filter hook ingress devices = { "eth1", "eth2" } priority -10; policy accept;
\t}
\tchain out {
\t\ttype filter hook egress device wan priority 0;
\t}
\tchain plain {
\t\ttype filter hook input priority 0;
\t}
}
table inet t {
\ttype filter hook ingress device "eth4" priority 0;
\tchain c {
\t\ttype filter hook ingress device "eth5" priority 0;
\t}
}
"""
    assert chain_devices_from_listing(text) == {
        ("netdev", "edge", "ing"): "eth0", ("netdev", "edge", "many"): "eth1", ("netdev", "edge", "out"): "wan",
        ("inet", "t", "c"): "eth5"}
    assert chain_devices_from_listing("") == {}
