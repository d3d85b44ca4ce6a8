"""Reading everything at once: which reader owns which nf_tables table (from what the kernel
says, never from names), kernel handles and hook order, and ruleset files (detection of the
format and of the IP version, load-order handles, safe reading)."""

from __future__ import annotations

import os

import pytest

from auditor.collect.host import offline_host
from auditor.target.runner import run_in_namespace
from auditor.collect.nft import parse_hook_listing
from auditor.collect.ruleset import collect_ruleset, detect_format, read_ruleset_files
from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.errors import InputError, LocatedInputError
from auditor.model.ruleset import HookEntry, Ruleset

NATIVE_NAMED_LIKE_IPTABLES = """table ip filter {
  chain input { type filter hook input priority 0; policy drop; tcp dport { 80, 443 } accept; }
}
table ip nat {
  chain prerouting { type nat hook prerouting priority -100; tcp dport 8080 dnat to 198.18.3.2:80; }
}
table ip6 filter {
  chain input { type filter hook input priority 0; policy drop; tcp dport 22 accept; }
}
"""


def verdict(rs: Ruleset, port: int, *, source: str = "198.18.0.9", dest: str = "198.18.0.2") -> str:
    host = offline_host({"eth0": [f"{dest}/24"]}, forwarding=True)
    exp = evaluate_exposure(rs, host, ExposureQuery("eth0", dest, (source,), ("tcp",)))
    (e,) = [e for e in exp.entries if e.ports[0] <= port <= e.ports[1]]
    return e.verdict


