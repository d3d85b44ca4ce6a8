"""``fwaudit policy init``: draft a policy from what a host exposes now, for a human to review.

Zones are drafted from the host's connected IPv4/IPv6 subnets (one ``local-<iface>`` zone each)
plus ``internet``. Every listener becomes a service with its process and bind scope; the zones
allowed are the ones the firewall admits it from today (when the firewall view is available),
so the draft describes the status quo — the reviewer's job is to tighten it. Every name in
it comes from someone else (processes, interfaces) and is emitted quoted (:func:`yaml_quote`).
"""

from __future__ import annotations

import ipaddress
from typing import Sequence

from auditor.engine.reconcile_firewall import serves
from auditor.model.host import HostContext
from auditor.model.listener import Listener
from auditor.model.result import ZoneExposure
from auditor.untrusted import escape


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
        f"# Drafted by 'fwaudit policy init' from {escape(target)}. REVIEW before use: it describes what",
        "# is exposed today, not what should be.",
        "version: 1",
        f"name: {yaml_quote(target.replace(':', '-'))}",
        "default: deny",
        "require_explicit_rules: false  # set true for the CIS check (explicit rules for all open ports)",
        "zones:",
    ]
    for name, nets in zones.items():
        lines.append(f"  {yaml_quote(name)}: [{', '.join(yaml_quote(n) for n in nets)}]")
    lines.append("services:")
    groups: dict[tuple[str, int], list[Listener]] = {}
    for l in listeners:
        groups.setdefault((l.protocol, l.port), []).append(l)
    if not groups:
        lines[-1] = "services: []"
    used_names: set[str] = set()
    for (proto, port), socks in sorted(groups.items()):
        procs = sorted({p.name for l in socks for p in l.processes})
        name = procs[0] if procs and procs[0] else f"{proto}-{port}"
        if name in used_names:
            name = f"{name}-{proto}-{port}"
        while name in used_names:  # a process may be named like another entry's fallback
            name += "-"
        used_names.add(name)
        reach = sorted({
            v.zone for v in views for e in v.exposure.entries
            if e.protocol == proto and e.ports[0] <= port <= e.ports[1] and e.verdict == "accept"
            and any(serves(l, v.exposure.destination) for l in socks)
        })
        lines += [f"  - name: {yaml_quote(name)}", f"    protocol: {proto}", f"    port: {port}",
                  f"    zones: [{', '.join(yaml_quote(z) for z in reach)}]"
                  + ("" if views else "  # firewall view unavailable: fill in")]
        if procs:
            lines.append(f"    processes: [{', '.join(yaml_quote(p) for p in procs)}]")
        lines.append(f"    bind: {_bind(socks)}")
    return "\n".join(lines) + "\n"


def _bind(socks: Sequence[Listener]) -> str:
    if all(l.is_loopback for l in socks):
        return "loopback"
    if any(l.is_wildcard for l in socks):
        return "any"
    addrs = sorted({l.address.removeprefix("::ffff:") for l in socks}, key=lambda a: ipaddress.ip_address(a))
    return "[" + ", ".join(yaml_quote(a) for a in addrs) + "]"


def yaml_quote(s: str) -> str:
    """``s`` as a YAML double-quoted scalar that reads back as exactly ``s``.

    Process and interface names are whatever their owners chose: ``yes``, ``-1``, ``&a``,
    ``!!binary``, ``: `` or a newline must never be read as YAML. Everything is quoted;
    printable characters stay readable, anything else (controls, bidi and format characters,
    surrogates) becomes a ``\\u``/``\\U`` escape — ``\\U`` for astral characters, as YAML
    parsers do not join escaped surrogate pairs.
    """
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F or (code >= 0xA0 and escape(ch) == ch):
            out.append(ch)
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def zones_policy(zones: dict[str, list[str]]) -> str:
    """A minimal policy declaring just ``zones`` (to evaluate the firewall per zone)."""
    lines = ["version: 1", "name: draft", "zones:"]
    lines += [f"  {yaml_quote(name)}: [{', '.join(yaml_quote(n) for n in nets)}]" for name, nets in zones.items()]
    return "\n".join(lines) + "\n"
