"""What each typed match means for one packet of a connection.

The evaluator's symbolic dimensions are the *client's* address and the destination port the client
chose; everything else about a packet is concrete at any point of its path: interfaces, the service
side's (possibly DNAT-rewritten) address and port, marks, conntrack state, TCP flags. A packet
travels either from the client to the service (``reply=False``: the client is the source) or back
(``reply=True``: the client is the destination), so a match on ``saddr`` means the client in one
direction and the service in the other. A match evaluates to one of

* ``True`` / ``False`` — decided by the concrete state;
* :class:`Space` (or a tuple of them) — holds exactly on a sub-space of (client address, port);
* :class:`Assumed` — decided for one new client under a stated assumption (a rate limit that a
  first connection cannot exceed), which the verdict's reason repeats;
* :class:`Uncertain` — cannot be known statically (history, chance, unknown extensions, the
  client's own source port), carrying the reason.
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
    ConntrackDirectionMatch,
    ConntrackOriginalMatch,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    FamilyMatch,
    IcmpTypeMatch,
    InterfaceMatch,
    MarkMatch,
    MaskedAddressMatch,
    Match,
    NondeterministicMatch,
    PacketTypeMatch,
    PayloadMatch,
    PhysdevMatch,
    PortMatch,
    ProtocolMatch,
    ReversePathMatch,
    SetElementMatch,
    TcpFlagsMatch,
    UnknownMatch,
    interface_matches,
)

ALL_PORTS: IntervalSet = ((0, 65535),)
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

#: conntrack states that have a conntrack entry behind them (ct mark, status, original tuple)
_TRACKED = frozenset({"new", "established", "related"})


@lru_cache(maxsize=1 << 16)
def _norm(ranges: tuple[tuple[int, int], ...]) -> IntervalSet:
    """Rules are evaluated once per region and packet: normalise each value list once."""
    return iv.normalize(ranges)


@dataclass(frozen=True)
class Space:
    """A product sub-space; ``None`` leaves that dimension unconstrained."""

    saddr: IntervalSet | None = None
    dport: IntervalSet | None = None


@dataclass(frozen=True)
class Uncertain:
    reason: str


@dataclass(frozen=True)
class Assumed:
    """A definite answer that rests on an assumption the report must state."""

    holds: bool
    note: str


@dataclass(frozen=True)
class Masked:
    """The client addresses ``x`` with ``x & mask == value`` (a mask that is not a prefix):
    a sub-space computed per region (:func:`~auditor.engine.intervals.masked`), as it may be
    too fragmented to hold for every address at once."""

    mask: int
    value: int
    bits: int


@dataclass(frozen=True)
class Not:
    """The complement of a sub-space (a negated symbolic match)."""

    inner: Space | tuple[Space, ...] | Masked


Cond = Union[bool, Space, tuple[Space, ...], Masked, Not, Uncertain, Assumed]
#: A match's condition before negation (only :func:`condition` builds a :class:`Not`).
Positive = Union[bool, Space, tuple[Space, ...], Masked, Uncertain, Assumed]


@dataclass(frozen=True)
class PacketState:
    """The concrete part of one packet and its connection at one point of its path.

    ``daddr``/``dport`` describe the *service* side whatever the direction: its address (after
    DNAT where it was rewritten) and its port (``None`` while that is still the port the client
    chose — the symbolic dimension). ``orig_daddr`` is the address the client chose.

    ``ct`` is ``none`` before the conntrack hook (-200) ran — the kernel's ``ct state`` then
    reads *invalid* — and afterwards ``new``, ``established``, ``related``, ``untracked``,
    ``invalid``, or ``pickup`` (conntrack would have to pick up a connection whose earlier
    packets it did not see; not modelled). ``tracked_as`` is what the conntrack hook will make
    of this packet. ``oif`` is ``""`` where the kernel compares an empty name (before routing,
    on the input path) and ``None`` when routing could not be resolved; ``iif`` is ``""`` for
    packets this host generates.
    """

    version: int
    protocol: int
    iif: str | None
    daddr: tuple[int, int]
    orig_daddr: tuple[int, int]
    oif: str | None = ""
    dport: tuple[int, int] | None = None
    mark: int = 0
    ctmark: int = 0
    ct: str = "none"
    tracked_as: str = "new"
    notrack: bool = False
    dnat: bool = False  # IPS_DST_NAT: a DNAT/REDIRECT changed the tuple
    nat_done: bool = False  # the nat chains ran for this connection (even an identity mapping)
    snat: bool = False  # IPS_SRC_NAT
    reply: bool = False  # False: client → service; True: service → client
    ct_reply: bool = False  # the conntrack direction (IP_CT_DIR_REPLY)
    tcp_flags: int = TCP_SYN
    icmp: tuple[int, int] | None = None  # type and code of an ICMP packet (reject answers)
    payload: bool = False  # whether the packet carries data
    confirmed: bool = False
    seen_reply: bool = False
    assured: bool | None = False  # None: depends on timing (UDP streams)
    client_hidden: bool = False  # a reply still addressed to the SNAT address (before de-SNAT)
    #: the connection's DNAT translation (service address, port), applied by the nat core to
    #: the client's later packets
    nat_to: tuple[tuple[int, int], tuple[int, int] | None] | None = None


@dataclass(frozen=True)
class AddressFacts:
    """What the evaluator knows about the target's addresses and routes.

    ``local``/``broadcast``/``multicast`` classify addresses for ``addrtype`` / ``fib … type``;
    ``certain`` is false offline when only the declared interfaces are known (an address not
    among them cannot be classified). ``routes`` partitions the address space by the device of
    the best route (``"lo"`` for the host's own addresses, ``None`` where no route is known), for
    the interface replies leave by and for reverse-path checks. ``bridges`` names interfaces that
    have bridge ports (``None``: unknown); ``bridges_declared``: offline, they are only the ones
    the user declared (``exposure --bridge``), every other interface taken as a plain one — an
    assumption each verdict that rests on it states.
    """

    local: IntervalSet
    broadcast: IntervalSet
    multicast: IntervalSet
    certain: bool = True
    routes: tuple[tuple[IntervalSet, str | None], ...] = ()
    bridges: frozenset[str] | None = frozenset()
    bridges_declared: bool = False

    def type_of(self, addr: int) -> str | None:
        if iv.contains_point(self.local, addr):
            return "LOCAL"
        if iv.contains_point(self.multicast, addr):
            return "MULTICAST"
        if iv.contains_point(self.broadcast, addr):
            return "BROADCAST"
        return "UNICAST" if self.certain else None

    def route_device(self, addr: int) -> str | None:
        for space, device in self.routes:
            if iv.contains_point(space, addr):
                return device
        return None

    def addresses_routed_via(self, predicate: DevicePredicate) -> IntervalSet:
        out: IntervalSet = ()
        for space, device in self.routes:
            if predicate(device):
                out = iv.union(out, space)
        return out


class DevicePredicate:
    """Which route devices pass a reverse-path check (strict: the arrival interface only)."""

    def __init__(self, strict: bool, iif: str | None) -> None:
        self.strict, self.iif = strict, iif

    def __call__(self, device: str | None) -> bool:
        if device is None or device == "lo":
            return False
        return device == self.iif if self.strict else True


def _compare_range(value: tuple[int, int], ranges: IntervalSet) -> Positive:
    """A concrete value that may itself be a range (DNAT to a range): all, none, or unknown."""
    inside = iv.intersect(((value[0], value[1]),), ranges)
    if not inside:
        return False
    if inside == ((value[0], value[1]),):
        return True
    return Uncertain("the rewritten destination is a range the kernel chooses from")


_SPORT_REASON = "depends on the client's source port, which a static audit cannot fix"


def _client_port(ranges: IntervalSet) -> Positive:
    covered = iv.intersect(_norm(tuple(ranges)), ALL_PORTS)
    if covered == ALL_PORTS:
        return True
    if not covered:
        return False
    return Uncertain(_SPORT_REASON)


def _service_port(ranges: IntervalSet, st: PacketState) -> Positive:
    ranges = _norm(tuple(ranges))
    if st.dport is None:
        return Space(dport=ranges)
    return _compare_range(st.dport, ranges)


def _client_address(ranges: IntervalSet, st: PacketState) -> Positive:
    if st.client_hidden:
        return Uncertain("the reply is still addressed to the source-NAT address here")
    return Space(saddr=_norm(tuple(ranges)))


def _is_client_side(field: str, st: PacketState) -> bool:
    """``saddr`` is the client's address on the way in, ``daddr`` on the way back."""
    return (field == "saddr") != st.reply


def _positive(m: Match, st: PacketState, facts: AddressFacts) -> Positive | None:
    """The condition before negation; ``None`` means "never holds, negated or not" (the
    kernel's NFT_BREAK / xt_conntrack without a conntrack entry)."""
    if isinstance(m, ProtocolMatch):
        return st.protocol in m.protocols
    if isinstance(m, PortMatch):
        if st.icmp is not None:
            return None
        if (m.field == "dport") != st.reply:
            return _service_port(m.ranges, st)
        return _client_port(m.ranges)
    if isinstance(m, AddressMatch):
        if m.version != st.version:
            return None
        if _is_client_side(m.field, st):
            return _client_address(m.ranges, st)
        return _compare_range(st.daddr, _norm(m.ranges))
    if isinstance(m, MaskedAddressMatch):
        if m.version != st.version:
            return None
        bits = 32 if m.version == 4 else 128
        if _is_client_side(m.field, st):
            if st.client_hidden:
                return Uncertain("the reply is still addressed to the source-NAT address here")
            return Masked(m.mask, m.value, bits)
        held = iv.masked((st.daddr,), m.mask, m.value, bits)
        if held == (st.daddr,):
            return True
        if held == ():
            return False
        return Uncertain("the rewritten destination is a range the kernel chooses from")
    if isinstance(m, InterfaceMatch):
        return _interface(m, st)
    if isinstance(m, ConntrackStateMatch):
        return _ct_state(m, st)
    if isinstance(m, ConntrackStatusMatch):
        return _ct_status(m, st)
    if isinstance(m, ConntrackOriginalMatch):
        return _ct_original(m, st)
    if isinstance(m, ConntrackDirectionMatch):
        if st.ct not in _TRACKED:
            return None if st.ct != "pickup" else Uncertain(_PICKUP)
        return (m.direction == "reply") == st.ct_reply
    if isinstance(m, AddrTypeMatch):
        return _addrtype(m, st, facts)
    if isinstance(m, MarkMatch):
        if m.kind == "ct" and st.ct not in _TRACKED:
            return None if st.ct != "pickup" else Uncertain(_PICKUP)
        value = st.mark if m.kind == "meta" else st.ctmark
        return (value & m.mask) == m.value
    if isinstance(m, TcpFlagsMatch):
        if st.protocol != TCP:
            return None
        return (st.tcp_flags & m.mask) == m.comp
    if isinstance(m, IcmpTypeMatch):
        return _icmp_type(m, st)
    if isinstance(m, PacketTypeMatch):
        return bool({"host", "unicast"} & {t.lower() for t in m.types})
    if isinstance(m, FamilyMatch):
        return m.version == st.version
    if isinstance(m, SetElementMatch):
        return _set_elements(m, st)
    if isinstance(m, NondeterministicMatch):
        if m.first_client is None:
            return Uncertain(f"'{m.text}' depends on rate, history or chance ({m.kind})")
        return Assumed(m.first_client, f"assuming one new client, within '{m.text}'")
    if isinstance(m, PhysdevMatch):
        return _physdev(m, st, facts)
    if isinstance(m, ReversePathMatch):
        return _reverse_path(m, st, facts)
    if isinstance(m, PayloadMatch):
        if st.protocol == TCP and not st.payload:
            return False
        return Uncertain(f"'{m.text}' depends on the packet's content")
    if isinstance(m, UnknownMatch):
        return Uncertain(f"unsupported match '{m.text}'")
    return Uncertain(f"unsupported match {type(m).__name__}")


_PICKUP = "conntrack would pick up a connection whose first packets it did not track"


def _interface(m: InterfaceMatch, st: PacketState) -> Positive:
    name = st.iif if m.field == "iif" else st.oif
    if name is None:
        if m.field == "oif" and all(p == "lo" for p in m.names):
            return False  # a packet to a remote client never leaves by the loopback
        which = "input" if m.field == "iif" else "output"
        return Uncertain(f"the {which} interface is unknown (no route information)")
    return any(interface_matches(p, name) for p in m.names)


def _ct_state(m: ConntrackStateMatch, st: PacketState) -> Positive:
    if st.ct == "pickup":
        return Uncertain(_PICKUP)
    if st.ct == "none":
        current = {"invalid"}
    elif st.ct in _TRACKED:
        current = {st.ct}
        if st.dnat:
            current.add("dnat")
        if st.snat:
            current.add("snat")
    else:
        current = {st.ct}
    return bool(current & m.states)


_STATUS_ALIASES = {"seen-reply": "seen_reply"}


def _ct_status(m: ConntrackStatusMatch, st: PacketState) -> Positive | None:
    if st.ct == "pickup":
        return Uncertain(_PICKUP)
    if st.ct not in _TRACKED:
        return None
    wanted = {_STATUS_ALIASES.get(s, s) for s in m.statuses}
    have = {name for name, on in (("dnat", st.dnat), ("snat", st.snat), ("confirmed", st.confirmed),
                                  ("seen_reply", st.seen_reply), ("assured", st.assured is True)) if on}
    if wanted & have:
        return True
    if "assured" in wanted and st.assured is None:
        return Uncertain("whether conntrack marks a UDP flow assured depends on its timing")
    known = {"dnat", "snat", "confirmed", "seen_reply", "assured", "expected", "dying"}
    if wanted - known:
        return Uncertain(f"conntrack status {', '.join(sorted(wanted - known))} is not modelled")
    return False


def _ct_original(m: ConntrackOriginalMatch, st: PacketState) -> Positive | None:
    if st.ct == "pickup":
        return Uncertain(_PICKUP)
    if st.ct not in _TRACKED:
        return None
    if m.field == "saddr":
        return Space(saddr=_norm(m.ranges)) if m.version in (None, st.version) else None
    if m.field == "daddr":
        if m.version not in (None, st.version):
            return None
        return _compare_range(st.orig_daddr, _norm(m.ranges))
    if m.field == "dport":
        return Space(dport=_norm(m.ranges))
    return _client_port(m.ranges)


_ROUTE_TYPES = frozenset({"LOCAL", "UNICAST", "BROADCAST", "MULTICAST"})


def _addrtype(m: AddrTypeMatch, st: PacketState, facts: AddressFacts) -> Positive:
    if m.limit_iface is not None:
        return Uncertain("addrtype with --limit-iface depends on per-interface routes")
    if m.types - _ROUTE_TYPES:
        return Uncertain(f"address type {', '.join(sorted(m.types - _ROUTE_TYPES))} is not modelled")
    overlapping = st.version == 6 and not m.fib
    if not _is_client_side(m.field, st):
        if st.daddr[0] != st.daddr[1]:
            return Uncertain("the rewritten destination is a range the kernel chooses from")
        kind = facts.type_of(st.daddr[0])
        if kind is None:
            return Uncertain("the destination's address type is unknown offline")
        return _type_holds(m.types, kind, overlapping)
    if st.client_hidden:
        return Uncertain("the reply is still addressed to the source-NAT address here")
    # A client's address is classified by the host's own tables: local, multicast, broadcast
    # or else unicast. (A packet from outside with a local source is a martian the kernel drops
    # before any hook, so an incomplete offline view of local addresses cannot mislead here.)
    classes = [("LOCAL", facts.local), ("MULTICAST", facts.multicast)]
    if st.version == 4:
        classes.append(("BROADCAST", facts.broadcast))
    taken: IntervalSet = ()
    holds: IntervalSet = ()
    for kind, space in classes:
        mine = iv.subtract(space, taken)
        taken = iv.union(taken, space)
        if _type_holds(m.types, kind, overlapping):
            holds = iv.union(holds, mine)
    if _type_holds(m.types, "UNICAST", overlapping):
        top = (1 << 32) - 1 if st.version == 4 else (1 << 128) - 1
        holds = iv.union(holds, iv.subtract(((0, top),), taken))
    return Space(saddr=holds)


def _type_holds(wanted: frozenset[str], kind: str, overlapping: bool) -> bool:
    """Whether an address of route type ``kind`` has one of the ``wanted`` types. For the IPv6
    iptables match the classes overlap and all conditions must hold (``match_type6``): UNICAST
    and MULTICAST test the address, LOCAL its route."""
    if not overlapping:
        return kind in wanted
    unicast = kind != "MULTICAST"
    if "MULTICAST" in wanted and unicast:
        return False
    if "UNICAST" in wanted and not unicast:
        return False
    if "LOCAL" in wanted:
        return kind == "LOCAL"
    return True


# ICMP (v4) and ICMPv6 type names as iptables and nft spell them, with the code where a name
# implies one (iptables' "port-unreachable" is type 3 code 3).
_ICMP4 = {
    "echo-reply": (0, None), "pong": (0, None), "destination-unreachable": (3, None),
    "network-unreachable": (3, 0), "host-unreachable": (3, 1), "protocol-unreachable": (3, 2),
    "port-unreachable": (3, 3), "fragmentation-needed": (3, 4), "source-route-failed": (3, 5),
    "network-unknown": (3, 6), "host-unknown": (3, 7), "network-prohibited": (3, 9),
    "host-prohibited": (3, 10), "TOS-network-unreachable": (3, 11), "TOS-host-unreachable": (3, 12),
    "communication-prohibited": (3, 13), "admin-prohibited": (3, 13), "source-quench": (4, None),
    "redirect": (5, None), "echo-request": (8, None), "ping": (8, None),
    "router-advertisement": (9, None), "router-solicitation": (10, None), "time-exceeded": (11, None),
    "ttl-exceeded": (11, None), "parameter-problem": (12, None), "timestamp-request": (13, None),
    "timestamp-reply": (14, None), "info-request": (15, None), "info-reply": (16, None),
    "address-mask-request": (17, None), "address-mask-reply": (18, None),
}
_ICMP6 = {
    "destination-unreachable": (1, None), "no-route": (1, 0), "communication-prohibited": (1, 1),
    "admin-prohibited": (1, 1), "beyond-scope": (1, 2), "address-unreachable": (1, 3),
    "port-unreachable": (1, 4), "failed-policy": (1, 5), "reject-route": (1, 6),
    "packet-too-big": (2, None), "time-exceeded": (3, None), "ttl-zero-during-transit": (3, 0),
    "parameter-problem": (4, None), "echo-request": (128, None), "echo-reply": (129, None),
    "mld-listener-query": (130, None), "mld-listener-report": (131, None),
    "mld-listener-reduction": (132, None), "mld-listener-done": (132, None),
    "nd-router-solicit": (133, None), "router-solicitation": (133, None),
    "nd-router-advert": (134, None), "router-advertisement": (134, None),
    "nd-neighbor-solicit": (135, None), "neighbour-solicitation": (135, None),
    "neighbor-solicitation": (135, None), "nd-neighbor-advert": (136, None),
    "neighbour-advertisement": (136, None), "neighbor-advertisement": (136, None),
    "nd-redirect": (137, None), "redirect": (137, None),
}


def icmp_type(version: int, text: str) -> tuple[int, int | None] | None:
    """``port-unreachable`` → (3, 3); ``3/3``, ``3``, ``any`` (→ (-1, None)); ``None`` if unknown."""
    t = text.strip()
    if t == "any":
        return (-1, None)
    if t.replace("/", "").isdigit():
        kind, _, code = t.partition("/")
        return int(kind), int(code) if code else None
    return (_ICMP4 if version == 4 else _ICMP6).get(t)


def _icmp_type(m: IcmpTypeMatch, st: PacketState) -> Positive | None:
    if st.icmp is None or m.version != st.version:
        return None
    for text in m.types:
        want = icmp_type(m.version, text)
        if want is None:
            return Uncertain(f"ICMP type {text!r} is not known")
        kind, code = want
        if kind == -1 or (kind == st.icmp[0] and code in (None, st.icmp[1])):
            return True
    return False


def _physdev(m: PhysdevMatch, st: PacketState, facts: AddressFacts) -> Positive:
    if facts.bridges is None:
        return Uncertain(f"'{m.text}': whether packets cross a bridge is unknown offline")
    crossing = {st.iif, st.oif} & facts.bridges
    if crossing:
        return Uncertain(f"'{m.text}': the packet crosses bridge {sorted(str(b) for b in crossing)[0]}")
    # xt_physdev without bridge information: false if any option is required (not inverted)
    holds = not (m.options - m.inverted)
    if facts.bridges_declared:
        names = " or ".join(sorted({n for n in (st.iif, st.oif) if n})) or "the interface"
        return Assumed(holds, f"assuming {names} is no bridge (offline, only declared bridges are)")
    return holds


def _reverse_path(m: ReversePathMatch, st: PacketState, facts: AddressFacts) -> Positive:
    predicate = DevicePredicate(m.strict, st.iif)
    if st.reply:
        if st.daddr[0] != st.daddr[1]:
            return Uncertain("the rewritten destination is a range the kernel chooses from")
        return predicate(facts.route_device(st.daddr[0]))
    if st.client_hidden:
        return Uncertain("the reply is still addressed to the source-NAT address here")
    return Space(saddr=facts.addresses_routed_via(predicate))


def _set_elements(m: SetElementMatch, st: PacketState) -> Positive | None:
    if m.version is not None and m.version != st.version:
        return None
    spaces: list[Space] = []
    uncertain: str | None = None
    for element in m.elements:
        saddr: IntervalSet | None = None
        dport: IntervalSet | None = None
        holds = True
        for fieldname, value in zip(m.fields, element):
            c: Cond
            if fieldname in ("saddr", "daddr"):
                r = value if isinstance(value, tuple) else (0, -1)
                if _is_client_side(fieldname, st):
                    if st.client_hidden:
                        c = Uncertain("the reply is still addressed to the source-NAT address here")
                    else:
                        saddr = ((r[0], r[1]),) if saddr is None else iv.intersect(saddr, ((r[0], r[1]),))
                        continue
                else:
                    c = _compare_range(st.daddr, ((r[0], r[1]),))
            elif fieldname in ("sport", "dport"):
                r = value if isinstance(value, tuple) else (0, -1)
                if st.icmp is not None:
                    c = False
                elif (fieldname == "dport") != st.reply:
                    c = _service_port(((r[0], r[1]),), st)
                    if isinstance(c, Space):
                        dport = c.dport
                        continue
                else:
                    c = _client_port(((r[0], r[1]),))
            elif fieldname == "l4proto":
                r = value if isinstance(value, tuple) else (0, -1)
                c = r[0] <= st.protocol <= r[1]
            elif fieldname in ("iif", "oif"):
                name = st.iif if fieldname == "iif" else st.oif
                c = Uncertain("interface unknown") if name is None else interface_matches(str(value), name)
            elif fieldname == "ctstate":
                c = _ct_state(ConntrackStateMatch(frozenset({str(value)})), st)
            elif fieldname == "nfproto":
                r = value if isinstance(value, tuple) else (0, -1)
                c = r[0] <= st.version <= r[1]
            else:
                c = Uncertain(f"set field {fieldname} is not modelled")
            if isinstance(c, Uncertain):
                uncertain = c.reason
                holds = False
                break
            if c is not True:
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
    if isinstance(c, Assumed):
        return Assumed(not c.holds, c.note)
    return Not(c)
