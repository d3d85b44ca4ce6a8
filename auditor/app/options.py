"""Option values several commands share, turned into typed values (every problem an input
error, exit 2): interfaces declared for offline evaluation, severities, the source of a
firewall (a live target, ruleset files or a snapshot)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auditor.errors import InputError
from auditor.model.finding import Severity
from auditor.untrusted import excerpt


def parse_interfaces(specs: Sequence[str]) -> dict[str, list[str]]:
    """``--interface NAME=ADDR/LEN`` (repeatable; a name may carry several addresses)."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, addr = spec.partition("=")
        try:
            ipaddress.ip_interface(addr)
            valid = bool(sep and name and "/" in addr)
        except ValueError:
            valid = False
        if not valid:
            raise InputError(f"--interface {excerpt(spec)!r}: expected NAME=ADDR/LEN")
        out.setdefault(name, []).append(addr)
    return out


def parse_bridges(names: Sequence[str], declared: dict[str, list[str]]) -> tuple[str, ...]:
    """``--bridge NAME``: a declared interface that is a bridge with br_netfilter on."""
    for name in names:
        if name not in declared:
            raise InputError(f"--bridge {excerpt(name)!r}: not an interface declared with --interface "
                             "or the arrival interface")
    return tuple(dict.fromkeys(names))


def parse_severity(text: str, option: str = "--fail-on") -> Severity:
    try:
        return Severity.parse(text)
    except KeyError:
        raise InputError(f"{option} {excerpt(text)!r}: expected one of "
                         + ", ".join(str(s) for s in Severity)) from None


def one_firewall_source(target: str | None, rulesets: Sequence[str], snapshot: str | None) -> None:
    """Exactly one of a live target, ruleset files and a snapshot."""
    if sum((target is not None, bool(rulesets), snapshot is not None)) != 1:
        raise InputError("give exactly one of --target or --ruleset (or --snapshot)")
