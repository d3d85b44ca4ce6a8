"""The firewall as the kernel runs it: tables, chains, rules, typed matches and statements.

One model for every front end (iptables-legacy, iptables-nft, nftables, ruleset files). Readers
translate what they read into these types; anything they do not understand becomes an explicit
:class:`UnknownMatch` or :class:`UnknownStatement` carrying its text, so the evaluator can say
*indeterminate, because of this rule* instead of guessing.

Value conventions (chosen so the evaluator can work on integers without parsing):

* addresses are inclusive integer ranges ``(first, last)`` with an explicit IP version (4 or 6);
* ports are inclusive ranges ``(lo, hi)``;
* IP protocols are numbers (6 = tcp, 17 = udp, …; see :data:`PROTOCOL_NUMBERS`);
* interface names may end in ``+`` (iptables) or ``*`` (nft) meaning "any name with this prefix".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal, Union

Backend = Literal["iptables-legacy", "iptables-nft", "nftables", "file"]
Syntax = Literal["iptables", "nft"]
Range = tuple[int, int]

PROTOCOL_NUMBERS: dict[str, int] = {
    "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41, "ipv6-route": 43,
    "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ospf": 89, "vrrp": 112, "l2tp": 115, "sctp": 132,
    "mh": 135, "udplite": 136,
}
PROTOCOL_NAMES: dict[int, str] = {
    1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 8: "egp", 17: "udp", 41: "ipv6", 43: "ipv6-route",
    44: "ipv6-frag", 46: "rsvp", 47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp", 59: "ipv6-nonxt",
    60: "ipv6-opts", 89: "ospf", 112: "vrrp", 115: "l2tp", 132: "sctp", 135: "mh", 136: "udplite",
}
TCP, UDP = 6, 17

# The hooks in path order: inbound (ingress → prerouting → input/forward), then outbound
# (output → postrouting → egress).
HOOKS = ("ingress", "prerouting", "input", "forward", "output", "postrouting", "egress")


def protocol_number(name: str) -> int:
    """``"tcp"`` → 6; numeric strings pass through. Raises ``ValueError`` for unknown names."""
    name = name.lower()
    if name.isdigit():
        return int(name)
    return PROTOCOL_NUMBERS[name]


def protocol_name(number: int) -> str:
    return PROTOCOL_NAMES.get(number, str(number))


def address_range(text: str) -> tuple[int, Range]:
    """Parse ``1.2.3.4``, ``198.18.0.0/15`` or ``a-b`` into (version, (first, last))."""
    if "-" in text:
        lo_s, hi_s = text.split("-", 1)
        lo, hi = ipaddress.ip_address(lo_s.strip()), ipaddress.ip_address(hi_s.strip())
        if lo.version != hi.version or int(lo) > int(hi):
            raise ValueError(f"invalid address range {text!r}")
        return lo.version, (int(lo), int(hi))
    net = ipaddress.ip_network(text.strip(), strict=False)
    return net.version, (int(net.network_address), int(net.broadcast_address))


def format_address_range(version: int, r: Range) -> str:
    """Render a range as ``addr``, ``net/len`` when it is one prefix, else ``first-last``."""
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    first, last = cls(r[0]), cls(r[1])
    if first == last:
        return str(first)
    nets = list(ipaddress.summarize_address_range(first, last))
    if len(nets) == 1:
        return str(nets[0])
    return f"{first}-{last}"


def interface_matches(pattern: str, name: str) -> bool:
    """iptables ``eth+`` / nft ``eth*`` are prefix wildcards; anything else is an exact name."""
    if pattern.endswith("+") or pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return name == pattern


# --------------------------------------------------------------------------------------------
# Matches. Each has ``negated``; a match holds when its condition is true XOR negated.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolMatch:
    """Layer-4 protocol (``-p``, ``meta l4proto``, ``ip protocol``, implied by ``tcp dport``)."""

    protocols: frozenset[int]
    negated: bool = False


@dataclass(frozen=True)
class PortMatch:
    """Transport port: ``field`` is ``"sport"`` or ``"dport"``. Requires a protocol with ports."""

    field: Literal["sport", "dport"]
    ranges: tuple[Range, ...]
    negated: bool = False
    set_name: str | None = None  # named set / ipset the values came from, for display


@dataclass(frozen=True)
class AddressMatch:
    """Source or destination address ranges of one IP version."""

    field: Literal["saddr", "daddr"]
    version: int
    ranges: tuple[Range, ...]
    negated: bool = False
    set_name: str | None = None


@dataclass(frozen=True)
class MaskedAddressMatch:
    """``address & mask == value`` with a mask that is not a prefix: OpenWrt fw4's IPv6 suffix
    matches (``ip6 saddr & ::ffff:ffff:ffff:ffff == ::1234``, "this host in any /64"), iptables
    ``-s 198.18.0.1/255.255.0.255``."""

    field: Literal["saddr", "daddr"]
    version: int
    mask: int
    value: int
    negated: bool = False


@dataclass(frozen=True)
class InterfaceMatch:
    """``-i``/``-o``, ``iifname``/``oifname`` (``iif``/``oif`` by index are read as names)."""

    field: Literal["iif", "oif"]
    names: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class ConntrackStateMatch:
    """``-m conntrack --ctstate`` / ``-m state`` / ``ct state``.

    States are lower-case: new, established, related, invalid, untracked, and the iptables
    pseudo-states snat and dnat.
    """

    states: frozenset[str]
    negated: bool = False


@dataclass(frozen=True)
class ConntrackStatusMatch:
    """``--ctstatus`` / ``ct status``: expected, seen_reply, assured, confirmed, snat, dnat."""

    statuses: frozenset[str]
    negated: bool = False


@dataclass(frozen=True)
class ConntrackOriginalMatch:
    """``--ctorigdst``/``--ctorigdstport``/``ct original ip daddr`` …: the pre-NAT tuple."""

    field: Literal["saddr", "daddr", "sport", "dport"]
    ranges: tuple[Range, ...]
    version: int | None = None  # for address fields
    negated: bool = False


@dataclass(frozen=True)
class AddrTypeMatch:
    """``-m addrtype`` / ``fib daddr type``: LOCAL, UNICAST, BROADCAST, MULTICAST, …

    ``fib`` is true for nft's ``fib … type``, which gives each address one route type. The
    iptables match gives one type per address for IPv4 too, but for IPv6 it tests classes that
    overlap: a local unicast address is both LOCAL and UNICAST (xt_addrtype ``match_type6``)."""

    field: Literal["saddr", "daddr"]
    types: frozenset[str]  # upper case, as iptables prints them
    negated: bool = False
    limit_iface: Literal["in", "out"] | None = None
    fib: bool = False


@dataclass(frozen=True)
class MarkMatch:
    """Packet mark (``-m mark``, ``meta mark``) or connection mark (``-m connmark``, ``ct mark``).

    Holds when ``(mark & mask) == value``.
    """

    kind: Literal["meta", "ct"]
    value: int
    mask: int = 0xFFFFFFFF
    negated: bool = False


@dataclass(frozen=True)
class TcpFlagsMatch:
    """``--tcp-flags MASK COMP`` / ``--syn`` / ``tcp flags & mask == comp``: (flags & mask) == comp."""

    mask: int
    comp: int
    negated: bool = False


@dataclass(frozen=True)
class IcmpTypeMatch:
    """``--icmp-type`` / ``icmp type``: only ever true for ICMP packets."""

    version: int
    types: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class PacketTypeMatch:
    """``-m pkttype`` / ``meta pkttype``: unicast, broadcast, multicast, host, other."""

    types: frozenset[str]
    negated: bool = False


@dataclass(frozen=True)
class FamilyMatch:
    """``meta nfproto ipv4`` in inet tables, or the implicit family of ``ip saddr`` there."""

    version: int
    negated: bool = False


@dataclass(frozen=True)
class SetElementMatch:
    """Membership of a tuple of fields in a set: ipset ``--match-set S src,dst`` or an nft
    concatenation ``ip saddr . tcp dport @S``.

    ``fields`` name packet fields (saddr, daddr, sport, dport, l4proto, iif, oif, ctstate,
    nfproto — the IP version as a range ``(4, 4)``/``(6, 6)``, for ``meta protocol vmap``). Each
    element gives, per field, an inclusive range (numeric fields) or a name (interfaces, and
    conntrack states such as ``established`` — so ``ct state vmap { … }`` is a
    :class:`VerdictMap` over the field ``ctstate``). An element
    whose port field carries a protocol (ipset ``tcp:80``) puts it in an ``l4proto`` field.
    """

    set_name: str
    fields: tuple[str, ...]
    elements: tuple[tuple[Range | str, ...], ...]
    version: int | None = None
    negated: bool = False


@dataclass(frozen=True)
class NondeterministicMatch:
    """Known matches whose outcome depends on history or chance (limit, recent, statistic,
    hashlimit, connlimit, quota, numgen, time …).

    ``first_client`` is what the (positive) match gives for the packets of *one new client*
    that has sent nothing before, where that is decidable: ``True`` for "under a positive rate
    or count limit" (``limit rate 10/second``, ``ct count 3``, ``recent --set``), ``False`` for
    "over it" (``limit rate over …``, ``meter … limit rate over``, ``ct count over N``, N ≥ 1);
    ``None`` where the outcome depends on history the model cannot bound (``recent --rcheck``,
    ``statistic``, ``quota``, ``time``) — then it is indeterminate.
    """

    kind: str
    text: str
    negated: bool = False
    first_client: bool | None = None


@dataclass(frozen=True)
class ConntrackDirectionMatch:
    """``ct direction original|reply`` / ``--ctdir ORIGINAL|REPLY``."""

    direction: Literal["original", "reply"]
    negated: bool = False


@dataclass(frozen=True)
class PhysdevMatch:
    """``-m physdev``: bridge port conditions. ``options`` lists the options given (``in``,
    ``out``, ``is-in``, ``is-out``, ``is-bridged``), ``inverted`` those written with ``!``;
    ``text`` keeps the original for display. For a packet that did not cross a bridge the
    kernel's answer follows from these alone (xt_physdev without bridge info)."""

    options: frozenset[str]
    inverted: frozenset[str]
    text: str
    negated: bool = False


