"""The *declared* view: what the owner says should be reachable, from where, served by whom."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Where a service may listen: any address, loopback only, or these addresses.
Bind = Literal["any", "loopback"] | tuple[IPAddress, ...]


@dataclass(frozen=True)
class Zone:
    name: str
    networks: tuple[IPNetwork, ...]
    description: str = ""


@dataclass(frozen=True)
class Service:
    """An expected service: ``protocol`` ``ports`` reachable from ``zones``, served by one of
    ``processes`` (empty = any), bound as ``bind`` says.

    ``bind`` is ``"any"`` (wildcard allowed), ``"loopback"`` (only 127.0.0.0/8 / ::1) or a tuple
    of addresses the socket may be bound to. ``optional`` services may be absent without a
    finding. ``line`` is the policy file line that declared it (for messages).
    """

    name: str
    protocol: Literal["tcp", "udp"]
    ports: tuple[int, int]
    zones: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    bind: Bind = "any"
    optional: bool = False
    line: int | None = None


@dataclass(frozen=True)
class Policy:
    """A validated policy file.

    ``default``: what undeclared ports should be — ``deny`` (an undeclared listener or exposure
    is a finding) or ``allow`` (only declared services are checked).
    ``require_explicit_rules``: the CIS check — every non-loopback listener must be covered by an
    explicit firewall rule, not only by a chain policy.
    ``ignore_processes``: listeners owned by these process names are not reported as undeclared
    (e.g. ``dockerd``'s embedded DNS on 127.0.0.11).
    """

    path: str
    name: str
    zones: tuple[Zone, ...]
    services: tuple[Service, ...]
    default: Literal["deny", "allow"] = "deny"
    require_explicit_rules: bool = False
    ignore_processes: tuple[str, ...] = ()
    description: str = ""

    def zone(self, name: str) -> Zone | None:
        for z in self.zones:
            if z.name == name:
                return z
        return None
