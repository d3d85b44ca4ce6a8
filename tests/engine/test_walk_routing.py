"""Routing the client's first packet after DNAT, as the kernel does: local delivery, forwarding by
the most specific route, and what happens when the host does not (or may not) forward or has no
route — a silent drop for IPv4 without forwarding, an ICMP error (itself a packet that must get
out) otherwise. The rule that sent the packet there is named."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from auditor.model.host import HostContext, Route
from auditor.model.ruleset import InterfaceMatch, NatStatement, Rule, Table
from tests.engine.builders import ACCEPT, DEST6, ESTABLISHED, HOST, at, base, evaluate, net, nft, rule, tcp

V6 = {"dest": DEST6, "sources": ("fd00::100/120",)}


def r(chain: str, *parts: object) -> Rule:
    return rule(chain, *parts, backend="nftables", family="inet")


def _v6(address: str) -> tuple[int, int]:
    a = int(ipaddress.IPv6Address(address))
    return a, a


def _host(**changes: Any) -> HostContext:
    """The builders' host with some facts changed."""
    return replace(HOST, **changes)


def _dnat(to: NatStatement, port: int = 80) -> tuple[Rule, Table]:
    """A nat chain sending ``port`` to ``to``; every other port stays local and is accepted."""
    send = r("pre", *tcp(port), to)
    pre = base("pre", "prerouting", -100, "accept", send, type_="nat")
    return send, nft("t", pre)


def test_ipv4_without_forwarding_drops_silently_and_names_the_dnat() -> None:
    """net.ipv4.ip_forward=0: a packet DNATed to a foreign address is dropped without an answer."""
    send, table = _dnat(NatStatement("dnat", net("198.19.5.2/32"), 4))
    e = at(evaluate([table], host=_host(forwarding_v4=False), protocols=("tcp",)), 80)
    assert (e.verdict, e.decided_by) == ("drop", (send.origin,))
    assert e.reason == "198.19.5.2 is not local and the host does not forward"


def test_unknown_forwarding_is_indeterminate_and_names_the_dnat() -> None:
    """Offline without a forwarding statement the fate of a DNATed packet is unknown; packets that
    stay local are still decided."""
    send, table = _dnat(NatStatement("dnat", net("198.19.5.2/32"), 4))
    exp = evaluate([table], host=_host(forwarding_v4=None), protocols=("tcp",))
    e = at(exp, 80)
    assert (e.verdict, e.decided_by) == ("indeterminate", (send.origin,))
    assert e.reason == "198.19.5.2 is not local and whether the host forwards is unknown"
    assert at(exp, 81).verdict == "accept"


def test_ipv6_without_forwarding_answers_no_route() -> None:
    """net.ipv6.conf.all.forwarding=0: the host answers ICMPv6 no-route, which a TCP client sees
    as a refusal and a UDP socket does not report (a soft error): silence."""
    send, table = _dnat(NatStatement("dnat", _v6("fd00::2"), 6))
    exp = evaluate([table], **V6)  # type: ignore[arg-type]
    e = at(exp, 80)
    assert (e.verdict, e.decided_by) == ("reject", (send.origin,))
    assert e.reason == "fd00::2 is not local and the host does not forward: the host answers icmpv6 no-route"
    udp = Table("nftables", "inet", "u", (base("pre", "prerouting", -100, "accept",
                                               r("pre", NatStatement("dnat", _v6("fd00::2"), 6)), type_="nat"),))
    assert at(evaluate([udp], protocols=("udp",), **V6), 80, "udp").verdict == "drop"  # type: ignore[arg-type]


def test_ipv6_with_forwarding_routes_by_the_ipv6_table() -> None:
    """With IPv6 forwarding on, a DNAT to a neighbour on fd00::/64 is forwarded."""
    send, table = _dnat(NatStatement("dnat", _v6("fd00::2"), 6, (8080, 8080)))
    e = at(evaluate([table], host=_host(forwarding_v6=True), protocols=("tcp",), **V6), 80)  # type: ignore[arg-type]
    assert (e.verdict, e.path, e.translated_to) == ("accept", "forward", ("fd00::2", 8080))
    assert e.admitted_by == (send.origin,)


def test_ipv4_without_a_route_answers_net_unreachable() -> None:
    """No route (live view): the host answers ICMP net-unreachable; a TCP client sees a refusal."""
    send, table = _dnat(NatStatement("dnat", net("198.18.200.2/32"), 4))
    e = at(evaluate([table], host=_host(routes=HOST.routes[:4]), protocols=("tcp",)), 80)
    assert (e.verdict, e.decided_by) == ("reject", (send.origin,))
    assert e.reason == "no route to 198.18.200.2: the host answers icmp net-unreachable"


def test_offline_without_a_route_is_indeterminate() -> None:
    """Offline, an address outside every declared subnet may still be routed by routes not
    declared: indeterminate, naming the DNAT."""
    send, table = _dnat(NatStatement("dnat", net("198.18.200.2/32"), 4))
    e = at(evaluate([table], host=_host(routes=HOST.routes[:4], complete=False), protocols=("tcp",)), 80)
    assert (e.verdict, e.decided_by) == ("indeterminate", (send.origin,))
    assert e.reason == ("whether the host has a route to 198.18.200.2 is unknown offline "
                        "(not in a declared subnet)")


def test_of_two_routes_for_one_prefix_the_first_listed_is_used() -> None:
    """Routes to the same prefix are listed in lookup order (lowest metric first): the first
    one's device is the forwarded packet's output interface."""
    both = (Route(ipaddress.ip_network("198.19.5.0/24"), "br0"), Route(ipaddress.ip_network("198.19.5.0/24"), "eth1"))
    _, table = _dnat(NatStatement("dnat", net("198.19.5.2/32"), 4))
    fwd = base("fwd", "forward", 0, "drop", r("fwd", InterfaceMatch("oif", ("br0",)), ACCEPT), r("fwd", ESTABLISHED, ACCEPT))
    filtering = Table("nftables", "inet", "t", table.chains + (fwd,))
    host = _host(routes=HOST.routes[:2] + both + HOST.routes[2:3])
    e = at(evaluate([filtering], host=host, protocols=("tcp",)), 80)
    assert (e.verdict, e.path) == ("accept", "forward")
