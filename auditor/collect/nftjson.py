"""libnftables JSON (``nft -j -a list ruleset``) → ruleset model.

Native nftables rules decode fully in JSON (see netfilter-facts.md); tables written by
iptables-nft do not (their xt-compat matches lose their parameters), so the caller passes those
tables in ``skip`` and reads them with ``iptables-nft-save`` instead. Anything not understood is
kept as an unknown match/statement with the JSON fragment as its text.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from auditor.collect.gcpause import gc_paused
from auditor.errors import EnvironmentProblem
from auditor.model.ruleset import (
    AddressMatch,
    AddrTypeMatch,
    Backend,
    Chain,
    ConntrackDirectionMatch,
    ConntrackOriginalMatch,
    ConntrackStateMatch,
    ConntrackStatusMatch,
    EffectStatement,
    FamilyMatch,
    IcmpTypeMatch,
    InterfaceMatch,
    MarkCopyStatement,
    MarkMatch,
    MarkStatement,
    MaskedAddressMatch,
    Match,
    NamedSet,
    NatMapStatement,
    NatStatement,
    NondeterministicMatch,
    NotrackStatement,
    Origin,
    PacketTypeMatch,
    PayloadMatch,
    PortMatch,
    ProtocolMatch,
    ReversePathMatch,
    Rule,
    SetElementMatch,
    Statement,
    Table,
    TcpFlagsMatch,
    UnknownMatch,
    UnknownStatement,
    Verdict,
    VerdictMap,
    protocol_number,
)

ALL = 0xFFFFFFFF
PORT_PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136, "dccp": 33}
TCP_FLAGS = {"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20, "ecn": 0x40, "cwr": 0x80}
NONDETERMINISTIC = {"limit", "quota", "meter", "numgen", "ct count", "connlimit", "last", "set"}
EFFECTS = {"counter", "log", "nflog", "trace"}
# Protocols whose header fields need the protocol: what a match on any of their fields implies,
# even on fields the model does not type (so "icmpv6 code 0" can never match TCP).
_PROTO_DEPENDENCY = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136, "icmp": 1, "icmpv6": 58,
                     "ah": 51, "esp": 50, "comp": 108, "igmp": 2}
_NAMED_PRIORITY = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
# Priorities nft spells by name: in bridge tables the numbers differ.
_BRIDGE_PRIORITY = {"dstnat": -300, "filter": -200, "out": 100, "srcnat": 300}


class _Unsupported(Exception):
    """Raised inside a rule to turn the expression into an unknown part. ``deps`` are the
    conditions the expression certainly implies (its protocol), kept before the unknown part."""

    def __init__(self, deps: tuple[Match, ...] = ()) -> None:
        super().__init__()
        self.deps = deps


def rule_texts_from_listing(text: str) -> dict[tuple[str, str, int], str]:
    """``(family, table, handle) → rule text`` from ``nft -a list ruleset``."""
    out: dict[tuple[str, str, int], str] = {}
    family: str | None = None
    table: str | None = None
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"^table (\S+) (\S+) \{", s)
        if m:
            family, table = m.group(1), m.group(2)
            continue
        m = re.match(r"^(.*?)\s*# handle (\d+)$", s)
        if m and family and not s.startswith(("chain ", "set ", "map ", "table ", "flowtable ", "type ")):
            body = m.group(1)
            if body and not body.startswith(("elements", "type ", "flags", "policy")):
                out[(family, table or "", int(m.group(2)))] = body
    return out


_CHAIN_HEAD = re.compile(r"^chain (\S+) \{")
_DEVICE = re.compile(r'\bhook (?:ingress|egress) devices? (?:= \{ )?"?([^";,\s}]+)')


def chain_devices_from_listing(text: str) -> dict[tuple[str, str, str], str]:
    """``(family, table, chain) → device`` of ingress/egress chains, from ``nft list ruleset``:
    nft 1.0.6 leaves the device out of its JSON (a chain on several devices keeps the first)."""
    out: dict[tuple[str, str, str], str] = {}
    family = table = chain = None
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"^table (\S+) (\S+) \{", s)
        if m:
            family, table, chain = m.group(1), m.group(2), None
            continue
        m = _CHAIN_HEAD.match(s)
        if m:
            chain = m.group(1)
            continue
        m = _DEVICE.search(s)
        if m and family and table and chain:
            out.setdefault((family, table, chain), m.group(1))
    return out


@gc_paused
def tables_from_nft_json(
    doc: Mapping[str, Any],
    **kwargs: Any,
) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    """Convert ``nft -j -a list ruleset`` output (see :func:`_tables`). A document without the
    structure nft gives (a table without a name, a rule outside any chain …) is an
    :class:`EnvironmentProblem`: nft printed something fwaudit cannot read."""
    try:
        return _tables(doc, **kwargs)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, StopIteration) as e:
        raise EnvironmentProblem(f"nft printed a ruleset fwaudit cannot read ({type(e).__name__} in its JSON)") from None


def _tables(
    doc: Mapping[str, Any],
    *,
    backend: Backend = "nftables",
    rule_texts: Mapping[tuple[str, str, int], str] | None = None,
    chain_devices: Mapping[tuple[str, str, str], str] | None = None,
    skip: frozenset[tuple[str, str]] = frozenset(),
    lines: Mapping[tuple[str, str, str, int], tuple[str, int]] | None = None,
    chain_lines: Mapping[tuple[str, str, str], tuple[str, int]] | None = None,
    source: str | None = None,
) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    """Convert; ``lines`` maps (family, table, chain, position) to (file, line) for files."""
    rule_texts = rule_texts or {}
    chain_devices = chain_devices or {}
    lines = lines or {}
    chain_lines = chain_lines or {}
    items = doc.get("nftables", [])
    order: list[tuple[str, str]] = []
    handles: dict[tuple[str, str], int | None] = {}
    chains: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    sets: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    rules: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for item in items:
        if "table" in item:
            t = item["table"]
            key = (t["family"], t["name"])
            if key not in chains:
                order.append(key)
                chains[key], sets[key] = {}, {}
            handles[key] = t.get("handle") if isinstance(t.get("handle"), int) else None
        elif "chain" in item:
            c = item["chain"]
            chains.setdefault((c["family"], c["table"]), {})[c["name"]] = c
        elif "set" in item or "map" in item:
            s = item.get("set") or item["map"]
            sets.setdefault((s["family"], s["table"]), {})[s["name"]] = dict(s, is_map="map" in item)
        elif "rule" in item:
            r = item["rule"]
            rules.setdefault((r["family"], r["table"], r["chain"]), []).append(r)
    notes: list[str] = []
    tables: list[Table] = []
    for family, name in order:
        if (family, name) in skip:
            continue
        if family in ("bridge", "arp"):
            notes.append(f"{family} table {name} read but not evaluated (bridge/arp layer)")
        table_sets = sets.get((family, name), {})
        filled = _filled_by_rules(r for (f, t, _), rs in rules.items() if (f, t) == (family, name) for r in rs)
        if filled:
            table_sets = {n: dict(d, filled_by_rules=n in filled) for n, d in table_sets.items()}
        out_chains: list[Chain] = []
        for cname, c in chains.get((family, name), {}).items():
            built = []
            for pos, r in enumerate(rules.get((family, name, cname), []), 1):
                text = rule_texts.get((family, name, r.get("handle", -1))) or _fallback_text(r)
                file_line = lines.get((family, name, cname, pos))
                origin = Origin(
                    backend=backend, family=family, table=name, chain=cname, position=pos, text=text,
                    syntax="nft", handle=r.get("handle"),
                    file=file_line[0] if file_line else (source if backend == "file" else None),
                    line=file_line[1] if file_line else None,
                )
                built.append(_rule(r, origin, family, table_sets))
            prio = c.get("prio")
            if isinstance(prio, str):
                prio = (_BRIDGE_PRIORITY if family == "bridge" else _NAMED_PRIORITY).get(prio, 0)
            cl = chain_lines.get((family, name, cname))
            out_chains.append(Chain(
                name=cname, rules=tuple(built), hook=c.get("hook"),
                priority=prio if c.get("hook") else None, type=c.get("type"),
                policy=(c.get("policy") or "accept") if c.get("hook") else None,
                device=c.get("dev") if isinstance(c.get("dev"), str) else chain_devices.get((family, name, cname)),
                line=cl[1] if cl else None,
                handle=c.get("handle") if isinstance(c.get("handle"), int) else None,
            ))
        named = tuple(
            NamedSet(s["name"], _type_text(s.get("type")), tuple(json.dumps(e) for e in s.get("elem", ())),
                     tuple(s.get("flags", ())), s.get("is_map", False))
            for s in table_sets.values()
        )
        tables.append(Table(backend=backend, family=family, name=name, chains=tuple(out_chains),
                            sets=named, source=source, handle=handles.get((family, name))))
    return tuple(tables), tuple(notes)


def _type_text(t: Any) -> str:
    return " . ".join(t) if isinstance(t, list) else str(t)


def _fallback_text(r: dict[str, Any]) -> str:
    return json.dumps(r.get("expr", []), separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def _rule(r: dict[str, Any], origin: Origin, family: str, sets: dict[str, dict[str, Any]]) -> Rule:
    matches: list[Match] = []
    statements: list[Statement] = []
    for expr in r.get("expr", []):
        try:
            if "match" in expr:
                matches.extend(_match(expr["match"], family, sets))
            else:
                kind = next(iter(expr))
                if kind in NONDETERMINISTIC and (kind != "set" or expr["set"].get("stmt")):
                    matches.append(_nondeterministic(kind, expr[kind], _short(origin.text, _frag(expr))))
                elif kind == "vmap":
                    deps, vm = _vmap(expr["vmap"], family, sets)
                    matches.extend(d for d in deps if d not in matches)
                    statements.append(vm)
                elif kind in ("dnat", "snat", "redirect") and _is_nat_map(expr[kind]):
                    # nft makes the key's protocol a condition of the rule (meta l4proto tcp …)
                    deps, nm = _nat_map(kind, expr[kind], family, sets)
                    matches.extend(d for d in deps if d not in matches)
                    statements.append(nm)
                else:
                    statements.extend(_statement(kind, expr[kind], family, sets))
        except (_Unsupported, KeyError, TypeError, AttributeError, ValueError, IndexError, StopIteration) as e:
            # what the model cannot type is kept verbatim, never guessed
            matches.extend(d for d in getattr(e, "deps", ()) if d not in matches)
            if not isinstance(expr, dict) or "match" in expr or (
                    isinstance(expr.get("xt"), dict) and expr["xt"].get("type") == "match"):
                matches.append(UnknownMatch(_frag(expr)))
            else:
                statements.append(UnknownStatement(_frag(expr)))
    for st in statements:
        if not (isinstance(st, Verdict) and st.kind == "reject"):
            continue
        if st.detail == "tcp reset":
            # nft inserts "meta l4proto tcp" for "reject with tcp reset" and hides it when listing
            implied: Match = ProtocolMatch(frozenset({6}))
        elif family in ("inet", "bridge", "netdev") and st.detail and st.detail.split()[0] in ("icmp", "icmpv6"):
            # likewise "meta nfproto ipv4/ipv6": an ICMP reject applies to its own family only
            implied = FamilyMatch(4 if st.detail.startswith("icmp ") else 6)
        else:
            continue
        if implied not in matches:
            matches.insert(0, implied)
    return Rule(tuple(matches), tuple(statements), origin, r.get("comment"))


def _nondeterministic(kind: str, value: Any, text: str) -> NondeterministicMatch:
    """limit/meter/ct count/quota/… with what they give one new client's first packets where
    that is decidable (a positive limit is not yet exceeded; the client's own connection is the
    only one counted)."""
    first: bool | None = None
    if kind == "limit" and isinstance(value, dict):
        first = not value.get("inv", False)
    elif kind == "ct count" and isinstance(value, dict) and isinstance(value.get("val"), int):
        over = bool(value.get("inv", False))  # "ct count over N"
        first = (value["val"] < 1) if over else (value["val"] >= 1)
    elif kind in ("meter", "set") and isinstance(value, dict):
        stmt = value.get("stmt")
        inner = stmt[0] if isinstance(stmt, list) and len(stmt) == 1 else stmt
        if isinstance(inner, dict) and len(inner) == 1:
            (ikind, ivalue), = inner.items()
            if ikind in ("limit", "ct count"):
                first = _nondeterministic(ikind, ivalue, text).first_client
        kind = "meter"
    return NondeterministicMatch(kind, text, False, first)


def _frag(expr: Any) -> str:
    return json.dumps(expr, separators=(",", ":"))


def _short(text: str, frag: str) -> str:
    return text if len(text) < 200 else frag


def _statement(kind: str, value: Any, family: str, sets: dict[str, dict[str, Any]]) -> list[Statement]:
    if kind in ("accept", "drop", "return", "continue"):
        return [Verdict(kind)]  # type: ignore[arg-type]
    if kind in ("jump", "goto"):
        return [Verdict(kind, value["target"])]  # type: ignore[arg-type]
    if kind == "queue":
        return [Verdict("queue", detail=json.dumps(value))]
    if kind == "reject":
        return [Verdict("reject", detail=_reject_detail(value, family))]
    if kind in EFFECTS:
        return [EffectStatement(kind)]
    if kind == "notrack":
        return [NotrackStatement()]
    if kind in ("set", "map"):
        # add/update/delete an element: the set changes for *later* packets; this one goes on
        return [EffectStatement(f"{kind} {value.get('op', 'update') if isinstance(value, dict) else 'update'}")]
    if kind == "ct helper":
        # which helper follows the connection's control channel; not this connection's fate
        return [EffectStatement("ct helper")]
    if kind == "mangle":
        return [_mangle(value)]
    if kind in ("dnat", "snat", "redirect", "masquerade"):
        return [_nat(kind, value, family)]
    raise _Unsupported


def _reject_detail(value: Any, family: str) -> str:
    """As nft writes it: ``icmp port-unreachable``, ``icmpv6 admin-prohibited``, ``icmpx …``,
    ``tcp reset``; a bare ``reject`` is the family's port-unreachable."""
    if isinstance(value, dict) and value.get("type"):
        kind = value["type"]
        return kind if kind == "tcp reset" else f"{kind} {value.get('expr') or 'port-unreachable'}"
    default = {"ip": "icmp", "ip6": "icmpv6"}.get(family, "icmpx")
    return f"{default} port-unreachable"


