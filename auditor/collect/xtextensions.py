"""The iptables extensions (``-m NAME`` matches, ``-j NAME`` targets): which options each one
defines, how their values are checked, and what the model makes of them.

An option belongs to the extension that defines it, whatever its place on the line — that is
how iptables routes ``--dport`` after ``-m state``. So every extension iptables 1.8.9 ships is
listed with its options (name, argument, ``!`` allowed, repeatable, mandatory), even the ones the
model does not type: otherwise an option of an untyped extension could not be told from a typo.
Values are checked as libxtables checks them (``xtvalues``), so what ``iptables-restore``
refuses is refused here too; extensions the model does not understand still become
:class:`UnknownMatch` / :class:`UnknownStatement` with their text.

Option specs are written compactly: ``"!dport|destination-port:portrange"`` is an option that
may be inverted, has an alias and takes a port range; ``*`` marks a mandatory option and ``+``
one that may repeat. Kinds without a checker (``s``) accept any string.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.collect import xtvalues as xv
from auditor.collect.xtvalues import quote
from auditor.model.ruleset import (
    AddressMatch,
    AddrTypeMatch,
    ConntrackDirectionMatch,
    ConntrackOriginalMatch,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    EffectStatement,
    IcmpTypeMatch,
    MarkCopyStatement,
    MarkMatch,
    MarkStatement,
    Match,
    NatStatement,
    NondeterministicMatch,
    NotrackStatement,
    PacketTypeMatch,
    PayloadMatch,
    PhysdevMatch,
    PortMatch,
    ReversePathMatch,
    SetElementMatch,
    Statement,
    TcpFlagsMatch,
    UnknownMatch,
    UnknownStatement,
    Verdict,
    address_range,
    protocol_number,
)

ALL = 0xFFFFFFFF


class ArgError(ValueError):
    """A value or combination iptables rejects; the message says which."""


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]  # canonical name first, then aliases
    kind: str | None  # None: takes no argument
    invert: bool = False
    multi: bool = False
    mandatory: bool = False
    bounds: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class Extension:
    name: str
    options: tuple[Option, ...]
    family: int | None = None  # only for this IP version

    def option(self, name: str) -> Option:
        return next(o for o in self.options if name in o.names)


@dataclass
class OptionUse:
    """One option as given in a rule: its parsed value and the rule's ``-p`` at that point."""

    option: Option
    inverted: bool
    raw: tuple[str, ...]
    value: Any
    protocol: int | None
    protocol_inverted: bool


@dataclass
class ExtensionUse:
    ext: Extension
    uses: list[OptionUse] = field(default_factory=list)

    def get(self, name: str) -> OptionUse | None:
        return next((u for u in self.uses if u.option.name == name), None)

    def text(self, flag: str) -> str:
        parts = [flag, self.ext.name]
        for u in self.uses:
            parts += (["!"] if u.inverted else []) + [f"--{u.option.name}", *u.raw]
        return " ".join(shlex.quote(p) for p in parts)


def _spec(name: str, text: str, family: int | None = None) -> Extension:
    options = []
    for token in text.split():
        flags = token[:len(token) - len(token.lstrip("!*"))]
        invert, mandatory = "!" in flags, "*" in flags
        token = token.lstrip("!*")
        multi = token.endswith("+")
        token = token.rstrip("+")
        names, _, kind = token.partition(":")
        bounds = None
        if "(" in kind:
            kind, _, rest = kind.partition("(")
            lo, _, hi = rest.rstrip(")").partition("-")
            bounds = (int(lo, 0), int(hi, 0))
        options.append(Option(tuple(names.split("|")), kind or None, invert, multi, mandatory, bounds))
    return Extension(name, tuple(options), family)


def _table(specs: Mapping[str, str | tuple[str, int]]) -> dict[str, Extension]:
    out = {}
    for name, spec in specs.items():
        text, family = (spec, None) if isinstance(spec, str) else spec
        out[name] = _spec(name, text, family)
    return out


