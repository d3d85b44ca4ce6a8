"""Readers never change the target, and what is loaded through each backend reads back rule by
rule — the same model as reading the file that was loaded."""

from __future__ import annotations

import hashlib

import pytest

from auditor.collect.iptsave import parse_iptables_save
from auditor.target.runner import run_in_namespace
from auditor.collect.nft import read_nft_file, read_nftables
from auditor.collect.ruleset import collect_ruleset
from auditor.collect.xtables import read_ipsets, read_iptables_legacy, read_iptables_nft
from auditor.model.ruleset import (
    AddrTypeMatch, ConntrackStateMatch, EffectStatement, FamilyMatch, InterfaceMatch, MarkMatch, MarkStatement,
    NatStatement, NondeterministicMatch, NotrackStatement, SetElementMatch, Verdict, VerdictMap,
)
from tests.collect.rule_expectations import ACCEPT, DROP, RETURN, addr, dport, headers, proto, rule, semantics

pytestmark = pytest.mark.root

IPT = """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 123 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 3000 -j MARK --set-xmark 0x10/0xffffffff
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.3.2:80
-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 198.18.0.0/24 -p tcp -m multiport --dports 22,80:90 -j web
-A INPUT ! -s 198.18.1.0/24 -p udp -m udp ! --dport 53 -j REJECT --reject-with icmp-port-unreachable
-A INPUT -m iprange --src-range 198.18.2.1-198.18.2.9 -m addrtype --dst-type LOCAL -j ACCEPT
-A INPUT -m mark --mark 0x10/0xff -m comment --comment "marked in mangle" -j ACCEPT
-A web -p tcp -m tcp --dport 22 -j RETURN
-A web -j ACCEPT
COMMIT
"""
NFT = """table inet fw {
  set admins { type ipv4_addr; flags interval; elements = { 198.18.9.0/24, 198.18.10.5 } }
  map svc { type inet_service : verdict; elements = { 25 : drop, 587 : accept } }
  chain input {
    type filter hook input priority -5; policy accept;
    ip saddr @admins tcp dport 22 accept
    tcp dport vmap @svc
    ip6 saddr fd00:db8::/32 udp dport { 500, 4500 } accept
    meta l4proto tcp ct state new limit rate 10/second log prefix "new "
    ip saddr . tcp dport { 198.18.0.7 . 5432 } accept
    fib daddr type local tcp dport 9000-9100 reject with icmpx admin-prohibited
  }
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8443 dnat ip to 198.18.3.2:443
  }
}
"""


