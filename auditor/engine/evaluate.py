"""Static firewall evaluation: what a client experiences when it talks to each port.

A pure function of (ruleset model, host facts, query) → :class:`Exposure`. For every source and
port the whole conversation is evaluated (:mod:`auditor.engine.conversation`): the client's first
packet, the service's reply, the client's next packet and the service's data, each through the
hooks it crosses, with the base chains of every table and backend in the kernel's order
(:mod:`auditor.engine.order`). Where that order cannot be read (iptables-legacy beside nf_tables
at equal priority, a chain at exactly conntrack's priority) every possible order is evaluated;
the verdict is definite where they agree and ``indeterminate``, naming the chains, where they
differ. Anything the model cannot decide is ``indeterminate`` with the rule named — never
guessed.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.engine import intervals as iv
from auditor.engine.conditions import AddressFacts, PacketState
from auditor.engine.conversation import Conversation, Outcome, Result
from auditor.engine.intervals import IntervalSet
from auditor.engine.order import CONNTRACK, NAT_CORE, NAT_CORE_PRIORITY, Builtin, Member, Slot, describe, hook_slots
from auditor.engine.walk import Orders, Region, Walker
from auditor.errors import InputError
from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.host import HostContext
from auditor.model.ruleset import PROTOCOL_NUMBERS, Ruleset

__all__ = ["NAT_CORE_PRIORITY", "ExposureQuery", "Outcome", "evaluate_exposure"]

#: Beyond this many possible base-chain orders the evaluator does not try them all.
MAX_ORDERINGS = 64
_ORDERED_HOOKS = ("prerouting", "input", "forward", "output", "postrouting")


@dataclass(frozen=True)
class ExposureQuery:
    """Which connections to evaluate: arriving on ``in_interface`` for ``destination``, from
    each of ``sources`` (addresses or prefixes of the destination's family; empty = all)."""

    in_interface: str
    destination: str
    sources: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ("tcp", "udp")
    ports: tuple[int, int] = (1, 65535)


def evaluate_exposure(
    ruleset: Ruleset, host: HostContext, query: ExposureQuery, *, target: str = ""
) -> Exposure:
    """Evaluate ``query`` against ``ruleset`` on a host described by ``host``."""
    try:
        dest = ipaddress.ip_address(query.destination)
    except ValueError:
        raise InputError(f"invalid destination address {query.destination!r}") from None
    version = dest.version
    sources = _parse_sources(query.sources, version)
    facts = address_facts(host, version, int(dest), query.in_interface)
    all_sources: IntervalSet = ()
    for _, s in sources:
        all_sources = iv.union(all_sources, s)
    ambiguous = ambiguous_slots(ruleset, version)
    orderings = _orderings(ambiguous)
    per_protocol: list[tuple[str, list[Result]]] = []
    for proto_name in query.protocols:
        state = PacketState(
            version=version,
            protocol=PROTOCOL_NUMBERS[proto_name],
            iif=query.in_interface,
            daddr=(int(dest), int(dest)),
            orig_daddr=(int(dest), int(dest)),
            payload=proto_name != "tcp",
        )
        start = Region(all_sources, (query.ports,), state)
        results: list[Result]
        if orderings is None:
            results = [(all_sources, (query.ports,), _too_many_orders(ambiguous))]
        else:
            runs = [Conversation(Walker(ruleset, host, facts, version, o), query.in_interface).run(start)
                    for o in orderings]
            results = _merge_orderings(runs, ambiguous)
        per_protocol.append((proto_name, results))
    entries: list[ExposureEntry] = []
    for source in sources:
        for proto_name, results in per_protocol:
            entries.extend(_entries(results, [source], proto_name, version, query.ports))
    return Exposure(
        target=target,
        in_interface=query.in_interface,
        destination=str(dest),
        entries=tuple(entries),
        notes=ruleset.notes + _unevaluated_notes(ruleset),
    )


# ---------------------------------------------------------------------------------------------
# Base-chain orders that cannot be read
# ---------------------------------------------------------------------------------------------


def ambiguous_slots(ruleset: Ruleset, version: int) -> list[tuple[str, int, Slot]]:
    """(hook, the slot's index on the hook — its key in :data:`Orders` —, slot)."""
    return [(hook, i, slot) for hook in _ORDERED_HOOKS for i, slot in enumerate(hook_slots(ruleset, hook, version))
            if slot.ambiguous]


def _orderings(ambiguous: list[tuple[str, int, Slot]]) -> list[Orders] | None:
    choices = [slot.orders() for _, _, slot in ambiguous]
    count = 1
    for c in choices:
        count *= len(c)
    if count > MAX_ORDERINGS:
        return None
    keys = [(hook, i) for hook, i, _ in ambiguous]
    return [dict(zip(keys, combo)) for combo in itertools.product(*choices)]


def _order_text(ambiguous: list[tuple[str, int, Slot]]) -> str:
    parts = [f"{' and '.join(describe(m) for m in _placed(slot))} (hook {hook}, priority {slot.priority})"
             for hook, _, slot in ambiguous[:3]]
    return "; ".join(parts) + (" …" if len(ambiguous) > 3 else "")


def _placed(slot: Slot) -> tuple[Member | Builtin, ...]:
    """What the slot's possible orders arrange: its chains, and conntrack or the nat core."""
    return slot.members + (CONNTRACK,) * slot.conntrack + (NAT_CORE,) * slot.nat_core


def _too_many_orders(ambiguous: list[tuple[str, int, Slot]]) -> Outcome:
    return Outcome("indeterminate", reason=(
        "too many base chains whose relative order the kernel does not reveal "
        f"({_why_unknown(ambiguous)}): {_order_text(ambiguous)}"))


def _why_unknown(ambiguous: list[tuple[str, int, Slot]]) -> str:
    causes = []
    if any(not slot.known for _, _, slot in ambiguous):
        causes.append("iptables-legacy beside nf_tables at equal priority")
    if any(slot.conntrack for _, _, slot in ambiguous):
        causes.append("a chain at conntrack's priority -200, run before or after it by registration order")
    if any(slot.nat_core for _, _, slot in ambiguous):
        causes.append("a filter chain at the nat core's priority, run before or after it by registration order")
    return "; ".join(causes)


def _merge_orderings(runs: list[list[Result]], ambiguous: list[tuple[str, int, Slot]]) -> list[Result]:
    """Definite where every possible order gives the same verdict; indeterminate elsewhere,
    naming the verdicts the orders give (each order's own, not a merge's)."""
    merged: list[tuple[IntervalSet, IntervalSet, list[Outcome]]] = [(s, d, [o]) for s, d, o in runs[0]]
    for other in runs[1:]:
        out: list[tuple[IntervalSet, IntervalSet, list[Outcome]]] = []
        for sa, da, oas in merged:
            for sb, db, ob in other:
                s = iv.intersect(sa, sb)
                if not s:
                    continue
                d = iv.intersect(da, db)
                if not d:
                    continue
                out.append((s, d, oas if ob.verdict in (o.verdict for o in oas) else [*oas, ob]))
        merged = out
    return [(s, d, outcomes[0] if len(outcomes) == 1 else _order_dependent(outcomes, ambiguous))
            for s, d, outcomes in merged]


def _order_dependent(outcomes: list[Outcome], ambiguous: list[tuple[str, int, Slot]]) -> Outcome:
    """``outcomes``: one per distinct verdict, in the order the orders were tried."""
    first = outcomes[0]
    origins = tuple(dict.fromkeys(o for x in outcomes for o in x.decided_by))
    others = ", ".join(f"another {o.verdict}" for o in outcomes[1:])
    return Outcome(
        "indeterminate", origins,
        f"depends on the order of {_order_text(ambiguous)}, which the kernel does not reveal "
        f"({_why_unknown(ambiguous)}): one order gives {first.verdict}, {others}",
        first.path, first.translated_to, first.legs,
    )


# ---------------------------------------------------------------------------------------------
# What the evaluator knows of the host
# ---------------------------------------------------------------------------------------------


def address_facts(host: HostContext, version: int, dest: int, in_interface: str) -> AddressFacts:
    """Address classes and the route partition of the client address space.

    Live, clients without a main-table route get no interface (``None``: rules on the output
    interface are then indeterminate, except ``-o lo``). Offline only the declared interfaces are
    known: a client outside their subnets is assumed to be answered through the interface its
    request arrived on, as a host with its default route there would (README).
    """
    local: list[tuple[int, int]] = [(dest, dest)]
    broadcast: list[tuple[int, int]] = []
    for iface in host.interfaces:
        for a in iface.addresses:
            if a.version != version:
                continue
            if iface.name == "lo" or a.ip.is_loopback:
                local.append((int(a.network.network_address), int(a.network.broadcast_address)))
            else:
                local.append((int(a.ip), int(a.ip)))
                if version == 4 and a.network.prefixlen < 31:
                    b = int(a.network.broadcast_address)
                    broadcast.append((b, b))
    if version == 4:
        local.append((0x7F000000, 0x7FFFFFFF))
        broadcast += [(0, 0xFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF)]
        multicast: IntervalSet = ((0xE0000000, 0xEFFFFFFF),)
        top = (1 << 32) - 1
    else:
        local.append((1, 1))
        multicast = ((0xFF << 120, (1 << 128) - 1),)
        top = (1 << 128) - 1
    local_set = iv.normalize(local)
    routes: list[tuple[IntervalSet, str | None]] = [(local_set, "lo")]
    taken = local_set
    for route in sorted((r for r in host.routes if r.destination.version == version),
                        key=lambda r: -r.destination.prefixlen):
        net = route.destination
        mine = iv.subtract(((int(net.network_address), int(net.broadcast_address)),), taken)
        if mine:
            device = route.device if route.type in ("unicast", "local") else None
            routes.append((mine, device))
            taken = iv.union(taken, mine)
    rest = iv.subtract(((0, top),), taken)
    if rest:
        routes.append((rest, None if host.complete else in_interface))
    return AddressFacts(
        local=local_set, broadcast=iv.normalize(broadcast), multicast=multicast,
        certain=host.complete, routes=tuple(routes),
        bridges=frozenset(i.bridge for i in host.interfaces if i.bridge), bridges_declared=not host.complete,
    )


def _parse_sources(sources: Iterable[str], version: int) -> list[tuple[str, IntervalSet]]:
    out: list[tuple[str, IntervalSet]] = []
    for text in sources or (("0.0.0.0/0",) if version == 4 else ("::/0",)):
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InputError(f"invalid source {text!r}: expected an address or CIDR") from None
        if net.version != version:
            raise InputError(
                f"source {text} is IPv{net.version} but the destination is IPv{version}"
            )
        out.append((str(net) if net.num_addresses > 1 else str(net.network_address),
                    ((int(net.network_address), int(net.broadcast_address)),)))
    return out


def _unevaluated_notes(ruleset: Ruleset) -> tuple[str, ...]:
    skipped = sorted({f"{t.family} {t.name}" for t in ruleset.tables if t.family in ("bridge", "arp")})
    if not skipped:
        return ()
    return (f"not evaluated (bridge/arp layer): {', '.join(skipped)}",)


# ---------------------------------------------------------------------------------------------
# From results to entries: per source, a partition of the port range
# ---------------------------------------------------------------------------------------------


def _entries(
    results: list[Result],
    sources: list[tuple[str, IntervalSet]],
    protocol: str,
    version: int,
    ports: tuple[int, int],
) -> list[ExposureEntry]:
    out: list[ExposureEntry] = []
    for label, space in sources:
        pieces = [(iv.intersect(s, space), d, o) for s, d, o in results]
        pieces = [p for p in pieces if p[0]]
        points = iv.boundaries(p[0] for p in pieces)
        rows: list[tuple[tuple[int, int], tuple[tuple[tuple[int, int], Outcome], ...]]] = []
        for a, b in zip(points, points[1:]):
            here = [(d, o) for s, d, o in pieces if iv.contains_point(s, a)]
            if not here:
                continue
            partition = _partition(here, ports)
            if rows and rows[-1][0][1] + 1 == a and rows[-1][1] == partition:
                rows[-1] = ((rows[-1][0][0], b - 1), partition)
            else:
                rows.append(((a, b - 1), partition))
        single_label = len(rows) == 1 and rows[0][0] == space[0]
        for (lo, hi), partition in rows:
            for sub in _prefixes(version, lo, hi):
                name = label if single_label else sub
                for (plo, phi), o in partition:
                    out.append(ExposureEntry(
                        source=name, protocol=protocol, ports=(plo, phi),  # type: ignore[arg-type]
                        verdict=o.verdict,  # type: ignore[arg-type]
                        decided_by=o.decided_by, reason=o.reason, path=o.path,  # type: ignore[arg-type]
                        translated_to=o.translated_to, legs=o.legs,
                    ))
    return out


def _partition(here: list[tuple[IntervalSet, Outcome]], ports: tuple[int, int]) -> tuple[tuple[tuple[int, int], Outcome], ...]:
    flat = sorted(((lo, hi, o) for d, o in here for lo, hi in d), key=lambda x: x[0])
    merged: list[tuple[tuple[int, int], Outcome]] = []
    for lo, hi, o in flat:
        if merged and merged[-1][1] == o and merged[-1][0][1] + 1 == lo:
            merged[-1] = ((merged[-1][0][0], hi), o)
        else:
            merged.append(((lo, hi), o))
    covered = [r for r, _ in merged]
    if iv.normalize(covered) != (ports,) or sum(h - l + 1 for l, h in covered) != ports[1] - ports[0] + 1:
        raise AssertionError(f"evaluator lost or duplicated ports: {covered}")
    return tuple(merged)


def _prefixes(version: int, lo: int, hi: int) -> list[str]:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    nets = ipaddress.summarize_address_range(cls(lo), cls(hi))
    return [str(n) if n.num_addresses > 1 else str(n.network_address) for n in nets]
