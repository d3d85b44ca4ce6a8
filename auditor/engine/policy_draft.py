"""``fwaudit policy init``: draft a policy from what a host exposes now, for a human to review.

Zones are drafted from the host's connected IPv4/IPv6 subnets (one ``local-<iface>`` zone each)
plus ``internet``. Every listener becomes a service with its process and bind scope; the zones
allowed are the ones the firewall admits it from today (when the firewall view is available),
so the draft describes the status quo — the reviewer's job is to tighten it. Names come from
someone else (processes, interfaces): the renderer quotes every one
(:mod:`auditor.report.policy_yaml`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auditor.model.host import HostContext
from auditor.model.listener import Listener
from auditor.model.policy import Bind, IPAddress, Policy, Service, Zone
from auditor.model.result import ZoneExposure

INTERNET = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def draft_zones(host: HostContext) -> tuple[Zone, ...]:
    """One ``local-<iface>`` zone per interface with connected subnets, then ``internet``."""
    zones: list[Zone] = []
    for iface in host.interfaces:
        if iface.name == "lo":
            continue
        nets = sorted({str(a.network) for a in iface.addresses
                       if not a.ip.is_link_local and not a.ip.is_loopback and a.network.num_addresses > 1})
        if nets:
            zones.append(Zone(f"local-{iface.name}", tuple(ipaddress.ip_network(n) for n in nets)))
    zones.append(Zone("internet", INTERNET))
    return tuple(zones)


def zones_only(zones: tuple[Zone, ...]) -> Policy:
    """A policy declaring just ``zones``: what the firewall is evaluated against per zone."""
    return Policy(path="<draft>", name="draft", zones=zones, services=())


def draft_policy(target: str, listeners: Sequence[Listener], host: HostContext,
                 views: Sequence[ZoneExposure] = ()) -> Policy:
    """The draft: ``views`` are the firewall evaluated for :func:`draft_zones` (none: the
    zones of each service are left empty, to be filled in)."""
    groups: dict[tuple[str, int], list[Listener]] = {}
    for l in listeners:
        groups.setdefault((l.protocol, l.port), []).append(l)
    services: list[Service] = []
    used_names: set[str] = set()
    for (proto, port), socks in sorted(groups.items()):
        procs = tuple(sorted({p.name for l in socks for p in l.processes}))
        name = procs[0] if procs and procs[0] else f"{proto}-{port}"
        if name in used_names:
            name = f"{name}-{proto}-{port}"
        while name in used_names:  # a process may be named like another entry's fallback
            name += "-"
        used_names.add(name)
        reach = tuple(sorted({
            v.zone for v in views for e in v.exposure.entries
            if e.protocol == proto and e.ports[0] <= port <= e.ports[1] and e.verdict == "accept"
            and any(l.serves(v.exposure.destination) for l in socks)
        }))
        services.append(Service(name=name, protocol="tcp" if proto == "tcp" else "udp", ports=(port, port),
                                zones=reach, processes=procs, bind=_bind(socks)))
    return Policy(path="<draft>", name=target.replace(":", "-"), zones=draft_zones(host), services=tuple(services))


def _bind(socks: Sequence[Listener]) -> Bind:
    if all(l.is_loopback for l in socks):
        return "loopback"
    if any(l.is_wildcard for l in socks):
        return "any"
    addrs: set[IPAddress] = {ipaddress.ip_address(l.address.removeprefix("::ffff:")) for l in socks}
    return tuple(sorted(addrs, key=lambda a: (a.version, int(a))))
