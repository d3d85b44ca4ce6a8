"""What each typed match means for a new inbound connection.

The evaluator's symbolic dimensions are the source address and the *original* destination port
(the one the client chose). Everything else about the packet is concrete at any point of its
path: the arrival interface, the (possibly DNAT-rewritten) destination, marks, conntrack state.
So a match evaluates to one of

* ``True`` / ``False`` — decided by the concrete state;
* :class:`Space` (or a tuple of them) — holds exactly on a sub-space of (saddr, dport);
* :class:`Uncertain` — cannot be known statically (rate limits, unknown extensions, a
  source-port condition a scanner cannot control), carrying the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from auditor.engine import intervals as iv
from auditor.engine.intervals import IntervalSet
from auditor.model.ruleset import (
    TCP,
    AddressMatch,
    AddrTypeMatch,
    ConntrackOriginalMatch,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    FamilyMatch,
    IcmpTypeMatch,
    InterfaceMatch,
    MarkMatch,
    Match,
    NondeterministicMatch,
    PacketTypeMatch,
    PortMatch,
    ProtocolMatch,
    SetElementMatch,
    TcpFlagsMatch,
    UnknownMatch,
    interface_matches,
)

ALL_PORTS: IntervalSet = ((0, 65535),)


@lru_cache(maxsize=1 << 16)
def _norm(ranges: tuple[tuple[int, int], ...]) -> IntervalSet:
    """Rules are evaluated once per region and protocol: normalise each value list once."""
    return iv.normalize(ranges)
TCP_SYN = 0x02


@dataclass(frozen=True)
class Space:
    """A product sub-space; ``None`` leaves that dimension unconstrained."""

    saddr: IntervalSet | None = None
    dport: IntervalSet | None = None


@dataclass(frozen=True)
class Uncertain:
    reason: str


@dataclass(frozen=True)
class Not:
    """The complement of a sub-space (a negated symbolic match)."""

    inner: Union[Space, tuple[Space, ...]]


Cond = Union[bool, Space, tuple[Space, ...], Not, Uncertain]


@dataclass(frozen=True)
class PacketState:
    """The concrete part of a packet and its connection at one point of its path.

    ``ct`` is ``none`` before the conntrack hook (-200) ran, then ``new`` or ``untracked``.
    ``dport`` is ``None`` while the destination port is still the client's (symbolic);
    DNAT/REDIRECT with a port set it to the rewritten range. ``oif`` is ``""`` before routing
    and on the input path (the kernel compares an empty name), ``None`` when routing could not
    be resolved.
    """

    version: int
    protocol: int
    iif: str
    daddr: tuple[int, int]
    orig_daddr: tuple[int, int]
    oif: str | None = ""
    dport: tuple[int, int] | None = None
    mark: int = 0
    ctmark: int = 0
    ct: str = "none"
    notrack: bool = False
    dnat: bool = False


@dataclass(frozen=True)
class AddressFacts:
    """Address classes of the target, for ``addrtype`` / ``fib … type`` matches.

    ``certain`` is false offline when only the declared interfaces are known: an address not
    among them cannot be classified.
    """

    local: IntervalSet
    broadcast: IntervalSet
    multicast: IntervalSet
    certain: bool = True

    def type_of(self, addr: int, version: int) -> str | None:
        if iv.contains_point(self.local, addr):
            return "LOCAL"
        if iv.contains_point(self.multicast, addr):
            return "MULTICAST"
        if iv.contains_point(self.broadcast, addr):
            return "BROADCAST"
        return "UNICAST" if self.certain else None


def _compare_range(value: tuple[int, int], ranges: IntervalSet) -> Cond:
    """A concrete value that may itself be a range (DNAT to a range): all, none, or unknown."""
    inside = iv.intersect(((value[0], value[1]),), ranges)
    if not inside:
        return False
    if inside == ((value[0], value[1]),):
        return True
    return Uncertain("the rewritten destination is a range the kernel chooses from")


_SPORT_REASON = "depends on the client's source port, which a static audit cannot fix"


def _sport(ranges: IntervalSet) -> Cond:
    covered = iv.intersect(_norm(tuple(ranges)), ALL_PORTS)
    if covered == ALL_PORTS:
        return True
    if not covered:
        return False
    return Uncertain(_SPORT_REASON)


def _dport(ranges: IntervalSet, st: PacketState) -> Cond:
    ranges = _norm(tuple(ranges))
    if st.dport is None:
        return Space(dport=ranges)
    return _compare_range(st.dport, ranges)


def _positive(m: Match, st: PacketState, facts: AddressFacts) -> Cond | None:
    """The condition before negation; ``None`` means "never holds, negated or not" (the
    kernel's NFT_BREAK / xt_conntrack without a conntrack entry)."""
    if isinstance(m, ProtocolMatch):
        return st.protocol in m.protocols
    if isinstance(m, PortMatch):
        return _dport(m.ranges, st) if m.field == "dport" else _sport(m.ranges)
    if isinstance(m, AddressMatch):
        if m.version != st.version:
            return None
        if m.field == "saddr":
            return Space(saddr=_norm(m.ranges))
        return _compare_range(st.daddr, _norm(m.ranges))
    if isinstance(m, InterfaceMatch):
        name = st.iif if m.field == "iif" else st.oif
        if name is None:
            return Uncertain("the output interface is unknown (no route information)")
        return any(interface_matches(p, name) for p in m.names)
    if isinstance(m, ConntrackStateMatch):
        if st.ct == "none":
            current = {"invalid"}
        elif st.ct == "untracked":
            current = {"untracked"}
        else:
            current = {"new", "dnat"} if st.dnat else {"new"}
        return bool(current & m.states)
    if isinstance(m, ConntrackStatusMatch):
        if st.ct != "new":
            return None
        return bool(m.statuses & ({"dnat"} if st.dnat else set()))
    if isinstance(m, ConntrackOriginalMatch):
        if st.ct != "new":
            return None
        if m.field == "saddr":
            return Space(saddr=_norm(m.ranges)) if m.version in (None, st.version) else None
        if m.field == "daddr":
            if m.version not in (None, st.version):
                return None
            return _compare_range(st.orig_daddr, _norm(m.ranges))
        if m.field == "dport":
            return Space(dport=_norm(m.ranges))
        return _sport(m.ranges)
    if isinstance(m, AddrTypeMatch):
        return _addrtype(m, st, facts)
    if isinstance(m, MarkMatch):
        if m.kind == "ct" and st.ct != "new":
            return None
        value = st.mark if m.kind == "meta" else st.ctmark
        return (value & m.mask) == m.value
    if isinstance(m, TcpFlagsMatch):
        if st.protocol != TCP:
            return None
        return (TCP_SYN & m.mask) == m.comp
    if isinstance(m, IcmpTypeMatch):
        return None
    if isinstance(m, PacketTypeMatch):
        return bool({"host", "unicast"} & {t.lower() for t in m.types})
    if isinstance(m, FamilyMatch):
        return m.version == st.version
    if isinstance(m, SetElementMatch):
        return _set_elements(m, st)
    if isinstance(m, NondeterministicMatch):
        return Uncertain(f"'{m.text}' depends on rate, history or chance ({m.kind})")
    if isinstance(m, UnknownMatch):
        return Uncertain(f"unsupported match '{m.text}'")
    return Uncertain(f"unsupported match {type(m).__name__}")


def _addrtype(m: AddrTypeMatch, st: PacketState, facts: AddressFacts) -> Cond:
    if m.limit_iface is not None:
        return Uncertain("addrtype with --limit-iface depends on per-interface routes")
    if m.field == "daddr":
        if st.daddr[0] != st.daddr[1]:
            return Uncertain("the rewritten destination is a range the kernel chooses from")
        kind = facts.type_of(st.daddr[0], st.version)
        if kind is None:
            return Uncertain("the destination's address type is unknown offline")
        return kind in m.types
    spaces: list[IntervalSet] = []
    for t in m.types:
        if t == "LOCAL":
            spaces.append(facts.local)
        elif t == "MULTICAST":
            spaces.append(facts.multicast)
        elif t == "BROADCAST" and st.version == 4:
            spaces.append(facts.broadcast)
        else:
            return Uncertain(f"source address type {t} is not modelled")
    s: IntervalSet = ()
    for x in spaces:
        s = iv.union(s, x)
    return Space(saddr=s)


def _set_elements(m: SetElementMatch, st: PacketState) -> Cond:
    if m.version is not None and m.version != st.version:
        return None
    spaces: list[Space] = []
    uncertain: str | None = None
    for element in m.elements:
        saddr: IntervalSet | None = None
        dport: IntervalSet | None = None
        holds: Cond = True
        for fieldname, value in zip(m.fields, element):
            if fieldname == "saddr":
                saddr = ((value[0], value[1]),)  # type: ignore[index]
                continue
            if fieldname == "dport":
                c = _dport(((value[0], value[1]),), st)  # type: ignore[index]
                if isinstance(c, Space):
                    dport = c.dport
                    continue
            elif fieldname == "daddr":
                c = _compare_range(st.daddr, ((value[0], value[1]),))  # type: ignore[index]
            elif fieldname == "sport":
                c = _sport(((value[0], value[1]),))  # type: ignore[index]
            elif fieldname == "l4proto":
                c = value[0] <= st.protocol <= value[1]  # type: ignore[index]
            elif fieldname in ("iif", "oif"):
                name = st.iif if fieldname == "iif" else st.oif
                c = Uncertain("output interface unknown") if name is None else interface_matches(str(value), name)
            else:
                c = Uncertain(f"set field {fieldname} is not modelled")
            if c is False:
                holds = False
                break
            if isinstance(c, Uncertain):
                uncertain = c.reason
                holds = False
                break
        if holds:
            spaces.append(Space(saddr=saddr, dport=dport))
    if uncertain is not None:
        return Uncertain(f"set @{m.set_name}: {uncertain}")
    if any(s.saddr is None and s.dport is None for s in spaces):
        return True
    if not spaces:
        return False
    return tuple(spaces)


def condition(m: Match, st: PacketState, facts: AddressFacts) -> Cond:
    """The match's condition for packets in state ``st``, negation applied."""
    c = _positive(m, st, facts)
    if c is None:
        return False
    if not getattr(m, "negated", False) or isinstance(c, Uncertain):
        return c
    if isinstance(c, bool):
        return not c
    return Not(c)
