"""Checks of the *firewall* view, reconciled with the declared and listening views (FWA101,
FWA102, FWA104–FWA106, FWA108).

The firewall view is one :class:`~auditor.model.result.ZoneExposure` per zone and address the
host owns. Ids are ``CHECK:zone:proto/port`` (or the range), stable across runs, so baselines
and ticket systems can follow them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence

from auditor.engine import intervals as iv
from auditor.engine.checks.listening import port_text, process_names
from auditor.engine.checks.registry import CheckInput, check
from auditor.model.evidence import (
    BlockedEvidence,
    ExposureEvidence,
    FamilyMismatchEvidence,
    ImplicitRuleEvidence,
    IndeterminateEvidence,
    LatentHoleEvidence,
)
from auditor.model.exposure import ExposureEntry, LegName
from auditor.model.finding import CheckOutcome, Finding, Severity
from auditor.model.listener import Listener
from auditor.model.policy import Policy, Service
from auditor.model.result import ZoneExposure
from auditor.model.ruleset import Origin


def _views(data: CheckInput) -> Sequence[ZoneExposure]:
    assert data.views is not None  # the registry runs firewall checks only with a firewall view
    return data.views


def _public(data: CheckInput) -> list[Listener]:
    return [l for l in data.listeners if not l.is_loopback and l.protocol in ("tcp", "udp")]


def _zones(views: Sequence[ZoneExposure]) -> list[str]:
    return sorted({v.zone for v in views})


def allowed_service(policy: Policy, zone: str, protocol: str, port: int) -> Service | None:
    for s in policy.services:
        if s.protocol == protocol and s.ports[0] <= port <= s.ports[1] and zone in s.zones:
            return s
    return None


def declared(policy: Policy, protocol: str, port: int) -> bool:
    return any(s.protocol == protocol and s.ports[0] <= port <= s.ports[1] for s in policy.services)


def wanted_ports(policy: Policy, zone: str, protocol: str) -> iv.IntervalSet:
    """The ports the policy opens to ``zone`` over ``protocol``."""
    return iv.normalize([s.ports for s in policy.services if s.protocol == protocol and zone in s.zones])


def unique_rules(entries: Iterable[ExposureEntry]) -> tuple[Origin, ...]:
    """The deciding rules of ``entries``, each once, in the order first met."""
    seen: dict[tuple[str, str, str, str, int, str], Origin] = {}
    for e in entries:
        for o in e.decided_by:
            seen.setdefault((o.backend, o.family, o.table, o.chain, o.position, o.text), o)
    return tuple(seen.values())


def decisive_location(entries: Iterable[ExposureEntry]) -> tuple[str, int] | None:
    """The file and line of the last deciding rule that has one (ruleset files)."""
    for e in entries:
        for o in reversed(e.decisive):
            if o.file and o.line:
                return (o.file, o.line)
    return None


def _at(views: Sequence[ZoneExposure], zone: str | None, protocol: str, port: int,
        version: int | None = None) -> Iterator[tuple[ZoneExposure, ExposureEntry]]:
    """(view, entry) pairs covering ``port`` (for ``zone``, or all zones)."""
    for v in views:
        if zone is not None and v.zone != zone:
            continue
        if version is not None and ipaddress.ip_address(v.exposure.destination).version != version:
            continue
        for e in v.exposure.entries:
            if e.protocol == protocol and e.ports[0] <= port <= e.ports[1]:
                yield v, e


def _reach(views: Sequence[ZoneExposure], zone: str, proto: str, port: int,
           socks: Sequence[Listener]) -> list[tuple[ZoneExposure, ExposureEntry]]:
    """Where a connection from ``zone`` to one of ``socks`` is accepted."""
    return [(v, e) for v, e in _at(views, zone, proto, port)
            if e.verdict == "accept" and any(l.serves(v.exposure.destination) for l in socks)]


def _listening_ports(public: Sequence[Listener]) -> Iterator[tuple[str, int, list[Listener]]]:
    for proto, port in sorted({(l.protocol, l.port) for l in public}):
        yield proto, port, [l for l in public if (l.protocol, l.port) == (proto, port)]


def format_ranges(ranges: iv.IntervalSet, limit: int = 8) -> str:
    parts = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


@check("FWA101", "undeclared exposure", Severity.HIGH, needs="firewall")
def undeclared_exposure(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """undeclared exposure: a listener reachable from a zone the policy does not allow

    A listening port the firewall admits from a zone that no service allows (under ``default:
    allow``: only declared ports count), over any address the listener serves.
    """
    policy, views, public = data.policy, _views(data), _public(data)
    for zone in _zones(views):
        for proto, port, socks in _listening_ports(public):
            reach = _reach(views, zone, proto, port, socks)
            forbidden = allowed_service(policy, zone, proto, port) is None and (
                policy.default == "deny" or declared(policy, proto, port))
            if reach and forbidden:
                entries = [e for _, e in reach]
                where = sorted({f"{v.exposure.in_interface} {v.exposure.destination}" for v, _ in reach})
                yield Finding(
                    id=f"FWA101:{zone}:{proto}/{port}", check="FWA101", title="undeclared exposure",
                    severity=Severity.HIGH, zone=zone, protocol=proto, ports=(port, port),
                    message=(f"{proto}/{port} ({', '.join(process_names(socks)) or 'unknown process'}) is "
                             f"reachable from zone {zone} via {', '.join(where)}, which the policy does not allow"),
                    evidence=ExposureEvidence(tuple(sorted({e.source for e in entries})), unique_rules(entries),
                                              tuple(socks)),
                    fix=_fix_block(zone, proto, port, entries),
                    location=decisive_location(entries),
                )
            yield CheckOutcome("FWA101", f"{zone} {proto}/{port}", not (reach and forbidden))


def _fix_block(zone: str, proto: str, port: int, entries: Sequence[ExposureEntry]) -> str:
    rules = [o for e in entries for o in e.decisive if o.position > 0]
    if rules:
        r = rules[-1]
        return (f"restrict or remove {r.table_label}/{r.chain} rule {r.position} ('{r.text}') so that "
                f"{proto}/{port} is not accepted from zone {zone}, or declare the service for {zone}")
    return f"drop {proto} dport {port} from zone {zone} (the chain policy accepts it), or declare it"


@check("FWA106", "IPv6 open where IPv4 is closed", Severity.HIGH, needs="firewall")
def ipv6_open_ipv4_closed(data: CheckInput) -> Iterator[Finding]:
    """reachable over IPv6 although IPv4 is closed for the same zone

    A listening port the firewall admits from a zone over IPv6 while it drops or rejects the
    same zone over IPv4: the IPv6 ruleset does not mirror the IPv4 one.
    """
    views = _views(data)
    for zone in _zones(views):
        for proto, port, socks in _listening_ports(_public(data)):
            v6_open = [e for v, e in _reach(views, zone, proto, port, socks) if ":" in v.exposure.destination]
            v4_closed = [e for _, e in _at(views, zone, proto, port, 4) if e.verdict in ("drop", "reject")]
            if v6_open and v4_closed:
                yield Finding(
                    id=f"FWA106:{zone}:{proto}/{port}", check="FWA106",
                    title="IPv6 open where IPv4 is closed", severity=Severity.HIGH, zone=zone,
                    protocol=proto, ports=(port, port),
                    message=(f"{proto}/{port} is blocked over IPv4 but reachable over IPv6 from zone {zone}: "
                             "the IPv6 ruleset does not mirror the IPv4 one"),
                    evidence=FamilyMismatchEvidence(unique_rules(v6_open), unique_rules(v4_closed)),
                    fix=f"add the IPv6 equivalent of the IPv4 rule that closes {proto}/{port} (ip6tables or an inet table)",
                    location=decisive_location(v6_open),
                )


@check("FWA102", "declared service blocked", Severity.HIGH, also=(Severity.MEDIUM,), needs="firewall",
       scopes=("audit", "verify"))
def declared_service_blocked(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """declared service blocked (fully / partly) for an allowed zone

    A service the policy allows from a zone, dropped or rejected for some (medium) or all (high)
    of the zone's sources — including a conversation that breaks after its first packet (the
    reply, or the client's ACK, lost on its way), with the missing ESTABLISHED rule as the fix.
    Only addresses a listener serves count when the service listens.
    """
    views, public = _views(data), _public(data)
    zones = _zones(views)
    for s in data.policy.services:
        socks = [l for l in public if l.protocol == s.protocol and s.ports[0] <= l.port <= s.ports[1]]
        for zone in s.zones:
            if zone not in zones:
                continue
            blocked: list[ExposureEntry] = []
            admitted = False
            for v in views:
                if v.zone != zone:
                    continue
                if socks and not any(l.serves(v.exposure.destination) for l in socks):
                    continue
                for e in v.exposure.entries:
                    if e.protocol != s.protocol or e.ports[1] < s.ports[0] or e.ports[0] > s.ports[1]:
                        continue
                    if e.verdict in ("drop", "reject"):
                        blocked.append(e)
                    elif e.verdict == "accept":
                        admitted = True
            yield CheckOutcome("FWA102", f"{s.name} from {zone}", not blocked)
            if not blocked:
                continue
            ports = port_text(s.ports)
            partial = admitted
            legs, reasons = _failed_legs(blocked)
            yield Finding(
                id=f"FWA102:{s.name}:{zone}:{s.protocol}/{ports}", check="FWA102",
                title="declared service blocked" + (" in part" if partial else ""),
                severity=Severity.MEDIUM if partial else Severity.HIGH, zone=zone,
                protocol=s.protocol, ports=s.ports,
                message=(f"{s.name} ({s.protocol}/{ports}) is declared for zone {zone} but the firewall "
                         f"{'blocks part of it' if partial else 'blocks it'} "
                         f"(sources {', '.join(sorted({e.source for e in blocked})[:6])})"
                         + _later_leg_note(blocked)),
                evidence=BlockedEvidence(unique_rules(blocked), s.line, legs, reasons),
                fix=_unblock_fix(s.protocol, ports, zone, blocked),
                location=decisive_location(blocked),
            )


def _origin_key(o: Origin) -> tuple[str, str, str, int, str, str | None, int | None]:
    """What makes two rules the same in a report (the handle and syntax do not)."""
    return (o.backend, o.table_label, o.chain, o.position, o.text, o.file, o.line)


def _failed_legs(entries: Sequence[ExposureEntry]
                 ) -> tuple[tuple[tuple[LegName, tuple[Origin, ...]], ...], tuple[str, ...]]:
    """For conversations broken after their first packet: which packets, by what, and why."""
    legs: dict[LegName, dict[tuple[str, str, str, int, str, str | None, int | None], Origin]] = {}
    for e in entries:
        leg = e.failed_leg
        if leg is not None and leg.name != "request":
            rules = legs.setdefault(leg.name, {})
            for o in leg.decided_by:
                rules.setdefault(_origin_key(o), o)
    if not legs:
        return (), ()
    reasons = sorted({e.reason for e in entries if e.reason and e.failed_leg and e.failed_leg.name != "request"})
    return tuple((name, tuple(rules.values())) for name, rules in legs.items()), tuple(reasons[:4])


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
    client's ACK meeting a NEW-only accept). Every chain where a later packet is lost is named:
    IPv4 and IPv6 sources lose their replies in each family's own output chain, and fixing
    one leaves the other broken."""
    lost: dict[str, tuple[str, str]] = {}  # where -> (what is lost, the rule to insert), first seen first
    for e in blocked:
        leg = e.failed_leg
        if leg is None or leg.name == "request" or not leg.decided_by:
            continue
        o = leg.decided_by[-1]
        if o.syntax == "iptables":
            family = "ip6tables" if o.family == "ip6" else "iptables"
            rule = f"{family} -t {o.table} -I {o.chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
        else:
            rule = f"nft insert rule {o.family} {o.table} {o.chain} ct state established,related accept"
        what = {"reply": "replies", "reply-data": "the service's data",
                "client": "the client's later packets"}.get(leg.name, leg.name)
        lost.setdefault(f"{o.table_label} {o.chain}", (what, rule))
    if not lost:
        return f"allow {protocol} dport {ports} from zone {zone} before the rule that blocks it"
    what = " and ".join(dict.fromkeys(w for w, _ in lost.values()))
    rules = " and ".join(f"`{r}`" for _, r in lost.values())
    before = "it" if len(lost) == 1 else "each"
    return (f"{what} of {protocol}/{ports} are lost in {' and '.join(lost)}: let established connections "
            f"through before {before}, e.g. {rules}")


