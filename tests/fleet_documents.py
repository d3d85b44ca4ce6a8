"""Audit documents for the fleet tests, made the way hosts make them: an audit result rendered by
the real JSON renderer (``render_audit_json``), so the fleet is tested on real output."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

from auditor.model.evidence import ExposureEvidence, ListenerEvidence
from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.finding import CheckOutcome, Finding, Severity
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Service, Zone
from auditor.model.result import AuditResult, ZoneExposure
from auditor.model.ruleset import Origin, Ruleset
from auditor.report.audit_json import render_audit_json

SSH_RULE = Origin("nftables", "inet", "filter", "input", 3, 'ip saddr 198.18.0.0/24 tcp dport 22 accept comment "ssh"')
PG_RULE = Origin("nftables", "inet", "filter", "input", 5, 'tcp dport 5432 accept comment "TODO restrict"')
POLICY_DROP = Origin("nftables", "inet", "filter", "input", 0, "policy drop")


def _entries(source: str, open_ports: dict[int, Origin]) -> tuple[ExposureEntry, ...]:
    """Exposure covering tcp and udp 1-65535 exactly once: ``open_ports`` accepted, the rest dropped."""
    out: list[ExposureEntry] = []
    for proto in ("tcp", "udp"):
        lo = 1
        for port in sorted(p for p in open_ports if proto == "tcp"):
            if lo < port:
                out.append(ExposureEntry(source, proto, (lo, port - 1), "drop", (POLICY_DROP,), "no rule matched"))
            out.append(ExposureEntry(source, proto, (port, port), "accept", (open_ports[port],)))
            lo = port + 1
        out.append(ExposureEntry(source, proto, (lo, 65535), "drop", (POLICY_DROP,), "no rule matched"))
    return tuple(out)


def audit_result(*, pg_open_to_internet: bool = True, process: str = "postgres", firewall: bool = True,
                 target: str = "host") -> AuditResult:
    """A database host: ssh for the LAN as declared; postgres declared for the LAN only, open to
    the internet when ``pg_open_to_internet`` (FWA101)."""
    pol = Policy("policies/db.yaml", "db", (
        Zone("lan", (ipaddress.ip_network("198.18.0.0/24"),)),
        Zone("internet", (ipaddress.ip_network("0.0.0.0/0"),)),
    ), (
        Service("ssh", "tcp", (22, 22), ("lan",), ("sshd",), line=9),
        Service("postgres", "tcp", (5432, 5432), ("lan",), ("postgres",), line=14),
    ))
    listening = (
        Listener("tcp", "ipv4", "0.0.0.0", 22, processes=(Process(10, "sshd", "root"),)),
        Listener("tcp", "ipv4", "0.0.0.0", 5432, processes=(Process(20, process, "postgres"),)),
        Listener("tcp", "ipv4", "127.0.0.1", 6379, processes=(Process(30, "redis-server", "redis"),)),
    )
    findings: list[Finding] = []
    internet_open: dict[int, Origin] = {}
    if pg_open_to_internet:
        internet_open[5432] = PG_RULE
        findings.append(Finding(
            "FWA101:internet:tcp/5432", "FWA101", "undeclared exposure", Severity.HIGH,
            f"tcp/5432 ({process}) is reachable from zone internet via eth0 198.18.0.2, which the policy does not allow",
            ExposureEvidence(("0.0.0.0/1", "128.0.0.0/1"), (PG_RULE,), (listening[1],)),
            "restrict or remove inet filter/input rule 5", "internet", "tcp", (5432, 5432)))
    findings.append(Finding("FWA001:tcp/6379", "FWA001", "undeclared listener", Severity.LOW,
                            "redis-server listens on tcp/6379 (127.0.0.1), which the policy does not declare",
                            ListenerEvidence((listening[2],)), "declare it", None, "tcp", (6379, 6379)))
    zones = (
        ZoneExposure("lan", Exposure(target, "eth0", "198.18.0.2",
                                     _entries("198.18.0.0/24", {22: SSH_RULE, 5432: PG_RULE}))),
        ZoneExposure("internet", Exposure(target, "eth0", "198.18.0.2",
                                          _entries("0.0.0.0/1", internet_open) + _entries("128.0.0.0/1", internet_open))),
    )
    return AuditResult(target, pol, listening, tuple(findings), started_at=1_700_000_000.0, duration=0.4,
                       ruleset=Ruleset() if firewall else None, firewall=zones if firewall else (),
                       checks=(CheckOutcome("FWA102", "ssh from lan", True),), notes=("a note",))


def audit_doc(extra: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_audit_json(audit_result(**kw)))
    doc.update(extra or {})
    return doc


def write_doc(directory: Path, name: str, doc: dict[str, Any]) -> Path:
    path = directory / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path
