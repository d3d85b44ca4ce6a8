"""Pre-deployment verification: does a candidate ruleset open exactly what the policy declares?

No listeners exist yet, so the question is about the firewall alone: for every zone on every
declared interface, each declared service must be admitted (FWA102 otherwise), nothing
undeclared may be (FWA201), and nothing may be left to chance (FWA108). Findings carry the
file and line of the deciding rule, for SARIF annotations on the ruleset repository.

| check  | finding                                                       | severity |
|--------|---------------------------------------------------------------|----------|
| FWA201 | the candidate admits ports the policy does not declare for a zone | high  |
| FWA202 | difference to the live/older ruleset (``--against``)          | info     |
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Sequence

from auditor.engine import intervals as iv
from auditor.engine.reconcile_firewall import Check, firewall_findings
from auditor.model.exposure import ExposureEntry
from auditor.model.finding import Finding, Severity
from auditor.model.policy import Policy
from auditor.model.result import ZoneExposure


def verify_findings(policy: Policy, views: Sequence[ZoneExposure]) -> tuple[tuple[Finding, ...], tuple[Check, ...]]:
    base, checks = firewall_findings(policy, (), views)
    findings = [f for f in base if f.check in ("FWA102", "FWA108")]
    extra_checks = list(c for c in checks if c[0] in ("FWA102",))
    for zone in sorted({v.zone for v in views}):
        for proto in ("tcp", "udp"):
            wanted = iv.normalize([s.ports for s in policy.services if s.protocol == proto and zone in s.zones])
            opened: dict[tuple, list[ExposureEntry]] = {}
            for v in views:
                if v.zone != zone:
                    continue
                for e in v.exposure.entries:
                    if e.protocol != proto or e.verdict != "accept":
                        continue
                    if iv.subtract(((e.ports[0], e.ports[1]),), wanted):
                        key = tuple((o.file, o.line, o.text) for o in e.admitted_by)
                        opened.setdefault(key, []).append(e)
            extra_checks.append(("FWA201", f"{zone} {proto} opens only declared ports", not opened))
            for entries in opened.values():
                bad = iv.subtract(iv.normalize([e.ports for e in entries]), wanted)
                admitted = entries[0].admitted_by
                rules = [o for o in admitted if o.position > 0]
                where = rules[-1] if rules else (admitted[-1] if admitted else None)
                loc = (where.file, where.line) if where is not None and where.file and where.line else None
                ports = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in bad[:8])
                findings.append(Finding(
                    id=f"FWA201:{zone}:{proto}/{bad[0][0]}-{bad[-1][1]}", check="FWA201",
                    title="opens undeclared ports", severity=Severity.HIGH, zone=zone, protocol=proto,
                    ports=(bad[0][0], bad[-1][1]),
                    message=(f"the candidate admits {proto} {ports}{' …' if len(bad) > 8 else ''} from zone {zone} "
                             f"({iv.size(bad)} ports), which the policy does not declare"
                             + (f"; decided by '{where.text}'" if where is not None else "")),
                    evidence={"sources": sorted({e.source for e in entries})[:20],
                              "rules": [{"file": o.file, "line": o.line, "text": o.text} for o in entries[0].admitted_by]},
                    fix=(f"narrow or remove the rule at {where.file}:{where.line}" if loc else
                         f"add a default drop for {proto} from zone {zone}"),
                    location=loc,
                ))
    return tuple(findings), tuple(extra_checks)


@dataclass(frozen=True)
class Change:
    zone: str
    source: str
    protocol: str
    ports: tuple[int, int]
    before: str
    after: str


def diff_views(before: Sequence[ZoneExposure], after: Sequence[ZoneExposure]) -> list[Change]:
    """Ranges whose verdict differs between two evaluations of the same zones/interfaces."""
    changes: list[Change] = []
    index = {(v.zone, v.exposure.in_interface, v.exposure.destination): v for v in before}
    for v in after:
        old = index.get((v.zone, v.exposure.in_interface, v.exposure.destination))
        if old is None:
            continue
        for e in v.exposure.entries:
            new_net = ipaddress.ip_network(e.source)
            for o in old.exposure.entries:
                if o.protocol != e.protocol or o.verdict == e.verdict:
                    continue
                old_net = ipaddress.ip_network(o.source)
                if not new_net.overlaps(old_net):  # prefixes either nest or are disjoint
                    continue
                lo, hi = max(o.ports[0], e.ports[0]), min(o.ports[1], e.ports[1])
                if lo <= hi:
                    both = new_net if new_net.prefixlen >= old_net.prefixlen else old_net
                    source = str(both) if both.num_addresses > 1 else str(both.network_address)
                    changes.append(Change(v.zone, source, e.protocol, (lo, hi), o.verdict, e.verdict))
    return _merge_changes(changes)


def _merge_changes(changes: list[Change]) -> list[Change]:
    changes.sort(key=lambda c: (c.zone, c.source, c.protocol, c.ports))
    out: list[Change] = []
    for c in changes:
        p = out[-1] if out else None
        if (p and (p.zone, p.source, p.protocol, p.before, p.after) == (c.zone, c.source, c.protocol, c.before, c.after)
                and p.ports[1] + 1 >= c.ports[0]):
            out[-1] = Change(p.zone, p.source, p.protocol, (p.ports[0], max(p.ports[1], c.ports[1])), p.before, p.after)
        else:
            out.append(c)
    return out
