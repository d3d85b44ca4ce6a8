"""Read the whole firewall of the current namespace, or of ruleset files, into one Ruleset.

All front ends can be active at once (Docker via iptables-nft, ufw via legacy, a native nft
table): every backend is read and their tables are evaluated together. A backend that cannot
be read is named in ``Ruleset.notes`` rather than silently treated as "no rules"; callers that
need a complete view check ``incomplete_backends``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from auditor.errors import EnvironmentProblem, InputError
from auditor.model.ruleset import Ruleset, Table

UNREADABLE = "not read"


def collect_ruleset() -> Ruleset:
    """Read iptables-legacy, iptables-nft, native nftables and ipsets here (as root)."""
    from auditor.collect.nft import read_nftables
    from auditor.collect.xtables import read_ipsets, read_iptables_legacy, read_iptables_nft

    notes: list[str] = []
    tables: list[Table] = []
    ipsets = {}
    try:
        ipsets = read_ipsets()
    except EnvironmentProblem as e:
        notes.append(f"ipset {UNREADABLE}: {e.message}")
    try:
        tables += read_iptables_legacy(ipsets=ipsets)
    except EnvironmentProblem as e:
        notes.append(f"iptables-legacy {UNREADABLE}: {e.message}")
    owned: frozenset[tuple[str, str]] = frozenset()
    try:
        nft_tables, owned = read_iptables_nft(ipsets=ipsets)
        tables += nft_tables
    except EnvironmentProblem as e:
        notes.append(f"iptables-nft {UNREADABLE}: {e.message}")
    try:
        native, native_notes = read_nftables(skip=owned)
        tables += native
        notes += native_notes
    except EnvironmentProblem as e:
        notes.append(f"nftables {UNREADABLE}: {e.message}")
    return Ruleset(tables=tuple(tables), notes=tuple(notes), source="live")


def incomplete_backends(ruleset: Ruleset) -> list[str]:
    return [n for n in ruleset.notes if f" {UNREADABLE}: " in n]


_PREFIXES = ("iptables:", "ip6tables:", "nft:")


def read_ruleset_files(specs: list[str]) -> Ruleset:
    """Read ``--ruleset`` files. Format is detected (``*filter`` … ``COMMIT`` is iptables-save,
    anything else nft); a ``iptables:``/``ip6tables:``/``nft:`` prefix forces it. IPv6
    iptables files are recognised by their ``ip6tables-save`` header or IPv6 addresses."""
    from auditor.collect.iptsave import parse_iptables_save
    from auditor.collect.nft import read_nft_file

    result = Ruleset(source="")
    for spec in specs:
        kind = None
        for p in _PREFIXES:
            if spec.startswith(p) and not os.path.exists(spec):
                kind, spec = p[:-1], spec[len(p):]
        path = Path(spec)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise InputError(f"ruleset file not found: {spec}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read ruleset file {spec}: {e}") from None
        kind = kind or _detect(text)
        if kind == "nft":
            tables, notes = read_nft_file(path)
        else:
            version = 6 if kind == "ip6tables" or (kind is None and _looks_ipv6(text)) else 4
            tables, notes = parse_iptables_save(text, version=version, backend="file", source=str(path)), ()
        result = result.merged(Ruleset(tables=tuple(tables), notes=tuple(notes), source=str(path)))
    return result


def _detect(text: str) -> str | None:
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            if "ip6tables-save" in s:
                return "ip6tables"
            continue
        return None if s.startswith("*") else "nft"
    return "nft"


_V6 = re.compile(r"(?:^|\s)(?:-s|-d|--to-destination|--src-range|--dst-range)\s+!?\s*\[?[0-9a-fA-F]*:[0-9a-fA-F:]*:")


def _looks_ipv6(text: str) -> bool:
    return bool(_V6.search(text)) or "icmpv6" in text or "icmp6" in text


def collect_firewall_view():
    """Rules and host facts of the current namespace, in one trip into the target."""
    from auditor.collect.host import collect_host

    return collect_ruleset(), collect_host()
