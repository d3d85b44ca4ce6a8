"""An audit of a host snapshot against a policy, in-process: the firewall view per zone and
address, every applicable check's findings and outcomes, the notes, and what ``--scan`` probes."""

from __future__ import annotations

import ipaddress

from auditor.engine.audit import audit, scanned_ports
from auditor.model.exposure import ExposureEntry
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Service, Zone
from auditor.model.ruleset import Origin, Ruleset
from auditor.model.scan import Comparison, ScanEntry, ScanResult
from auditor.model.snapshot import HostSnapshot
from tests.engine.builders import ACCEPT, HOST, base, nft, rule, tcp

POLICY = Policy("site.yaml", "site", (Zone("lan", (ipaddress.ip_network("198.18.0.0/24"),)),),
                (Service("ssh", "tcp", (22, 22), ("lan",), line=4), Service("web", "tcp", (8000, 8200), ("lan",), line=5)))
SSH = Listener("tcp", "ipv4", "0.0.0.0", 22, processes=(Process(1, "sshd", "root"),))
REDIS = Listener("tcp", "ipv4", "0.0.0.0", 6379, processes=(Process(2, "redis-server", "redis"),))
LOCAL = Listener("tcp", "ipv4", "127.0.0.1", 5432, processes=(Process(3, "postgres", "pg"),))
RS = Ruleset((nft("f", base("input", "input", 0, "accept",
                            rule("input", *tcp(25), ACCEPT, table="f", family="inet", backend="nftables"))),),
             notes=("ruleset note",))


def snapshot(ruleset=RS, host=HOST, notes=("snapshot note",)):
    return HostSnapshot("web1", 100.0, "1.0", (SSH, REDIS, LOCAL), ruleset, host, notes)


def test_an_audit_with_a_firewall_view_evaluates_every_zone_and_runs_every_check():
    result = audit(POLICY, snapshot(), started_at=1234.5, notes=("run note",))
    assert (result.target, result.policy, result.listening) == ("web1", POLICY, (SSH, REDIS, LOCAL))
    assert (result.started_at, result.duration, result.ruleset, result.probed) == (1234.5, 0.0, RS, ())
    assert result.notes == ("snapshot note", "ruleset note", "run note")
    # lan on every non-loopback IPv4 address of the host, evaluated for the snapshot's target
    assert [(v.zone, v.exposure.target, v.exposure.in_interface, v.exposure.destination) for v in result.firewall] == [
        ("lan", "web1", "eth0", "198.18.0.1"), ("lan", "web1", "eth1", "198.18.9.1"), ("lan", "web1", "br0", "198.19.5.1")]
    # redis is open to lan through the accepting chain policy; web is declared but not listening;
    # worst first, loopback-only postgres is low
    assert [f.id for f in result.findings] == ["FWA001:tcp/6379", "FWA101:lan:tcp/6379", "FWA002:web:tcp/8000-8200",
                                               "FWA104:lan:tcp", "FWA104:lan:udp", "FWA001:tcp/5432"]
    assert {o.check for o in result.checks} == {"FWA001", "FWA002", "FWA004", "FWA101", "FWA102"}


def test_without_a_readable_firewall_only_the_listening_checks_run():
    for snap in (snapshot(ruleset=None), snapshot(host=None)):
        result = audit(POLICY, snap, started_at=1.0, duration=2.5)
        assert result.firewall == () and result.duration == 2.5
        assert [f.id for f in result.findings] == ["FWA001:tcp/6379", "FWA002:web:tcp/8000-8200", "FWA001:tcp/5432"]
        assert {o.check for o in result.checks} == {"FWA001", "FWA002", "FWA004"}
    # the CIS check needs the firewall view: without one it claims nothing, passed or not
    cis = Policy(POLICY.path, POLICY.name, POLICY.zones, POLICY.services, require_explicit_rules=True)
    assert {o.check for o in audit(cis, snapshot(ruleset=None), started_at=1.0).checks} == {"FWA001", "FWA002", "FWA004"}
    assert "FWA105" in {o.check for o in audit(cis, snapshot(), started_at=1.0).checks}
    assert audit(POLICY, snapshot(ruleset=None), started_at=1.0, notes=("n",)).notes == ("snapshot note", "n")
    assert audit(POLICY, snapshot(host=None), started_at=1.0).notes == ("snapshot note", "ruleset note")


def test_probe_results_are_kept_and_a_disagreement_with_the_model_is_a_finding():
    rule25 = Origin("nftables", "inet", "f", "input", 1, "tcp dport 25 accept", "nft")
    entry = ExposureEntry("198.18.0.0/24", "tcp", (25, 25), "accept", (rule25,))
    scans = (ScanResult("web1", "eth0", "198.18.0.1", (ScanEntry("198.18.0.9", "tcp", (25, 25), "filtered"),)),)
    comparisons = (("lan", (Comparison("198.18.0.9", "tcp", (25, 25), "filtered", "accept", False, entry),
                            Comparison("198.18.0.9", "tcp", (22, 22), "open", "accept", True, entry))),)
    result = audit(POLICY, snapshot(ruleset=None), started_at=1.0, probed=scans, comparisons=comparisons)
    assert result.probed == scans
    disagree = [f for f in result.findings if f.check == "FWA107"]
    assert [(f.id, f.zone, f.message) for f in disagree] == [(
        "FWA107:lan:tcp/25", "lan",
        "tcp/25 from 198.18.0.9: the firewall model says accept ('tcp dport 25 accept') but the probe found it filtered")]


def test_scan_probes_public_listeners_and_declared_ports_up_to_a_limit_per_range():
    snap = snapshot()
    assert scanned_ports(POLICY, snap, per_range=3) == [22, 6379, 8000, 8001, 8002, 8003]
    ports = scanned_ports(POLICY, snap)
    assert ports[:3] == [22, 6379, 8000] and ports[-1] == 8064 and len(ports) == 67  # 5432 is loopback only
    narrow = Policy("p", "p", POLICY.zones, (Service("dns", "udp", (53, 54), ("lan",)),))
    assert scanned_ports(narrow, snap) == [22, 53, 54, 6379]