# Matches of iptables 1.8.9 (latest revisions), keyed by ``-m`` name.
MATCHES = _table({
    "addrtype": "!src-type:s !dst-type:s limit-iface-in limit-iface-out",
    "ah": ("!ahspi:u32rc", 4),
    "bpf": "bytecode:s object-pinned:s",
    "cgroup": "!path:s !cgroup:u32",
    "cluster": "*cluster-total-nodes:u32(1-32) !cluster-local-node:u32(1-32) !cluster-local-nodemask:u32(1-32) "
               "*cluster-hash-seed:u32",
    "comment": "*comment:s",
    "connbytes": "*!connbytes:u64rc *connbytes-dir:s *connbytes-mode:s",
    "connlabel": "*!label:s set",
    "connlimit": "!connlimit-upto:u32 !connlimit-above:u32 connlimit-mask:plen connlimit-saddr connlimit-daddr",
    "connmark": "*!mark:markmask",
    "conntrack": "!ctstate:s !ctproto:proto !ctorigsrc:hostmask !ctorigdst:hostmask !ctreplsrc:hostmask "
                 "!ctrepldst:hostmask !ctstatus:s !ctexpire:u32rc !ctorigsrcport:portrc !ctorigdstport:portrc "
                 "!ctreplsrcport:portrc !ctrepldstport:portrc ctdir:s",
    "cpu": "*!cpu:u32",
    "dccp": "!sport|source-port:portrc !dport|destination-port:portrc !dccp-types:s !dccp-option:u8(1-255)",
    "devgroup": "!src-group:s !dst-group:s",
    "dscp": "!dscp:u8(0-63) !dscp-class:s",
    "dst": ("!dst-len:u32 dst-opts:s", 6),
    "ecn": "!ecn-tcp-cwr !ecn-tcp-ece !ecn-ip-ect:u8(0-3)",
    "esp": "!espspi:u32rc",
    "eui64": ("", 6),
    "frag": ("!fragid:u32rc !fraglen:u32 fragres fragfirst fragmore fraglast", 6),
    "hashlimit": "!hashlimit-upto:s !hashlimit-above:s !hashlimit:s hashlimit-srcmask:plen hashlimit-dstmask:plen "
                 "hashlimit-burst:s hashlimit-htable-size:u32 hashlimit-htable-max:u32 "
                 "hashlimit-htable-gcinterval:u32 hashlimit-htable-expire:u32 hashlimit-mode:s "
                 "*hashlimit-name:s hashlimit-rate-match hashlimit-rate-interval:s",
    "hbh": ("!hbh-len:u32 hbh-opts:s", 6),
    "helper": "*!helper:s",
    "hl": ("hl-lt:u8 hl-gt:u8 !hl-eq:u8 hl:u8", 6),
    "icmp": ("*!icmp-type:s", 4),
    "icmp6": ("*!icmpv6-type:s", 6),
    "ipcomp": "!ipcompspi:u32rc compres",
    "iprange": "!src-range:s !dst-range:s",
    "ipv6header": ("*!header:s soft", 6),
    "ipvs": "!ipvs !vproto:proto !vaddr:hostmask !vport:port vdir:s !vmethod:s !vportctl:port",
    "length": "*!length:u16rc",
    "limit": "limit:s limit-burst:u32(0-10000)",
    "mac": "*!mac-source:mac",
    "mark": "*!mark:markmask",
    "mh": ("!mh-type:s", 6),
    "multiport": "!source-ports|sports:s !destination-ports|dports:s !ports:s",
    "nfacct": "*nfacct-name:s",
    "osf": "*!genre:s ttl:u32(0-2) log:u32(0-2)",
    "owner": "!uid-owner:s !gid-owner:s !socket-exists suppl-groups",
    "physdev": "!physdev-in:s !physdev-out:s !physdev-is-in !physdev-is-out !physdev-is-bridged",
    "pkttype": "*!pkt-type:s",
    "policy": "dir:s pol:s strict !reqid:u32+ !spi:u32+ !tunnel-src:hostmask+ !tunnel-dst:hostmask+ "
              "!proto:proto+ !mode:s+ next+",
    "quota": "*!quota:u64",
    "rateest": "rateest1:s rateest:s rateest2:s rateest-bps1 rateest-pps1 rateest-bps2 rateest-pps2 rateest-bps "
               "rateest-pps !rateest-delta !rateest-lt !rateest-gt !rateest-eq",
    "realm": ("*!realm:s", 4),
    "recent": "!set !rcheck !update !remove seconds:u32(1-4294967295) reap hitcount:u32 rttl name:s rsource "
              "rdest mask:host",
    "rpfilter": "loose validmark accept-local invert",
    "rt": ("!rt-type:u32 !rt-segsleft:u32rc !rt-len:u32 rt-0-res rt-0-addrs:s rt-0-not-strict", 6),
    "sctp": "!sport|source-port:sctpport !dport|destination-port:sctpport !chunk-types:s",
    "set": "!match-set|set:matchset return-nomatch !update-counters !update-subcounters !packets-eq:u64 "
           "packets-lt:u64 packets-gt:u64 !bytes-eq:u64 bytes-lt:u64 bytes-gt:u64",
    "socket": "transparent nowildcard restore-skmark",
    "srh": ("!srh-next-hdr:u8 !srh-hdr-len-eq:u8 !srh-hdr-len-gt:u8 !srh-hdr-len-lt:u8 !srh-segs-left-eq:u8 "
            "!srh-segs-left-gt:u8 !srh-segs-left-lt:u8 !srh-last-entry-eq:u8 !srh-last-entry-gt:u8 "
            "!srh-last-entry-lt:u8 !srh-tag:u16 !srh-psid:hostmask !srh-nsid:hostmask !srh-lsid:hostmask", 6),
    "state": "*!state:s",
    "statistic": "*mode:s !probability:s !every:u32(1-4294967295) packet:u32",
    "string": "from:u16 to:u16 *algo:s !string:s !hex-string:s icase",
    "tcp": "!sport|source-port:tcpport !dport|destination-port:tcpport !syn !tcp-flags:tcpflags !tcp-option:u8(1-255)",
    "tcpmss": "*!mss:u16rc",
    "time": "datestart:s datestop:s timestart:s timestop:s contiguous !weekdays:s !monthdays:s localtz utc kerneltz",
    "tos": "*!tos:tos",
    "ttl": ("ttl-lt:u8 ttl-gt:u8 !ttl-eq:u8 ttl:u8", 4),
    "u32": "*!u32:s",
    "udp": "!sport|source-port:portrc !dport|destination-port:portrc",
})
# The IPv6 ah match has more options than the IPv4 one (same name, other library).
MATCHES_V6 = {"ah": _spec("ah", "!ahspi:u32rc !ahlen:u32 ahres", 6)}

TARGETS = _table({
    "AUDIT": "*type:s",
    "CHECKSUM": "*checksum-fill",
    "CLASSIFY": "*set-class:s",
    "CLUSTERIP": ("new hashmode:s clustermac:mac total-nodes:u16 local-node:u16 hash-init:u32", 4),
    "CONNMARK": "set-xmark:markmask set-mark:markmask and-mark:u32 or-mark:u32 xor-mark:u32 save-mark restore-mark "
                "left-shift-mark:u8(0-32) right-shift-mark:u8(0-32) ctmask:u32 nfmask:u32 mask:u32",
    "CONNSECMARK": "save restore",
    "CT": "notrack helper:s timeout:s ctevents:s expevents:s zone-orig:s zone-reply:s zone:s",
    "DNAT": "*to-destination:s random persistent",
    "DNPT": ("*src-pfx:hostmask *dst-pfx:hostmask", 6),
    "DSCP": "set-dscp:u8(0-63) set-dscp-class:s",
    "ECN": ("ecn-tcp-remove ecn-tcp-cwr:u8(0-1) ecn-tcp-ece:u8(0-1) ecn-ip-ect:u8(0-3)", 4),
    "HL": ("hl-set:u8 hl-dec:u8(1-255) hl-inc:u8(1-255)", 6),
    "HMARK": "hmark-tuple:s hmark-src-prefix:plen hmark-dst-prefix:plen hmark-sport-mask:u16 hmark-dport-mask:u16 "
             "hmark-spi-mask:u32 hmark-sport:u16 hmark-dport:u16 hmark-spi:u32 hmark-proto-mask:u16 hmark-rnd:u32 "
             "*hmark-mod:u32(1-4294967295) hmark-offset:u32",
    "IDLETIMER": "*timeout:u32 *label:s alarm send_nl_msg",
    "LED": "*led-trigger-id:s led-delay:s led-always-blink",
    "LOG": "log-level:level log-prefix:prefix log-tcp-sequence log-tcp-options log-ip-options log-uid log-macdecode",
    "MARK": "set-xmark:markmask set-mark:markmask and-mark:u32 or-mark:u32 xor-mark:u32",
    "MASQUERADE": "to-ports:s random random-fully",
    "NETMAP": "*to:hostmask",
    "NFLOG": "nflog-group:u16 nflog-prefix:prefix nflog-range:u32 nflog-size:u32 nflog-threshold:u16",
    "NFQUEUE": "queue-num:u16 queue-balance:u16rc queue-bypass queue-cpu-fanout",
    "NOTRACK": "",
    "RATEEST": "*rateest-name:s *rateest-interval:s *rateest-ewmalog:s",
    "REDIRECT": "to-ports:s random",
    "REJECT": "reject-with:s",
    "SECMARK": "*selctx:s",
    "SET": "add-set:setflags del-set:setflags exist timeout:u32 map-set:setflags map-mark map-prio map-queue",
    "SNAT": "*to-source:s random random-fully persistent",
    "SNPT": ("*src-pfx:hostmask *dst-pfx:hostmask", 6),
    "SYNPROXY": "sack-perm timestamp wscale:u32 mss:u32 ecn",
    "TCPMSS": "set-mss:u16 clamp-mss-to-pmtu",
    "TCPOPTSTRIP": "strip-options:s",
    "TEE": "*gateway:host oif:s",
    "TOS": "set-tos:tos and-tos:u8 or-tos:u8 xor-tos:u8",
    "TPROXY": "*on-port:port on-ip:host tproxy-mark:markmask",
    "TRACE": "",
    "TTL": ("ttl-set:u8 ttl-dec:u8(1-255) ttl-inc:u8(1-255)", 4),
    "ULOG": ("ulog-nlgroup:u8(1-32) ulog-prefix:prefix ulog-cprange:u64 ulog-qthreshold:u64(1-50)", 4),
})
#: Targets built into iptables (no library, no options); CONTINUE is no target at all.
STANDARD_TARGETS = ("ACCEPT", "DROP", "QUEUE", "RETURN")
#: Options that take a second word (``--tcp-flags MASK COMP``, ``--match-set NAME FLAGS``).
TWO_WORD_KINDS = ("tcpflags", "matchset", "setflags")


