"""Policies as text: the YAML of a drafted policy (``policy init``) and the one-line summary of
a valid one (``policy check``).

Every name in a draft comes from someone else (processes, interfaces, the target) and is
emitted double-quoted (:func:`yaml_quote`), so a process called ``yes``, ``-1`` or ``a: b``
stays a name when the policy is read back.
"""

from __future__ import annotations

from auditor.model.policy import Bind, Policy, Service
from auditor.untrusted import escape


def policy_summary(path: str, policy: Policy) -> str:
    names = {s.name for s in policy.services}
    return escape(f"{path}: valid policy {policy.name!r}: {len(policy.zones)} zone(s), "
                  f"{len(names)} service(s) ({len(policy.services)} protocol/port entries), default {policy.default}")


def render_draft(policy: Policy, target: str, *, firewall_view: bool) -> str:
    """The YAML of a drafted policy, headed by a comment naming ``target``; without a
    ``firewall_view`` each service's zones are marked to be filled in."""
    lines = [
        f"# Drafted by 'fwaudit policy init' from {escape(target)}. REVIEW before use: it describes what",
        "# is exposed today, not what should be.",
        "version: 1",
        f"name: {yaml_quote(policy.name)}",
        f"default: {policy.default}",
        f"require_explicit_rules: {str(policy.require_explicit_rules).lower()}"
        "  # set true for the CIS check (explicit rules for all open ports)",
        "zones:",
    ]
    for zone in policy.zones:
        lines.append(f"  {yaml_quote(zone.name)}: [{', '.join(yaml_quote(str(n)) for n in zone.networks)}]")
    lines.append("services:" if policy.services else "services: []")
    for s in policy.services:
        lines += _service(s, firewall_view)
    return "\n".join(lines) + "\n"


def _service(s: Service, firewall_view: bool) -> list[str]:
    port = str(s.ports[0]) if s.ports[0] == s.ports[1] else yaml_quote(f"{s.ports[0]}-{s.ports[1]}")
    lines = [f"  - name: {yaml_quote(s.name)}", f"    protocol: {s.protocol}", f"    port: {port}",
             f"    zones: [{', '.join(yaml_quote(z) for z in s.zones)}]"
             + ("" if firewall_view else "  # firewall view unavailable: fill in")]
    if s.processes:
        lines.append(f"    processes: [{', '.join(yaml_quote(p) for p in s.processes)}]")
    lines.append(f"    bind: {_bind(s.bind)}")
    return lines


def _bind(bind: Bind) -> str:
    if isinstance(bind, str):
        return bind
    return "[" + ", ".join(yaml_quote(str(a)) for a in bind) + "]"


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
