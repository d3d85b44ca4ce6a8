"""The check of the *probed* view against the firewall model (FWA107)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.engine.checks.listening import port_text
from auditor.engine.checks.registry import CheckInput, check
from auditor.model.evidence import DisagreementEvidence
from auditor.model.finding import Finding, Severity


@check("FWA107", "model and probe disagree", Severity.HIGH, needs="probe", scopes=("audit", "verify"))
def model_probe_disagreement(data: CheckInput) -> Iterator[Finding]:
    """model and probe disagree (e.g. a published port reachable although INPUT drops)

    A scanned range (``audit --scan``, ``verify --prove``) whose probe result is inconsistent
    with the evaluator's verdict for the same source and ports: the model or the host is not
    what it seems (NAT, a construct modelled wrongly, Docker bypassing INPUT).
    """
    for zone, comparisons in data.comparisons:
        for c in comparisons:
            if c.agrees:
                continue
            ports = port_text(c.ports)
            rule = c.entry.decisive[-1].text if c.entry.decisive else "no rule"
            yield Finding(
                id=f"FWA107:{zone or c.source}:{c.protocol}/{ports}", check="FWA107",
                title="model and probe disagree", severity=Severity.HIGH, zone=zone,
                protocol=c.protocol, ports=c.ports,
                message=(f"{c.protocol}/{ports} from {c.source}: the firewall model says {c.verdict} "
                         f"('{rule}') but the probe found it {c.probed}"),
                evidence=DisagreementEvidence(c.probed, c.verdict, c.source, c.entry.path, c.entry.translated_to),
                fix="inspect NAT and other front ends (Docker publishes ports through FORWARD, bypassing INPUT); "
                    "trace the packet with 'nft monitor trace'",
            )