def match_extension(name: str, version: int) -> Extension | None:
    ext = (MATCHES_V6.get(name) if version == 6 else None) or MATCHES.get(name)
    if ext is None or (ext.family is not None and ext.family != version):
        return None
    return ext


def target_extension(name: str, version: int) -> Extension | None:
    ext = TARGETS.get(name)
    if ext is None or (ext.family is not None and ext.family != version):
        return None
    return ext


def is_target_name(name: str) -> bool:
    """Names a chain may not take (``assert_valid_chain_name``): libxtables finds the standard
    target under the empty name too, so ``-N ""`` is refused as a clash."""
    return name in TARGETS or name in STANDARD_TARGETS or name in ("standard", "")


# ---------------------------------------------------------------------------------------------
# Values: checked when the option is read, as libxtables does
# ---------------------------------------------------------------------------------------------

_UINT_MAX = {"u8": 0xFF, "u16": 0xFFFF, "u32": ALL, "u64": (1 << 64) - 1}
_TCP_FLAGS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20, "ALL": 0x3F, "NONE": 0}
_SYSLOG = {"alert", "crit", "debug", "emerg", "error", "info", "notice", "panic", "warning"}
_TOS_NAMES = {"minimize-delay", "maximize-throughput", "maximize-reliability", "minimize-cost", "normal-service"}


def parse_value(ext: Extension, opt: Option, raw: tuple[str, ...], version: int) -> Any:
    """The checked value of an option (``ArgError`` if iptables would refuse it)."""
    kind, arg = opt.kind, raw[0] if raw else ""
    try:
        if kind is None or kind == "s":
            return arg
        if kind == "prefix":  # LOG, NFLOG, ULOG: a log line's prefix
            if "\n" in arg:
                raise ArgError("Newlines not allowed in --log-prefix")
            return arg
        if kind in _UINT_MAX:
            lo, hi = opt.bounds or (0, _UINT_MAX[kind])
            value = xv.xt_uint(arg, lo, hi)
            if value is None:
                raise ArgError(f"bad value {quote(arg)} for --{opt.name}, or out of range ({lo}-{hi})")
            return value
        if kind == "portrc":
            return xv.parse_portrc(arg)
        if kind.endswith("rc"):
            return xv.parse_uint_range(arg, _UINT_MAX[kind[:-2]])
        if kind == "port":
            return xv.getaddrinfo_port(arg)
        if kind in ("tcpport", "sctpport"):
            return xv.parse_port_range(arg, kind[:-4])
        if kind == "markmask":
            return xv.parse_mark_mask(arg)
        if kind == "host":
            return xv.parse_host(arg, version)
        if kind == "hostmask":
            return xv.parse_hostmask(arg, version)
        if kind == "plen":
            return _plen(arg, version)
        if kind == "proto":
            return xv.parse_protocol(arg)
        if kind == "mac":
            return _mac(arg)
        if kind == "tos":
            return _tos(arg)
        if kind == "level":
            if xv.xt_uint(arg, 0, 7) is None and arg not in _SYSLOG:
                raise ArgError(f"log level {quote(arg)} unknown")
            return arg
        if kind == "tcpflags":
            return _tcp_flag_set(raw[0]), _tcp_flag_set(raw[1])
        if kind in ("matchset", "setflags"):
            if len(raw[0]) > 31:
                raise ArgError(f"set name {quote(raw[0])} too long, max 31 characters")
            flags = raw[1].split(",")
            if not 1 <= len(flags) <= 6 or any(f not in ("src", "dst") for f in flags):
                raise ArgError(f"bad set flags {quote(raw[1])} (expected src/dst, comma separated)")
            return raw[0], flags
    except ValueError as e:
        raise ArgError(str(e)) from None
    raise AssertionError(f"unknown option kind {kind}")


def _plen(arg: str, version: int) -> int:
    bits = 32 if version == 4 else 128
    value = xv.xt_uint(arg, 0, bits)
    if value is not None:
        return value
    mask = xv.parse_addresses(f"0/{arg}", version)[0][1] if "." in arg or ":" in arg else None
    if mask is None:
        raise ArgError(f"bad prefix length {quote(arg)} (0-{bits})")
    return mask


def _mac(arg: str) -> str:
    parts = arg.split(":")
    if len(parts) != 6 or any(not 1 <= len(p) <= 2 or xv.xt_uint(p, 0, 255, base=16) is None for p in parts):
        raise ArgError(f"invalid MAC address {quote(arg)}")
    return arg


def _tos(arg: str) -> str:
    head = xv.xt_uint_prefix(arg, 0, 255)
    if head is not None:
        rest = head[1]
        if rest and not (rest.startswith("/") and xv.xt_uint(rest[1:], 0, 255) is not None):
            raise ArgError(f"illegal TOS value {quote(arg)}")
        return arg
    if arg.lower() not in _TOS_NAMES:
        raise ArgError(f"symbolic TOS name {quote(arg)} is unknown")
    return arg