# What IPT and NFT say, read by hand (see rule_expectations): the judge of both the file
# reader and the live readers, which otherwise share their parser with each other.
A = addr
EXPECTED_IPT = {
    ("ip", "raw", "PREROUTING"): [rule(proto("udp"), dport(123), NotrackStatement())],
    ("ip", "raw", "OUTPUT"): [],
    ("ip", "mangle", "PREROUTING"): [rule(proto("tcp"), dport(3000), MarkStatement("meta", 0xFFFFFFFF, 0x10))],
    **{("ip", "mangle", c): [] for c in ("INPUT", "FORWARD", "OUTPUT", "POSTROUTING")},
    ("ip", "nat", "PREROUTING"): [
        rule(InterfaceMatch("iif", ("eth0",)), proto("tcp"), dport(8080),
             NatStatement("dnat", A("daddr", "198.18.3.2").ranges[0], 4, (80, 80))),
        rule(proto("tcp"), dport(2222), NatStatement("redirect", ports=(22, 22))),
    ],
    **{("ip", "nat", c): [] for c in ("INPUT", "OUTPUT", "POSTROUTING")},
    ("ip", "filter", "INPUT"): [
        rule(InterfaceMatch("iif", ("lo",)), ACCEPT),
        rule(ConntrackStateMatch(frozenset({"related", "established"})), ACCEPT),
        rule(A("saddr", "198.18.0.0/24"), proto("tcp"), dport(22, (80, 90)), Verdict("jump", "web")),
        rule(A("saddr", "198.18.1.0/24", negated=True), proto("udp"), dport(53, negated=True),
             Verdict("reject")),
        rule(A("saddr", "198.18.2.1-198.18.2.9"), AddrTypeMatch("daddr", frozenset({"LOCAL"})), ACCEPT),
        rule(MarkMatch("meta", 0x10, 0xFF), ACCEPT),
    ],
    ("ip", "filter", "FORWARD"): [],
    ("ip", "filter", "OUTPUT"): [],
    ("ip", "filter", "web"): [rule(proto("tcp"), dport(22), RETURN), rule(ACCEPT)],
}
IPT_HEADERS = {
    ("ip", "raw", "PREROUTING"): ("prerouting", -300, "accept"), ("ip", "raw", "OUTPUT"): ("output", -300, "accept"),
    ("ip", "mangle", "PREROUTING"): ("prerouting", -150, "accept"), ("ip", "mangle", "INPUT"): ("input", -150, "accept"),
    ("ip", "mangle", "FORWARD"): ("forward", -150, "accept"), ("ip", "mangle", "OUTPUT"): ("output", -150, "accept"),
    ("ip", "mangle", "POSTROUTING"): ("postrouting", -150, "accept"),
    ("ip", "nat", "PREROUTING"): ("prerouting", -100, "accept"), ("ip", "nat", "INPUT"): ("input", 100, "accept"),
    ("ip", "nat", "OUTPUT"): ("output", -100, "accept"), ("ip", "nat", "POSTROUTING"): ("postrouting", 100, "accept"),
    ("ip", "filter", "INPUT"): ("input", 0, "drop"), ("ip", "filter", "FORWARD"): ("forward", 0, "drop"),
    ("ip", "filter", "OUTPUT"): ("output", 0, "accept"),
}
EXPECTED_NFT = {
    ("inet", "fw", "input"): [
        rule(FamilyMatch(4), A("saddr", "198.18.9.0/24", "198.18.10.5", set_name="admins"), proto("tcp"), dport(22),
             ACCEPT),
        rule(proto("tcp"), VerdictMap(("dport",), ((((25, 25),), DROP), (((587, 587),), ACCEPT)), set_name="svc")),
        rule(FamilyMatch(6), A("saddr", "fd00:db8::/32"), proto("udp"), dport(500, 4500), ACCEPT),
        rule(proto("tcp"), ConntrackStateMatch(frozenset({"new"})), NondeterministicMatch("limit", ""),
             EffectStatement("log")),
        rule(FamilyMatch(4), proto("tcp"),
             SetElementMatch("anonymous", ("saddr", "dport"), ((A("saddr", "198.18.0.7").ranges[0], (5432, 5432)),), 4),
             ACCEPT),
        rule(AddrTypeMatch("daddr", frozenset({"LOCAL"}), fib=True), proto("tcp"), dport((9000, 9100)),
             Verdict("reject")),
    ],
    ("inet", "fw", "pre"): [
        rule(proto("tcp"), dport(8443), NatStatement("dnat", A("daddr", "198.18.3.2").ranges[0], 4, (443, 443))),
    ],
}
NFT_HEADERS = {("inet", "fw", "input"): ("input", -5, "accept"), ("inet", "fw", "pre"): ("prerouting", -100, "accept")}


def snapshot(ns) -> str:
    parts = []
    for cmd in (["iptables-legacy-save"], ["ip6tables-legacy-save"], ["iptables-nft-save"], ["ip6tables-nft-save"],
                ["nft", "list", "ruleset"], ["cat", "/proc/net/ip_tables_names"], ["cat", "/proc/net/ip6_tables_names"],
                ["ipset", "save"]):
        out = ns.exec(cmd, check=False).stdout
        parts.append("\n".join(l for l in out.splitlines() if not l.startswith("#")))  # save headers carry timestamps
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def shape(tables):
    """What must survive a round trip: per chain, each rule's typed parts and position."""
    return {(t.family, t.name, c.name): [(r.origin.position, r.matches, r.statements, r.comment) for r in c.rules]
            for t in tables for c in t.chains}


