"""Turn ``fwaudit exposure`` options into evaluator queries (one per zone) and run them."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.engine.zones import effective_zone_sources
from auditor.errors import InputError
from auditor.model.exposure import Exposure
from auditor.model.host import HostContext
from auditor.model.policy import Policy
from auditor.model.ruleset import Ruleset
from auditor.untrusted import excerpt


def default_destination(host: HostContext, interface: str, want_version: int | None = None) -> str:
    """The interface's primary address (IPv4 first unless the sources are IPv6)."""
    iface = host.interface(interface)
    if iface is None:
        known = ", ".join(i.name for i in host.interfaces) or "none"
        raise InputError(f"no interface {interface!r} on the target (interfaces: {known})")
    for version in ((want_version,) if want_version else (4, 6)):
        for a in iface.addresses:
            if a.version == version and not a.ip.is_link_local:
                return str(a.ip)
    raise InputError(f"interface {interface} has no address; give --destination")


def exposures(
    ruleset: Ruleset,
    host: HostContext,
    *,
    target: str,
    in_interface: str,
    destination: str,
    sources: Sequence[str] = (),
    zones: Sequence[str] = (),
    policy: Policy | None = None,
    protocols: Sequence[str] = ("tcp", "udp"),
) -> list[tuple[str | None, Exposure]]:
    """One exposure for the plain sources, plus one per requested zone."""
    try:
        version = ipaddress.ip_address(destination).version
    except ValueError:
        raise InputError(f"--destination {excerpt(destination)!r} is not an IP address") from None
    out: list[tuple[str | None, Exposure]] = []
    if sources or not zones:
        q = ExposureQuery(in_interface, destination, tuple(sources), tuple(protocols))
        out.append((None, evaluate_exposure(ruleset, host, q, target=target)))
    # as in the audit, a source belongs to its most specific zone: ``internet: 0.0.0.0/0``
    # beside ``lan`` excludes the LAN
    owned = effective_zone_sources(policy, version) if policy is not None else {}
    for name in zones:
        if policy is None:
            raise InputError("--zone needs --policy FILE (zones are defined in the policy)")
        if policy.zone(name) is None:
            known = ", ".join(z.name for z in policy.zones)
            raise InputError(f"zone {name!r} is not defined in {policy.path} (zones: {known})")
        nets = tuple(owned.get(name, ()))
        if not nets:
            continue
        q = ExposureQuery(in_interface, destination, nets, tuple(protocols))
        out.append((name, evaluate_exposure(ruleset, host, q, target=target)))
    if not out:
        raise InputError(f"none of the zones has IPv{version} networks for destination {destination}")
    return out
