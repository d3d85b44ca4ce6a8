"""Sockets that accept traffic: the *listening* view."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Process:
    pid: int
    name: str
    user: str


@dataclass(frozen=True, order=True)
class Listener:
    """A TCP socket in LISTEN or a bound, unconnected UDP socket.

    ``address`` is the bound address as the kernel reports it (``0.0.0.0``, ``::``, ``::ffff:…``
    for an IPv4-mapped bind). ``dual_stack`` is true for an IPv6 socket with IPV6_V6ONLY off
    bound to ``::`` (or a mapped address): it also accepts IPv4.
    """

    protocol: str  # "tcp" | "udp"
    family: str  # "ipv4" | "ipv6"
    address: str
    port: int
    interface: str | None = None  # SO_BINDTODEVICE, when set
    dual_stack: bool = False
    processes: tuple[Process, ...] = field(default=(), compare=False)

    @property
    def is_wildcard(self) -> bool:
        return self.address in ("0.0.0.0", "::")

    @property
    def is_loopback(self) -> bool:
        a = self.address
        return a.startswith("127.") or a == "::1" or a.startswith("::ffff:127.")

    @property
    def accepts_ipv4(self) -> bool:
        return self.family == "ipv4" or self.dual_stack or self.address.startswith("::ffff:")

    @property
    def accepts_ipv6(self) -> bool:
        return self.family == "ipv6" and not self.address.startswith("::ffff:")

    def serves(self, destination: str) -> bool:
        """Whether this socket accepts connections addressed to ``destination``."""
        dest = ipaddress.ip_address(destination)
        if self.is_loopback:
            return dest.is_loopback
        if dest.version == 4:
            if self.family == "ipv4":
                return self.address in ("0.0.0.0", destination)
            if self.address == "::":
                return self.dual_stack
            return self.address == f"::ffff:{destination}"
        return self.family == "ipv6" and self.address in ("::", destination)