def test_readers_are_read_only_with_and_without_tables(make_netns):
    empty, full = make_netns("e"), make_netns("f")
    full.exec(["iptables-legacy-restore"], input=IPT)
    full.exec(["iptables-nft", "-A", "INPUT", "-p", "tcp", "-m", "multiport", "--dports", "1,2", "-j", "ACCEPT"])
    full.exec(["nft", "-f", "-"], input=NFT)
    for ns in (empty, full):
        before = snapshot(ns)
        for reader, kw in ((read_iptables_legacy, {}), (read_iptables_legacy, {"use_binding": True}),
                           (read_iptables_nft, {}), (read_nftables, {}), (read_ipsets, {}), (collect_ruleset, {})):
            run_in_namespace(ns.path, reader, **kw)
            assert snapshot(ns) == before, f"{reader.__name__}{kw} changed {ns.name}"


def test_the_files_mean_what_they_say():
    """The file side alone (the live tests below compare the kernel's side with the same)."""
    filed = parse_iptables_save(IPT, version=4, backend="file", source="fw.rules")
    assert semantics(filed) == EXPECTED_IPT and headers(filed) == IPT_HEADERS


def test_legacy_round_trip_matches_the_file(netns, tmp_path):
    netns.exec(["iptables-legacy-restore"], input=IPT)
    live = run_in_namespace(netns.path, read_iptables_legacy)
    filed = parse_iptables_save(IPT, version=4, backend="file", source="fw.rules")
    assert semantics(live) == EXPECTED_IPT and headers(live) == IPT_HEADERS
    assert shape(live) == shape(filed)
    assert sorted(r.origin.text for t in live for c in t.chains for r in c.rules) == \
           sorted(r.origin.text for t in filed for c in t.chains for r in c.rules)
    assert not any(r.unknowns for t in live for r in (x for c in t.chains for x in c.rules))


def test_iptables_nft_round_trip_matches_the_file(netns):
    netns.exec(["iptables-nft-restore"], input=IPT)
    tables, owned = run_in_namespace(netns.path, read_iptables_nft)
    assert owned == {("ip", "raw"), ("ip", "mangle"), ("ip", "nat"), ("ip", "filter")}
    assert semantics(tables) == EXPECTED_IPT and headers(tables) == IPT_HEADERS
    assert shape(tables) == shape(parse_iptables_save(IPT, version=4, backend="file"))


def test_nft_round_trip_matches_the_file(netns, tmp_path):
    f = tmp_path / "fw.nft"
    f.write_text(NFT)
    netns.exec(["nft", "-f", str(f)])
    live, _ = run_in_namespace(netns.path, read_nftables)
    filed, _ = read_nft_file(f)
    # both sides go through nft -j and one parser: each must equal what the file says
    assert semantics(live) == EXPECTED_NFT and headers(live) == NFT_HEADERS
    assert semantics(filed) == EXPECTED_NFT and headers(filed) == NFT_HEADERS
    assert shape(live) == shape(filed)
    live_rules = [r for t in live for c in t.chains for r in c.rules]
    file_rules = [r for t in filed for c in t.chains for r in c.rules]
    assert [r.origin.text for r in live_rules] == [r.origin.text for r in file_rules]
    assert [r.origin.line for r in file_rules] == [6, 7, 8, 9, 10, 11, 15]
    unknown = [r.origin.text for r in live_rules if r.unknowns]
    assert unknown == []  # limit is typed as nondeterministic, not unknown


def test_all_three_backends_at_once(netns):
    netns.exec(["iptables-legacy-restore"], input=IPT)
    netns.exec(["iptables-nft", "-A", "INPUT", "-p", "tcp", "-m", "multiport", "--dports", "1,2", "-j", "ACCEPT"])
    netns.exec(["nft", "-f", "-"], input=NFT)
    rs = run_in_namespace(netns.path, collect_ruleset)
    by = {(t.backend, t.family, t.name) for t in rs.tables}
    assert {("iptables-legacy", "ip", "filter"), ("iptables-nft", "ip", "filter"), ("nftables", "inet", "fw")} <= by
    assert ("nftables", "ip", "filter") not in by  # the iptables-nft table is read once, by its owner
    xt = next(t for t in rs.tables if t.backend == "iptables-nft").chain("INPUT").rules[0]
    assert not xt.unknowns and rs.notes == ()
