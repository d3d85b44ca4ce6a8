"""Checks of the *declared* vs the *listening* view (FWA001–FWA004).

Ids are ``CHECK:proto/port`` (FWA002: ``FWA002:service:proto/ports``) so they are stable across
runs, PIDs and socket order. Listeners owned only by ``ignore_processes`` are left out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from auditor.engine.checks.registry import CheckInput, check
from auditor.model.evidence import BindEvidence, ListenerEvidence, ServiceDownEvidence, WrongProcessEvidence
from auditor.model.finding import CheckOutcome, Finding, Severity
from auditor.model.listener import Listener
from auditor.model.policy import Bind, Policy, Service


def port_text(ports: tuple[int, int]) -> str:
    """``22`` or ``8000-8100``."""
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def process_names(ls: Sequence[Listener]) -> list[str]:
    return sorted({p.name for l in ls for p in l.processes})


def relevant_listeners(policy: Policy, listeners: Sequence[Listener]) -> list[Listener]:
    """The listeners the policy speaks about: not those owned only by ignored processes."""
    ignored = set(policy.ignore_processes)
    return [l for l in listeners if not (l.processes and all(p.name in ignored for p in l.processes))]


def _service_sockets(data: CheckInput) -> Iterator[tuple[Service, list[Listener]]]:
    """Each declared service with the relevant sockets listening on its ports."""
    relevant = relevant_listeners(data.policy, data.listeners)
    for s in data.policy.services:
        yield s, [l for l in relevant if l.protocol == s.protocol and s.ports[0] <= l.port <= s.ports[1]]


def _subject(s: Service) -> str:
    return f"{s.name} {s.protocol}/{port_text(s.ports)}"


@check("FWA001", "undeclared listener", Severity.HIGH, also=(Severity.LOW,), needs="listening")
def undeclared_listener(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """undeclared listener (non-loopback; loopback-only ones are low)

    A port with a socket that no service of the policy declares. Under ``default: allow`` it is
    recorded as passed and reported no further.
    """
    policy = data.policy
    by_port: dict[tuple[str, int], list[Listener]] = {}
    for l in relevant_listeners(policy, data.listeners):
        by_port.setdefault((l.protocol, l.port), []).append(l)
    for (proto, port), socks in sorted(by_port.items()):
        if any(s.protocol == proto and s.ports[0] <= port <= s.ports[1] for s in policy.services):
            continue
        public = [l for l in socks if not l.is_loopback]
        yield CheckOutcome("FWA001", f"{proto}/{port} declared", policy.default == "allow")
        if policy.default == "allow":
            continue
        who = ", ".join(process_names(socks)) or "unknown process"
        where = ", ".join(sorted({l.address for l in (public or socks)}))
        yield Finding(
            id=f"FWA001:{proto}/{port}", check="FWA001", title="undeclared listener",
            severity=Severity.HIGH if public else Severity.LOW, protocol=proto, ports=(port, port),
            message=(f"{who} listens on {proto}/{port} ({where}), which the policy does not declare"
                     + ("" if public else " (loopback only)")),
            evidence=ListenerEvidence(tuple(socks)),
            fix=(f"stop {who} or bind it to loopback, or declare {proto}/{port} in {policy.path}"
                 if public else f"declare {proto}/{port} in {policy.path} or add {who} to ignore_processes"),
        )


@check("FWA002", "expected service not listening", Severity.MEDIUM, needs="listening")
def service_not_listening(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """expected service not listening

    A declared service with no socket on any of its ports; ``optional: true`` services pass.
    """
    for s, socks in _service_sockets(data):
        yield CheckOutcome("FWA002", f"{_subject(s)} listening", bool(socks) or s.optional)
        if socks or s.optional:
            continue
        ports = port_text(s.ports)
        yield Finding(
            id=f"FWA002:{s.name}:{s.protocol}/{ports}", check="FWA002",
            title="expected service not listening", severity=Severity.MEDIUM,
            protocol=s.protocol, ports=s.ports,
            message=f"{s.name} is declared on {s.protocol}/{ports} but nothing listens there",
            evidence=ServiceDownEvidence(s.line),
            fix=f"start {'/'.join(s.processes) or s.name}, or mark it optional (policy line {s.line})",
        )


@check("FWA003", "wrong process", Severity.HIGH, needs="listening")
def wrong_process(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """wrong process on a declared port

    A socket on a declared service's port held by none of the processes the service names
    (services without ``process``/``processes`` accept any).
    """
    for s, socks in _service_sockets(data):
        if not socks or not s.processes:
            continue
        wrong = [l for l in socks if l.processes and not any(p.name in s.processes for p in l.processes)]
        yield CheckOutcome("FWA003", f"{_subject(s)} served by {'/'.join(s.processes)}", not wrong)
        for port in sorted({l.port for l in wrong}):
            here = [l for l in wrong if l.port == port]
            yield Finding(
                id=f"FWA003:{s.protocol}/{port}", check="FWA003", title="wrong process",
                severity=Severity.HIGH, protocol=s.protocol, ports=(port, port),
                message=(f"{s.protocol}/{port} ({s.name}) is served by {', '.join(process_names(here))}, "
                         f"not by {' or '.join(s.processes)} as declared"),
                evidence=WrongProcessEvidence(tuple(here), s.processes, s.line),
                fix=f"find out why {', '.join(process_names(here))} holds the port, or update the policy (line {s.line})",
            )


def _within_bind(l: Listener, bind: Bind) -> bool:
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


@check("FWA004", "bound wider than declared", Severity.HIGH, needs="listening")
def bound_wider(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """bound wider than declared (e.g. `0.0.0.0` where the policy says `loopback`)

    A declared service's socket bound to an address its ``bind`` does not allow: a wildcard
    where specific addresses are declared, anything but loopback where ``loopback`` is.
    """
    for s, socks in _service_sockets(data):
        if not socks:
            continue
        wide = [l for l in socks if not _within_bind(l, s.bind)]
        declared = s.bind if isinstance(s.bind, str) else ", ".join(str(a) for a in s.bind)
        yield CheckOutcome("FWA004", f"{_subject(s)} bound to {declared}", not wide)
        for port in sorted({l.port for l in wide}):
            here = [l for l in wide if l.port == port]
            bound = ", ".join(sorted({("[::] (IPv4+IPv6)" if l.dual_stack else l.address) for l in here}))
            yield Finding(
                id=f"FWA004:{s.protocol}/{port}", check="FWA004", title="bound wider than declared",
                severity=Severity.HIGH, protocol=s.protocol, ports=(port, port),
                message=(f"{', '.join(process_names(here)) or s.name} listens on {bound}:{port} but the policy "
                         f"allows only {declared} for {s.name}"),
                evidence=BindEvidence(tuple(here), declared, s.line),
                fix=(f"bind {s.name} to {'127.0.0.1/::1' if s.bind == 'loopback' else declared} in its own "
                     f"configuration, or widen bind in the policy (line {s.line})"),
            )