# Statements that change nothing about a new inbound connection's fate. Not among them:
# "ct zone set" — a zone on one direction only makes the reply miss the connection's entry
# (conntrack then sees it as invalid), so the conversation may fail: kept unknown.
_FATE_NEUTRAL_KEYS: dict[tuple[str, str | None], str] = {("meta", "nftrace"): "nftrace",
                                                          ("meta", "priority"): "priority"}


def _mangle(value: dict[str, Any]) -> Statement:
    key = value.get("key", {})
    if "tcp option" in key:
        return EffectStatement("tcp option")  # MSS clamping: the SYN still passes
    kind, field_name = next(iter(key.items())) if isinstance(key, dict) and len(key) == 1 else ("", {})
    name = field_name.get("key") if isinstance(field_name, dict) else None
    if (kind, name) in _FATE_NEUTRAL_KEYS:
        return EffectStatement(_FATE_NEUTRAL_KEYS[(kind, name)])
    if name != "mark" or kind not in ("meta", "ct"):
        raise _Unsupported
    new = value.get("value")
    if isinstance(new, int):
        return MarkStatement(kind, ALL, new & ALL)  # type: ignore[arg-type]
    source, keep, xor = _mark_expression(new)
    if source == kind:  # new = (old & keep) ^ xor
        return MarkStatement(kind, ~keep & ALL, xor)  # type: ignore[arg-type]
    if xor:
        raise _Unsupported
    return MarkCopyStatement(kind, source, 0, keep)  # type: ignore[arg-type]


