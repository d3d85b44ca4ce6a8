"""Live iptables readers and ipsets, in throwaway namespaces."""

from __future__ import annotations

import pytest

from auditor.target.runner import run_in_namespace
from auditor.model.ruleset import TcpFlagsMatch
from auditor.collect.xtables import parse_ipset_save, read_ipsets, read_iptables_legacy, read_iptables_nft
from auditor.collect.xtextensions import set_match

RULES = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:svc - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT ! -i lo -s 198.18.0.0/24 -p tcp -m multiport --dports 22,80,8000:8010 -j svc
-A INPUT -p udp -m udp --dport 53 -m comment --comment "dns" -j ACCEPT
-A INPUT -m iprange --src-range 198.18.1.5-198.18.1.9 -p tcp -m tcp --dport 443 -j REJECT --reject-with tcp-reset
-A INPUT -p tcp -m limit --limit 5/min -j LOG --log-prefix "in: "
-A INPUT -m set --match-set admins src -j ACCEPT
-A svc -m mark --mark 0x1/0xff -j RETURN
-A svc -p tcp -m tcp --syn -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8081 -j DNAT --to-destination 198.18.3.2:80
-A POSTROUTING -o eth9 -j MASQUERADE
COMMIT
"""

pytestmark = pytest.mark.root


def _tables_file(ns):
    return ns.exec(["cat", "/proc/net/ip_tables_names"], check=False).stdout.split()


def test_binding_and_save_tool_give_the_identical_model(netns):
    netns.exec(["ipset", "create", "admins", "hash:net"])
    netns.exec(["ipset", "add", "admins", "198.18.7.0/24"])
    netns.exec(["iptables-legacy-restore"], input=RULES)
    sets = run_in_namespace(netns.path, read_ipsets)
    via_save = run_in_namespace(netns.path, read_iptables_legacy, sets)
    via_iptc = run_in_namespace(netns.path, read_iptables_legacy, sets, use_binding=True)
    assert via_save == via_iptc
    flt = next(t for t in via_save if t.name == "filter")
    assert len(flt.chain("INPUT").rules) == 6 and flt.chain("INPUT").policy == "drop"
    assert flt.chain("INPUT").rules[4].comment is None and flt.chain("INPUT").rules[2].comment == "dns"
    assert not any(r.unknowns for c in flt.chains for r in c.rules)  # every construct above is typed
    assert flt.chain("INPUT").rules[5].matches[0].elements == (((3323070208, 3323070463),),)


def test_reading_never_creates_legacy_tables(netns):
    assert _tables_file(netns) == []
    assert run_in_namespace(netns.path, read_iptables_legacy) == ()
    assert run_in_namespace(netns.path, read_iptables_legacy, use_binding=True) == ()
    assert _tables_file(netns) == []


def test_iptables_nft_tables_are_owned_and_typed(netns):
    netns.exec(["iptables-nft-restore"], input=RULES.replace("-A INPUT -m set --match-set admins src -j ACCEPT\n", ""))
    tables, owned = run_in_namespace(netns.path, read_iptables_nft)
    assert owned == {("ip", "filter"), ("ip", "nat")}
    flt = next(t for t in tables if t.name == "filter")
    assert flt.backend == "iptables-nft"
    # iptables-nft prints --syn as --tcp-flags FIN,SYN,RST,ACK SYN: the same typed match
    assert flt.chain("svc").rules[1].matches[1] == TcpFlagsMatch(0x17, 0x02)


def test_ipset_save_parsing():
    text = """create admins hash:net family inet hashsize 1024 maxelem 65536
add admins 198.18.7.0/24
create svc6 hash:ip,port family inet6 hashsize 1024 maxelem 65536
add svc6 fd00:db8::1,tcp:22
create ex hash:net family inet
add ex 198.18.0.0/16
add ex 198.18.5.0/24 nomatch
create both list:set size 8
add both admins
"""
    sets = parse_ipset_save(text)
    assert sets["admins"].members == ("198.18.7.0/24",) and sets["admins"].version == 4
    assert sets["svc6"].version == 6 and sets["svc6"].type == "hash:ip,port"
    assert sets["ex"].has_nomatch
    assert sets["both"].members == ("198.18.7.0/24",) and sets["both"].type == "hash:net"


def test_a_set_reads_the_same_in_any_member_order():
    """`ipset save` lists a hash set in the kernel's hash order, not in the order of a file
    (fail2ban's f2b-recidive read live and from its file came out in different orders)."""
    first = parse_ipset_save("create s hash:ip family inet\nadd s 198.18.1.200\nadd s 198.18.66.7\n")
    other = parse_ipset_save("create s hash:ip family inet\nadd s 198.18.66.7\nadd s 198.18.1.200\n")
    assert set_match("s", ["src"], False, first) == set_match("s", ["src"], False, other)
