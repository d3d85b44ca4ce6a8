"""What a candidate ruleset changes: the (zone, source, protocol, ports) whose verdict differs
between two evaluations of the same zones and interfaces (``verify --against``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auditor.model.result import ReachabilityChange, ZoneExposure


def diff_views(before: Sequence[ZoneExposure], after: Sequence[ZoneExposure]) -> tuple[ReachabilityChange, ...]:
    """Ranges whose verdict differs between two evaluations of the same zones/interfaces."""
    changes: list[ReachabilityChange] = []
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
                if not new_net.overlaps(old_net):  # prefixes nest or are disjoint
                    continue
                lo, hi = max(o.ports[0], e.ports[0]), min(o.ports[1], e.ports[1])
                if lo <= hi:
                    both = new_net if new_net.prefixlen >= old_net.prefixlen else old_net
                    source = str(both) if both.num_addresses > 1 else str(both.network_address)
                    changes.append(ReachabilityChange(v.zone, source, e.protocol, (lo, hi), o.verdict, e.verdict))
    return _merge_changes(changes)


def _merge_changes(changes: list[ReachabilityChange]) -> tuple[ReachabilityChange, ...]:
    changes.sort(key=lambda c: (c.zone, c.source, c.protocol, c.ports))
    out: list[ReachabilityChange] = []
    for c in changes:
        p = out[-1] if out else None
        if (p and (p.zone, p.source, p.protocol, p.before, p.after) == (c.zone, c.source, c.protocol, c.before, c.after)
                and p.ports[1] + 1 >= c.ports[0]):
            out[-1] = ReachabilityChange(p.zone, p.source, p.protocol, (p.ports[0], max(p.ports[1], c.ports[1])),
                                         p.before, p.after)
        else:
            out.append(c)
    return tuple(out)
