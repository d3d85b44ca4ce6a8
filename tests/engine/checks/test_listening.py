"""Declared vs listening checks (FWA001–FWA004), table-driven over constructed policies and sockets."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from auditor.engine.checks import CheckInput, run_checks
from auditor.model.evidence import BindEvidence
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Service, Zone


def reconcile_listening(policy, listeners):
    """The listening checks only: an audit without a firewall view."""
    return run_checks("audit", CheckInput(policy, tuple(listeners)))


LAN = Zone("lan", (ipaddress.ip_network("198.18.0.0/24"),))


def pol(*services, default="deny", ignore=()):
    return Policy("p.yaml", "p", (LAN,), tuple(services), default=default, ignore_processes=tuple(ignore))


def svc(name, port, proto="tcp", procs=(), bind="any", optional=False, hi=None):
    return Service(name, proto, (port, hi or port), ("lan",), tuple(procs), bind, optional, line=5)


def L(port, addr="0.0.0.0", proto="tcp", name="d", family=None, dual=False, pid=10):
    family = family or ("ipv6" if ":" in addr else "ipv4")
    return Listener(proto, family, addr, port, dual_stack=dual, processes=(Process(pid, name, "root"),))


CASES = [
    ("compliant", pol(svc("ssh", 22, procs=["sshd"])), [L(22, name="sshd")], []),
    ("undeclared public listener", pol(), [L(8080)], ["FWA001:tcp/8080"]),
    ("undeclared loopback listener is low", pol(), [L(6379, "127.0.0.1")], ["FWA001:tcp/6379"]),
    ("default allow tolerates undeclared", pol(default="allow"), [L(8080)], []),
    ("ignored process", pol(ignore=["dockerd"]), [L(53, "127.0.0.11", "udp", name="dockerd")], []),
    ("not listening", pol(svc("https", 443)), [], ["FWA002:https:tcp/443"]),
    ("optional not listening", pol(svc("https", 443, optional=True)), [], []),
    ("range partly listening is listening", pol(svc("app", 8000, hi=8010)), [L(8005)], []),
    ("wrong process", pol(svc("dns", 53, "udp", procs=["dnsmasq"])), [L(53, proto="udp", name="named")], ["FWA003:udp/53"]),
    ("one of several processes", pol(svc("web", 80, procs=["nginx", "caddy"])), [L(80, name="caddy")], []),
    ("wildcard where loopback declared", pol(svc("pg", 5432, bind="loopback")), [L(5432)], ["FWA004:tcp/5432"]),
    ("loopback as declared", pol(svc("pg", 5432, bind="loopback")), [L(5432, "127.0.0.1")], []),
    ("mapped loopback is loopback", pol(svc("pg", 5432, bind="loopback")), [L(5432, "::ffff:127.0.0.1")], []),
    ("dual-stack wildcard is wider than an address", pol(svc("pg", 5432, bind=(ipaddress.ip_address("198.18.0.2"),))),
     [L(5432, "::", dual=True)], ["FWA004:tcp/5432"]),
    ("mapped address as its IPv4 address", pol(svc("pg", 5432, bind=(ipaddress.ip_address("198.18.0.2"),))),
     [L(5432, "::ffff:198.18.0.2")], []),
    ("mapped address outside the declared ones", pol(svc("pg", 5432, bind=(ipaddress.ip_address("198.18.0.2"),))),
     [L(5432, "::ffff:198.18.0.3")], ["FWA004:tcp/5432"]),
    ("range not listening", pol(svc("app", 8000, hi=8100)), [], ["FWA002:app:tcp/8000-8100"]),
    ("specific address as declared", pol(svc("pg", 5432, bind=(ipaddress.ip_address("198.18.0.2"),))),
     [L(5432, "198.18.0.2")], []),
    ("v4 and v6 sockets give one finding", pol(svc("pg", 5432, bind="loopback")),
     [L(5432), L(5432, "::", pid=11)], ["FWA004:tcp/5432"]),
]


@pytest.mark.parametrize("name,policy,listeners,expected", CASES, ids=[c[0] for c in CASES])
def test_findings(name, policy, listeners, expected):
    findings, checks = reconcile_listening(policy, listeners)
    assert sorted(f.id for f in findings) == expected
    assert all(c.passed for c in checks) == (not expected)


def test_severities_and_evidence():
    findings, _ = reconcile_listening(pol(svc("pg", 5432, bind="loopback")), [L(8080), L(6379, "127.0.0.1"), L(5432)])
    sev = {f.id: str(f.severity) for f in findings}
    assert sev == {"FWA001:tcp/8080": "high", "FWA001:tcp/6379": "low", "FWA004:tcp/5432": "high"}
    f = next(f for f in findings if f.check == "FWA004")
    assert isinstance(f.evidence, BindEvidence) and f.evidence.declared_bind == "loopback"
    assert f.evidence.listeners[0].processes[0].pid == 10 and f.evidence.policy_line == 5 and "line 5" in f.fix


def test_ids_do_not_depend_on_order_or_pids():
    socks = [L(8080, pid=1), L(22, name="x", pid=2), L(5432, pid=3)]
    policy = pol(svc("ssh", 22, procs=["sshd"]), svc("pg", 5432, bind="loopback"))
    first = sorted(f.id for f in reconcile_listening(policy, socks)[0])
    for perm in itertools.permutations(socks):
        renumbered = [Listener(l.protocol, l.family, l.address, l.port, processes=(Process(999, l.processes[0].name, "u"),))
                      for l in perm]
        assert sorted(f.id for f in reconcile_listening(policy, renumbered)[0]) == first


def test_what_a_user_reads_of_a_service_range_not_listening():
    findings, checks = reconcile_listening(pol(svc("app", 8000, hi=8100, procs=["app"])), [])
    assert [(f.message, f.fix) for f in findings] == [(
        "app is declared on tcp/8000-8100 but nothing listens there", "start app, or mark it optional (policy line 5)")]
    assert [(c.check, c.subject, c.passed) for c in checks] == [("FWA002", "app tcp/8000-8100 listening", False)]