@dataclass(frozen=True)
class ReversePathMatch:
    """Reverse-path check: ``-m rpfilter [--loose]`` (holds when the check *passes*) and nft
    ``fib saddr [. iif] oif missing`` (read as the negation: holds when it fails).

    ``strict``: the route back to the source must leave through the arrival interface;
    otherwise (loose) any route back will do."""

    strict: bool
    negated: bool = False


@dataclass(frozen=True)
class PayloadMatch:
    """A match on packet content (``-m string``, ``-m u32``, nft raw payload ``@th,…``):
    never true for a TCP segment without payload (SYN, SYN-ACK, bare ACK); otherwise unknown."""

    text: str
    negated: bool = False


@dataclass(frozen=True)
class UnknownMatch:
    """A match the model does not understand, kept verbatim. Never dropped, never guessed."""

    text: str
    negated: bool = False


Match = Union[
    ProtocolMatch, PortMatch, AddressMatch, MaskedAddressMatch, InterfaceMatch, ConntrackStateMatch,
    ConntrackStatusMatch, ConntrackOriginalMatch, AddrTypeMatch, MarkMatch, TcpFlagsMatch,
    IcmpTypeMatch, PacketTypeMatch, FamilyMatch, SetElementMatch, NondeterministicMatch,
    ConntrackDirectionMatch, PhysdevMatch, ReversePathMatch, PayloadMatch, UnknownMatch,
]

