"""Fleet logic, pure: host reports in, one :class:`Fleet` out — every host once, findings and
reachable ports grouped across hosts ("which hosts expose tcp/5432 to the internet zone?")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from auditor.model.fleet import (
    CellVerdict,
    ExposureGroup,
    FindingGroup,
    Fleet,
    HostReport,
    InputProblem,
)
from auditor.untrusted import escape

# -- merging --------------------------------------------------------------------------------------

def merge_fleet(reports: Iterable[HostReport], problems: Iterable[InputProblem] = (),
                generated_at: float = 0.0) -> Fleet:
    """One fleet from host reports: hosts by name, findings and exposures grouped across hosts.

    A host reported twice (two files name it) is an input problem for the second file: which of
    two disagreeing reports is true cannot be decided here.
    """
    hosts: dict[str, HostReport] = {}
    issues = list(problems)
    for r in reports:
        first = hosts.get(r.host)
        if first is not None:
            issues.append(InputProblem(r.source, f"{r.source}: host {escape(r.host)!r} is already reported by {first.source}"))
            continue
        hosts[r.host] = r
    ordered = tuple(hosts[name] for name in sorted(hosts))
    return Fleet(hosts=ordered, findings=_finding_groups(ordered), exposure=_exposure_groups(ordered),
                 problems=tuple(issues), generated_at=generated_at)


def _finding_groups(hosts: Sequence[HostReport]) -> tuple[FindingGroup, ...]:
    groups: dict[tuple[str, str | None, str | None, tuple[int, int] | None], list[Any]] = {}
    for h in hosts:
        for f in h.findings:
            g = groups.setdefault((f.check, f.zone, f.protocol, f.ports), [f.title, f.severity, {}])
            g[1] = max(g[1], f.severity)
            g[2][h.host] = None
    out = [FindingGroup(check, title, sev, zone, proto, ports, tuple(names))
           for (check, zone, proto, ports), (title, sev, names) in groups.items()]
    return tuple(sorted(out, key=lambda g: (-int(g.severity), -len(g.hosts), g.check, g.zone or "",
                                            g.protocol or "", g.ports or (0, 0))))


def _exposure_groups(hosts: Sequence[HostReport]) -> tuple[ExposureGroup, ...]:
    groups: dict[tuple[str, str, tuple[int, int], CellVerdict], list[str]] = {}
    for h in hosts:
        m = h.matrix
        if m is None:
            continue
        for zone, row in zip(m.zones, m.cells):
            for col, cell in zip(m.columns, row):
                if cell.verdict in ("accept", "indeterminate"):
                    groups.setdefault((zone, col.protocol, col.ports, cell.verdict), []).append(h.host)
    return tuple(ExposureGroup(zone, proto, ports, verdict, tuple(names))
                 for (zone, proto, ports, verdict), names
                 in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1], kv[0][3])))
