"""Firewall-view checks (FWA101–FWA108), table-driven over constructed policies, listeners and
rulesets (the firewall view is computed by the real evaluator from hand-built models)."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.engine.checks import CheckInput, run_checks
from auditor.engine.zones import effective_zone_sources, zone_exposures
from auditor.model.evidence import BlockedEvidence
from auditor.model.exposure import Exposure, ExposureEntry, Leg
from auditor.model.finding import Severity
from auditor.model.host import HostContext, Interface
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Service, Zone
from auditor.model.result import ZoneExposure
from auditor.model.ruleset import (
    AddressMatch,
    Chain,
    NondeterministicMatch,
    Origin,
    PortMatch,
    ProtocolMatch,
    Rule,
    Ruleset,
    Table,
    Verdict,
)

HOST = HostContext(
    interfaces=(
        Interface("lo", (ipaddress.ip_interface("127.0.0.1/8"),)),
        Interface("eth0", (ipaddress.ip_interface("198.18.0.2/24"), ipaddress.ip_interface("fd00:db8::2/64"))),
    ),
    forwarding_v4=False, forwarding_v6=False,
)
LAN = Zone("lan", (ipaddress.ip_network("198.18.0.0/24"),))
NET = Zone("internet", (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")))


def policy(*services, default="deny", explicit=False):
    return Policy("p.yaml", "p", (LAN, NET), tuple(services), default=default, require_explicit_rules=explicit)


def svc(name, port, zones, proto="tcp"):
    return Service(name, proto, (port, port), tuple(zones), line=7)


def listener(port, proto="tcp", family="ipv4", address=None, dual=False, name="d"):
    address = address or ("0.0.0.0" if family == "ipv4" else "::")
    return Listener(proto, family, address, port, dual_stack=dual, processes=(Process(1, name, "root"),))


def ruleset(*rules, policy_="drop", family="inet"):
    made = []
    for i, (matches, verdict) in enumerate(rules, 1):
        made.append(Rule(tuple(matches), (Verdict(verdict),), Origin("nftables", family, "f", "input", i, f"rule {i}")))
    return Ruleset((Table("nftables", family, "f", (Chain("input", tuple(made), hook="input", priority=0, policy=policy_),)),))


def tcp(port):
    return [ProtocolMatch(frozenset({6})), PortMatch("dport", ((port, port),))]


def src(cidr):
    n = ipaddress.ip_network(cidr)
    return AddressMatch("saddr", n.version, ((int(n.network_address), int(n.broadcast_address)),))


def ids(pol, listeners, rs):
    views = zone_exposures(rs, HOST, pol, target="t")
    findings, _ = run_checks("audit", CheckInput(pol, tuple(listeners), views))
    return sorted(f.id for f in findings if not f.check.startswith("FWA00"))


CASES = [
    ("compliant", policy(svc("ssh", 22, ["lan"])), [listener(22)],
     ruleset((tcp(22) + [src("198.18.0.0/24")], "accept")), []),
    ("ssh open to the internet", policy(svc("ssh", 22, ["lan"])), [listener(22)],
     ruleset((tcp(22), "accept")), ["FWA101:internet:tcp/22"]),
    ("undeclared port open", policy(), [listener(8080)],
     ruleset((tcp(8080), "accept")), ["FWA101:internet:tcp/8080", "FWA101:lan:tcp/8080"]),
    ("default allow tolerates undeclared", policy(default="allow"), [listener(8080)],
     ruleset((tcp(8080), "accept")), []),
    ("declared service blocked", policy(svc("web", 80, ["internet"])), [listener(80)],
     ruleset(), ["FWA102:web:internet:tcp/80"]),
    ("latent hole", policy(), [],
     ruleset((tcp(9000), "accept")), ["FWA104:internet:tcp", "FWA104:lan:tcp"]),
    ("indeterminate on closed port", policy(), [],
     ruleset(([*tcp(23), NondeterministicMatch("limit", "limit rate 1/second")], "accept")),
     ["FWA108:internet:tcp/23-23", "FWA108:lan:tcp/23-23"]),
    ("ipv6 open where ipv4 closed", policy(), [listener(25, family="ipv6", dual=True)],
     Ruleset(ruleset(family="ip").tables + ruleset(policy_="accept", family="ip6").tables),
     ["FWA101:internet:tcp/25", "FWA104:internet:tcp", "FWA104:internet:udp", "FWA106:internet:tcp/25"]),
]


@pytest.mark.parametrize("name,pol,listeners,rs,expected", CASES, ids=[c[0] for c in CASES])
def test_findings(name, pol, listeners, rs, expected):
    assert ids(pol, listeners, rs) == expected


def test_cis_explicit_rule_check_v4_and_v6():
    pol = policy(svc("ssh", 22, ["lan"]), explicit=True)
    socks = [listener(22, family="ipv6", dual=True)]
    rs = ruleset((tcp(22) + [src("198.18.0.0/24")], "accept"))
    found = ids(pol, socks, rs)
    # from the internet zone only the chain policy decides tcp/22, on IPv4 and on IPv6
    assert "FWA105:tcp/22/ipv4" in found and "FWA105:tcp/22/ipv6" in found
    rs_explicit = ruleset((tcp(22) + [src("198.18.0.0/24")], "accept"), (tcp(22), "drop"))
    assert [i for i in ids(pol, socks, rs_explicit) if i.startswith("FWA105")] == []


def test_ids_are_stable_across_runs():
    """The same problem keeps its id when incidental things change between runs: the daemon
    restarted (new pid), the rule moved down behind another one, another problem appeared."""
    pol = policy(svc("ssh", 22, ["lan"]))
    first = ids(pol, [listener(22)], ruleset((tcp(22), "accept")))
    restarted = Listener("tcp", "ipv4", "0.0.0.0", 22, processes=(Process(4242, "sshd", "root"),))
    later = ids(pol, [listener(8080), restarted], ruleset((tcp(23), "drop"), (tcp(8080), "accept"), (tcp(22), "accept")))
    assert first[0] in later  # the same id, whatever the position and pid
    assert first == ["FWA101:internet:tcp/22"]
    assert later == ["FWA101:internet:tcp/22", "FWA101:internet:tcp/8080", "FWA101:lan:tcp/8080"]


def test_most_specific_zone_owns_addresses():
    z = effective_zone_sources(policy(), 4)
    assert z["lan"] == ["198.18.0.0/24"]
    assert "198.18.0.0/24" not in z["internet"] and "0.0.0.0/1" in z["internet"]


# --- hand-made firewall views: what a finding says (message, fix, evidence, location) ---------

def origin(chain, position, text, *, family="inet", table="f", syntax="nft", backend="nftables", file=None, line=None):
    return Origin(backend, family, table, chain, position, text, syntax, file=file, line=line)


POLICY_DROP = origin("input", 0, "policy drop")
POLICY_ACCEPT = origin("input", 0, "policy accept")


def entry(source, ports, verdict, decided=(), *, legs=(), reason=None, proto="tcp"):
    return ExposureEntry(source, proto, ports, verdict, tuple(decided), reason, legs=tuple(legs))


def zviews(*entries, zone="lan", dest="198.18.0.2", iif="eth0"):
    return (ZoneExposure(zone, Exposure("t", iif, dest, tuple(entries))),)


def run(pol, listeners, views, check):
    findings, outcomes = run_checks("audit", CheckInput(pol, tuple(listeners), views))
    return [f for f in findings if f.check == check], [o for o in outcomes if o.check == check]


def reply_lost(source, ports, *lost_by, reason="the service's SYN-ACK is dropped by output policy drop", leg="reply"):
    request = Leg("request", "accept", (origin("input", 1, "tcp dport 80 accept"),))
    return entry(source, ports, "drop", lost_by, legs=(request, Leg(leg, "drop", lost_by)), reason=reason)  # type: ignore[arg-type]


OUT_DROP = origin("output", 0, "policy drop")


def test_a_service_whose_replies_are_lost_gets_the_established_rule_as_its_fix():
    jump = origin("output", 3, "jump egress")
    deep = origin("egress", 2, "tcp sport 80 drop")
    views = zviews(reply_lost("198.18.0.0/25", (80, 80), OUT_DROP, jump, deep))
    (f,), outcomes = run(policy(svc("web", 80, ["lan"])), [listener(80)], views, "FWA102")
    assert (f.id, f.title, f.severity) == ("FWA102:web:lan:tcp/80", "declared service blocked", Severity.HIGH)
    assert f.message == ("web (tcp/80) is declared for zone lan but the firewall blocks it (sources 198.18.0.0/25): "
                         "the service's SYN-ACK is dropped by output policy drop")
    assert f.fix == ("replies of tcp/80 are lost in inet f egress: let established connections through before it, "
                     "e.g. `nft insert rule inet f egress ct state established,related accept`")
    assert f.evidence == BlockedEvidence((OUT_DROP, jump, deep), 7, (("reply", (OUT_DROP, jump, deep)),),
                                         ("the service's SYN-ACK is dropped by output policy drop",))
    assert [(o.subject, o.passed) for o in outcomes] == [("web from lan", False)]


@pytest.mark.parametrize("leg,what", [("reply-data", "the service's data"), ("client", "the client's later packets")])
def test_each_lost_packet_of_the_conversation_is_named_in_the_fix(leg, what):
    views = zviews(reply_lost("198.18.0.0/24", (80, 80), OUT_DROP, reason="r", leg=leg))
    (f,), _ = run(policy(svc("web", 80, ["lan"])), [listener(80)], views, "FWA102")
    assert f.fix.startswith(f"{what} of tcp/80 are lost in inet f output: ")


@pytest.mark.parametrize("family,command", [("ip", "iptables"), ("ip6", "ip6tables")])
def test_the_established_rule_is_given_in_the_rulesets_own_syntax(family, command):
    out = origin("OUTPUT", 0, ":OUTPUT DROP", family=family, table="filter", syntax="iptables", backend="iptables-nft")
    views = zviews(reply_lost("198.18.0.0/24", (80, 80), out))
    (f,), _ = run(policy(svc("web", 80, ["lan"])), [listener(80)], views, "FWA102")
    assert f.fix == (f"replies of tcp/80 are lost in {family} filter OUTPUT: let established connections through "
                     f"before it, e.g. `{command} -t filter -I OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`")


def test_replies_lost_in_both_families_output_chains_name_both_fixes():
    # IPv4 sources lose their replies in iptables' OUTPUT, IPv6 sources in ip6tables': the fix
    # names both (one alone would leave the other family broken), once each
    out4, out6 = (origin("OUTPUT", 0, ":OUTPUT DROP", family=f, table="filter", syntax="iptables",
                         backend="iptables-nft") for f in ("ip", "ip6"))
    views = zviews(reply_lost("198.18.0.0/25", (80, 80), out4), reply_lost("198.18.0.128/25", (80, 80), out4),
                   reply_lost("fd00:5::/64", (80, 80), out6))
    (f,), _ = run(policy(svc("web", 80, ["lan"])), [listener(80)], views, "FWA102")
    assert f.fix == ("replies of tcp/80 are lost in ip filter OUTPUT and ip6 filter OUTPUT: let established "
                     "connections through before each, e.g. "
                     "`iptables -t filter -I OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` and "
                     "`ip6tables -t filter -I OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`")


def test_different_packets_lost_in_different_chains_are_each_named():
    out4 = origin("output", 0, "policy drop", family="ip", table="t4")
    in6 = origin("input", 2, "ct state new tcp dport 80 accept", family="ip6", table="t6")
    views = zviews(reply_lost("198.18.0.0/24", (80, 80), out4),
                   reply_lost("fd00:5::/64", (80, 80), in6, leg="client"))
    (f,), _ = run(policy(svc("web", 80, ["lan"])), [listener(80)], views, "FWA102")
    assert f.fix == ("replies and the client's later packets of tcp/80 are lost in ip t4 output and ip6 t6 input: "
                     "let established connections through before each, e.g. "
                     "`nft insert rule ip t4 output ct state established,related accept` and "
                     "`nft insert rule ip6 t6 input ct state established,related accept`")


def test_a_service_blocked_at_its_first_packet_and_partly_after_it():
    """Sources blocked at the first packet come first, one whose reply is lost (by a leg without
    rules, then by two tables' rules) after: the fix and note come from the lost reply, every
    failed later leg's rules and reasons (at most four) are evidence."""
    first = origin("input", 2, "ip saddr 198.18.0.0/26 drop")
    v4 = origin("output", 0, "policy drop", family="ip", table="t4")
    v6 = origin("output", 0, "policy drop", family="ip6", table="t6")
    entries = [entry("198.18.0.0/26", (80, 80), "drop", (first,), reason="dropped at the door",
                     legs=(Leg("request", "drop", (first,)),)),
               entry("198.18.0.64/26", (80, 80), "drop", legs=(Leg("request", "accept"), Leg("reply", "drop"))),
               *[reply_lost(f"198.18.0.{128 + 16 * i}/28", (80, 80), v4, v6, reason=f"reason {i}") for i in range(5)],
               entry("198.18.0.224/27", (80, 80), "accept", (POLICY_ACCEPT,))]
    (f,), _ = run(policy(svc("web", 80, ["lan"])), [listener(80)], zviews(*entries), "FWA102")
    assert (f.title, f.severity) == ("declared service blocked in part", Severity.MEDIUM)
    assert f.message == ("web (tcp/80) is declared for zone lan but the firewall blocks part of it (sources "
                         "198.18.0.0/26, 198.18.0.128/28, 198.18.0.144/28, 198.18.0.160/28, 198.18.0.176/28, "
                         "198.18.0.192/28): reason 0")
    assert f.fix.startswith("replies of tcp/80 are lost in ip6 t6 output: ")  # the leg's last rule
    assert f.evidence.failed_legs == (("reply", (v4, v6)),)
    assert f.evidence.reasons == ("reason 0", "reason 1", "reason 2", "reason 3")
    assert f.evidence.rules == (first, v4, v6)


def test_without_a_lost_later_packet_the_fix_is_to_allow_the_first_one():
    views = zviews(entry("198.18.0.0/24", (1, 65535), "reject", (POLICY_DROP,), reason="policy",
                         legs=(Leg("request", "reject", (POLICY_DROP,)), Leg("reply", "drop"))))
    (f,), _ = run(policy(svc("web", 80, ["lan"])), [listener(80)], views, "FWA102")
    assert f.message == ("web (tcp/80) is declared for zone lan but the firewall blocks it (sources 198.18.0.0/24)")
    assert f.fix == "allow tcp dport 80 from zone lan before the rule that blocks it"
    assert f.evidence.failed_legs == () and f.evidence.reasons == ()


def test_undeclared_exposure_names_the_rule_to_restrict_or_the_accepting_chain_policy():
    rule1 = origin("input", 1, "tcp dport 8080 accept", file="rules.nft", line=12)
    views = zviews(entry("198.18.0.0/25", (8080, 8080), "accept", (rule1,)),
                   entry("198.18.0.128/25", (8080, 8080), "accept", (rule1,)),
                   entry("198.18.0.0/24", (9090, 9090), "accept", (POLICY_ACCEPT,)),
                   entry("198.18.0.0/24", (9090, 9090), "accept", (origin("input", 3, "udp dport 9090 accept"),),
                         proto="udp"))
    found, outcomes = run(policy(), [listener(8080, name="web"), listener(9090, name="metrics"),
                                     listener(9090, "udp", name="stats")], views, "FWA101")
    assert [(f.id, f.message, f.fix, f.location) for f in found] == [
        ("FWA101:lan:tcp/8080",
         "tcp/8080 (web) is reachable from zone lan via eth0 198.18.0.2, which the policy does not allow",
         "restrict or remove inet f/input rule 1 ('tcp dport 8080 accept') so that tcp/8080 is not accepted from "
         "zone lan, or declare the service for lan", ("rules.nft", 12)),
        ("FWA101:lan:tcp/9090",
         "tcp/9090 (metrics) is reachable from zone lan via eth0 198.18.0.2, which the policy does not allow",
         "drop tcp dport 9090 from zone lan (the chain policy accepts it), or declare it", None),
        ("FWA101:lan:udp/9090",
         "udp/9090 (stats) is reachable from zone lan via eth0 198.18.0.2, which the policy does not allow",
         "restrict or remove inet f/input rule 3 ('udp dport 9090 accept') so that udp/9090 is not accepted from "
         "zone lan, or declare the service for lan", None),
    ]
    assert found[0].evidence.sources == ("198.18.0.0/25", "198.18.0.128/25") and found[0].evidence.rules == (rule1,)
    assert [(o.subject, o.passed) for o in outcomes] == [("lan tcp/8080", False), ("lan tcp/9090", False),
                                                         ("lan udp/9090", False)]


def test_a_location_needs_both_file_and_line():
    for file, line in (("rules.nft", None), (None, 12)):
        r = origin("input", 1, "tcp dport 8080 accept", file=file, line=line)
        (f,), _ = run(policy(), [listener(8080)], zviews(entry("198.18.0.0/24", (8080, 8080), "accept", (r,))), "FWA101")
        assert f.location is None


def test_rules_of_several_entries_are_evidence_once_each_in_the_order_met():
    a, b = origin("input", 1, "tcp dport 8080 accept"), origin("input", 2, "ip saddr 198.18.0.0/24 accept")
    views = zviews(entry("198.18.0.0/26", (8080, 8080), "accept", (a,)), entry("198.18.0.64/26", (8080, 8080), "accept", (b,)),
                   entry("198.18.0.128/25", (8080, 8080), "accept", (a,)))
    (f,), _ = run(policy(), [listener(8080)], views, "FWA101")
    assert f.evidence.rules == (a, b)


def test_under_default_allow_only_ports_declared_for_other_zones_are_undeclared_exposure():
    pol = Policy("p.yaml", "p", (LAN, NET), (Service("app", "tcp", (8000, 8100), ("internet",)),
                                                 Service("dns", "udp", (53, 53), ("internet",))), default="allow")
    views = zviews(entry("198.18.0.0/24", (1, 65535), "accept", (POLICY_ACCEPT,)))
    socks = [listener(p) for p in (53, 7999, 8000, 8050, 8100, 8101)]
    found, _ = run(pol, socks, views, "FWA101")
    assert [f.id for f in found] == ["FWA101:lan:tcp/8000", "FWA101:lan:tcp/8050", "FWA101:lan:tcp/8100"]
    # allowed for the zone it is declared for, over the whole range
    assert run(pol, socks, zviews(entry("0.0.0.0/1", (1, 65535), "accept", (POLICY_ACCEPT,)), zone="internet"),
               "FWA101")[0] == []


def test_latent_holes_list_at_most_eight_ranges_and_count_the_rest():
    pol = Policy("p.yaml", "p", (LAN, NET), (Service("dns", "udp", (53, 53), ("lan",)),))
    singles = [entry("198.18.0.0/24", (p, p), "accept", (origin("input", i, f"tcp dport {p} accept"),))
               for i, p in enumerate((53, 1001, 1003, 1005, 1007, 1009, 1011, 1013), 1)]
    wide = entry("198.18.0.0/24", (2000, 2010), "accept", (POLICY_ACCEPT,))
    (f,), _ = run(pol, [], zviews(*singles, wide), "FWA104")  # udp 53 is declared, tcp 53 is not
    assert f.message == ("the firewall admits tcp ports 53, 1001, 1003, 1005, 1007, 1009, 1011, 1013 and 1 more from "
                         "zone lan (19 ports) although nothing listens there and the policy does not declare them")
    (f,), _ = run(pol, [], zviews(*singles[1:], wide), "FWA104")
    assert f.message == ("the firewall admits tcp ports 1001, 1003, 1005, 1007, 1009, 1011, 1013, 2000-2010 from "
                         "zone lan (18 ports) although nothing listens there and the policy does not declare them")


def test_a_service_listening_on_loopback_only_is_judged_like_one_not_listening():
    """Loopback sockets are not reachable through the firewall: a declared service that only
    listens there is blocked wherever the firewall blocks it, and a port only loopback listens on
    is still a latent hole."""
    views = zviews(entry("198.18.0.0/24", (80, 80), "drop", (POLICY_DROP,)),
                   entry("198.18.0.0/24", (9000, 9000), "accept", (origin("input", 1, "tcp dport 9000 accept"),)))
    local = [listener(80, address="127.0.0.1"), listener(9000, address="127.0.0.1")]
    pol = policy(svc("web", 80, ["lan"]))
    assert [f.id for f in run(pol, local, views, "FWA102")[0]] == ["FWA102:web:lan:tcp/80"]
    assert [f.ports for f in run(pol, local, views, "FWA104")[0]] == [(9000, 9000)]


def test_ports_declared_for_a_zone_are_no_latent_hole_there_but_are_elsewhere():
    pol = policy(svc("ssh", 22, ["lan"]))
    accept22 = entry("198.18.0.0/24", (22, 22), "accept", (origin("input", 1, "tcp dport 22 accept"),))
    assert run(pol, [], zviews(accept22), "FWA104")[0] == []
    assert [f.id for f in run(pol, [], zviews(accept22, zone="internet"), "FWA104")[0]] == ["FWA104:internet:tcp"]
