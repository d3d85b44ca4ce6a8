"""Firewall-view checks (FWA101–FWA108), table-driven over constructed policies, listeners and
rulesets (the firewall view is computed by the real evaluator from hand-built models)."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.engine.checks import CheckInput, run_checks
from auditor.engine.zones import effective_zone_sources, zone_exposures
from auditor.model.host import HostContext, Interface
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Service, Zone
from auditor.model.ruleset import (
    AddressMatch, Chain, NondeterministicMatch, Origin, PortMatch, ProtocolMatch, Rule, Ruleset, Table, Verdict,
)

HOST = HostContext(
    interfaces=(
        Interface("lo", (ipaddress.ip_interface("127.0.0.1/8"),)),
        Interface("eth0", (ipaddress.ip_interface("198.18.0.2/24"), ipaddress.ip_interface("2001:db8::2/64"))),
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
