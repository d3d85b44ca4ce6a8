"""A realistic corpus (tests/data/corpus): Docker's rules dumped from a real dockerd, ufw-style,
firewalld-style and kube-proxy-like (10,000 rules) rulesets. Each is read without unknowns, means
what its source says (rule counts per chain counted in the text, and hand-read expectations:
all of the nft file, telling rules of the others), reads back the same after loading it with
the real tool, and evaluates as its authors intend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.target.runner import run_in_namespace
from auditor.collect.ruleset import collect_ruleset, read_ruleset_files
from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.collect.host import offline_host
from auditor.model.ruleset import (
    AddrTypeMatch, ConntrackStateMatch, ConntrackStatusMatch, FamilyMatch, IcmpTypeMatch, InterfaceMatch, MarkMatch,
    MarkStatement, NatStatement, NondeterministicMatch, Verdict,
)
from tests.collect.rule_expectations import ACCEPT, DROP, RETURN, addr, dport, headers, proto, rule, semantic, semantics

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
FILES = {"docker-iptables-nft.rules": "iptables-nft-restore", "ufw.rules": "iptables-legacy-restore",
         "kube-proxy.rules": "iptables-nft-restore", "firewalld.nft": "nft"}
pytestmark = pytest.mark.root  # nft files are parsed by nft in a private namespace


def shape(rs):
    return {(t.family, t.name, c.name): [(r.matches, r.statements) for r in c.rules] for t in rs.tables for c in t.chains}


def jump(chain):
    return Verdict("jump", chain)


def goto(chain):
    return Verdict("goto", chain)


FW = "filter_IN_"
FIREWALLD = {
    ("inet", "firewalld", "filter_INPUT"): [
        rule(ConntrackStateMatch(frozenset({"established", "related"})), ACCEPT),
        rule(ConntrackStatusMatch(frozenset({"dnat"})), ACCEPT),
        rule(InterfaceMatch("iif", ("lo",)), ACCEPT),
        rule(ConntrackStateMatch(frozenset({"invalid"})), DROP),
        rule(jump("filter_INPUT_ZONES")),
        rule(Verdict("reject")),
    ],
    ("inet", "firewalld", "filter_INPUT_ZONES"): [
        rule(FamilyMatch(4), addr("saddr", "198.18.10.0/24"), goto(FW + "trusted")),
        rule(InterfaceMatch("iif", ("eth1",)), goto(FW + "internal")),
        rule(InterfaceMatch("iif", ("eth0",)), goto(FW + "public")),
        rule(goto(FW + "public")),
    ],
    ("inet", "firewalld", FW + "public"): [
        *(rule(jump(FW + "public_" + c)) for c in ("pre", "log", "deny", "allow", "post")),
        rule(proto("icmp", "ipv6-icmp"), ACCEPT),
    ],
    ("inet", "firewalld", FW + "public_pre"): [],
    ("inet", "firewalld", FW + "public_log"): [],
    ("inet", "firewalld", FW + "public_deny"): [rule(FamilyMatch(4), addr("saddr", "198.18.66.0/24"), DROP)],
    ("inet", "firewalld", FW + "public_allow"): [
        rule(proto("tcp"), dport(22), ACCEPT),
        rule(FamilyMatch(6), addr("daddr", "fe80::/64"), proto("udp"), dport(546), ACCEPT),
        rule(proto("tcp"), dport(80, 443), ACCEPT),
    ],
    ("inet", "firewalld", FW + "public_post"): [],
    ("inet", "firewalld", FW + "internal"): [rule(jump(FW + "internal_allow")), rule(proto("icmp", "ipv6-icmp"), ACCEPT)],
    ("inet", "firewalld", FW + "internal_allow"): [
        rule(proto("tcp"), dport(22), ACCEPT),
        rule(proto("udp"), dport(5353), FamilyMatch(4), addr("daddr", "224.0.0.251"), ACCEPT),
        rule(proto("udp"), dport(137, 138), ACCEPT),
        rule(proto("tcp"), dport(9090), ACCEPT),
    ],
    ("inet", "firewalld", FW + "trusted"): [rule(ACCEPT)],
}

BR = "br-b8b90968ada5"
# (table, chain, position) → the rule as its line in the file reads
TELLING_RULES = {
    "docker-iptables-nft.rules": {
        ("filter", "DOCKER", 1): rule(addr("daddr", "198.18.50.2/32"), InterfaceMatch("iif", (BR,), negated=True),
                                      InterfaceMatch("oif", (BR,)), proto("tcp"), dport(80), ACCEPT),
        ("nat", "PREROUTING", 1): rule(AddrTypeMatch("daddr", frozenset({"LOCAL"})), jump("DOCKER")),
        ("nat", "POSTROUTING", 1): rule(addr("saddr", "198.18.50.0/24"), InterfaceMatch("oif", (BR,), negated=True),
                                        NatStatement("masquerade")),
        ("nat", "DOCKER", 3): rule(InterfaceMatch("iif", (BR,), negated=True), proto("tcp"), dport(8080),
                                   NatStatement("dnat", addr("daddr", "198.18.50.2").ranges[0], 4, (80, 80))),
    },
    "ufw.rules": {
        ("filter", "ufw-user-input", 2): rule(proto("tcp"), dport(22), ConntrackStateMatch(frozenset({"new"})),
                                              NondeterministicMatch("recent", ""), jump("ufw-user-limit")),
        ("filter", "ufw-before-input", 8): rule(proto("icmp"), IcmpTypeMatch(4, ("8",)), ACCEPT),
        ("filter", "ufw-before-input", 9): rule(proto("udp"), dport(67, field="sport"), dport(68), ACCEPT),
        ("filter", "ufw-after-input", 7): rule(AddrTypeMatch("daddr", frozenset({"BROADCAST"})),
                                               jump("ufw-skip-to-policy-input")),
        ("filter", "ufw-user-limit", 2): rule(Verdict("reject")),
    },
    "kube-proxy.rules": {
        ("nat", "KUBE-MARK-MASQ", 1): rule(MarkStatement("meta", 0x4000, 0x4000)),
        ("nat", "KUBE-POSTROUTING", 1): rule(MarkMatch("meta", 0x4000, 0x4000, negated=True), RETURN),
        ("nat", "KUBE-POSTROUTING", 2): rule(MarkStatement("meta", 0, 0x4000)),  # --set-xmark 0x4000/0x0: toggle
        ("nat", "KUBE-POSTROUTING", 3): rule(NatStatement("masquerade")),
        ("nat", "KUBE-SERVICES", 1): rule(addr("daddr", "198.19.0.1/32"), proto("tcp"), dport(8080),
                                          jump("KUBE-SVC-0000000000000000")),
        ("nat", "KUBE-SVC-0000000000000000", 1): rule(NondeterministicMatch("statistic", ""),
                                                      jump("KUBE-SEP-0000000000000000")),
        ("nat", "KUBE-SEP-0000000000000000", 2): rule(proto("tcp"), NatStatement(
            "dnat", addr("daddr", "198.18.100.1").ranges[0], 4, (8080, 8080))),
    },
}


def rule_counts_in_text(path: Path) -> dict[tuple[str, str], int]:
    """(table, chain) → number of ``-A CHAIN`` lines, for an iptables-save file: a count that
    needs no parser of ours."""
    counts: dict[tuple[str, str], int] = {}
    table = ""
    for line in path.read_text().splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif m := re.match(r"^:(\S+)", line):
            counts.setdefault((table, m.group(1)), 0)
        elif m := re.match(r"^-A (\S+)", line):
            counts[(table, m.group(1))] = counts.get((table, m.group(1)), 0) + 1
    return counts


def means_what_the_source_says(name, rs):
    if name.endswith(".nft"):
        assert semantics(rs.tables) == FIREWALLD
        assert headers(rs.tables) == {("inet", "firewalld", "filter_INPUT"): ("input", 10, "accept")}
        return
    assert {(t.name, c.name): len(c.rules) for t in rs.tables for c in t.chains} == rule_counts_in_text(CORPUS / name)
    for (table, chain, position), expected in TELLING_RULES[name].items():
        (t,) = [t for t in rs.tables if t.name == table]
        assert semantic(t.chain(chain).rules[position - 1]) == expected, (table, chain, position)


@pytest.mark.parametrize("name", sorted(FILES))
def test_read_without_unknowns_and_round_trip(name, netns):
    rs = read_ruleset_files([str(CORPUS / name)])
    assert rs.rules and [r.origin.text for r in rs.rules if r.unknowns] == []
    means_what_the_source_says(name, rs)
    tool = FILES[name]
    netns.exec([tool, "-f", str(CORPUS / name)] if tool == "nft" else [tool, str(CORPUS / name)], timeout=300)
    live = run_in_namespace(netns.path, collect_ruleset)
    means_what_the_source_says(name, live)  # the kernel's side, judged by the source, not by our file reader
    assert shape(live) == shape(rs)


def verdict(rs, source, proto, port):
    host = offline_host({"eth0": ["198.18.0.2/24"]}, forwarding=False)
    exp = evaluate_exposure(rs, host, ExposureQuery("eth0", "198.18.0.2", (source,), (proto,)))
    (e,) = [e for e in exp.entries if e.ports[0] <= port <= e.ports[1]]
    return e.verdict


def test_ufw_semantics():
    rs = read_ruleset_files([str(CORPUS / "ufw.rules")])
    assert verdict(rs, "198.18.99.9", "tcp", 443) == "accept"
    assert verdict(rs, "198.18.99.9", "tcp", 22) == "indeterminate"  # "ufw limit": recent hitcount
    assert verdict(rs, "198.18.99.9", "tcp", 9100) == "drop"
    assert verdict(rs, "198.18.10.7", "tcp", 9100) == "accept"
    assert verdict(rs, "198.18.99.9", "udp", 137) == "drop"  # ufw-skip-to-policy-input


def test_firewalld_semantics():
    rs = read_ruleset_files([str(CORPUS / "firewalld.nft")])
    assert verdict(rs, "198.18.99.9", "tcp", 22) == "accept"
    assert verdict(rs, "198.18.99.9", "tcp", 9090) == "reject"  # only in the internal zone
    assert verdict(rs, "198.18.66.5", "tcp", 22) == "drop"  # the public zone's deny list
    assert verdict(rs, "198.18.10.1", "udp", 9999) == "accept"  # trusted source