@pytest.mark.root
def test_native_tables_named_like_iptables_tables_are_read_by_the_nft_reader(netns):
    netns.exec(["nft", "-f", "-"], input=NATIVE_NAMED_LIKE_IPTABLES)
    netns.exec(["iptables-nft", "-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "--dport", "5", "-j", "ACCEPT"])
    rs = run_in_namespace(netns.path, collect_ruleset)
    by = {(t.family, t.name): t for t in rs.tables}
    # iptables-nft-save calls these incompatible and prints them empty: the nft reader owns them
    assert by[("ip", "filter")].backend == "nftables" and by[("ip", "filter")].chain("input").policy == "drop"
    assert by[("ip", "nat")].backend == "nftables" and by[("ip6", "filter")].backend == "nftables"
    assert by[("ip", "mangle")].backend == "iptables-nft"  # a table iptables-nft really wrote
    assert [t.backend for t in rs.tables].count("iptables-nft") == 1
    assert verdict(rs, 22) == "drop" and verdict(rs, 443) == "accept"


@pytest.mark.root
def test_every_nf_tables_table_and_chain_has_its_kernel_handle(netns):
    netns.exec(["nft", "-f", "-"], input="table inet a {\n chain c { type filter hook input priority 0; policy accept; }\n}\n")
    netns.exec(["iptables-nft", "-A", "INPUT", "-j", "ACCEPT"])
    netns.exec(["iptables-legacy", "-A", "INPUT", "-j", "ACCEPT"])
    rs = run_in_namespace(netns.path, collect_ruleset)
    handles = {(t.backend, t.family, t.name): t.handle for t in rs.tables}
    assert handles[("nftables", "inet", "a")] == 1  # created first
    assert handles[("iptables-nft", "ip", "filter")] == 2
    assert handles[("iptables-legacy", "ip", "filter")] is None  # x_tables: no nf_tables handle
    flt = next(t for t in rs.tables if t.backend == "iptables-nft")
    assert isinstance(flt.chain("INPUT").handle, int)
    assert rs.hooks is None  # this kernel lacks CONFIG_NETFILTER_NETLINK_HOOK: nft lists nothing


HOOKS = """family ip {
\thook ingress {
\t\t+0000000010 chain netdev x y [nf_tables]
\t}
\thook prerouting {
\t\t-0000000300 ipt_do_table [ip_tables]

\t\t-0000000200 ipv4_conntrack_in [nf_conntrack]

\t\t-0000000100 chain ip nat prerouting [nf_tables]
\t}
\thook input {
\t\t 0000000000 chain inet filter input [nf_tables]

\t\t 0000000000 ipt_do_table [ip_tables]

\t\t+2147483647 ipv4_confirm [nf_conntrack]
\t}
}
family ip6 {
\thook input {
\t\t 0000000000 ip6t_do_table [ip6_tables]
\t}
}
"""


def test_hook_listing_as_nft_prints_it():
    entries = parse_hook_listing(HOOKS)
    assert entries is not None and len(entries) == 8
    assert entries[0] == HookEntry("ip", "ingress", 10, "", "nf_tables", ("netdev", "x", "y"))
    assert entries[1] == HookEntry("ip", "prerouting", -300, "ipt_do_table", "ip_tables")
    assert [e.priority for e in entries if e.hook == "input" and e.family == "ip"] == [0, 0, 2147483647]
    # the order among equal priorities is the kernel's: the nft chain runs before the legacy table
    assert [e.chain or e.function for e in entries if e.hook == "input"][:2] == [("inet", "filter", "input"),
                                                                               "ipt_do_table"]
    assert entries[-1] == HookEntry("ip6", "input", 0, "ip6t_do_table", "ip6_tables")
    assert parse_hook_listing("") is None


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_ipv6_files_without_header_are_not_read_as_ipv4(tmp_path):
    v6_only_syntax = write(tmp_path, "a.v6", "*filter\n:INPUT DROP [0:0]\n-A INPUT -p ipv6-icmp --icmpv6-type "
                                             "echo-request -j ACCEPT\nCOMMIT\n")
    assert detect_format(open(v6_only_syntax).read()) == "ip6tables"
    nothing_specific = write(tmp_path, "rules.v6", "*filter\n:INPUT DROP [0:0]\n-A INPUT -p ipv6-icmp -j ACCEPT\n"
                                                   "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
    with pytest.raises(InputError, match="ip6tables:"):
        read_ruleset_files([nothing_specific])
    (t,) = read_ruleset_files([f"ip6tables:{nothing_specific}"]).tables
    assert t.family == "ip6"
    (t,) = read_ruleset_files([f"iptables:{nothing_specific}"]).tables
    assert t.family == "ip"


def test_family_is_decided_by_what_each_tool_would_load(tmp_path):
    v4 = write(tmp_path, "v4", "*filter\n-A INPUT -s 198.18.0.0/24 -p icmp --icmp-type echo-request -j ACCEPT\nCOMMIT\n")
    assert detect_format(open(v4).read()) == "iptables"
    both = write(tmp_path, "both", "*filter\n-A INPUT -s 198.18.0.1 -j ACCEPT\n-A INPUT -s fd00:db8::1 -j ACCEPT\n"
                                   "COMMIT\n")
    with pytest.raises(LocatedInputError, match="IPv6 address"):
        read_ruleset_files([both])  # neither tool loads it: the reading that got further reports
    header = write(tmp_path, "h", "# Generated by ip6tables-save v1.8.9\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n")
    assert read_ruleset_files([header]).tables[0].family == "ip6"


def test_files_get_load_order_handles(tmp_path):
    ipt = write(tmp_path, "a.rules", "*nat\n:PREROUTING ACCEPT [0:0]\n-N dnat\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n"
                                     "-A INPUT -s 198.18.0.1 -j ACCEPT\nCOMMIT\n")
    rs = read_ruleset_files([ipt, ipt])
    assert [(t.name, t.handle) for t in rs.tables] == [("nat", 1), ("filter", 2), ("nat", 3), ("filter", 4)]
    nat = rs.tables[0]
    assert [(c.name, c.handle) for c in nat.chains] == [("PREROUTING", 1), ("INPUT", 2), ("OUTPUT", 3),
                                                       ("POSTROUTING", 4), ("dnat", 5)]


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "DIR", "FIFO"])
def test_ruleset_files_that_are_not_regular_files_are_refused(tmp_path, target):
    if target == "DIR":
        target = str(tmp_path)
    elif target == "FIFO":
        target = str(tmp_path / "fifo")
        os.mkfifo(target)
    with pytest.raises(InputError, match="not a regular file|is a directory"):
        read_ruleset_files([f"iptables:{target}"])


def test_error_messages_never_quote_a_foreign_file(tmp_path):
    secret = "root:$6$salt$hashhashhashhashhashhashhash:19000:0:99999:7:::\n"
    path = write(tmp_path, "shadow", secret * 3)
    for spec in (f"iptables:{path}", f"ip6tables:{path}", path):
        with pytest.raises(InputError) as e:
            read_ruleset_files([spec])
        assert "hashhash" not in e.value.message and "$6$" not in e.value.message
        assert "19000" not in e.value.message


def test_ipset_files_give_offline_iptables_rules_their_sets(tmp_path):
    from auditor.collect.ruleset import detect_format, read_ruleset_files
    from auditor.model.ruleset import SetElementMatch

    sets = tmp_path / "sets.ipset"
    sets.write_text("create allow4 hash:net family inet hashsize 1024 maxelem 65536\nadd allow4 198.18.0.0/25\n")
    rules = tmp_path / "fw.rules"
    rules.write_text("*filter\n:INPUT DROP [0:0]\n-A INPUT -m set --match-set allow4 src -j ACCEPT\nCOMMIT\n")
    rs = read_ruleset_files([f"iptables:{rules}", str(sets)])  # the set file may come after the rules
    (match,) = rs.tables[0].chain("INPUT").rules[0].matches
    assert isinstance(match, SetElementMatch) and match.elements == (((0xC6120000, 0xC612007F),),)
    assert detect_format(sets.read_text()) == "ipset"
    without = read_ruleset_files([f"iptables:{rules}"])
    assert without.tables[0].chain("INPUT").rules[0].unknowns  # no set: not guessed


def test_ipsets_the_ruleset_fills_itself_are_history(tmp_path):
    from auditor.collect.ruleset import read_ruleset_files
    from auditor.model.ruleset import EffectStatement, NondeterministicMatch

    (tmp_path / "k.ipset").write_text("create knock hash:ip family inet hashsize 1024 maxelem 65536 timeout 10\n")
    (tmp_path / "k.rules").write_text("*filter\n:INPUT DROP [0:0]\n"
                                      "-A INPUT -p tcp --dport 1234 -j SET --add-set knock src\n"
                                      "-A INPUT -p tcp --dport 22 -m set --match-set knock src -j ACCEPT\nCOMMIT\n")
    rs = read_ruleset_files([str(tmp_path / "k.ipset"), f"iptables:{tmp_path / 'k.rules'}"])
    add, check = rs.tables[0].chain("INPUT").rules
    assert add.statements == (EffectStatement("set"),)
    assert any(isinstance(m, NondeterministicMatch) and m.first_client is None for m in check.matches)