# --------------------------------------------------------------------------------------------
# Statements: verdicts end evaluation of the rule; effects run and evaluation continues.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """accept, drop, reject, return, continue, queue, jump CHAIN, goto CHAIN.

    ``detail`` keeps the reject variant (``icmp-port-unreachable``, ``tcp-reset`` …) or the queue
    number, for display; the evaluator reports every reject as ``reject``.
    """

    kind: Literal["accept", "drop", "reject", "return", "continue", "queue", "jump", "goto"]
    chain: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class VerdictMap:
    """``FIELD vmap { key : verdict, … }``: on a miss evaluation continues with the next rule."""

    fields: tuple[str, ...]
    entries: tuple[tuple[tuple[Range | str, ...], Verdict], ...]
    version: int | None = None
    set_name: str | None = None


@dataclass(frozen=True)
class NatStatement:
    """DNAT / REDIRECT (destination) or SNAT / MASQUERADE (source).

    For DNAT ``address`` is the new destination (``None`` keeps it) and ``ports`` the new
    destination port range (``None`` keeps it). REDIRECT sends to a local address of the
    arrival interface, ``ports`` as given. Ranges with more than one address or port make the
    outcome depend on the kernel's choice.
    """

    kind: Literal["dnat", "redirect", "snat", "masquerade"]
    address: Range | None = None
    version: int | None = None
    ports: Range | None = None


@dataclass(frozen=True)
class NatMapStatement:
    """NAT through a map keyed on packet fields: ``dnat ip to tcp dport map { 80 : 1.2.3.4 }``,
    ``dnat ip to ip daddr . tcp dport map { … : 1.2.3.4 . 8080 }``.

    ``fields`` name the key's packet fields as in :class:`SetElementMatch`; each entry is
    ``(key values, new address range or None, new port range or None)``. A key that is not in
    the map makes the statement break (the rule does not match; evaluation continues)."""

    kind: Literal["dnat", "redirect", "snat"]
    fields: tuple[str, ...]
    entries: tuple[tuple[tuple[Range | str, ...], Range | None, Range | None], ...]
    version: int | None = None
    set_name: str | None = None


@dataclass(frozen=True)
class MarkCopyStatement:
    """A mark copied from the other mark: ``meta mark set ct mark``, ``ct mark set meta mark``,
    ``CONNMARK --restore-mark`` / ``--save-mark`` (with ``--nfmask``/``--ctmask``).

    new target = (target & keep) ^ (source & take) — the kernel's own formula, e.g. restore:
    mark = (mark & ~nfmask) ^ (ctmark & ctmask)."""

    target: Literal["meta", "ct"]
    source: Literal["meta", "ct"]
    keep: int
    take: int


@dataclass(frozen=True)
class MarkStatement:
    """``-j MARK``/``meta mark set``/``ct mark set``: new = (old & ~clear) ^ xor."""

    kind: Literal["meta", "ct"]
    clear: int
    xor: int


@dataclass(frozen=True)
class NotrackStatement:
    """``-j CT --notrack`` / ``notrack``: the packet becomes UNTRACKED (no NAT)."""


@dataclass(frozen=True)
class EffectStatement:
    """Statements with no effect on this packet's fate: log, counter, nflog, trace, audit,
    connmark save/restore of unrelated bits … ``kind`` names it."""

    kind: str


@dataclass(frozen=True)
class UnknownStatement:
    """A target or statement the model does not understand, kept verbatim."""

    text: str


Statement = Union[
    Verdict, VerdictMap, NatStatement, NatMapStatement, MarkStatement, MarkCopyStatement,
    NotrackStatement, EffectStatement, UnknownStatement,
]

# --------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a rule came from, precisely enough to find it again and to print it."""

    backend: Backend
    family: str  # ip | ip6 | inet | netdev | bridge | arp
    table: str
    chain: str
    position: int  # 1-based index in its chain
    text: str  # the rule as iptables-save or nft prints it
    syntax: Syntax = "iptables"
    handle: int | None = None
    file: str | None = None
    line: int | None = None

    @property
    def table_label(self) -> str:
        """``inet filter`` for nft tables, ``filter`` (with family) for xtables."""
        return f"{self.family} {self.table}"