def _mark_expression(expr: Any) -> tuple[str, int, int]:
    """``meta mark``/``ct mark`` combined with constants by ``&``, ``|``, ``^`` as
    (source, K, X) with value = (source & K) ^ X; anything else is unsupported."""
    if isinstance(expr, dict) and len(expr) == 1:
        (op, operand), = expr.items()
        if op in ("meta", "ct") and isinstance(operand, dict) and operand.get("key") == "mark":
            return op, ALL, 0
        if op in ("&", "|", "^") and isinstance(operand, list) and len(operand) == 2 and isinstance(operand[1], int):
            source, keep, xor = _mark_expression(operand[0])
            m = operand[1] & ALL
            if op == "&":
                return source, keep & m, xor & m
            if op == "|":
                return source, keep & ~m & ALL, xor | m
            return source, keep, xor ^ m
    raise _Unsupported


def _nat(kind: str, value: Any, family: str) -> NatStatement:
    value = value or {}
    if kind == "masquerade":
        return NatStatement("masquerade")
    if set(value) - {"addr", "port", "family", "flags"} or value.get("flags"):
        raise _Unsupported
    ports = None
    if "port" in value:
        p = value["port"]
        if isinstance(p, int):
            ports = (p, p)
        elif isinstance(p, dict) and "range" in p:
            ports = (int(p["range"][0]), int(p["range"][1]))
        else:
            raise _Unsupported
    if kind == "redirect":
        return NatStatement("redirect", ports=ports)
    address = version = None
    if "addr" in value:
        a = value["addr"]
        if isinstance(a, dict) and "range" in a:
            lo, hi = ipaddress.ip_address(a["range"][0]), ipaddress.ip_address(a["range"][1])
        elif isinstance(a, str):
            lo = hi = ipaddress.ip_address(a)
        else:
            raise _Unsupported
        address, version = (int(lo), int(hi)), lo.version
    return NatStatement(kind, address, version, ports)  # type: ignore[arg-type]


