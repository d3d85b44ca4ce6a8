"""Interfaces, addresses, routes and forwarding switches of the current network namespace.

The evaluator needs them to decide local delivery vs forwarding, the output interface of a
forwarded (e.g. DNAT'ed to a container) connection, and ``addrtype``/``fib`` matches. Read via
rtnetlink (pyroute2); runs inside the target namespace like every collector.
"""

from __future__ import annotations

import ipaddress

from auditor.model.host import HostContext, Interface, IPInterface, Route

_ROUTE_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}
RT_TABLE_MAIN = 254


def collect_host() -> HostContext:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        masters = {
            link["index"]: link.get_attr("IFLA_MASTER") for link in ipr.get_links()
        }
        addrs: dict[int, list[IPInterface]] = {i: [] for i in names}
        for a in ipr.get_addr():
            addr = a.get_attr("IFA_ADDRESS")
            if a["family"] == 2 and a.get_attr("IFA_LOCAL"):
                addr = a.get_attr("IFA_LOCAL")  # point-to-point: IFA_ADDRESS is the peer
            addrs.setdefault(a["index"], []).append(ipaddress.ip_interface(f"{addr}/{a['prefixlen']}"))
        routes: list[Route] = []
        for family in (2, 10):
            for r in ipr.get_routes(family=family, table=RT_TABLE_MAIN):
                dst = r.get_attr("RTA_DST")
                plen = r["dst_len"]
                net = ipaddress.ip_network(
                    f"{dst}/{plen}" if dst else ("0.0.0.0/0" if family == 2 else "::/0"), strict=False
                )
                oif = r.get_attr("RTA_OIF")
                routes.append(Route(
                    destination=net,
                    device=names.get(oif) if oif else None,
                    gateway=r.get_attr("RTA_GATEWAY"),
                    type=_ROUTE_TYPES.get(r["type"], str(r["type"])),
                ))
    interfaces = tuple(
        Interface(
            name=names[i],
            addresses=tuple(addrs.get(i, ())),
            bridge=names.get(masters.get(i)) if masters.get(i) else None,
        )
        for i in sorted(names)
    )
    return HostContext(
        interfaces=interfaces,
        routes=tuple(routes),
        forwarding_v4=_sysctl("/proc/sys/net/ipv4/ip_forward"),
        forwarding_v6=_sysctl("/proc/sys/net/ipv6/conf/all/forwarding"),
        complete=True,
    )


def _sysctl(path: str) -> bool | None:
    try:
        with open(path) as f:
            return f.read().strip() == "1"
    except OSError:
        return None


def offline_host(interfaces: dict[str, list[str]], *, forwarding: bool | None = None) -> HostContext:
    """A host described by the user (``--interface NAME=ADDR/LEN``) for offline evaluation.

    Connected routes follow from the declared prefixes, as the kernel would add them.
    """
    ifaces = tuple(
        Interface(name=n, addresses=tuple(ipaddress.ip_interface(a) for a in addrs))
        for n, addrs in interfaces.items()
    )
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
    )