def _tcp_flag_set(text: str) -> int:
    out = 0
    for f in text.split(","):
        if f.upper() not in _TCP_FLAGS:
            raise ArgError(f"unknown TCP flag {quote(f)}")
        out |= _TCP_FLAGS[f.upper()]
    return out


def _keywords(arg: str, names: tuple[str, ...], what: str) -> list[str]:
    """Comma-separated keywords, each an abbreviation (case-insensitive prefix) of a name, the
    first name in ``names`` order winning — as conntrack, state and addrtype read them."""
    out = []
    for word in arg.split(","):
        hit = next((n for n in names if word and n.startswith(word.upper())), None)
        if hit is None:
            raise ArgError(f"bad {what} {quote(word)}")
        out.append(hit)
    return out


# ---------------------------------------------------------------------------------------------
# Matches → model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleContext:
    """What a rule's extensions need to know about the rest of it."""

    version: int
    ipsets: Mapping[str, Any]
    protocol: int | None = None
    protocol_inverted: bool = False


NONDETERMINISTIC = {"limit", "hashlimit", "recent", "statistic", "connlimit", "quota", "time", "nfacct",
                    "connbytes", "rateest", "cpu"}
_CT_STATES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT")
_CT_STATUS = ("NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED")
_ADDRTYPES = ("UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE",
              "PROHIBIT", "THROW", "NAT", "XRESOLVE")
_PKTTYPES = {"unicast": "host", "broadcast": "broadcast", "multicast": "multicast", "otherhost": "other",
             "bcast": "broadcast", "mcast": "multicast", "host": "host"}
