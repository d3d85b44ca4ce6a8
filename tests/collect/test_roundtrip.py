"""Readers never change the target, and what is loaded through each backend reads back rule by
rule — the same model as reading the file that was loaded."""

from __future__ import annotations

import hashlib

import pytest

from auditor.collect.iptsave import parse_iptables_save
from auditor.collect.netns import run_in_namespace
from auditor.collect.nft import read_nft_file, read_nftables
from auditor.collect.ruleset import collect_ruleset
from auditor.collect.xtables import read_ipsets, read_iptables_legacy, read_iptables_nft

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
    ip6 saddr 2001:db8::/32 udp dport { 500, 4500 } accept
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


def test_legacy_round_trip_matches_the_file(netns, tmp_path):
    netns.exec(["iptables-legacy-restore"], input=IPT)
    live = run_in_namespace(netns.path, read_iptables_legacy)
    filed = parse_iptables_save(IPT, version=4, backend="file", source="fw.rules")
    assert shape(live) == shape(filed)
    assert sorted(r.origin.text for t in live for c in t.chains for r in c.rules) == \
           sorted(r.origin.text for t in filed for c in t.chains for r in c.rules)
    assert not any(r.unknowns for t in live for r in (x for c in t.chains for x in c.rules))


def test_iptables_nft_round_trip_matches_the_file(netns):
    netns.exec(["iptables-nft-restore"], input=IPT)
    tables, owned = run_in_namespace(netns.path, read_iptables_nft)
    assert owned == {("ip", "raw"), ("ip", "mangle"), ("ip", "nat"), ("ip", "filter")}
    assert shape(tables) == shape(parse_iptables_save(IPT, version=4, backend="file"))


def test_nft_round_trip_matches_the_file(netns, tmp_path):
    f = tmp_path / "fw.nft"
    f.write_text(NFT)
    netns.exec(["nft", "-f", str(f)])
    live, _ = run_in_namespace(netns.path, read_nftables)
    filed, _ = read_nft_file(f)
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
