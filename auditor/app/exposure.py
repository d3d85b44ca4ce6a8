"""``fwaudit exposure``: what a client experiences connecting to one address of a host, per
source and port range — from the live rules of a target, a snapshot, or ruleset files."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence

from auditor.app.loaders import load_policy, load_snapshot
from auditor.app.options import one_firewall_source, parse_bridges, parse_interfaces
from auditor.collect.host import offline_host
from auditor.collect.ruleset import collect_firewall_view, read_ruleset_files
from auditor.engine.exposure import default_destination, exposures
from auditor.errors import InputError
from auditor.model.exposure import Exposure
from auditor.model.host import HostContext
from auditor.model.policy import Policy
from auditor.model.ruleset import Ruleset
from auditor.model.snapshot import HostSnapshot
from auditor.target.targets import parse_target
from auditor.untrusted import excerpt

Parts = list[tuple[str | None, Exposure]]


def exposure(*, in_interface: str, target: str | None = None, rulesets: Sequence[str] = (),
             snapshot: str | None = None, destination: str | None = None, sources: Sequence[str] = (),
             zones: Sequence[str] = (), policy: str | os.PathLike[str] | None = None,
             interfaces: Sequence[str] = (), forwarding: bool | None = None,
             bridges: Sequence[str] = ()) -> Parts:
    """One exposure for the plain sources, plus one per requested zone. ``interfaces``,
    ``forwarding`` and ``bridges`` describe the host of ``rulesets`` (offline)."""
    one_firewall_source(target, rulesets, snapshot)
    if bridges and not rulesets:
        raise InputError("--bridge describes the host of --ruleset files (offline only)")
    pol = load_policy(policy) if policy is not None else None
    if target is not None:
        tgt = parse_target(target)
        # evaluated inside the target: only the (small) exposure crosses back, not a 100k-rule model
        return tgt.call(_live, str(tgt), in_interface, destination, list(sources), list(zones), pol)
    if snapshot is not None:
        snap = load_snapshot(snapshot)
        rules, host = firewall_of(snap)
        dest = destination or default_destination(host, in_interface, _family(sources))
        return exposures(rules, host, target=snap.target, in_interface=in_interface, destination=dest,
                         sources=sources, zones=zones, policy=pol)
    if destination is None:
        raise InputError("--destination is required with --ruleset")
    declared = parse_interfaces(interfaces)
    declared.setdefault(in_interface, []).append(_as_interface(destination))
    rules = read_ruleset_files(list(rulesets))
    host = offline_host(declared, forwarding=forwarding, bridges=parse_bridges(bridges, declared))
    return exposures(rules, host, target=rules.source, in_interface=in_interface, destination=destination,
                     sources=sources, zones=zones, policy=pol)


def firewall_of(snap: HostSnapshot) -> tuple[Ruleset, HostContext]:
    """The snapshot's ruleset and host facts; a snapshot without them is an input error."""
    if snap.ruleset is None or snap.host is None:
        raise InputError(f"the snapshot of {snap.target} has no firewall view: " + ("; ".join(snap.notes) or "not read"))
    return snap.ruleset, snap.host


def _family(sources: Sequence[str]) -> int | None:
    """The address family the sources ask for (the default destination follows it)."""
    return 6 if sources and ":" in sources[0] else None


def _as_interface(destination: str) -> str:
    """``--destination`` as an address of the arrival interface (``/32`` or ``/128``)."""
    try:
        return str(ipaddress.ip_interface(destination))
    except ValueError:
        raise InputError(f"--destination {excerpt(destination)!r} is not an address") from None


def _live(label: str, in_interface: str, destination: str | None, sources: list[str], zones: list[str],
          policy: Policy | None) -> Parts:
    """Runs inside the target: read its firewall and evaluate."""
    rules, host = collect_firewall_view()
    dest = destination or default_destination(host, in_interface, _family(sources))
    return exposures(rules, host, target=label, in_interface=in_interface, destination=dest,
                     sources=sources, zones=zones, policy=policy)
