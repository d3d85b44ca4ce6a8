"""Interfaces, addresses, routes and forwarding switches of the current network namespace.

The evaluator needs them to decide local delivery vs forwarding, the output interface of a
forwarded (e.g. DNAT'ed to a container) connection, and ``addrtype``/``fib`` matches. Read via
rtnetlink (pyroute2, :func:`fetch_netlink`) and turned into the model by a pure
:func:`parse_netlink`; runs inside the target namespace like every collector. A host described
by the user for offline evaluation is :func:`offline_host`.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from auditor.model.host import HostContext, Interface, IPInterface, Route

_ROUTE_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}
RT_TABLE_MAIN = 254
AF_INET, AF_INET6 = 2, 10


@dataclass(frozen=True)
class Netlink:
    """What rtnetlink and the forwarding sysctls say, as plain values: links (index, name,
    master index), addresses (link index, family, IFA_ADDRESS, IFA_LOCAL, prefix length),
    routes of the main table (family, destination, prefix length, output link, gateway, type)."""

    links: tuple[tuple[int, str, int | None], ...]
    addresses: tuple[tuple[int, int, str, str | None, int], ...]
    routes: tuple[tuple[int, str | None, int, int | None, str | None, int], ...]
    forwarding_v4: bool | None
    forwarding_v6: bool | None
    bridge_netfilter_v4: bool | None = None
    bridge_netfilter_v6: bool | None = None


def fetch_netlink() -> Netlink:
    """Links, addresses and routes of the current namespace (rtnetlink), and its forwarding."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        links = tuple((link["index"], link.get_attr("IFLA_IFNAME"), link.get_attr("IFLA_MASTER"))
                      for link in ipr.get_links())
        addresses = tuple((a["index"], a["family"], a.get_attr("IFA_ADDRESS"), a.get_attr("IFA_LOCAL"), a["prefixlen"])
                          for a in ipr.get_addr())
        routes = tuple((family, r.get_attr("RTA_DST"), r["dst_len"], r.get_attr("RTA_OIF"), r.get_attr("RTA_GATEWAY"),
                        r["type"])
                       for family in (AF_INET, AF_INET6) for r in ipr.get_routes(family=family, table=RT_TABLE_MAIN))
    return Netlink(links, addresses, routes, _sysctl("/proc/sys/net/ipv4/ip_forward"),
                   _sysctl("/proc/sys/net/ipv6/conf/all/forwarding"),
                   _bridge_switch("bridge-nf-call-iptables"), _bridge_switch("bridge-nf-call-ip6tables"))


def parse_netlink(raw: Netlink) -> HostContext:
    """The host facts the evaluator uses, from what rtnetlink said."""
    names = {index: name for index, name, _ in raw.links}
    addrs: dict[int, list[IPInterface]] = {i: [] for i in names}
    for index, family, address, local, prefixlen in raw.addresses:
        addr = local if family == AF_INET and local else address  # point-to-point: IFA_ADDRESS is the peer
        addrs.setdefault(index, []).append(ipaddress.ip_interface(f"{addr}/{prefixlen}"))
    routes = tuple(
        Route(
            destination=ipaddress.ip_network(
                f"{dst}/{plen}" if dst else ("0.0.0.0/0" if family == AF_INET else "::/0"), strict=False),
            device=names.get(oif) if oif else None,
            gateway=gateway,
            type=_ROUTE_TYPES.get(kind, str(kind)),
        )
        for family, dst, plen, oif, gateway, kind in raw.routes
    )
    interfaces = tuple(
        Interface(name=name, addresses=tuple(addrs.get(index, ())),
                  bridge=names.get(master) if master else None)
        for index, name, master in sorted(raw.links)
    )
    return HostContext(interfaces=interfaces, routes=routes, forwarding_v4=raw.forwarding_v4,
                       forwarding_v6=raw.forwarding_v6, complete=True,
                       bridge_netfilter_v4=raw.bridge_netfilter_v4, bridge_netfilter_v6=raw.bridge_netfilter_v6)


def collect_host() -> HostContext:
    return parse_netlink(fetch_netlink())


def _sysctl(path: str) -> bool | None:
    try:
        with open(path) as f:
            return f.read().strip() == "1"
    except OSError:
        return None


def _bridge_switch(name: str) -> bool | None:
    """A br_netfilter switch of this namespace (per namespace since Linux 5.3); without the
    module (no ``/proc/sys/net/bridge``) bridged packets never reach the IP hooks: off."""
    if not os.path.isdir("/proc/sys/net/bridge"):
        return False
    return _sysctl(f"/proc/sys/net/bridge/{name}")


def offline_host(interfaces: dict[str, list[str]], *, forwarding: bool | None = None,
                 bridges: tuple[str, ...] = ()) -> HostContext:
    """A host described by the user (``--interface NAME=ADDR/LEN``) for offline evaluation.

    Connected routes follow from the declared prefixes, as the kernel would add them.
    ``bridges`` (``--bridge NAME``) are bridges with ports and br_netfilter on; every other
    declared interface is a plain one. A bridge's ports are not named offline: each gets one
    placeholder port (``NAME`` + ``/port``, a name no rule can match: ``/`` is not allowed in
    interface names) so that the bridge is known to have one.
    """
    ifaces = tuple(
        Interface(name=n, addresses=tuple(ipaddress.ip_interface(a) for a in addrs))
        for n, addrs in interfaces.items()
    ) + tuple(Interface(name=f"{b}/port", bridge=b) for b in bridges)
    routes = tuple(
        Route(destination=a.network, device=i.name)
        for i in ifaces for a in i.addresses if a.network.num_addresses > 1
    )
    return HostContext(
        interfaces=ifaces,
        routes=routes,
        forwarding_v4=forwarding,
        forwarding_v6=forwarding,
        complete=False,
        bridge_netfilter_v4=True if bridges else None,
        bridge_netfilter_v6=True if bridges else None,
    )