@dataclass(frozen=True)
class Rule:
    matches: tuple[Match, ...]
    statements: tuple[Statement, ...]
    origin: Origin
    comment: str | None = None

    @property
    def unknowns(self) -> tuple[str, ...]:
        """Texts of the parts of this rule the model could not type."""
        out = [m.text for m in self.matches if isinstance(m, UnknownMatch)]
        out += [s.text for s in self.statements if isinstance(s, UnknownStatement)]
        return tuple(out)


@dataclass(frozen=True)
class Chain:
    """A chain. Base chains have a hook, a priority and (for filter chains) a policy."""

    name: str
    rules: tuple[Rule, ...] = ()
    hook: str | None = None
    priority: int | None = None
    type: str | None = None  # filter | nat | route
    policy: Literal["accept", "drop"] | None = None
    device: str | None = None  # netdev / inet ingress chains
    line: int | None = None
    handle: int | None = None  # nf_tables chain handle (allocated in creation order per table)

    @property
    def is_base(self) -> bool:
        return self.hook is not None


@dataclass(frozen=True)
class NamedSet:
    """A named set, nft map or ipset, for display; matches carry their resolved elements."""

    name: str
    kind: str  # nft type (``ipv4_addr``, ``ipv4_addr . inet_service``) or ipset type
    elements: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    is_map: bool = False


