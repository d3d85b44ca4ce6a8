"""Small builders for hand-made ruleset models in evaluator tests."""

from __future__ import annotations

import ipaddress
import itertools

from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.host import HostContext, Interface, Route
from auditor.model.ruleset import (
    Chain,
    ConntrackStateMatch,
    EffectStatement,
    MarkCopyStatement,
    MarkStatement,
    NatMapStatement,
    NatStatement,
    NotrackStatement,
    Origin,
    PortMatch,
    ProtocolMatch,
    Rule,
    Ruleset,
    Table,
    Verdict,
    VerdictMap,
)

DEST, DEST6 = "198.18.0.1", "fd00::1"
HOST = HostContext(
    interfaces=(
        Interface("lo", (ipaddress.ip_interface("127.0.0.1/8"), ipaddress.ip_interface("::1/128"))),
        Interface("eth0", (ipaddress.ip_interface("198.18.0.1/24"), ipaddress.ip_interface("fd00::1/64"))),
        Interface("eth1", (ipaddress.ip_interface("198.18.9.1/24"),)),
        Interface("br0", (ipaddress.ip_interface("198.19.5.1/24"),)),
    ),
    routes=(
        Route(ipaddress.ip_network("198.18.0.0/24"), "eth0"),
        Route(ipaddress.ip_network("fd00::/64"), "eth0"),
        Route(ipaddress.ip_network("198.18.9.0/24"), "eth1"),
        Route(ipaddress.ip_network("198.19.5.0/24"), "br0"),
        Route(ipaddress.ip_network("0.0.0.0/0"), "eth1", gateway="198.18.9.254"),
    ),
    forwarding_v4=True,
    forwarding_v6=False,
)
ACCEPT, DROP, REJECT, RETURN = Verdict("accept"), Verdict("drop"), Verdict("reject"), Verdict("return")
RESET = Verdict("reject", detail="tcp-reset")
ESTABLISHED = ConntrackStateMatch(frozenset({"established", "related"}))
_counter = itertools.count(1)
_STATEMENTS = (Verdict, VerdictMap, NatStatement, NatMapStatement, MarkStatement, MarkCopyStatement,
               NotrackStatement, EffectStatement)


def net(n: str) -> tuple[int, int]:
    x = ipaddress.ip_network(n)
    return int(x.network_address), int(x.broadcast_address)


def rule(chain: str, *parts: object, table: str = "filter", backend: str = "iptables-nft",
         family: str = "ip", text: str | None = None) -> Rule:
    matches = tuple(p for p in parts if not isinstance(p, _STATEMENTS))
    statements = tuple(p for p in parts if isinstance(p, _STATEMENTS))
    n = next(_counter)
    syntax = "nft" if backend == "nftables" else "iptables"
    return Rule(matches, statements, Origin(backend, family, table, chain, n, text or f"rule {n}", syntax))  # type: ignore[arg-type]


def tcp(*ports: int) -> tuple[ProtocolMatch, PortMatch]:
    return ProtocolMatch(frozenset({6})), PortMatch("dport", tuple((p, p) for p in ports))


def udp(*ports: int) -> tuple[ProtocolMatch, PortMatch]:
    return ProtocolMatch(frozenset({17})), PortMatch("dport", tuple((p, p) for p in ports))


def base(name: str, hook: str, prio: int, policy: str, *rules: Rule, type_: str | None = None,
         handle: int | None = None) -> Chain:
    return Chain(name, tuple(rules), hook=hook, priority=prio, policy=policy, type=type_, handle=handle)  # type: ignore[arg-type]


def ipt(name: str, *chains: Chain, family: str = "ip", backend: str = "iptables-nft",
        handle: int | None = None) -> Table:
    return Table(backend, family, name, tuple(chains), handle=handle)  # type: ignore[arg-type]


def nft(name: str, *chains: Chain, family: str = "inet", handle: int | None = None) -> Table:
    return Table("nftables", family, name, tuple(chains), handle=handle)


def evaluate(tables: list[Table], *, sources: tuple[str, ...] = ("198.18.0.0/24",), iif: str = "eth0",
             host: HostContext = HOST, protocols: tuple[str, ...] = ("tcp", "udp"), dest: str = DEST) -> Exposure:
    return evaluate_exposure(Ruleset(tuple(tables)), host, ExposureQuery(iif, dest, sources, protocols))


def at(exp: Exposure, port: int, protocol: str = "tcp", source: str | None = None) -> ExposureEntry:
    hits = [e for e in exp.entries
            if e.protocol == protocol and e.ports[0] <= port <= e.ports[1]
            and (source is None or ipaddress.ip_address(source) in ipaddress.ip_network(e.source))]
    assert len(hits) == 1, hits
    return hits[0]
