"""The check only a pre-deployment ``verify`` runs: does a candidate ruleset open exactly what
the policy declares (FWA201)?

No listeners exist yet, so the question is about the firewall alone. Findings carry the file
and line of the deciding rule, for SARIF annotations on the ruleset repository.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.engine import intervals as iv
from auditor.engine.checks.firewall import wanted_ports
from auditor.engine.checks.registry import CheckInput, check
from auditor.model.evidence import CandidateEvidence
from auditor.model.exposure import ExposureEntry
from auditor.model.finding import CheckOutcome, Finding, Severity


@check("FWA201", "opens undeclared ports", Severity.HIGH, needs="firewall", scopes=("verify",))
def candidate_opens_undeclared(data: CheckInput) -> Iterator[Finding | CheckOutcome]:
    """(verify) candidate ruleset admits undeclared ports

    Port ranges the candidate accepts from a zone beyond what the policy declares for it, one
    finding per admitting rule, located at that rule's file and line.
    """
    assert data.views is not None
    views = data.views
    for zone in sorted({v.zone for v in views}):
        for proto in ("tcp", "udp"):
            wanted = wanted_ports(data.policy, zone, proto)
            opened: dict[tuple[tuple[str | None, int | None, str], ...], list[ExposureEntry]] = {}
            for v in views:
                if v.zone != zone:
                    continue
                for e in v.exposure.entries:
                    if e.protocol != proto or e.verdict != "accept":
                        continue
                    if iv.subtract(((e.ports[0], e.ports[1]),), wanted):
                        key = tuple((o.file, o.line, o.text) for o in e.admitted_by)
                        opened.setdefault(key, []).append(e)
            yield CheckOutcome("FWA201", f"{zone} {proto} opens only declared ports", not opened)
            for entries in opened.values():
                bad = iv.subtract(iv.normalize([e.ports for e in entries]), wanted)
                admitted = entries[0].admitted_by
                rules = [o for o in admitted if o.position > 0]
                where = rules[-1] if rules else (admitted[-1] if admitted else None)
                loc = (where.file, where.line) if where is not None and where.file and where.line else None
                ports = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in bad[:8])
                yield Finding(
                    id=f"FWA201:{zone}:{proto}/{bad[0][0]}-{bad[-1][1]}", check="FWA201",
                    title="opens undeclared ports", severity=Severity.HIGH, zone=zone, protocol=proto,
                    ports=(bad[0][0], bad[-1][1]),
                    message=(f"the candidate admits {proto} {ports}{' …' if len(bad) > 8 else ''} from zone {zone} "
                             f"({iv.size(bad)} ports), which the policy does not declare"
                             + (f"; decided by '{where.text}'" if where is not None else "")),
                    evidence=CandidateEvidence(tuple(sorted({e.source for e in entries})[:20]), admitted),
                    fix=(f"narrow or remove the rule at {where.file}:{where.line}" if loc and where else
                         f"add a default drop for {proto} from zone {zone}"),
                    location=loc,
                )
