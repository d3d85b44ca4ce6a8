"""Rulesets as a person reads them from the source, to hold the readers against.

Reading a file through ``nft -f`` + ``nft -j`` and reading the same rules back from the kernel
go through one tool and one parser, so comparing the two cannot find a parser bug. The
expectations written with these helpers are the independent side: what each rule of the file
means, in the model's terms, written by hand from the file.

``semantics`` keeps what decides a packet's fate and drops what is only for display (rule
texts, positions, the text of history-dependent matches, the reject variant a verdict keeps
for display); match order within a rule does not matter (a rule is a conjunction).
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, get_args

from auditor.model.ruleset import (
    AddressMatch, NondeterministicMatch, PortMatch, ProtocolMatch, Rule, Statement, Table, Verdict,
    protocol_number,
)

ACCEPT, DROP, RETURN = Verdict("accept"), Verdict("drop"), Verdict("return")
_STATEMENTS = get_args(Statement)


def _ranges(texts: Iterable[str]) -> tuple[tuple[int, int], ...]:
    out = []
    for t in texts:
        if "-" in t:
            lo, hi = t.split("-")
            out.append((int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi))))
        else:
            n = ipaddress.ip_network(t)
            out.append((int(n.network_address), int(n.broadcast_address)))
    return tuple(out)


def addr(field: str, *texts: str, negated: bool = False, set_name: str | None = None) -> AddressMatch:
    """``addr("saddr", "198.18.0.0/24", "198.18.1.5")``: version from the first address."""
    version = ipaddress.ip_network(texts[0].split("-")[0]).version
    return AddressMatch(field, version, _ranges(texts), negated=negated, set_name=set_name)  # type: ignore[arg-type]


def proto(*names: str, negated: bool = False) -> ProtocolMatch:
    return ProtocolMatch(frozenset(protocol_number(n) for n in names), negated=negated)


def dport(*ports: int | tuple[int, int], negated: bool = False, field: str = "dport") -> PortMatch:
    ranges = tuple((p, p) if isinstance(p, int) else p for p in ports)
    return PortMatch(field, ranges, negated=negated)  # type: ignore[arg-type]


def rule(*parts: object) -> tuple:
    """An expected rule: its matches (in any order) and statements (in order)."""
    matches = [p for p in parts if not isinstance(p, _STATEMENTS)]
    statements = [p for p in parts if isinstance(p, _STATEMENTS)]
    return _normal(matches, statements)


def _match_key(m: object) -> object:
    if isinstance(m, NondeterministicMatch):  # its text is display; what it is and its sense decide
        return ("nondeterministic", m.kind, m.negated)
    return m


def _statement_key(s: object) -> object:
    if isinstance(s, Verdict):
        return Verdict(s.kind, s.chain)
    return s


def _normal(matches: Iterable[object], statements: Iterable[object]) -> tuple:
    return (tuple(sorted((_match_key(m) for m in matches), key=repr)), tuple(_statement_key(s) for s in statements))


def semantic(r: Rule) -> tuple:
    return _normal(r.matches, r.statements)


def semantics(tables: Iterable[Table]) -> dict[tuple[str, str, str], list[tuple]]:
    """(family, table, chain) → the meaning of each rule, in order."""
    return {(t.family, t.name, c.name): [semantic(r) for r in c.rules] for t in tables for c in t.chains}


def headers(tables: Iterable[Table]) -> dict[tuple[str, str, str], tuple]:
    """(family, table, chain) → (hook, priority, policy) for base chains."""
    return {(t.family, t.name, c.name): (c.hook, c.priority, c.policy)
            for t in tables for c in t.chains if c.hook is not None}