def _by_zone_protocol(views: Sequence[ZoneExposure]) -> Iterator[tuple[str, str, list[ExposureEntry]]]:
    """Per zone and protocol, the exposure entries of every address."""
    for zone in _zones(views):
        for proto in ("tcp", "udp"):
            yield zone, proto, [e for v in views if v.zone == zone for e in v.exposure.entries if e.protocol == proto]


@check("FWA104", "latent hole", Severity.MEDIUM, needs="firewall")
def latent_hole(data: CheckInput) -> Iterator[Finding]:
    """latent hole: the firewall admits ports nothing listens on and nobody declared

    Under ``default: deny``, the port ranges a zone is admitted to beyond what the policy
    declares for it and what listens: whatever starts listening there next is exposed.
    """
    policy = data.policy
    if policy.default != "deny":
        return
    listening = {(l.protocol, l.port) for l in _public(data)}
    for zone, proto, entries in _by_zone_protocol(_views(data)):
        accepted = [e for e in entries if e.verdict == "accept"]
        hole: iv.IntervalSet = ()
        for e in accepted:
            hole = iv.union(hole, ((e.ports[0], e.ports[1]),))
        used = iv.normalize([(p, p) for pr, p in listening if pr == proto])
        latent = iv.subtract(iv.subtract(hole, wanted_ports(policy, zone, proto)), used)
        if not latent:
            continue
        hits = [e for e in accepted if iv.intersect(((e.ports[0], e.ports[1]),), latent)]
        yield Finding(
            id=f"FWA104:{zone}:{proto}", check="FWA104", title="latent hole",
            severity=Severity.MEDIUM, zone=zone, protocol=proto,
            ports=(latent[0][0], latent[-1][1]),
            message=(f"the firewall admits {proto} ports {format_ranges(latent)} from zone {zone} "
                     f"({iv.size(latent)} ports) although nothing listens there and the policy does not declare them"),
            evidence=LatentHoleEvidence(latent, unique_rules(hits)[:10]),
            fix=f"drop {proto} from zone {zone} by default and accept only declared ports",
            location=decisive_location(hits),
        )