_PORT_PROTOCOLS = {6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp"}


def convert_match(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    """Typed matches for one ``-m`` segment (``ArgError`` for what iptables refuses)."""
    _final_check(use)
    converter = _MATCH_CONVERTERS.get(use.ext.name)
    if converter is not None:
        return converter(use, ctx)
    if use.ext.name in NONDETERMINISTIC:
        return [NondeterministicMatch(use.ext.name, use.text("-m"))]
    return [UnknownMatch(use.text("-m"))]


def _final_check(use: ExtensionUse) -> None:
    given = {u.option.name for u in use.uses}
    for opt in use.ext.options:
        if opt.mandatory and opt.name not in given:
            raise ArgError(f"{use.ext.name}: option --{opt.name} must be specified")


def _ports(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    name = use.ext.name
    if use.ext.name in ("tcp", "udp", "sctp", "dccp"):
        proto = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33}[name]
        if ctx.protocol != proto:  # iptables-nft checks the number, not its inversion
            raise ArgError(f"{name} match requires '-p {name}'")
    out: list[Match] = []
    for u in use.uses:
        if u.option.name in ("sport", "dport"):
            if u.value == (0, 65535) and not u.inverted:
                continue  # every port: iptables does not even print it
            out.append(PortMatch(u.option.name, _ranges(u.value), u.inverted))  # type: ignore[arg-type]
        elif u.option.name == "syn":
            out.append(TcpFlagsMatch(0x17, 0x02, u.inverted))
        elif u.option.name == "tcp-flags":
            out.append(TcpFlagsMatch(u.value[0], u.value[1], u.inverted))
        else:
            return [UnknownMatch(use.text("-m"))]
    if name == "tcp" and sum(u.option.name in ("syn", "tcp-flags") for u in use.uses) > 1:
        raise ArgError("only one of --syn or --tcp-flags allowed")
    return out


def _ranges(r: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """A range as the model holds it; a reversed one (accepted by iptables) matches nothing."""
    return (r,) if r[0] <= r[1] else ()


def _multiport(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    if len(use.uses) != 1:
        raise ArgError("multiport takes exactly one of --sports, --dports, --ports")
    (u,) = use.uses
    if u.protocol not in _PORT_PROTOCOLS or u.protocol_inverted:
        raise ArgError("multiport needs '-p tcp', '-p udp', '-p udplite', '-p sctp' or '-p dccp' before its ports")
    ranges: list[tuple[int, int]] = []
    slots = 0
    for item in u.value.split(","):
        lo_s, colon, hi_s = item.partition(":")
        try:
            lo = xv.parse_port(lo_s, _PORT_PROTOCOLS[u.protocol])
            hi = xv.parse_port(hi_s, _PORT_PROTOCOLS[u.protocol]) if colon else lo
        except ValueError as e:
            raise ArgError(str(e)) from None
        if colon and lo >= hi:
            raise ArgError(f"invalid port range {quote(item)} in --{u.option.name}")
        slots += 2 if colon else 1
        ranges.append((lo, hi))
    if slots > 15:
        raise ArgError("too many ports specified (multiport takes at most 15)")
    if u.option.name == "ports":
        return [UnknownMatch(use.text("-m"))]  # source or destination: not one port condition
    return [PortMatch("sport" if u.option.name == "source-ports" else "dport", tuple(ranges), u.inverted)]


def _conntrack(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    if not use.uses:
        raise ArgError("conntrack: at least one option is required")
    out: list[Match] = []
    for u in use.uses:
        name = u.option.name
        if name in ("ctstate", "state"):
            names = _CT_STATES if name == "ctstate" else _CT_STATES[:5]
            out.append(ConntrackStateMatch(frozenset(s.lower() for s in _keywords(u.value, names, "state")),
                                           u.inverted))
        elif name == "ctstatus":
            statuses = frozenset(s.lower() for s in _keywords(u.value, _CT_STATUS, "ctstatus")) - {"none"}
            out.append(ConntrackStatusMatch(statuses, u.inverted) if statuses else UnknownMatch(use.text("-m")))
        elif name in ("ctorigsrc", "ctorigdst"):
            r = xv.mask_to_range(u.value[0], u.value[1], ctx.version)
            if r is None:
                return [UnknownMatch(use.text("-m"))]
            out.append(ConntrackOriginalMatch("saddr" if name == "ctorigsrc" else "daddr", (r,), ctx.version,
                                              u.inverted))
        elif name in ("ctorigsrcport", "ctorigdstport"):
            out.append(ConntrackOriginalMatch("sport" if name == "ctorigsrcport" else "dport", _ranges(u.value),
                                              None, u.inverted))
        elif name == "ctdir":
            direction = _keywords(u.value, ("ORIGINAL", "REPLY"), "ctdir")
            if len(direction) != 1:
                raise ArgError(f"bad ctdir {quote(u.value)}")
            out.append(ConntrackDirectionMatch(direction[0].lower()))  # type: ignore[arg-type]
        else:
            return [UnknownMatch(use.text("-m"))]
    return out


def _addrtype(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    limit = [u.option.name for u in use.uses if u.option.name.startswith("limit-iface")]
    if len(limit) > 1:
        raise ArgError("addrtype: you can't specify both --limit-iface-in and --limit-iface-out")
    iface = ("in" if limit[0].endswith("in") else "out") if limit else None
    out: list[Match] = []
    for u in use.uses:
        if u.option.name in ("src-type", "dst-type"):
            types = frozenset(_keywords(u.value, _ADDRTYPES, "address type"))
            out.append(AddrTypeMatch("saddr" if u.option.name == "src-type" else "daddr", types, u.inverted,
                                     iface))  # type: ignore[arg-type]
    if not out:
        raise ArgError("addrtype: you must specify --src-type or --dst-type")
    return out


def _mark(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    u = use.uses[0]
    value, mask = u.value
    return [MarkMatch("meta" if use.ext.name == "mark" else "ct", value & mask, mask, u.inverted)]


def _iprange(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    out: list[Match] = []
    for u in use.uses:
        lo_s, dash, hi_s = u.value.partition("-")
        lo = xv.numeric_address(lo_s, ctx.version)
        hi = xv.numeric_address(hi_s, ctx.version) if dash else lo
        if lo is None or hi is None:
            raise ArgError(f"iprange: bad address in --{u.option.name} {quote(u.value)}")
        # a reversed range is accepted (the kernel warns it never matches): no addresses
        ranges = ((lo, hi),) if lo <= hi else ()
        out.append(AddressMatch("saddr" if u.option.name == "src-range" else "daddr", ctx.version, ranges,
                                u.inverted))
    if not out:
        raise ArgError("iprange match: you must specify --src-range or --dst-range")
    return out


# name: (type, code range) — libxt_icmp.h; a name may be abbreviated when unambiguous
_ICMP4 = ("any 255 0-255|echo-reply 0 0-255|pong 0 0-255|destination-unreachable 3 0-255|network-unreachable 3 0|"
          "host-unreachable 3 1|protocol-unreachable 3 2|port-unreachable 3 3|fragmentation-needed 3 4|"
          "source-route-failed 3 5|network-unknown 3 6|host-unknown 3 7|network-prohibited 3 9|"
          "host-prohibited 3 10|TOS-network-unreachable 3 11|TOS-host-unreachable 3 12|"
          "communication-prohibited 3 13|host-precedence-violation 3 14|precedence-cutoff 3 15|"
          "source-quench 4 0-255|redirect 5 0-255|network-redirect 5 0|host-redirect 5 1|TOS-network-redirect 5 2|"
          "TOS-host-redirect 5 3|echo-request 8 0-255|ping 8 0-255|router-advertisement 9 0-255|"
          "router-solicitation 10 0-255|time-exceeded 11 0-255|ttl-exceeded 11 0-255|ttl-zero-during-transit 11 0|"
          "ttl-zero-during-reassembly 11 1|parameter-problem 12 0-255|ip-header-bad 12 0|"
          "required-option-missing 12 1|timestamp-request 13 0-255|timestamp-reply 14 0-255|"
          "address-mask-request 17 0-255|address-mask-reply 18 0-255")
_ICMP6 = ("destination-unreachable 1 0-255|no-route 1 0|communication-prohibited 1 1|beyond-scope 1 2|"
          "address-unreachable 1 3|port-unreachable 1 4|failed-policy 1 5|reject-route 1 6|packet-too-big 2 0-255|"
          "time-exceeded 3 0-255|ttl-exceeded 3 0-255|ttl-zero-during-transit 3 0|ttl-zero-during-reassembly 3 1|"
          "parameter-problem 4 0-255|bad-header 4 0|unknown-header-type 4 1|unknown-option 4 2|"
          "echo-request 128 0-255|ping 128 0-255|echo-reply 129 0-255|pong 129 0-255|mld-listener-query 130 0-255|"
          "mld-listener-report 131 0-255|mld-listener-done 132 0-255|mld-listener-reduction 132 0-255|"
          "router-solicitation 133 0-255|router-advertisement 134 0-255|neighbour-solicitation 135 0-255|"
          "neighbor-solicitation 135 0-255|neighbour-advertisement 136 0-255|neighbor-advertisement 136 0-255|"
          "redirect 137 0-255")


def _icmp_names(table: str) -> list[tuple[str, int, tuple[int, int]]]:
    out = []
    for entry in table.split("|"):
        name, kind, codes = entry.split()
        lo, _, hi = codes.partition("-")
        out.append((name, int(kind), (int(lo), int(hi or lo))))
    return out


_ICMP_NAMES = {4: _icmp_names(_ICMP4), 6: _icmp_names(_ICMP6)}


def icmp_type(text: str, version: int) -> str:
    """``--icmp-type``/``--icmpv6-type`` → ``TYPE[/CODE[:CODE]]`` (``any`` for all types)."""
    hits = [n for n in _ICMP_NAMES[version] if text and n[0].lower().startswith(text.lower())]
    if len(hits) > 1:
        raise ArgError(f"ambiguous ICMP type {quote(text)}")
    if hits:
        _, kind, codes = hits[0]
    else:
        head = xv.xt_uint_prefix(text, 0, 255)
        if head is None:
            raise ArgError(f"unknown ICMP type {quote(text)}")
        kind, rest = head
        codes = (0, 255)
        if rest.startswith(":"):
            raise ArgError("ICMP type ranges are not supported")
        if rest.startswith("/"):
            lo = xv.xt_uint_prefix(rest[1:], 0, 255)
            if lo is None:
                raise ArgError(f"unknown ICMP code in {quote(text)}")
            hi, tail = lo
            if tail.startswith(":"):
                upper = xv.xt_uint_prefix(tail[1:], 0, 255)
                if upper is None:
                    raise ArgError(f"unknown ICMP code in {quote(text)}")
                hi, tail = upper
            if tail:
                raise ArgError(f"unknown character in ICMP type {quote(text)}")
            codes = (lo[0], hi)
        elif rest:
            raise ArgError(f"unknown character in ICMP type {quote(text)}")
    if version == 4 and kind == 255:
        return "any"
    if codes == (0, 255):
        return str(kind)
    return f"{kind}/{codes[0]}" + (f":{codes[1]}" if codes[1] != codes[0] else "")


def _icmp(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    u = use.uses[0]
    version = 4 if use.ext.name == "icmp" else 6
    if ctx.protocol != (1 if version == 4 else 58):
        raise ArgError(f"{use.ext.name} match requires '-p {'icmp' if version == 4 else 'ipv6-icmp'}'")
    return [IcmpTypeMatch(version, (icmp_type(u.value, version),), u.inverted)]


def _pkttype(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    u = use.uses[0]
    kind = _PKTTYPES.get(u.value.lower())
    if kind is None:
        raise ArgError(f"bad packet type {quote(u.value)}")
    return [PacketTypeMatch(frozenset({kind}), u.inverted)]


def _comment(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    return []  # kept as the rule's comment by the caller


def _set(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    main = use.get("match-set")
    if main is None:
        raise ArgError("set match: you must specify --match-set")
    name, flags = main.value
    history = [u for u in use.uses if u.option.name.startswith(("packets-", "bytes-"))]
    for group in ("packets-", "bytes-"):
        ops = [u for u in history if u.option.name.startswith(group)]
        if len(ops) > 1:
            raise ArgError(f"only one of the --{group}[eq|lt|gt] is allowed")
        if ops and ops[0].inverted and not ops[0].option.name.endswith("eq"):
            raise ArgError(f"--{ops[0].option.name} cannot be inverted")
    if (u := use.get("return-nomatch")) is not None and u.inverted:
        raise ArgError("--return-nomatch cannot be inverted")
    # counter updates and --return-nomatch do not change whether the set matches; counter
    # comparisons depend on what the set saw before
    if history:
        return [NondeterministicMatch("set", use.text("-m"))]
    return [set_match(name, flags, main.inverted, ctx.ipsets)]


def _rate_polarity(use: ExtensionUse) -> bool:
    """limit/hashlimit: what the match gives for the first packets of one new client (a first
    packet is always within a positive rate's burst: "upto" holds, "above" does not)."""
    if use.ext.name == "limit":
        u = use.get("limit")
        if u is not None:
            _check_rate(u.value, 10_000, bytes_ok=False)
        return True
    above, upto, legacy = use.get("hashlimit-above"), use.get("hashlimit-upto"), use.get("hashlimit")
    given = [u for u in (above, upto, legacy) if u is not None]
    if len(given) != 1:
        raise ArgError("hashlimit: give exactly one of --hashlimit-upto and --hashlimit-above")
    _check_rate(given[0].value, 1_000_000, bytes_ok=True)
    return (given[0] is not above) != given[0].inverted


def _check_rate(rate: str, scale: int, *, bytes_ok: bool) -> None:
    """libxt_limit/libxt_hashlimit ``parse_rate``: ``N[/second|minute|hour|day]`` (units may be
    abbreviated), N ≥ 1 and not so fast that the interval rounds to zero; hashlimit also takes
    byte rates (``512kb/s``)."""
    number = xv.strtoul(rate, 10)  # atoi
    value = number[0] if number is not None and number[0] < (1 << 63) else 0
    mode = rate.find("b/s")
    if bytes_ok and mode > 0:
        if value == 0:
            raise ArgError(f"bad rate {quote(rate)}")
        return
    mult = 1
    _, slash, unit = rate.partition("/")
    if slash:
        units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
        hit = next((m for name, m in units.items() if unit and name.startswith(unit.lower())), None)
        if hit is None:
            raise ArgError(f"bad rate {quote(rate)}")
        mult = hit
    if value == 0:
        raise ArgError(f"bad rate {quote(rate)}")
    if scale * mult // value == 0:
        raise ArgError(f"rate too fast {quote(rate)}")


def _nondeterministic(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    name = use.ext.name
    first: bool | None = None
    if name in ("limit", "hashlimit"):
        first = _rate_polarity(use)
        if name == "limit" and any(u.inverted for u in use.uses):
            raise ArgError("limit does not support invert")
    elif name == "connlimit":
        above, upto = use.get("connlimit-above"), use.get("connlimit-upto")
        if (above is None) == (upto is None):
            raise ArgError("connlimit: give exactly one of --connlimit-upto and --connlimit-above")
        u = above or upto
        assert u is not None
        if u.value >= 1:
            first = (u is upto) != u.inverted
    elif name == "statistic":
        _check_statistic(use)
    elif name == "recent":
        actions = [u for u in use.uses if u.option.name in ("set", "rcheck", "update", "remove")]
        if len(actions) != 1:
            raise ArgError("recent: give exactly one of --set, --rcheck, --update or --remove")
        if actions and actions[0].option.name == "set":
            first = not actions[0].inverted  # --set always matches (and records the source)
    return [NondeterministicMatch(name, use.text("-m"), False, first)]


def _check_statistic(use: ExtensionUse) -> None:
    mode = use.get("mode")
    if mode is None or mode.value not in ("random", "nth"):
        raise ArgError("statistic: --mode must be random or nth")
    probability, every, packet = use.get("probability"), use.get("every"), use.get("packet")
    if probability is not None:
        try:
            value = float(probability.value)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 1 or probability.value.strip() != probability.value:
            raise ArgError(f"statistic: bad --probability {quote(probability.value)} (0-1)")
        if every is not None or packet is not None:
            raise ArgError("statistic: --probability cannot be used together with --every/--packet")
    if (every is None) != (packet is None):
        raise ArgError("statistic: --every and --packet go together")
    if mode.value == "random" and probability is None:
        raise ArgError("statistic: --probability must be specified in random mode")
    if mode.value == "nth" and every is None:
        raise ArgError("statistic: --every and --packet must be specified in nth mode")
    if every is not None and packet is not None and packet.value > every.value - 1:
        raise ArgError("statistic: --packet p must be 0 <= p <= n-1")


def _physdev(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    if not use.uses:
        raise ArgError("physdev: no physdev option specified")
    options = frozenset(u.option.name.removeprefix("physdev-") for u in use.uses)
    inverted = frozenset(u.option.name.removeprefix("physdev-") for u in use.uses if u.inverted)
    return [PhysdevMatch(options, inverted, use.text("-m"))]


def _rpfilter(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    names = {u.option.name for u in use.uses}
    if names - {"loose", "invert"}:
        return [UnknownMatch(use.text("-m"))]  # --validmark / --accept-local change the lookup
    return [ReversePathMatch(strict="loose" not in names, negated="invert" in names)]


def _payload(use: ExtensionUse, ctx: RuleContext) -> list[Match]:
    """``-m string`` searches the packet's content; ``-m u32`` only reaches the payload when its
    test advances twice with ``@`` (past the IP header, then past the transport header) — with
    fewer it reads header fields the model has no type for, and stays unknown."""
    if use.ext.name == "string":
        if use.get("string") is None and use.get("hex-string") is None:
            raise ArgError("string match: you must specify --string or --hex-string")
        u = use.get("string") or use.get("hex-string")
    else:
        u = use.uses[0]
        if u.value.count("@") < 2:
            return [UnknownMatch(use.text("-m"))]
    assert u is not None
    return [PayloadMatch(use.text("-m"), u.inverted)]


_MATCH_CONVERTERS: dict[str, Callable[[ExtensionUse, RuleContext], list[Match]]] = {
    "tcp": _ports, "udp": _ports, "multiport": _multiport, "conntrack": _conntrack, "state": _conntrack,
    "addrtype": _addrtype, "mark": _mark, "connmark": _mark, "iprange": _iprange, "icmp": _icmp, "icmp6": _icmp,
    "pkttype": _pkttype, "comment": _comment, "set": _set, "physdev": _physdev, "rpfilter": _rpfilter,
    "string": _payload, "u32": _payload,
    **dict.fromkeys(NONDETERMINISTIC, _nondeterministic),
}


# ---------------------------------------------------------------------------------------------
# ipsets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IpsetInfo:
    """An ipset as ``ipset save`` describes it: what its dimensions are and its members."""

    name: str
    type: str  # hash:ip, hash:net,port, bitmap:port, list:set …
    version: int
    members: tuple[str, ...]
    has_nomatch: bool = False
    #: the ruleset's own ``-j SET --add-set`` fills it: members depend on what clients sent before
    filled_by_rules: bool = False


def set_match(name: str, flags: list[str], neg: bool, ipsets: Mapping[str, IpsetInfo]) -> Match:
    info = ipsets.get(name)
    text = f"-m set {'! ' if neg else ''}--match-set {name} {','.join(flags)}"
    if info is not None and info.filled_by_rules:
        return NondeterministicMatch("dynamic set", f"{text} (filled by the ruleset's own -j SET)")
    if info is None:
        return UnknownMatch(f"{text} (set {name} not available)")
    converted = set_elements(info, flags)
    if converted is None:
        return UnknownMatch(f"{text} (ipset type {info.type} not modelled)")
    fields, elements = converted
    return SetElementMatch(name, fields, elements, info.version, neg)


def set_elements(info: IpsetInfo, flags: list[str]) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]] | None:
    """Map an ipset's members to (fields, elements) for the given src/dst flags."""
    if info.has_nomatch:
        return None
    kind, _, dims = info.type.partition(":")
    dims_list = dims.split(",")
    if kind not in ("hash", "bitmap") or len(flags) < len(dims_list):
        return None
    fields: list[str] = []
    for dim, flag in zip(dims_list, flags):
        if dim in ("ip", "net"):
            fields.append("saddr" if flag == "src" else "daddr")
        elif dim == "port":
            fields.append("sport" if flag == "src" else "dport")
        else:
            return None  # mac, iface, mark: not modelled
    has_port = "port" in dims_list
    elements = []
    for member in info.members:
        parts = member.split(",")
        if len(parts) != len(dims_list):
            return None
        values: list[Any] = []
        l4 = None
        for dim, part in zip(dims_list, parts):
            if dim in ("ip", "net"):
                try:
                    _, r = address_range(part)
                except ValueError:
                    return None
                values.append(r)
            else:
                proto, _, port = part.rpartition(":")
                try:
                    if proto:
                        l4 = protocol_number(proto)
                    values.append(_member_ports(port))
                except (KeyError, ValueError):
                    return None
        if has_port and kind == "hash":
            values.append((l4 or 6, l4 or 6))  # ipset: a port without protocol means tcp
        elements.append(tuple(values))
    if has_port and kind == "hash":
        fields.append("l4proto")
    # a set has no order: `ipset save` lists a hash set in the kernel's hash order, a file in
    # whatever order it was written, and both must read as the same match
    return tuple(fields), tuple(sorted(elements))


def _member_ports(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    first = xv.parse_port(lo, None)
    return first, xv.parse_port(hi, None) if hi else first


# ---------------------------------------------------------------------------------------------
# Targets → model
# ---------------------------------------------------------------------------------------------

FATE_NEUTRAL_TARGETS = {"LOG", "NFLOG", "ULOG", "TRACE", "AUDIT", "TCPMSS", "DSCP", "TOS", "TTL", "HL",
                        "CLASSIFY", "CHECKSUM", "IDLETIMER", "LED", "TEE", "SECMARK", "CONNSECMARK"}
_REJECT4 = ("icmp-net-unreachable|net-unreach", "icmp-host-unreachable|host-unreach",
            "icmp-proto-unreachable|proto-unreach", "icmp-port-unreachable|port-unreach",
            "icmp-net-prohibited|net-prohib", "icmp-host-prohibited|host-prohib", "tcp-reset|tcp-rst",
            "icmp-admin-prohibited|admin-prohib")
_REJECT6 = ("icmp6-no-route|no-route", "icmp6-adm-prohibited|adm-prohibited", "icmp6-not-neighbor|not-neighbor",
            "icmp6-addr-unreachable|addr-unreach", "icmp6-port-unreachable|port-unreach", "tcp-reset|tcp-reset",
            "icmp6-policy-fail|policy-fail", "icmp6-reject-route|reject-route")


def convert_target(use: ExtensionUse, ctx: RuleContext) -> list[Statement]:
    """The statement of a ``-j`` target extension (``ArgError`` for what iptables refuses)."""
    _final_check(use)
    name = use.ext.name
    text = use.text("-j")
    if name == "REJECT":
        return [_reject(use, ctx)]
    if name == "NFQUEUE":
        if use.get("queue-num") is not None and use.get("queue-balance") is not None:
            raise ArgError("NFQUEUE: --queue-num cannot be used together with --queue-balance")
        return [Verdict("queue", detail=text)]
    if name == "TCPMSS" and (use.get("set-mss") is None) == (use.get("clamp-mss-to-pmtu") is None):
        raise ArgError("TCPMSS: exactly one of --set-mss or --clamp-mss-to-pmtu is required")
    if name in FATE_NEUTRAL_TARGETS:
        return [EffectStatement(name.lower())]
    if name == "SET":  # adds to/removes from an ipset for later packets; this one continues
        return [EffectStatement("set")]
    if name == "NOTRACK" or (name == "CT" and use.get("notrack") is not None):
        if name == "CT" and len(use.uses) > 1:
            raise ArgError("CT: --notrack cannot be combined with other options")
        return [NotrackStatement()]
    if name == "CT" and {u.option.name for u in use.uses} <= {"helper"} and use.uses:
        return [EffectStatement("ct helper")]  # which helper follows the connection: not its fate
    if name in ("MARK", "CONNMARK"):
        st = _mark_target(use)
        return [st] if st is not None else [UnknownStatement(text)]
    if name in ("DNAT", "SNAT", "MASQUERADE", "REDIRECT"):
        return [_nat(use, ctx)]
    return [UnknownStatement(text)]


def _reject(use: ExtensionUse, ctx: RuleContext) -> Statement:
    u = use.get("reject-with")
    table = _REJECT4 if ctx.version == 4 else _REJECT6
    kind = table[3] if ctx.version == 4 else table[4]
    if u is not None:
        arg = u.value.lower()
        hit = next((entry for entry in table if any(n.startswith(arg) for n in entry.split("|"))), None)
        if hit is None:
            raise ArgError(f"unknown reject type {quote(u.value)}")
        kind = hit
    detail = kind.split("|")[0]
    if detail == "tcp-reset" and (ctx.protocol != 6 or ctx.protocol_inverted):
        raise ArgError("REJECT --reject-with tcp-reset is only valid with -p tcp")
    return Verdict("reject", detail=detail)


_MARK_OPS = ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark")


def _mark_target(use: ExtensionUse) -> Statement | None:
    kind = "meta" if use.ext.name == "MARK" else "ct"
    ops = [u for u in use.uses if u.option.name in _MARK_OPS + ("save-mark", "restore-mark")]
    if len(ops) != 1:
        raise ArgError(f"{use.ext.name}: exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, "
                       "--xor-mark" + (", --save-mark, --restore-mark" if kind == "ct" else "") + " is required")
    (op,) = ops
    masks = {u.option.name: u.value for u in use.uses if u.option.name in ("mask", "nfmask", "ctmask")}
    shifts = [u for u in use.uses if u.option.name.endswith("shift-mark")]
    if shifts:
        return None  # shifted copies are not modelled
    name = op.option.name
    if name in ("save-mark", "restore-mark"):
        if "mask" in masks and ("nfmask" in masks or "ctmask" in masks):
            raise ArgError("CONNMARK: --mask cannot be combined with --nfmask/--ctmask")
        nfmask = masks.get("nfmask", masks.get("mask", ALL))
        ctmask = masks.get("ctmask", masks.get("mask", ALL))
        if name == "restore-mark":  # mark = (mark & ~nfmask) ^ (ctmark & ctmask)
            return MarkCopyStatement("meta", "ct", ~nfmask & ALL, ctmask)
        return MarkCopyStatement("ct", "meta", ~ctmask & ALL, nfmask)  # ctmark = (ctmark & ~ctmask) ^ (mark & nfmask)
    # value/mask as the kernel gets them, option by option: a later --mask or --ctmask replaces
    # the mask; --nfmask only concerns save/restore (iptables keeps it out of a set)
    mark, mask = 0, 0
    for u in use.uses:
        name = u.option.name
        if name == "set-xmark":
            mark, mask = u.value
        elif name == "set-mark":  # stored as xmark value/(mask|value)
            mark, mask = u.value[0], (u.value[1] | u.value[0]) & ALL
        elif name == "and-mark":
            mark, mask = 0, ~u.value & ALL
        elif name == "or-mark":
            mark, mask = u.value, u.value
        elif name == "xor-mark":
            mark, mask = u.value, 0
        elif name in ("mask", "ctmask"):
            mask = u.value
    return MarkStatement(kind, mask, mark)  # type: ignore[arg-type]


def _nat(use: ExtensionUse, ctx: RuleContext) -> Statement:
    name = use.ext.name
    port_ok = ctx.protocol in (6, 17, 132, 33) and not ctx.protocol_inverted
    if name in ("MASQUERADE", "REDIRECT"):
        u = use.get("to-ports")
        ports = _nat_ports(u.value, port_ok) if u is not None else None
        if name == "MASQUERADE":
            return NatStatement("masquerade")
        return NatStatement("redirect", ports=ports)
    u = use.get("to-destination" if name == "DNAT" else "to-source")
    assert u is not None  # mandatory
    address, version, ports = _nat_to(u.value, port_ok, ctx.version)
    return NatStatement("dnat" if name == "DNAT" else "snat", address, version, ports)


def _nat_ports(text: str, port_ok: bool) -> tuple[int, int]:
    if not port_ok:
        raise ArgError("need -p tcp, udp, sctp or dccp with a port specification")
    head = xv.xt_uint_prefix(text, 0, 65535)
    if head is None:
        port = xv.service_port(text, None)
        if port is None:
            raise ArgError(f"port {quote(text)} not valid")
        return port, port
    lo, rest = head
    if rest == "":
        return lo, lo
    if rest.startswith(":"):
        raise ArgError("invalid port:port syntax - use a dash")
    if not rest.startswith("-"):
        raise ArgError(f"garbage after port value {quote(text)}")
    tail = xv.xt_uint_prefix(rest[1:], 0, 65535)
    if tail is None or tail[0] < lo:
        raise ArgError(f"port range {quote(text)} not valid")
    if tail[1]:
        raise ArgError(f"port offsets are not supported ({quote(text)})")
    return lo, tail[0]


def _nat_to(text: str, port_ok: bool, version: int) -> tuple[tuple[int, int] | None, int | None,
                                                              tuple[int, int] | None]:
    """``1.2.3.4[-1.2.3.9][:80[-90]]``, ``[fd00::1]:80``, ``:80`` (libxt_NAT parse_to)."""
    start = text
    ports = None
    if "[" in text:
        if version == 4:
            raise ArgError("invalid address format")
        start, close, rest = text.partition("[")[2].partition("]")
        if not close:
            raise ArgError("invalid address format")
        colon_rest = rest.partition(":")
        if colon_rest[1]:
            ports = _nat_ports(colon_rest[2], port_ok)
    else:
        colon = text.find(":")
        if colon >= 0 and ":" not in text[colon + 1:]:
            ports = _nat_ports(text[colon + 1:], port_ok)
            start = text[:colon]
    if start == "":
        return None, None, ports
    lo_s, dash, hi_s = start.partition("-")
    family = 4 if version == 4 else 6
    lo = _pton(lo_s, family)
    hi = _pton(hi_s, family) if dash else lo
    return (lo, hi), version, ports


def _pton(text: str, version: int) -> int:
    import socket

    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET if version == 4 else socket.AF_INET6, text), "big")
    except (OSError, ValueError, UnicodeError):
        raise ArgError(f"bad IP address {quote(text)}") from None
