"""What the evaluator must know about the machine besides its rules."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Interface:
    name: str
    addresses: tuple[IPInterface, ...] = ()  # address with its prefix length
    bridge: str | None = None  # the bridge this interface is a port of, if any


@dataclass(frozen=True)
class Route:
    destination: IPNetwork
    device: str | None
    gateway: str | None = None
    type: str = "unicast"  # unicast | local | blackhole | unreachable | prohibit


@dataclass(frozen=True)
class HostContext:
    """Interfaces, routes and forwarding switches of a target (live) or as declared (offline).

    ``forwarding`` is ``None`` when unknown (offline without a statement either way).
    ``complete`` says whether the interface list is the whole truth (live) or only what the
    user declared (offline): with an incomplete view, a destination we cannot place is
    indeterminate rather than "not local".
    """

    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    forwarding_v4: bool | None = None
    forwarding_v6: bool | None = None
    complete: bool = True

    def interface(self, name: str) -> Interface | None:
        for i in self.interfaces:
            if i.name == name:
                return i
        return None

    def local_addresses(self, version: int) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        return tuple(a.ip for i in self.interfaces for a in i.addresses if a.version == version)
