"""Findings from the *declared* vs *listening* views.

| check  | finding                                                        | severity                 |
|--------|----------------------------------------------------------------|--------------------------|
| FWA001 | undeclared listener (non-loopback; loopback ones are low)      | high / low (default deny)|
| FWA002 | expected service not listening                                 | medium                   |
| FWA003 | wrong process on a declared port                               | high                     |
| FWA004 | bound wider than declared (e.g. 0.0.0.0 where loopback is declared) | high                |

Pure; ids are ``CHECK:proto/port`` (FWA002: ``FWA002:service:proto/ports``) so they are stable
across runs, PIDs and socket order.
"""

from __future__ import annotations

import ipaddress
from typing import Sequence

from auditor.model.finding import Finding, Severity
from auditor.model.listener import Listener
from auditor.model.policy import Policy, Service

Check = tuple[str, str, bool]


def _ports(s: Service) -> str:
    return str(s.ports[0]) if s.ports[0] == s.ports[1] else f"{s.ports[0]}-{s.ports[1]}"


def _names(ls: Sequence[Listener]) -> list[str]:
    return sorted({p.name for l in ls for p in l.processes})


def _evidence(ls: Sequence[Listener]) -> list[dict]:
    return [{"family": l.family, "address": l.address, "port": l.port, "dual_stack": l.dual_stack,
             "interface": l.interface,
             "processes": [{"pid": p.pid, "name": p.name, "user": p.user} for p in l.processes]} for l in ls]


def _within_bind(l: Listener, bind) -> bool:
    if bind == "any":
        return True
    if bind == "loopback":
        return l.is_loopback
    if l.is_wildcard:
        return False
    addr = ipaddress.ip_address(l.address)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr in bind


def reconcile_listening(policy: Policy, listeners: Sequence[Listener]) -> tuple[tuple[Finding, ...], tuple[Check, ...]]:
    findings: list[Finding] = []
    checks: list[Check] = []
    ignored = set(policy.ignore_processes)
    relevant = [l for l in listeners
                if not (l.processes and all(p.name in ignored for p in l.processes))]
    by_port: dict[tuple[str, int], list[Listener]] = {}
    for l in relevant:
        by_port.setdefault((l.protocol, l.port), []).append(l)

    for (proto, port), socks in sorted(by_port.items()):
        service = next((s for s in policy.services if s.protocol == proto and s.ports[0] <= port <= s.ports[1]), None)
        if service is not None:
            continue
        public = [l for l in socks if not l.is_loopback]
        checks.append(("FWA001", f"{proto}/{port} declared", policy.default == "allow"))
        if policy.default == "allow":
            continue
        who = ", ".join(_names(socks)) or "unknown process"
        where = ", ".join(sorted({l.address for l in (public or socks)}))
        findings.append(Finding(
            id=f"FWA001:{proto}/{port}", check="FWA001", title="undeclared listener",
            severity=Severity.HIGH if public else Severity.LOW, protocol=proto, ports=(port, port),
            message=(f"{who} listens on {proto}/{port} ({where}), which the policy does not declare"
                     + ("" if public else " (loopback only)")),
            evidence={"listeners": _evidence(socks)},
            fix=(f"stop {who} or bind it to loopback, or declare {proto}/{port} in {policy.path}"
                 if public else f"declare {proto}/{port} in {policy.path} or add {who} to ignore_processes"),
        ))

    for s in policy.services:
        socks = [l for l in relevant if l.protocol == s.protocol and s.ports[0] <= l.port <= s.ports[1]]
        ports = _ports(s)
        subject = f"{s.name} {s.protocol}/{ports}"
        checks.append(("FWA002", f"{subject} listening", bool(socks) or s.optional))
        if not socks:
            if not s.optional:
                findings.append(Finding(
                    id=f"FWA002:{s.name}:{s.protocol}/{ports}", check="FWA002",
                    title="expected service not listening", severity=Severity.MEDIUM,
                    protocol=s.protocol, ports=s.ports,
                    message=f"{s.name} is declared on {s.protocol}/{ports} but nothing listens there",
                    evidence={"policy_line": s.line},
                    fix=f"start {'/'.join(s.processes) or s.name}, or mark it optional (policy line {s.line})",
                ))
            continue
        if s.processes:
            wrong = [l for l in socks if l.processes and not any(p.name in s.processes for p in l.processes)]
            checks.append(("FWA003", f"{subject} served by {'/'.join(s.processes)}", not wrong))
            for port in sorted({l.port for l in wrong}):
                here = [l for l in wrong if l.port == port]
                findings.append(Finding(
                    id=f"FWA003:{s.protocol}/{port}", check="FWA003", title="wrong process",
                    severity=Severity.HIGH, protocol=s.protocol, ports=(port, port),
                    message=(f"{s.protocol}/{port} ({s.name}) is served by {', '.join(_names(here))}, "
                             f"not by {' or '.join(s.processes)} as declared"),
                    evidence={"listeners": _evidence(here), "expected": list(s.processes), "policy_line": s.line},
                    fix=f"find out why {', '.join(_names(here))} holds the port, or update the policy (line {s.line})",
                ))
        wide = [l for l in socks if not _within_bind(l, s.bind)]
        declared = s.bind if isinstance(s.bind, str) else ", ".join(str(a) for a in s.bind)
        checks.append(("FWA004", f"{subject} bound to {declared}", not wide))
        for port in sorted({l.port for l in wide}):
            here = [l for l in wide if l.port == port]
            bound = ", ".join(sorted({("[::] (IPv4+IPv6)" if l.dual_stack else l.address) for l in here}))
            findings.append(Finding(
                id=f"FWA004:{s.protocol}/{port}", check="FWA004", title="bound wider than declared",
                severity=Severity.HIGH, protocol=s.protocol, ports=(port, port),
                message=(f"{', '.join(_names(here)) or s.name} listens on {bound}:{port} but the policy "
                         f"allows only {declared} for {s.name}"),
                evidence={"listeners": _evidence(here), "declared_bind": declared, "policy_line": s.line},
                fix=(f"bind {s.name} to {'127.0.0.1/::1' if s.bind == 'loopback' else declared} in its own "
                     f"configuration, or widen bind in the policy (line {s.line})"),
            ))
    return tuple(findings), tuple(checks)
