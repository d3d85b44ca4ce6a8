"""``fwaudit policy init``: draft a policy from what a host exposes now, for a human to review.

Zones are drafted from the host's connected IPv4/IPv6 subnets (one ``local-<iface>`` zone each)
plus ``internet``. Every listener becomes a service with its process and bind scope; the zones
allowed are the ones the firewall admits it from today (when the firewall view is available),
so the draft describes the status quo — the reviewer's job is to tighten it.
"""

from __future__ import annotations

import ipaddress
from typing import Sequence

from auditor.engine.reconcile_firewall import serves
from auditor.model.host import HostContext
from auditor.model.listener import Listener
from auditor.model.result import ZoneExposure


def draft_zones(host: HostContext) -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    for iface in host.interfaces:
        if iface.name == "lo":
            continue
        nets = sorted({str(a.network) for a in iface.addresses
                       if not a.ip.is_link_local and not a.ip.is_loopback and a.network.num_addresses > 1})
        if nets:
            zones[f"local-{iface.name}"] = nets
    zones["internet"] = ["0.0.0.0/0", "::/0"]
    return zones


def draft_policy(
    target: str, listeners: Sequence[Listener], host: HostContext, views: Sequence[ZoneExposure] = ()
) -> str:
    zones = draft_zones(host)
    lines = [
        f"# Drafted by 'fwaudit policy init' from {target}. REVIEW before use: it describes what",
        "# is exposed today, not what should be.",
        "version: 1",
        f"name: {_yaml_str(target.replace(':', '-'))}",
        "default: deny",
        "require_explicit_rules: false  # set true for the CIS check (explicit rules for all open ports)",
        "zones:",
    ]
    for name, nets in zones.items():
        lines.append(f"  {name}: [{', '.join(_yaml_str(n) for n in nets)}]")
    lines.append("services:")
    groups: dict[tuple[str, int], list[Listener]] = {}
    for l in listeners:
        groups.setdefault((l.protocol, l.port), []).append(l)
    if not groups:
        lines[-1] = "services: []"
    used_names: set[str] = set()
    for (proto, port), socks in sorted(groups.items()):
        procs = sorted({p.name for l in socks for p in l.processes})
        base = procs[0] if procs else f"{proto}-{port}"
        name = base if base not in used_names else f"{base}-{proto}-{port}"
        used_names.add(name)
        reach = sorted({
            v.zone for v in views for e in v.exposure.entries
            if e.protocol == proto and e.ports[0] <= port <= e.ports[1] and e.verdict == "accept"
            and any(serves(l, v.exposure.destination) for l in socks)
        })
        lines += [f"  - name: {_yaml_str(name)}", f"    protocol: {proto}", f"    port: {port}",
                  f"    zones: [{', '.join(reach)}]"]
        if procs:
            lines.append(f"    processes: [{', '.join(_yaml_str(p) for p in procs)}]")
        lines.append(f"    bind: {_bind(socks)}")
        if not views:
            lines[-3] += "  # firewall view unavailable: fill in"
    return "\n".join(lines) + "\n"


def _bind(socks: Sequence[Listener]) -> str:
    if all(l.is_loopback for l in socks):
        return "loopback"
    if any(l.is_wildcard for l in socks):
        return "any"
    addrs = sorted({l.address.removeprefix("::ffff:") for l in socks}, key=lambda a: ipaddress.ip_address(a))
    return "[" + ", ".join(_yaml_str(a) for a in addrs) + "]"


def _yaml_str(s: str) -> str:
    safe = s.replace(".", "").replace("-", "").replace("_", "").isalnum() and not s[:1].isdigit()
    return s if safe else '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
