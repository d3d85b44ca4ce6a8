"""Static verdicts beside probe results: every disagreement is evidence that the model or the
host is not what it seems (NAT, a mis-modelled construct, Docker bypassing INPUT).

Compatibility of a probe state with a firewall verdict, for a port with or without a listener:

| probe          | consistent verdicts                                           |
|----------------|---------------------------------------------------------------|
| open           | accept (with a listener)                                      |
| closed         | accept without listener (the stack answers), reject           |
| filtered       | drop, reject (an ICMP "prohibited" answer reads as filtered)  |
| open_filtered  | accept (UDP: silent service), drop                            |

``indeterminate`` is consistent with anything — the probe then *resolves* it, which is reported
separately.

A scan sees only part of a conversation: a TCP SYN scan ends at the SYN-ACK, a UDP probe at the
reply. A verdict that fails on a later packet (the client's ACK dropped or rejected, the
service's data lost on its way out) looks like ``accept`` to it, and is compared as such.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence

from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.errors import InputError
from auditor.model.exposure import Exposure, ExposureEntry, VerdictName
from auditor.model.host import HostContext
from auditor.model.listener import Listener
from auditor.model.ruleset import Ruleset
from auditor.model.scan import Comparison, ConversationProbe, ProbeState, ScanEntry, ScanResult

_CONSISTENT: dict[tuple[ProbeState, bool], set[str]] = {
    ("open", True): {"accept"},
    ("open", False): {"accept"},
    ("closed", True): {"reject"},
    ("closed", False): {"accept", "reject"},
    ("filtered", True): {"drop", "reject"},
    ("filtered", False): {"drop", "reject"},
    ("open_filtered", True): {"accept", "drop"},
    ("open_filtered", False): {"accept", "drop"},
}


def compare(scan: ScanResult, exposure: Exposure, listening: Callable[[str, int], bool]) -> list[Comparison]:
    """Pair every scanned range with the evaluator's entries for the same source and ports."""
    out: list[Comparison] = []
    for s in scan.entries:
        for e in exposure.entries:
            if e.protocol != s.protocol or not _same_source(e.source, s.source):
                continue
            lo, hi = max(s.ports[0], e.ports[0]), min(s.ports[1], e.ports[1])
            if lo > hi:
                continue
            # a range may mix ports with and without listeners: split at listener ports
            seen = scan_visible_verdict(e)
            for a, b, has in _by_listener(s, lo, hi, listening):
                ok = seen == "indeterminate" or seen in _CONSISTENT[(s.state, has)]
                out.append(Comparison(s.source, s.protocol, (a, b), s.state, e.verdict, ok, e))
    return out


_CONVERSATION: dict[str, VerdictName] = {"open": "accept", "refused": "reject", "silent": "drop"}
_SCAN_STATE: dict[str, ProbeState] = {"open": "open", "refused": "closed", "silent": "filtered"}


def conversation_comparisons(talked: Sequence[ConversationProbe], exposure: Exposure) -> list[Comparison]:
    """Whole conversations with greeting listeners beside the full verdict: open ⇔ accept,
    refused ⇔ reject, silent ⇔ drop."""
    out: list[Comparison] = []
    for point in talked:
        for e in exposure.entries:
            if e.protocol == point.protocol and e.ports[0] <= point.port <= e.ports[1] \
                    and _same_source(e.source, point.source):
                ok = e.verdict == "indeterminate" or _CONVERSATION[point.outcome] == e.verdict
                out.append(Comparison(point.source, point.protocol, (point.port, point.port),
                                      _SCAN_STATE[point.outcome], e.verdict, ok, e))
    return out


def scan_visible_verdict(e: ExposureEntry) -> VerdictName:
    """The verdict as far as a scan can see: the first packet and the service's first answer."""
    leg = e.failed_leg
    if leg is not None and leg.name in ("client", "reply-data"):
        return "accept"
    return e.verdict


def _same_source(entry_source: str, scan_source: str) -> bool:
    return ipaddress.ip_address(scan_source.split("/")[0]) in ipaddress.ip_network(entry_source)


def _by_listener(s: ScanEntry, lo: int, hi: int,
                 listening: Callable[[str, int], bool]) -> Iterator[tuple[int, int, bool]]:
    start = lo
    current = listening(s.protocol, lo)
    for p in range(lo + 1, hi + 1):
        has = listening(s.protocol, p)
        if has != current:
            yield start, p - 1, current
            start, current = p, has
    yield start, hi, current


def explain_scan(scan: ScanResult, ruleset: Ruleset, host: HostContext, listeners: Sequence[Listener], *,
                 in_interface: str, target: str) -> list[Comparison]:
    """The evaluator's verdict for the interface the probe really arrived on, beside every
    range of ``scan`` (``scan --explain``, ``audit --scan``)."""
    sources = tuple(sorted({e.source for e in scan.entries}))
    exposure = evaluate_exposure(ruleset, host, ExposureQuery(in_interface, scan.destination, sources), target=target)
    listening = {(l.protocol, l.port) for l in listeners}
    return compare(scan, exposure, lambda proto, port: (proto, port) in listening)


def arrival_interface(host: HostContext, address: str, target: str) -> str:
    """The interface of ``host`` that carries ``address``: where a probe sent to that address
    over a container's network arrives. Not always ``eth0``: a container on several networks
    has ``eth1``…, and interfaces can be renamed inside the container."""
    wanted = ipaddress.ip_address(address)
    for i in host.interfaces:
        if any(a.ip == wanted for a in i.addresses):
            return i.name
    raise InputError(f"{address} is not an address of {target}: cannot tell where the probe arrived")
