"""Read the whole firewall of the current namespace, or of ruleset files, into one Ruleset.

All front ends can be active at once (Docker via iptables-nft, ufw via legacy, a native nft
table): every backend is read and their tables are evaluated together. A backend that cannot
be read is named in ``Ruleset.notes`` rather than silently treated as "no rules"; callers that
need a complete view check ``incomplete_backends``.

Which reader reads an nf_tables table is decided by what the kernel holds, never by the table's
name (see ``xtables``). Every nf_tables table and chain carries its kernel handle (creation
order), and the kernel's own hook order (``nft list hooks``) is attached where the kernel
reports it, so the evaluator can order base chains of equal priority as the kernel does.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import EnvironmentProblem, InputError
from auditor.inputs import read_input_file
from auditor.model.host import HostContext
from auditor.model.ruleset import Ruleset, Table
from auditor.untrusted import escape

if TYPE_CHECKING:
    from auditor.collect.iptsave import IpsetInfo

UNREADABLE = "not read"


def collect_ruleset() -> Ruleset:
    """Read iptables-legacy, iptables-nft, native nftables and ipsets here (as root)."""
    from auditor.collect.nft import fetch_nft_listing, nft_handles, read_hooks, read_nftables
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
    listing: tuple[dict[str, Any], str] | None = None
    hooks = None
    try:
        doc, text, hook_text = fetch_nft_listing()
        listing, hooks = (doc, text), read_hooks(hook_text)
    except EnvironmentProblem as e:
        notes.append(f"nftables {UNREADABLE}: {e.message}")
    handles = nft_handles(listing[0]) if listing is not None else {}
    owned: frozenset[tuple[str, str]] = frozenset()
    try:
        nft_tables, owned = read_iptables_nft(ipsets=ipsets)
        tables += [with_kernel_handles(t, handles) for t in nft_tables]
    except EnvironmentProblem as e:
        notes.append(f"iptables-nft {UNREADABLE}: {e.message}")
    if listing is not None:
        native, native_notes = read_nftables(skip=owned, listing=listing)
        tables += native
        notes += native_notes
    return Ruleset(tables=tuple(tables), notes=tuple(notes), source="live", hooks=hooks)


def with_kernel_handles(table: Table, handles: dict[tuple[str, str], tuple[int, dict[str, int]]]) -> Table:
    """An iptables-nft table with the nf_tables handles of its table and chains."""
    found = handles.get((table.family, table.name))
    if found is None:
        return table
    table_handle, chain_handles = found
    chains = tuple(dataclasses.replace(c, handle=chain_handles.get(c.name)) for c in table.chains)
    return dataclasses.replace(table, handle=table_handle, chains=chains)


def incomplete_backends(ruleset: Ruleset) -> list[str]:
    return [n for n in ruleset.notes if f" {UNREADABLE}: " in n]


_PREFIXES = ("iptables:", "ip6tables:", "nft:", "ipset:")


def read_ruleset_files(specs: list[str]) -> Ruleset:
    """Read ``--ruleset`` files. The format is detected (``*filter`` … ``COMMIT`` is
    iptables-save, ``create …`` is ``ipset save``, anything else nft) and an
    ``iptables:``/``ip6tables:``/``nft:``/``ipset:`` prefix forces it; see :func:`detect_format`
    for IPv4 versus IPv6. ipset files, wherever they are given, provide the sets the iptables
    files match. Tables get handles in load order
    across all files (1, 2, 3 …), chains in the order the file creates them."""
    from auditor.collect.nft import read_nft_file
    from auditor.collect.xtables import parse_ipset_save

    result = Ruleset(source="")
    sequence = 0
    # ipsets first, wherever they are given: the iptables rules that match them need them
    files = [(kind, path, read_input_file(path, what="ruleset file")) for kind, path in map(split_spec, specs)]
    ipsets = {}
    for kind, _, text in files:
        if kind == "ipset" or (kind is None and _is_ipset_save(text)):
            ipsets.update(parse_ipset_save(text))
    for kind, path, text in files:
        if kind == "ipset" or (kind is None and _is_ipset_save(text)):
            continue
        if kind == "nft" or (kind is None and not _is_iptables_save(text)):
            tables, notes = read_nft_file(path)
        else:
            forced = {"iptables": 4, "ip6tables": 6}.get(kind or "")
            _, parsed = _parse_iptables(text, str(path), forced, ipsets)
            tables, notes = tuple(_numbered_chains(t) for t in parsed), ()
        numbered = []
        for t in tables:
            sequence += 1
            numbered.append(dataclasses.replace(t, handle=sequence))
        result = result.merged(Ruleset(tables=tuple(numbered), notes=tuple(notes), source=str(path)))
    return result


def split_spec(spec: str) -> tuple[str | None, Path]:
    """``ip6tables:rules.v6`` → (``ip6tables``, path); a file of that very name wins."""
    for p in _PREFIXES:
        if spec.startswith(p) and not os.path.exists(spec):
            return p[:-1], Path(spec[len(p):])
    return None, Path(spec)


def _numbered_chains(table: Table) -> Table:
    return dataclasses.replace(table, chains=tuple(dataclasses.replace(c, handle=i)
                                                   for i, c in enumerate(table.chains, 1)))


_HEADER = re.compile(r"^#.*Generated by (ip6?)tables(?:-nft|-legacy)?-save", re.M)


def _is_ipset_save(text: str) -> bool:
    """``ipset save`` output starts with ``create NAME TYPE``."""
    first = next((s.strip() for s in text.splitlines() if s.strip() and not s.strip().startswith("#")), "")
    return first.startswith("create ")


def _is_iptables_save(text: str) -> bool:
    """iptables-save files start with ``*table`` (after comments); anything else is nft."""
    first = next((s.strip() for s in text.splitlines() if s.strip() and not s.strip().startswith("#")), "")
    return first.startswith("*")


def detect_format(text: str, name: str = "") -> str:
    """``nft``, ``iptables``, ``ip6tables`` or ``ipset`` for a ruleset file without a prefix
    (see :func:`_parse_iptables` for how IPv4 and IPv6 files are told apart)."""
    if _is_ipset_save(text):
        return "ipset"
    if not _is_iptables_save(text):
        return "nft"
    version, _ = _parse_iptables(text, name, None)
    return "iptables" if version == 4 else "ip6tables"


def _parse_iptables(text: str, name: str, version: int | None,
                    ipsets: Mapping[str, IpsetInfo] | None = None) -> tuple[int, tuple[Table, ...]]:
    """The IP version and tables of an iptables-save file.

    An iptables-save file names its family in the header. Without one, the file is read as
    both: what only iptables-restore or only ip6tables-restore would load decides (an IPv6
    address, ``--icmpv6-type``, ``-f``, an IPv4 address …). A file both would load — a typical
    headerless ``rules.v6`` with only ``-p ipv6-icmp`` and ports — is not guessed: it is an
    error asking for the ``iptables:`` or ``ip6tables:`` prefix. A file neither would load is
    reported with the error of the reading that got further."""
    from auditor.collect.iptsave import parse_iptables_save
    from auditor.errors import LocatedInputError

    if version is None:
        header = _HEADER.search(text)
        version = (6 if header.group(1) == "ip6" else 4) if header else None
    if version is not None:
        return version, parse_iptables_save(text, version=version, backend="file", source=name, ipsets=ipsets)
    read: dict[int, tuple[Table, ...]] = {}
    errors: dict[int, LocatedInputError] = {}
    for candidate in (4, 6):
        try:
            read[candidate] = parse_iptables_save(text, version=candidate, backend="file", source=name,
                                                  ipsets=ipsets)
        except LocatedInputError as e:
            errors[candidate] = e
    if len(read) == 2:
        raise InputError(f"{escape(name)}: cannot tell whether this is an IPv4 (iptables) or an IPv6 (ip6tables) "
                         "ruleset: both would load it; prefix it with iptables: or ip6tables:")
    if len(read) == 1:
        return next(iter(read.items()))
    raise max(errors.values(), key=lambda e: e.line or 0)


def collect_firewall_view() -> tuple[Ruleset, HostContext]:
    """Rules and host facts of the current namespace, in one trip into the target."""
    from auditor.collect.host import collect_host

    return collect_ruleset(), collect_host()
