"""Findings from the *firewall* view, reconciled with the declared and listening views.

| check  | finding                                           | severity        |
|--------|---------------------------------------------------|-----------------|
| FWA101 | undeclared exposure: a listener reachable from a zone the policy does not allow | high |
| FWA102 | declared service blocked (fully or partly) for an allowed zone | high / medium |
| FWA104 | latent hole: the firewall admits ports nothing listens on and the policy does not declare | medium |
| FWA105 | open port without an explicit firewall rule (CIS "firewall rules exist for all open ports") | medium |
| FWA106 | reachable over IPv6 although IPv4 is closed for the same zone | high |
| FWA108 | indeterminate verdict on a port the policy wants closed | medium |

Pure: works on model objects only. Ids are ``CHECK:zone:proto/port`` (or the range), stable
across runs, so baselines and ticket systems can follow them.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Sequence

from auditor.engine import intervals as iv
from auditor.model.exposure import ExposureEntry
from auditor.model.finding import Finding, Severity
from auditor.model.listener import Listener
from auditor.model.policy import Policy, Service
from auditor.model.result import ZoneExposure
from auditor.model.ruleset import Origin

Check = tuple[str, str, bool]


def serves(listener: Listener, destination: str) -> bool:
    """Whether a socket accepts connections addressed to ``destination``."""
    dest = ipaddress.ip_address(destination)
    if listener.is_loopback:
        return dest.is_loopback
    if dest.version == 4:
        if listener.family == "ipv4":
            return listener.address in ("0.0.0.0", destination)
        if listener.address == "::":
            return listener.dual_stack
        return listener.address == f"::ffff:{destination}"
    return listener.family == "ipv6" and listener.address in ("::", destination)


def allowed_service(policy: Policy, zone: str, protocol: str, port: int) -> Service | None:
    for s in policy.services:
        if s.protocol == protocol and s.ports[0] <= port <= s.ports[1] and zone in s.zones:
            return s
    return None


def declared(policy: Policy, protocol: str, port: int) -> bool:
    return any(s.protocol == protocol and s.ports[0] <= port <= s.ports[1] for s in policy.services)


def _explicit(origins: Iterable[Origin]) -> bool:
    return any(o.position > 0 for o in origins)


def _origin_json(o: Origin) -> dict:
    d = {"backend": o.backend, "table": o.table_label, "chain": o.chain, "position": o.position, "text": o.text}
    if o.file:
        d["file"], d["line"] = o.file, o.line
    return d


def _rules(entries: Iterable[ExposureEntry]) -> list[dict]:
    seen: dict[tuple, dict] = {}
    for e in entries:
        for o in e.decided_by:
            seen.setdefault((o.backend, o.family, o.table, o.chain, o.position, o.text), _origin_json(o))
    return list(seen.values())


def _location(entries: Iterable[ExposureEntry]) -> tuple[str, int] | None:
    for e in entries:
        for o in reversed(e.decisive):
            if o.file and o.line:
                return (o.file, o.line)
    return None


def _at(views: Sequence[ZoneExposure], zone: str | None, protocol: str, port: int, version: int | None = None):
    """(view, entry) pairs covering ``port`` (for ``zone``, or all zones)."""
    for v in views:
        if zone is not None and v.zone != zone:
            continue
        if version is not None and ipaddress.ip_address(v.exposure.destination).version != version:
            continue
        for e in v.exposure.entries:
            if e.protocol == protocol and e.ports[0] <= port <= e.ports[1]:
                yield v, e


def _fmt_ranges(ranges: iv.IntervalSet, limit: int = 8) -> str:
    parts = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def _processes(ls: Iterable[Listener]) -> list[str]:
    return sorted({p.name for l in ls for p in l.processes})


def firewall_findings(
    policy: Policy, listeners: Sequence[Listener], views: Sequence[ZoneExposure]
) -> tuple[tuple[Finding, ...], tuple[Check, ...]]:
    findings: list[Finding] = []
    checks: list[Check] = []
    public = [l for l in listeners if not l.is_loopback and l.protocol in ("tcp", "udp")]
    zones = sorted({v.zone for v in views})

    # FWA101 undeclared exposure / FWA106 IPv6 open where IPv4 is closed
    for zone in zones:
        for key in sorted({(l.protocol, l.port) for l in public}):
            proto, port = key
            socks = [l for l in public if (l.protocol, l.port) == key]
            reach = [(v, e) for v, e in _at(views, zone, proto, port)
                     if e.verdict == "accept" and any(serves(l, v.exposure.destination) for l in socks)]
            forbidden = allowed_service(policy, zone, proto, port) is None and (
                policy.default == "deny" or declared(policy, proto, port))
            if reach and forbidden:
                entries = [e for _, e in reach]
                where = sorted({f"{v.exposure.in_interface} {v.exposure.destination}" for v, _ in reach})
                findings.append(Finding(
                    id=f"FWA101:{zone}:{proto}/{port}", check="FWA101", title="undeclared exposure",
                    severity=Severity.HIGH, zone=zone, protocol=proto, ports=(port, port),
                    message=(f"{proto}/{port} ({', '.join(_processes(socks)) or 'unknown process'}) is "
                             f"reachable from zone {zone} via {', '.join(where)}, which the policy does not allow"),
                    evidence={"sources": sorted({e.source for e in entries}), "rules": _rules(entries),
                              "listeners": [_listener_json(l) for l in socks]},
                    fix=_fix_block(zone, proto, port, entries),
                    location=_location(entries),
                ))
            checks.append(("FWA101", f"{zone} {proto}/{port}", not (reach and forbidden)))
            v6_open = [e for v, e in reach if ":" in v.exposure.destination]
            v4_closed = [e for _, e in _at(views, zone, proto, port, 4) if e.verdict in ("drop", "reject")]
            if v6_open and v4_closed:
                findings.append(Finding(
                    id=f"FWA106:{zone}:{proto}/{port}", check="FWA106",
                    title="IPv6 open where IPv4 is closed", severity=Severity.HIGH, zone=zone,
                    protocol=proto, ports=(port, port),
                    message=(f"{proto}/{port} is blocked over IPv4 but reachable over IPv6 from zone {zone}: "
                             "the IPv6 ruleset does not mirror the IPv4 one"),
                    evidence={"ipv6_rules": _rules(v6_open), "ipv4_rules": _rules(v4_closed)},
                    fix=f"add the IPv6 equivalent of the IPv4 rule that closes {proto}/{port} (ip6tables or an inet table)",
                    location=_location(v6_open),
                ))

    # FWA102 declared service blocked for an allowed zone
    for s in policy.services:
        socks = [l for l in public if l.protocol == s.protocol and s.ports[0] <= l.port <= s.ports[1]]
        for zone in s.zones:
            if zone not in zones:
                continue
            blocked: list[ExposureEntry] = []
            admitted = False
            for v in views:
                if v.zone != zone:
                    continue
                if socks and not any(serves(l, v.exposure.destination) for l in socks):
                    continue
                for e in v.exposure.entries:
                    if e.protocol != s.protocol or e.ports[1] < s.ports[0] or e.ports[0] > s.ports[1]:
                        continue
                    if e.verdict in ("drop", "reject"):
                        blocked.append(e)
                    elif e.verdict == "accept":
                        admitted = True
            checks.append(("FWA102", f"{s.name} from {zone}", not blocked))
            if not blocked:
                continue
            ports = f"{s.ports[0]}" if s.ports[0] == s.ports[1] else f"{s.ports[0]}-{s.ports[1]}"
            partial = admitted
            findings.append(Finding(
                id=f"FWA102:{s.name}:{zone}:{s.protocol}/{ports}", check="FWA102",
                title="declared service blocked" + (" in part" if partial else ""),
                severity=Severity.MEDIUM if partial else Severity.HIGH, zone=zone,
                protocol=s.protocol, ports=s.ports,
                message=(f"{s.name} ({s.protocol}/{ports}) is declared for zone {zone} but the firewall "
                         f"{'blocks part of it' if partial else 'blocks it'} "
                         f"(sources {', '.join(sorted({e.source for e in blocked})[:6])})"
                         + _later_leg_note(blocked)),
                evidence={"rules": _rules(blocked), "policy_line": s.line,
                          **_failed_legs(blocked)},
                fix=_unblock_fix(s.protocol, ports, zone, blocked),
                location=_location(blocked),
            ))

    # FWA104 latent holes and FWA108 indeterminate verdicts on ports meant to be closed
    listening = {(l.protocol, l.port) for l in public}
    for zone in zones:
        for proto in ("tcp", "udp"):
            hole: iv.IntervalSet = ()
            undecided: list[ExposureEntry] = []
            hole_entries: list[ExposureEntry] = []
            for v in views:
                if v.zone != zone:
                    continue
                for e in v.exposure.entries:
                    if e.protocol != proto:
                        continue
                    if e.verdict == "accept":
                        hole = iv.union(hole, ((e.ports[0], e.ports[1]),))
                        hole_entries.append(e)
                    elif e.verdict == "indeterminate":
                        undecided.append(e)
            wanted = iv.normalize([s.ports for s in policy.services if s.protocol == proto and zone in s.zones])
            used = iv.normalize([(p, p) for pr, p in listening if pr == proto])
            latent = iv.subtract(iv.subtract(hole, wanted), used)
            if latent and policy.default == "deny":
                entries = [e for e in hole_entries if iv.intersect(((e.ports[0], e.ports[1]),), latent)]
                findings.append(Finding(
                    id=f"FWA104:{zone}:{proto}", check="FWA104", title="latent hole",
                    severity=Severity.MEDIUM, zone=zone, protocol=proto,
                    ports=(latent[0][0], latent[-1][1]),
                    message=(f"the firewall admits {proto} ports {_fmt_ranges(latent)} from zone {zone} "
                             f"({iv.size(latent)} ports) although nothing listens there and the policy does not declare them"),
                    evidence={"ports": [list(r) for r in latent], "rules": _rules(entries)[:10]},
                    fix=f"drop {proto} from zone {zone} by default and accept only declared ports",
                    location=_location(entries),
                ))
            by_rule: dict[tuple, list[ExposureEntry]] = {}
            for e in undecided:
                if iv.subtract(((e.ports[0], e.ports[1]),), wanted):
                    key = tuple((o.table_label, o.chain, o.position) for o in e.decided_by)
                    by_rule.setdefault(key, []).append(e)
            for entries in by_rule.values():
                bad = iv.subtract(iv.normalize([e.ports for e in entries]), wanted)
                first = entries[0]
                findings.append(Finding(
                    id=f"FWA108:{zone}:{proto}/{bad[0][0]}-{bad[-1][1]}", check="FWA108",
                    title="indeterminate verdict", severity=Severity.MEDIUM, zone=zone, protocol=proto,
                    ports=(bad[0][0], bad[-1][1]),
                    message=(f"cannot decide statically whether {proto} {_fmt_ranges(bad)} from zone {zone} "
                             f"is blocked: {first.reason}"),
                    evidence={"rules": _rules(entries), "reason": first.reason,
                              "sources": sorted({e.source for e in entries})[:20]},
                    fix="replace the construct with one whose outcome does not depend on rate, history or unknown state, "
                        "or verify with --scan",
                    location=_location(entries),
                ))

    # FWA105 CIS: every open (non-loopback) port needs an explicit rule, IPv4 and IPv6
    if policy.require_explicit_rules:
        for key in sorted({(l.protocol, l.port, fam) for l in public for fam in _families(l)}):
            proto, port, version = key
            socks = [l for l in public if (l.protocol, l.port) == (proto, port) and version in _families(l)]
            hits = [(v, e) for v, e in _at(views, None, proto, port, version)
                    if any(serves(l, v.exposure.destination) for l in socks) and not _explicit(e.admitted_by)]
            implicit = [e for _, e in hits]
            zones_hit = sorted({v.zone for v, _ in hits})
            fam = f"ipv{version}"
            checks.append(("FWA105", f"{proto}/{port} {fam}", not implicit))
            if implicit:
                findings.append(Finding(
                    id=f"FWA105:{proto}/{port}/{fam}", check="FWA105",
                    title="open port without explicit firewall rule", severity=Severity.MEDIUM,
                    protocol=proto, ports=(port, port),
                    message=(f"{proto}/{port} ({', '.join(_processes(socks)) or 'unknown process'}) listens on "
                             f"{fam} but no explicit firewall rule decides it for zone {', '.join(zones_hit)} "
                             "(only a chain policy, or no firewall at all)"),
                    evidence={"decided_by": _rules(implicit), "verdicts": sorted({e.verdict for e in implicit}),
                              "zones": zones_hit, "sources": sorted({e.source for e in implicit})[:20]},
                    fix=f"add an explicit accept (for declared zones) or drop rule for {proto} dport {port} ({fam})",
                ))
    return tuple(findings), tuple(checks)


def _failed_legs(entries: Sequence[ExposureEntry]) -> dict[str, object]:
    """Evidence of a conversation broken after its first packet: which packet, and by what."""
    legs: dict[str, list[dict]] = {}
    for e in entries:
        leg = e.failed_leg
        if leg is not None and leg.name != "request":
            legs.setdefault(leg.name, [])
            for o in leg.decided_by:
                d = _origin_json(o)
                if d not in legs[leg.name]:
                    legs[leg.name].append(d)
    if not legs:
        return {}
    reasons = sorted({e.reason for e in entries if e.reason and e.failed_leg and e.failed_leg.name != "request"})
    return {"failed_legs": legs, "reasons": reasons[:4]}


def _later_leg_note(blocked: Sequence[ExposureEntry]) -> str:
    """Say so when the first packet gets in but the conversation breaks later."""
    for e in blocked:
        leg = e.failed_leg
        if leg is not None and leg.name != "request" and e.reason:
            return f": {e.reason}"
    return ""


def _unblock_fix(protocol: str, ports: str, zone: str, blocked: Sequence[ExposureEntry]) -> str:
    """A concrete fix for the packet that is lost: the first one, or a later one of the
    conversation (a reply leaving through an output chain without an ESTABLISHED rule, a
    client's ACK meeting a NEW-only accept)."""
    for e in blocked:
        leg = e.failed_leg
        if leg is None or leg.name == "request" or not leg.decided_by:
            continue
        o = leg.decided_by[-1]
        where = f"{o.table_label} {o.chain}"
        if o.syntax == "iptables":
            family = "ip6tables" if o.family == "ip6" else "iptables"
            rule = f"{family} -t {o.table} -I {o.chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
        else:
            rule = f"nft insert rule {o.family} {o.table} {o.chain} ct state established,related accept"
        what = {"reply": "replies", "reply-data": "the service's data",
                "client": "the client's later packets"}.get(leg.name, leg.name)
        return (f"{what} of {protocol}/{ports} are lost in {where}: let established connections through "
                f"before it, e.g. `{rule}`")
    return f"allow {protocol} dport {ports} from zone {zone} before the rule that blocks it"


def _families(l: Listener) -> tuple[int, ...]:
    fams = []
    if l.accepts_ipv4:
        fams.append(4)
    if l.accepts_ipv6:
        fams.append(6)
    return tuple(fams)


def _listener_json(l: Listener) -> dict:
    return {"protocol": l.protocol, "family": l.family, "address": l.address, "port": l.port,
            "processes": [{"pid": p.pid, "name": p.name, "user": p.user} for p in l.processes]}


def _fix_block(zone: str, proto: str, port: int, entries: Sequence[ExposureEntry]) -> str:
    rules = [o for e in entries for o in e.decisive if o.position > 0]
    if rules:
        r = rules[-1]
        return (f"restrict or remove {r.table_label}/{r.chain} rule {r.position} ('{r.text}') so that "
                f"{proto}/{port} is not accepted from zone {zone}, or declare the service for {zone}")
    return f"drop {proto} dport {port} from zone {zone} (the chain policy accepts it), or declare it"