@check("FWA108", "indeterminate verdict", Severity.MEDIUM, needs="firewall", scopes=("audit", "verify"))
def indeterminate_verdict(data: CheckInput) -> Iterator[Finding]:
    """indeterminate verdict on a port the policy wants closed

    Port ranges outside what the policy opens to a zone whose verdict cannot be decided
    statically (rate limits, history, unknown constructs), one finding per deciding rule set.
    """
    for zone, proto, entries in _by_zone_protocol(_views(data)):
        wanted = wanted_ports(data.policy, zone, proto)
        by_rule: dict[tuple[tuple[str, str, int], ...], list[ExposureEntry]] = {}
        for e in entries:
            if e.verdict == "indeterminate" and iv.subtract(((e.ports[0], e.ports[1]),), wanted):
                key = tuple((o.table_label, o.chain, o.position) for o in e.decided_by)
                by_rule.setdefault(key, []).append(e)
        for group in by_rule.values():
            bad = iv.subtract(iv.normalize([e.ports for e in group]), wanted)
            first = group[0]
            yield Finding(
                id=f"FWA108:{zone}:{proto}/{bad[0][0]}-{bad[-1][1]}", check="FWA108",
                title="indeterminate verdict", severity=Severity.MEDIUM, zone=zone, protocol=proto,
                ports=(bad[0][0], bad[-1][1]),
                message=(f"cannot decide statically whether {proto} {format_ranges(bad)} from zone {zone} "
                         f"is blocked: {first.reason}"),
                evidence=IndeterminateEvidence(unique_rules(group), first.reason,
                                               tuple(sorted({e.source for e in group})[:20])),
                fix="replace the construct with one whose outcome does not depend on rate, history or unknown state, "
                    "or verify with --scan",
                location=decisive_location(group),
            )