def _is_nat_map(value: Any) -> bool:
    return isinstance(value, dict) and any(isinstance(value.get(k), dict) and "map" in value[k] for k in ("addr", "port"))


def _nat_map(kind: str, value: dict[str, Any], family: str,
             sets: dict[str, dict[str, Any]]) -> tuple[list[Match], NatMapStatement]:
    """``dnat ip to tcp dport map { 80 : 198.18.3.2 }``, ``dnat ip to ip daddr . tcp dport map
    { … : addr . port }``, ``redirect to tcp dport map { 80 : 8080 }``, named maps."""
    if set(value) - {"addr", "port", "family"}:
        raise _Unsupported
    version = {"ip": 4, "ip6": 6}.get(value.get("family") or family)
    addr, port = value.get("addr"), value.get("port")
    mapped = addr if isinstance(addr, dict) and "map" in addr else port
    assert isinstance(mapped, dict)
    flds, deps, raw, set_name = _map_lookup(mapped["map"], sets)
    fixed_addr = _nat_address(addr) if addr is not None and mapped is not addr else None
    fixed_port = _nat_port(port) if port is not None and mapped is not port else None
    entries = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2:
            raise _Unsupported(tuple(deps))
        k, v = _unwrap(item[0]), item[1]
        vals = k["concat"] if isinstance(k, dict) and "concat" in k else [k]
        if len(vals) != len(flds):
            raise _Unsupported(tuple(deps))
        new_addr, new_port = fixed_addr, fixed_port
        if mapped is addr:
            parts = v["concat"] if isinstance(v, dict) and "concat" in v else [v]
            new_addr = _nat_address(parts[0])
            if len(parts) == 2:
                new_port = _nat_port(parts[1])
            elif len(parts) != 1:
                raise _Unsupported(tuple(deps))
        else:
            new_port = _nat_port(v)
        if new_addr is not None:
            version = version or (6 if new_addr[1] > ALL else 4)
        entries.append((tuple(_elem_value(f, x) for f, x in zip(flds, vals)), new_addr, new_port))
    return _dedupe(deps), NatMapStatement(kind, tuple(_elem_field(f) for f in flds), tuple(entries),  # type: ignore[arg-type]
                                          version if kind != "redirect" else None, set_name)


def _nat_address(v: Any) -> tuple[int, int]:
    try:
        return _addr_range(v)
    except ValueError:
        raise _Unsupported from None


