"""The *firewall* view: what a client experiences when it talks to each port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from auditor.model.ruleset import Origin

VerdictName = Literal["accept", "drop", "reject", "indeterminate"]
LegName = Literal["request", "reply", "client", "reply-data", "reject-answer"]


@dataclass(frozen=True)
class Leg:
    """One packet of the conversation a client needs, and what the firewall did with it.

    ``request``: the client's first packet (TCP SYN / the UDP datagram); ``reply``: the
    service's answer (SYN-ACK / the UDP reply); ``client``: the client's next packet (the ACK
    that completes the handshake); ``reply-data``: the service's data (its greeting);
    ``reject-answer``: the TCP reset or ICMP error a REJECT sends back, itself a packet that
    must get out. ``verdict`` is ``accept`` for a leg that got through.
    """

    name: LegName
    verdict: VerdictName
    decided_by: tuple[Origin, ...] = ()


@dataclass(frozen=True)
class ExposureEntry:
    """One (source prefix, protocol, port range) with one outcome: what a client there
    experiences when it talks to the port.

    ``verdict`` is ``accept`` only when every packet of the conversation gets through (see
    :class:`Leg`); otherwise it is what the client sees: ``reject`` when a reject's answer
    reaches it, ``drop`` when something is silently lost on the way (including the service's
    replies). ``decided_by`` lists the rules that decided it, in evaluation order: for an accept
    the rules that let each leg through (each base chain's accepting rule; a chain policy is
    represented by the chain itself with position 0), otherwise the rules of the leg that
    failed. ``legs`` gives the same per packet. ``reason`` explains indeterminate outcomes,
    policy decisions, failed later legs and assumptions. ``translated_to`` is ``(address,
    port)`` when DNAT/REDIRECT rewrote the destination, and ``path`` whether the connection ends
    in this host (``input``) or is forwarded.
    """

    source: str
    protocol: Literal["tcp", "udp"]
    ports: tuple[int, int]
    verdict: VerdictName
    decided_by: tuple[Origin, ...] = ()
    reason: str | None = None
    path: Literal["input", "forward"] = "input"
    translated_to: tuple[str, int | None] | None = None
    legs: tuple[Leg, ...] = ()

    @property
    def failed_leg(self) -> Leg | None:
        """The leg that decided a verdict other than accept (``None`` for accept)."""
        for leg in self.legs:
            if leg.verdict != "accept" and leg.name != "reject-answer":
                return leg
        return None

    def leg(self, name: str) -> Leg | None:
        for leg in self.legs:
            if leg.name == name:
                return leg
        return None

    @property
    def admitted_by(self) -> tuple[Origin, ...]:
        """The rules that decided the client's first packet — what "a rule for this port" means
        to CIS and to a reviewer."""
        leg = self.leg("request")
        return leg.decided_by if leg is not None else self.decided_by

    @property
    def decisive(self) -> tuple[Origin, ...]:
        """The rules a fix starts from: what admitted the first packet (accept), else the leg
        that failed."""
        if self.verdict == "accept":
            return self.admitted_by
        failed = self.failed_leg
        return failed.decided_by if failed is not None else self.decided_by


@dataclass(frozen=True)
class Exposure:
    target: str
    in_interface: str
    destination: str
    entries: tuple[ExposureEntry, ...]
    notes: tuple[str, ...] = ()