@dataclass(frozen=True)
class Table:
    backend: Backend
    family: str
    name: str
    chains: tuple[Chain, ...] = ()
    sets: tuple[NamedSet, ...] = ()
    source: str | None = None  # file path, for file-read tables
    #: When the kernel registered this table's base chains, as an increasing number: the
    #: nf_tables table handle (allocated in creation order per namespace) or, for files, the
    #: order they are loaded in. ``None`` for x_tables (iptables-legacy), whose registration
    #: time relative to nf_tables cannot be read. At equal priority the chain registered last
    #: runs first.
    handle: int | None = None

    def chain(self, name: str) -> Chain | None:
        for c in self.chains:
            if c.name == name:
                return c
        return None


@dataclass(frozen=True)
class HookEntry:
    """One line of ``nft list hooks``: a function registered on a hook, in the kernel's order.

    ``chain`` is ``(family, table, chain)`` for nf_tables base chains; otherwise ``function``
    names the kernel function (``ipt_do_table`` for iptables-legacy tables, ``ipv4_conntrack_in``
    …) and ``module`` its module."""

    family: str  # ip | ip6 | netdev | …
    hook: str
    priority: int
    function: str
    module: str | None = None
    chain: tuple[str, str, str] | None = None
    device: str | None = None


@dataclass(frozen=True)
class Ruleset:
    """Everything read from one target or a set of files.

    ``notes`` says what was not read and why (a backend that could not run, bridge tables the
    evaluator does not model …) so reports never imply completeness they do not have.
    ``hooks`` is the kernel's own hook order (``nft list hooks``) where the kernel offers it,
    ``None`` where it does not (CONFIG_NETFILTER_NETLINK_HOOK missing, or files).
    """

    tables: tuple[Table, ...] = ()
    ipsets: tuple[NamedSet, ...] = ()
    notes: tuple[str, ...] = ()
    source: str = ""
    hooks: tuple[HookEntry, ...] | None = None

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for t in self.tables for c in t.chains for r in c.rules)

    def merged(self, other: Ruleset) -> Ruleset:
        return Ruleset(
            tables=self.tables + other.tables,
            ipsets=self.ipsets + other.ipsets,
            notes=self.notes + other.notes,
            source=", ".join(s for s in (self.source, other.source) if s),
            hooks=self.hooks if other.hooks is None else (self.hooks or ()) + other.hooks,
        )