def _nat_port(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    if isinstance(v, dict) and "range" in v:
        return int(v["range"][0]), int(v["range"][1])
    raise _Unsupported


# ---------------------------------------------------------------------------------------------
# Matches: a left-hand expression names a field, the right-hand side gives values
# ---------------------------------------------------------------------------------------------


_META_FIELDS = {"l4proto": "l4proto", "nfproto": "nfproto", "iifname": "iif", "oifname": "oif", "iif": "iif",
                "oif": "oif", "mark": "mark", "pkttype": "pkttype", "protocol": "ethertype"}


def _field(left: Any) -> tuple[str, list[Match]]:
    """(field name, implied dependency matches) for a left-hand expression."""
    if "payload" in left and "base" in left["payload"]:
        # a raw payload expression (@ih,…: beyond the transport header; @nh/@th/@ll: header
        # bits the model has no field for)
        return ("payload" if left["payload"]["base"] == "ih" else "rawheader"), []
    if "payload" in left:
        p = left["payload"]
        key: tuple[Any, ...] = ("payload", p.get("protocol"), p.get("field"))
    elif "meta" in left:
        key = ("meta", left["meta"]["key"])
    elif "ct" in left:
        c = left["ct"]
        key = ("ct", c.get("key"), c.get("dir"))
    elif "fib" in left:
        f = left["fib"]
        flags = f.get("flags") or ()
        key = ("fib", f.get("result"), tuple(flags) if isinstance(flags, list) else (flags,))
    else:
        raise _Unsupported
    fld, deps = _field_of(key)
    return fld, list(deps)


@lru_cache(maxsize=256)
def _field_of(key: tuple[Any, ...]) -> tuple[str, tuple[Match, ...]]:
    kind = key[0]
    if kind == "payload":
        _, proto, fld = key
        implied: tuple[Match, ...] = ()
        if proto in _PROTO_DEPENDENCY:
            implied = (ProtocolMatch(frozenset({_PROTO_DEPENDENCY[proto]})),)
        if proto in ("ip", "icmp"):
            implied = (FamilyMatch(4),) + implied
        elif proto in ("ip6", "icmpv6"):
            implied = (FamilyMatch(6),) + implied
        if proto in ("ip", "ip6") and fld in ("saddr", "daddr"):
            v = 4 if proto == "ip" else 6
            return f"{fld}{v}", (FamilyMatch(v),)
        if proto == "ip" and fld == "protocol":
            return "l4proto", (FamilyMatch(4),)
        if proto == "ip6" and fld == "nexthdr":
            return "l4proto", (FamilyMatch(6),)
        if proto in PORT_PROTOCOLS and fld in ("sport", "dport"):
            return fld, (ProtocolMatch(frozenset({PORT_PROTOCOLS[proto]})),)
        if proto == "th" and fld in ("sport", "dport"):
            return fld, ()
        if proto == "tcp" and fld == "flags":
            return "tcpflags", (ProtocolMatch(frozenset({6})),)
        if proto in ("icmp", "icmpv6") and fld == "type":
            v = 4 if proto == "icmp" else 6
            return f"icmp{v}", (ProtocolMatch(frozenset({1 if v == 4 else 58})),)
        raise _Unsupported(implied)
    if kind == "meta":
        if key[1] in _META_FIELDS:
            return _META_FIELDS[key[1]], ()
        raise _Unsupported
    if kind == "ct":
        _, k, direction = key
        if direction is None and k in ("state", "status", "mark", "direction"):
            return f"ct{k}", ()
        if direction == "original" and k in ("saddr", "daddr", "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr"):
            return f"ctorig_{k.split()[-1]}", ()
        if direction == "original" and k in ("proto-dst", "proto-src"):
            return ("ctorig_dport" if k == "proto-dst" else "ctorig_sport"), ()
        raise _Unsupported
    if key[1] == "type" and key[2] in (("daddr",), ("saddr",)):
        return f"fib_{key[2][0]}_type", ()
    if key[1] == "oif" and key[2] in (("saddr", "iif"), ("saddr",)):
        return ("rpfilter_strict" if "iif" in key[2] else "rpfilter_loose"), ()
    raise _Unsupported


def _match(m: dict[str, Any], family: str, sets: dict[str, dict[str, Any]]) -> list[Match]:
    op, left, right = m.get("op", "=="), m["left"], m["right"]
    neg = op == "!="
    if isinstance(left, dict) and "concat" in left:
        return _concat_match(left["concat"], right, neg, family, sets)
    if isinstance(left, dict) and "numgen" in left:
        return [NondeterministicMatch("numgen", _frag(m))]
    if isinstance(left, dict) and "&" in left and isinstance(left["&"], list) and isinstance(left["&"][0], dict) \
            and "payload" in left["&"][0] and "base" in left["&"][0]["payload"]:
        left = left["&"][0]  # a raw payload bit test is still a raw payload match
    if isinstance(left, dict) and "&" in left:
        return _masked(left["&"], right, op)
    fld, deps = _field(left)
    if fld == "payload":
        return [PayloadMatch(_frag(m), neg)]
    if fld == "rawheader":
        raise _Unsupported
    if fld in ("rpfilter_strict", "rpfilter_loose"):
        if not isinstance(right, bool) or op not in ("==", "!="):
            raise _Unsupported
        # "oif missing" (false) holds when the reverse-path check fails
        return [ReversePathMatch(strict=fld == "rpfilter_strict", negated=(right is False) != neg)]
    if fld == "ctdirection":
        if right not in ("original", "reply") or op not in ("==", "!="):
            raise _Unsupported
        return [ConntrackDirectionMatch(right, neg)]
    if op in ("<", ">", "<=", ">="):
        if fld not in _RANGE_FIELDS:
            # "icmp type < 3", "meta pkttype > 1": the model types these fields by name only
            raise _Unsupported(tuple(deps))
        values = [_compare_range(op, right, fld)]
    elif isinstance(right, str) and right.startswith("@"):
        return deps + [_named_set_match(fld, right[1:], neg, sets)]
    elif fld == "tcpflags" and isinstance(right, list):
        values = [right]  # one value: these flags together
    else:
        values = _values(right)
    try:
        return deps + [_typed(fld, values, neg, op, family)]
    except _Unsupported as e:
        raise _Unsupported(tuple(_dedupe(deps + list(e.deps)))) from None


# Fields whose matches hold ranges: the ones a comparison (<, >, <=, >=) can be typed on.
_RANGE_FIELDS = frozenset({"saddr4", "daddr4", "saddr6", "daddr6", "sport", "dport", "ctorig_dport", "ctorig_sport"})


def _values(right: Any) -> list[Any]:
    if isinstance(right, dict) and "set" in right:
        return [_unwrap(e) for e in right["set"]]
    if isinstance(right, list):
        return right
    return [right]


def _unwrap(e: Any) -> Any:
    return e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e


def _compare_range(op: str, right: Any, fld: str) -> Any:
    """``<``/``>`` on one of :data:`_RANGE_FIELDS` (addresses and ports) as an interval."""
    if fld.startswith(("saddr", "daddr")):
        a = int(ipaddress.ip_address(right))
        top = (1 << 32) - 1 if fld.endswith("4") else (1 << 128) - 1
    else:
        a, top = int(right), 65535
    lo, hi = {"<": (0, a - 1), "<=": (0, a), ">": (a + 1, top), ">=": (a, top)}[op]
    return {"_range": (lo, hi)}


def _num_range(v: Any, fld: str) -> tuple[int, int]:
    if isinstance(v, dict) and "_range" in v:
        return v["_range"]  # type: ignore[no-any-return]
    if isinstance(v, dict) and "range" in v:
        return (_num(v["range"][0], fld), _num(v["range"][1], fld))
    n = _num(v, fld)
    return (n, n)


def _num(v: Any, fld: str) -> int:
    if isinstance(v, int):
        return v
    if isinstance(v, str) and fld in ("sport", "dport", "ctorig_dport", "ctorig_sport"):
        import socket

        try:
            return socket.getservbyname(v)
        except OSError:
            raise _Unsupported from None
    if isinstance(v, str) and v.isdigit():
        return int(v)
    raise _Unsupported


def _addr_range(v: Any) -> tuple[int, int]:
    if isinstance(v, dict) and "_range" in v:
        return v["_range"]  # type: ignore[no-any-return]
    if isinstance(v, dict) and "prefix" in v:
        n = ipaddress.ip_network(f"{v['prefix']['addr']}/{v['prefix']['len']}", strict=False)
        return int(n.network_address), int(n.broadcast_address)
    if isinstance(v, dict) and "range" in v:
        return int(ipaddress.ip_address(v["range"][0])), int(ipaddress.ip_address(v["range"][1]))
    if isinstance(v, str):
        a = _ip_int(v)
        return a, a
    raise _Unsupported


def _ip_int(text: str) -> int:
    """Address text → integer; inet_pton is ~10× faster than ipaddress at 100k rules."""
    try:
        if ":" in text:
            return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        return int.from_bytes(socket.inet_aton(text), "big") if text.count(".") == 3 else int(ipaddress.ip_address(text))
    except OSError:
        return int(ipaddress.ip_address(text))


def _address_text(v: Any) -> str:
    """The (first) address of an address value: ``"fd00::1"``, a prefix's or a range's."""
    if isinstance(v, dict) and "prefix" in v:
        return str(v["prefix"]["addr"])
    if isinstance(v, dict) and "range" in v:
        return str(v["range"][0])
    return str(v)


def _typed(fld: str, values: list[Any], neg: bool, op: str, family: str) -> Match:
    if op == "!" and fld not in ("tcpflags", "ctstate", "ctstatus"):
        raise _Unsupported  # "none of these bits": only flag fields have bits
    if fld in ("saddr4", "daddr4", "saddr6", "daddr6"):
        return AddressMatch(fld[:5], int(fld[5]), tuple(_addr_range(v) for v in values), neg)  # type: ignore[arg-type]
    if fld in ("sport", "dport"):
        return PortMatch(fld, tuple(_num_range(v, fld) for v in values), neg)  # type: ignore[arg-type]
    if fld == "l4proto":
        return ProtocolMatch(frozenset(_proto(v) for v in values), neg)
    if fld in ("nfproto", "ethertype"):
        names = {"ipv4": 4, "ipv6": 6} if fld == "nfproto" else {"ip": 4, "ip6": 6}
        vs = {names.get(v) for v in values}
        if len(vs) != 1 or None in vs:
            raise _Unsupported
        return FamilyMatch(next(v for v in vs if v is not None), neg)
    if fld in ("iif", "oif"):
        if not all(isinstance(v, str) for v in values):
            raise _Unsupported
        return InterfaceMatch(fld, tuple(values), neg)  # type: ignore[arg-type]
    if fld == "mark":
        if len(values) != 1:
            raise _Unsupported
        return MarkMatch("meta", _num(values[0], fld) & ALL, ALL, neg)
    if fld == "ctmark":
        if len(values) != 1:
            raise _Unsupported
        return MarkMatch("ct", _num(values[0], fld) & ALL, ALL, neg)
    if fld == "pkttype":
        return PacketTypeMatch(frozenset(str(v) for v in values), neg)
    if fld == "ctstate":  # "ct state ! new,untracked" (op "!"): none of them
        return ConntrackStateMatch(frozenset(str(v) for v in values), neg or op == "!")
    if fld == "ctstatus":
        return ConntrackStatusMatch(frozenset(str(v) for v in values), neg or op == "!")
    if fld in ("ctorig_saddr", "ctorig_daddr"):
        ranges = tuple(_addr_range(v) for v in values)
        version = 6 if any(":" in _address_text(v) for v in values) else 4
        return ConntrackOriginalMatch(fld[7:], ranges, version, neg)  # type: ignore[arg-type]
    if fld in ("ctorig_dport", "ctorig_sport"):
        return ConntrackOriginalMatch(fld[7:], tuple(_num_range(v, fld) for v in values), None, neg)  # type: ignore[arg-type]
    if fld == "tcpflags":
        if len(values) > 1 and op not in ("in", "!"):
            # "tcp flags { syn, ack }" is a set lookup: the flags are exactly one of the values,
            # which one TcpFlagsMatch cannot say
            raise _Unsupported
        mask = 0
        for v in values:
            for f in (v if isinstance(v, list) else [v]):
                mask |= TCP_FLAGS[f]
        if op == "in":  # any of the flags is set
            return TcpFlagsMatch(mask, 0, not neg)
        if op == "!":  # none of the flags is set
            return TcpFlagsMatch(mask, 0, neg)
        return TcpFlagsMatch(0xFF, mask, neg)
    if fld in ("icmp4", "icmp6"):
        return IcmpTypeMatch(int(fld[-1]), tuple(str(v) for v in values), neg)
    if fld in ("fib_daddr_type", "fib_saddr_type"):
        return AddrTypeMatch(fld[4:9], frozenset(str(v).upper() for v in values), neg, fib=True)  # type: ignore[arg-type]
    raise _Unsupported


def _proto(v: Any) -> int:
    if isinstance(v, int):
        return v
    try:
        return protocol_number(str(v))
    except (KeyError, ValueError):
        raise _Unsupported from None


def _masked(operands: list[Any], right: Any, op: str) -> list[Match]:
    left, mask = operands
    neg = op == "!="
    fld, deps = _field(left)
    if fld == "tcpflags":
        def bits(x: Any) -> int:
            out = 0
            for f in (x if isinstance(x, list) else [x]):
                out |= TCP_FLAGS[f] if isinstance(f, str) else int(f)
            return out
        comp = bits(right) if right not in ([], 0) else 0
        return deps + [TcpFlagsMatch(bits(mask), comp, neg)]
    if fld in ("mark", "ctmark") and isinstance(mask, int) and isinstance(right, int):
        return deps + [MarkMatch("meta" if fld == "mark" else "ct", right & mask, mask, neg)]
    if fld[:5] in ("saddr", "daddr") and op in ("==", "!=") and isinstance(mask, str) and isinstance(right, str):
        version = 4 if fld.endswith("4") else 6
        try:
            address_mask, value = int(ipaddress.ip_address(mask)), int(ipaddress.ip_address(right))
        except ValueError:
            raise _Unsupported from None
        return deps + [MaskedAddressMatch(fld[:5], version, address_mask, value, neg)]  # type: ignore[arg-type]
    if fld == "ctstate" and op in ("==", "!=") and right == 0:
        # "ct state & (new|untracked) == 0": none of the listed states
        states = mask if isinstance(mask, list) else [mask]
        return deps + [ConntrackStateMatch(frozenset(states), not neg)]
    raise _Unsupported


_SET_FIELDS = {"ipv4_addr": "addr4", "ipv6_addr": "addr6", "inet_service": "port", "inet_proto": "l4proto",
               "ifname": "ifname", "mark": "mark"}


def _set_definition(name: str, sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    s = sets.get(name)
    if s is None:
        raise _Unsupported
    return s


def _filled_by_rules(rules: Iterable[dict[str, Any]]) -> set[str]:
    """Names of the sets and maps the ruleset's own rules add to (``add @knock { ip saddr }``,
    ``update @meter …``): their members depend on what clients sent before."""
    out: set[str] = set()
    for r in rules:
        for expr in r.get("expr", []):
            stmt = expr.get("set") or expr.get("map") if isinstance(expr, dict) else None
            if (isinstance(stmt, dict) and stmt.get("op") in ("add", "update")
                    and isinstance(stmt.get("set") or stmt.get("map"), str)):
                out.add(str(stmt.get("set") or stmt.get("map")).lstrip("@"))
    return out


def _history(name: str, neg: bool) -> Match:
    return NondeterministicMatch("dynamic set", f"@{name} (filled by the ruleset's own rules)", neg)


def _named_set_match(fld: str, name: str, neg: bool, sets: dict[str, dict[str, Any]]) -> Match:
    s = _set_definition(name, sets)
    if s.get("filled_by_rules"):
        return _history(name, neg)
    values = [_unwrap(e) for e in s.get("elem", [])]
    m = _typed(fld, values, neg, "==", "")
    # keep the set's name for display
    if isinstance(m, (AddressMatch, PortMatch)):
        return type(m)(**{**m.__dict__, "set_name": name})
    return m


def _elem_field(fld: str) -> str:
    return {"saddr4": "saddr", "saddr6": "saddr", "daddr4": "daddr", "daddr6": "daddr",
            "sport": "sport", "dport": "dport", "l4proto": "l4proto", "iif": "iif", "oif": "oif",
            "ctstate": "ctstate", "nfproto": "nfproto", "ethertype": "nfproto"}.get(fld, "")


_FAMILIES = {"ip": 4, "ipv4": 4, "ip6": 6, "ipv6": 6}


def _elem_value(fld: str, v: Any) -> Any:
    if fld.startswith(("saddr", "daddr")):
        return _addr_range(v)
    if fld in ("sport", "dport"):
        return _num_range(v, fld)
    if fld == "l4proto":
        p = _proto(v)
        return (p, p)
    if fld in ("iif", "oif", "ctstate"):
        if not isinstance(v, str):
            raise _Unsupported
        return v
    if fld in ("nfproto", "ethertype") and v in _FAMILIES:  # meta protocol/nfproto vmaps
        return (_FAMILIES[v], _FAMILIES[v])
    raise _Unsupported


def _concat_match(parts: list[Any], right: Any, neg: bool, family: str,
                  sets: dict[str, dict[str, Any]]) -> list[Match]:
    fields: list[str] = []
    deps: list[Match] = []
    version = None
    unknown = False
    for p in parts:
        try:
            fld, d = _field(p)
        except _Unsupported as e:
            deps += e.deps  # what the known protocols imply still holds: kept before the unknown
            unknown = True
            continue
        deps += d
        if not _elem_field(fld):
            unknown = True
        fields.append(fld)
        if fld[-1] in "46" and fld.startswith(("saddr", "daddr")):
            version = int(fld[-1])
    if unknown:
        raise _Unsupported(tuple(_dedupe(deps)))
    if isinstance(right, str) and right.startswith("@"):
        name = right[1:]
        if _set_definition(name, sets).get("filled_by_rules"):
            return _dedupe(deps) + [_history(name, neg)]
        raw = [_unwrap(e) for e in _set_definition(name, sets).get("elem", [])]
    else:
        name = "anonymous"
        raw = _values(right)
    elements = []
    for item in raw:
        vals = item["concat"] if isinstance(item, dict) and "concat" in item else None
        if vals is None or len(vals) != len(fields):
            raise _Unsupported
        elements.append(tuple(_elem_value(f, v) for f, v in zip(fields, vals)))
    return _dedupe(deps) + [SetElementMatch(name, tuple(_elem_field(f) for f in fields), tuple(elements), version, neg)]


def _dedupe(ms: list[Match]) -> list[Match]:
    out: list[Match] = []
    for m in ms:
        if m not in out:
            out.append(m)
    return out


def _map_lookup(value: dict[str, Any], sets: dict[str, dict[str, Any]]) -> tuple[list[str], list[Match], Any, str | None]:
    """A map lookup ``KEY map|vmap DATA``: the key's fields, what they imply, the raw
    (key, value) items and the named map's name (``None`` for an inline map)."""
    key, data = value["key"], value["data"]
    keys = key["concat"] if isinstance(key, dict) and "concat" in key else [key]
    flds: list[str] = []
    deps: list[Match] = []
    for k in keys:
        f, d = _field(k)
        if not _elem_field(f):
            raise _Unsupported(tuple(deps + d))
        flds.append(f)
        deps += d
    set_name = None
    if isinstance(data, str) and data.startswith("@"):
        set_name = data[1:]
        raw = [_unwrap(e) for e in _set_definition(set_name, sets).get("elem", [])]
    else:
        raw = data["set"] if isinstance(data, dict) and "set" in data else data
    return flds, deps, raw, set_name


def _vmap(value: dict[str, Any], family: str, sets: dict[str, dict[str, Any]]) -> tuple[list[Match], VerdictMap]:
    flds, deps, raw, set_name = _map_lookup(value, sets)
    entries = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2:
            raise _Unsupported
        k, verdict = _unwrap(item[0]), item[1]
        vals = k["concat"] if isinstance(k, dict) and "concat" in k else [k]
        if len(vals) != len(flds):
            raise _Unsupported
        vkind = next(iter(verdict))
        if vkind not in ("accept", "drop", "return", "continue", "jump", "goto"):
            raise _Unsupported
        v = Verdict(vkind, verdict[vkind]["target"] if vkind in ("jump", "goto") else None)
        entries.append((tuple(_elem_value(f, x) for f, x in zip(flds, vals)), v))
    version = None
    for f in flds:
        if f[-1] in "46" and f.startswith(("saddr", "daddr")):
            version = int(f[-1])
    return _dedupe(deps), VerdictMap(tuple(_elem_field(f) for f in flds), tuple(entries), version, set_name)