def _families(l: Listener) -> tuple[int, ...]:
    return tuple(v for v, yes in ((4, l.accepts_ipv4), (6, l.accepts_ipv6)) if yes)


@check("FWA105", "open port without explicit firewall rule", Severity.MEDIUM, needs="firewall")
def implicit_rule(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """CIS "firewall rules exist for all open ports": open port decided only by a chain policy or no firewall, per IPv4 and IPv6

    Run when the policy sets ``require_explicit_rules``: every non-loopback listening port, per
    address family it accepts, must have its first packet decided by a rule, not by a chain
    policy (or by no firewall at all), for every zone.
    """
    if not data.policy.require_explicit_rules:
        return
    views, public = _views(data), _public(data)
    for proto, port, version in sorted({(l.protocol, l.port, fam) for l in public for fam in _families(l)}):
        socks = [l for l in public if (l.protocol, l.port) == (proto, port) and version in _families(l)]
        hits = [(v, e) for v, e in _at(views, None, proto, port, version)
                if any(l.serves(v.exposure.destination) for l in socks)
                and not any(o.position > 0 for o in e.admitted_by)]
        implicit = [e for _, e in hits]
        zones_hit = tuple(sorted({v.zone for v, _ in hits}))
        fam = f"ipv{version}"
        yield CheckOutcome("FWA105", f"{proto}/{port} {fam}", not implicit)
        if not implicit:
            continue
        yield Finding(
            id=f"FWA105:{proto}/{port}/{fam}", check="FWA105",
            title="open port without explicit firewall rule", severity=Severity.MEDIUM,
            protocol=proto, ports=(port, port),
            message=(f"{proto}/{port} ({', '.join(process_names(socks)) or 'unknown process'}) listens on "
                     f"{fam} but no explicit firewall rule decides it for zone {', '.join(zones_hit)} "
                     "(only a chain policy, or no firewall at all)"),
            evidence=ImplicitRuleEvidence(unique_rules(implicit), tuple(sorted({e.verdict for e in implicit})),
                                          zones_hit, tuple(sorted({e.source for e in implicit})[:20])),
            fix=f"add an explicit accept (for declared zones) or drop rule for {proto} dport {port} ({fam})",
        )
