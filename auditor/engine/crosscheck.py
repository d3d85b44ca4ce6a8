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

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.finding import Finding, Severity
from auditor.model.scan import ScanEntry, ScanResult

_CONSISTENT = {
    ("open", True): {"accept"},
    ("open", False): {"accept"},
    ("closed", True): {"reject"},
    ("closed", False): {"accept", "reject"},
    ("filtered", True): {"drop", "reject"},
    ("filtered", False): {"drop", "reject"},
    ("open_filtered", True): {"accept", "drop"},
    ("open_filtered", False): {"accept", "drop"},
}


@dataclass(frozen=True)
class Comparison:
    source: str
    protocol: str
    ports: tuple[int, int]
    probed: str
    verdict: str
    agrees: bool
    entry: ExposureEntry


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


_CONVERSATION = {"open": "accept", "refused": "reject", "silent": "drop"}
_SCAN_STATE = {"open": "open", "refused": "closed", "silent": "filtered"}


def conversation_comparisons(talked: Mapping[Any, str], exposure: Exposure) -> list[Comparison]:
    """Whole conversations with greeting listeners (``probe(..., conversation=True)``) beside the
    full verdict: open ⇔ accept, refused ⇔ reject, silent ⇔ drop."""
    out: list[Comparison] = []
    for point, outcome in talked.items():
        for e in exposure.entries:
            if e.protocol == point.protocol and e.ports[0] <= point.port <= e.ports[1] \
                    and _same_source(e.source, point.source):
                ok = e.verdict == "indeterminate" or _CONVERSATION[outcome] == e.verdict
                out.append(Comparison(point.source, point.protocol, (point.port, point.port),
                                      _SCAN_STATE[outcome], e.verdict, ok, e))
    return out


def scan_visible_verdict(e: ExposureEntry) -> str:
    """The verdict as far as a scan can see: the first packet and the service's first answer."""
    leg = e.failed_leg
    if leg is not None and leg.name in ("client", "reply-data"):
        return "accept"
    return e.verdict


def _same_source(entry_source: str, scan_source: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(scan_source.split("/")[0]) in ipaddress.ip_network(entry_source)


def _by_listener(s: ScanEntry, lo: int, hi: int, listening: Callable[[str, int], bool]):
    start = lo
    current = listening(s.protocol, lo)
    for p in range(lo + 1, hi + 1):
        has = listening(s.protocol, p)
        if has != current:
            yield start, p - 1, current
            start, current = p, has
    yield start, hi, current


def disagreement_findings(comparisons: list[Comparison], zone: str | None = None) -> list[Finding]:
    findings = []
    for c in comparisons:
        if c.agrees:
            continue
        ports = str(c.ports[0]) if c.ports[0] == c.ports[1] else f"{c.ports[0]}-{c.ports[1]}"
        rule = c.entry.decisive[-1].text if c.entry.decisive else "no rule"
        findings.append(Finding(
            id=f"FWA107:{zone or c.source}:{c.protocol}/{ports}", check="FWA107",
            title="model and probe disagree", severity=Severity.HIGH, zone=zone,
            protocol=c.protocol, ports=c.ports,
            message=(f"{c.protocol}/{ports} from {c.source}: the firewall model says {c.verdict} "
                     f"('{rule}') but the probe found it {c.probed}"),
            evidence={"probe": c.probed, "verdict": c.verdict, "source": c.source,
                      "path": c.entry.path, "translated_to": c.entry.translated_to},
            fix="inspect NAT and other front ends (Docker publishes ports through FORWARD, bypassing INPUT); "
                "trace the packet with 'nft monitor trace'",
        ))
    return findings
