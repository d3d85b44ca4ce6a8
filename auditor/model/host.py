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
    ``bridge_netfilter_v4``/``_v6``: whether br_netfilter hands bridged IPv4/IPv6 packets to the
    IP hooks (``net.bridge.bridge-nf-call-iptables``/``-ip6tables``; ``False`` when the module is
    not loaded, ``None`` unknown). It changes where a TCP reset goes: see :meth:`bridged_arrival`.
    ``complete`` says whether the interface list is the whole truth (live) or only what the
    user declared (offline): with an incomplete view, a destination we cannot place is
    indeterminate rather than "not local".
    """

    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    forwarding_v4: bool | None = None
    forwarding_v6: bool | None = None
    complete: bool = True
    bridge_netfilter_v4: bool | None = None
    bridge_netfilter_v6: bool | None = None

    def interface(self, name: str) -> Interface | None:
        for i in self.interfaces:
            if i.name == name:
                return i
        return None

    def bridged_arrival(self, name: str, version: int) -> bool | None:
        """Whether a packet arriving on ``name`` crossed br_netfilter: ``name`` is a bridge with
        ports and br_netfilter calls the IP hooks for ``version``. The kernel then sends a
        REJECT's TCP reset straight out of the bridge port (``nf_send_reset``: no output or
        postrouting hook, no NAT undone). ``None``: a bridge, but the switch is unknown."""
        if not any(i.bridge == name for i in self.interfaces):
            return False
        return self.bridge_netfilter_v4 if version == 4 else self.bridge_netfilter_v6

    def local_addresses(self, version: int) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        return tuple(a.ip for i in self.interfaces for a in i.addresses if a.version == version)
