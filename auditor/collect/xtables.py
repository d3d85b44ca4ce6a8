"""Live iptables readers (legacy and nft variants) and ipsets, for the current namespace.

* **iptables-legacy** — python-iptables (libiptc) is the binding; only tables the kernel lists
  in ``/proc/net/ip{,6}_tables_names`` are opened, because opening a missing table *creates* it
  and the audit must stay read-only. libiptc dumps are ~100× slower than ``iptables-legacy-save``
  (see netfilter-facts.md), so the save tool is the fast path whenever it is installed; both
  produce the same model (a test asserts it).
* **iptables-nft** — ``iptables-nft-save`` keeps the parameters of xt-compat matches that
  ``nft -j`` drops. A table is this reader's only when iptables-nft-save lists it *without*
  the note "Table `filter' contains incompatible base-chains": a native ``table ip filter {
  chain input { … } }`` is printed as an empty ``*filter`` with ACCEPT policies after that
  note, and taking that for the real table reported every port open. Ownership therefore comes
  from what the kernel's tables are, never from their names; incompatible tables are left to the
  nftables reader.
* **ipset** — ``ipset save``, so ``-m set --match-set`` rules evaluate on real members.

Each reader is a ``fetch_*`` (runs the tool, returns its text), a pure ``parse_*`` of that
text, and a ``read_*`` that does both.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from typing import Any

from auditor.collect.iptsave import IpsetInfo, parse_iptables_save
from auditor.errors import EnvironmentProblem
from auditor.model.ruleset import Table
from auditor.target.runner import run_command
from auditor.untrusted import excerpt

_IPTC_LOCK = threading.Lock()  # libiptc is not thread-safe (crashes seen with 8 threads)
_INCOMPATIBLE = re.compile(r"^# Table `([^']+)' contains incompatible base-chains", re.M)


def _run(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        raise EnvironmentProblem(f"{cmd[0]} is not installed (Debian package iptables/ipset)")
    res = run_command(cmd)
    if res.returncode != 0:
        err = res.stderr.strip()
        if "Permission denied" in err or "must be root" in err or "Operation not permitted" in err:
            raise EnvironmentProblem(f"{cmd[0]}: permission denied (needs CAP_NET_ADMIN: run as root)")
        raise EnvironmentProblem(f"{' '.join(cmd)} failed: {excerpt(err, 200) or res.returncode}")
    return res.stdout


def legacy_table_names(version: int) -> list[str]:
    path = "/proc/net/ip_tables_names" if version == 4 else "/proc/net/ip6_tables_names"
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []  # module not loaded: no legacy tables exist


def fetch_legacy_save(*, use_binding: bool = False) -> list[tuple[int, str]]:
    """(IP version, iptables-save text) of the legacy tables that exist here (none: nothing)."""
    out: list[tuple[int, str]] = []
    for version in (4, 6):
        names = legacy_table_names(version)
        if not names:
            continue
        tool = "iptables-legacy-save" if version == 4 else "ip6tables-legacy-save"
        if use_binding or shutil.which(tool) is None:
            out.append((version, iptc_save_text(version, names)))
        else:
            out.append((version, _run([tool])))
    return out


def read_iptables_legacy(ipsets: dict[str, IpsetInfo] | None = None, *, use_binding: bool = False) -> tuple[Table, ...]:
    return tuple(t for version, text in fetch_legacy_save(use_binding=use_binding)
                 for t in parse_iptables_save(text, version=version, backend="iptables-legacy", ipsets=ipsets))


def fetch_nft_save() -> list[tuple[int, str]]:
    """(IP version, iptables-nft-save text), IPv4 and IPv6."""
    return [(version, _run(["iptables-nft-save" if version == 4 else "ip6tables-nft-save"])) for version in (4, 6)]


def parse_nft_save(saved: list[tuple[int, str]], ipsets: dict[str, IpsetInfo] | None = None
                   ) -> tuple[tuple[Table, ...], frozenset[tuple[str, str]]]:
    """The tables iptables-nft owns, and their (family, name) for the nftables reader to skip."""
    tables = [t for version, text in saved for t in owned_tables(text, version, ipsets)]
    return tuple(tables), frozenset((t.family, t.name) for t in tables)


def read_iptables_nft(ipsets: dict[str, IpsetInfo] | None = None) -> tuple[tuple[Table, ...], frozenset[tuple[str, str]]]:
    """The tables iptables-nft owns, and their (family, name) for the nftables reader to skip."""
    return parse_nft_save(fetch_nft_save(), ipsets)


def owned_tables(save_text: str, version: int, ipsets: dict[str, IpsetInfo] | None = None) -> tuple[Table, ...]:
    """The tables of ``iptables-nft-save`` output that iptables-nft really owns: not those it
    calls incompatible (native nft tables that merely share an iptables table's name)."""
    incompatible = set(_INCOMPATIBLE.findall(save_text))
    tables = parse_iptables_save(save_text, version=version, backend="iptables-nft", ipsets=ipsets)
    return tuple(t for t in tables if t.name not in incompatible)


# ---------------------------------------------------------------------------------------------
# python-iptables: the binding, rendered as iptables-save text so one parser types everything
# ---------------------------------------------------------------------------------------------


def iptc_save_text(version: int, names: list[str]) -> str:
    """The legacy tables ``names`` as iptables-save would print them, read through libiptc."""
    os.environ.setdefault("XTABLES_LIBDIR", "/usr/lib/x86_64-linux-gnu/xtables")
    with _IPTC_LOCK:
        import iptc  # 164 ms import; only when the binding is used

        # python-iptables probes *every* table (Table.ALL) when a rule jumps to a user chain
        # (Target._is_standard_target), and probing opens — i.e. creates — missing tables. Seed
        # its availability cache with what the kernel lists, so it never opens anything else.
        cls = iptc.Table if version == 4 else iptc.Table6
        cls.existing_table_names = {t: t in names for t in cls.ALL}
        out: list[str] = []
        for name in names:
            table = cls(name)
            table.autocommit = False
            table.refresh()  # the handle binds to the namespace current at refresh
            out.append(f"*{name}")
            for chain in table.chains:
                policy = chain.get_policy().name if table.builtin_chain(chain.name) else "-"
                out.append(f":{chain.name} {policy} [0:0]")
            for chain in table.chains:
                for rule in chain.rules:
                    out.append(_iptc_rule_text(chain.name, rule, version))
            out.append("COMMIT")
        return "\n".join(out) + "\n"


def _iptc_rule_text(chain: str, rule: Any, version: int) -> str:
    parts = [f"-A {chain}"]
    any_addr = ("0.0.0.0/0.0.0.0", "0.0.0.0/0") if version == 4 else ("::/0",)
    for attr, opt in (("src", "-s"), ("dst", "-d")):
        value = getattr(rule, attr)
        if value and value.lstrip("!") not in any_addr:
            neg = value.startswith("!")
            parts.append(("! " if neg else "") + f"{opt} {_prefix(value.lstrip('!'))}")
    for attr, opt in (("in_interface", "-i"), ("out_interface", "-o")):
        value = getattr(rule, attr)
        if value:
            neg = value.startswith("!")
            parts.append(("! " if neg else "") + f"{opt} {value.lstrip('!')}")
    proto = rule.protocol
    if proto and proto.lstrip("!") not in ("ip", "all", "0", "ipv6"):
        parts.append(("! " if proto.startswith("!") else "") + f"-p {proto.lstrip('!')}")
    ip = rule.get_ip()
    for match in rule.matches:
        parts.append(f"-m {match.name}" + _saved(match, ip))
    target = rule.target
    if target is not None and target.name:
        kind = "-g" if target.goto else "-j"
        parts.append(f"{kind} {target.name}" + _saved(target, ip))
    return " ".join(parts)


def _saved(ext: Any, ip: Any) -> str:
    """An extension's own save() output — exactly what iptables-save prints after its name."""
    buf = ext._get_saved_buf(ip)
    if buf is None:
        return ""
    text = buf.decode() if isinstance(buf, bytes) else str(buf)
    return (" " + text.strip()) if text.strip() else ""


def _prefix(value: str) -> str:
    addr, _, mask = value.partition("/")
    if not mask:
        return addr
    if mask.isdigit():
        return f"{addr}/{mask}"
    import ipaddress

    return str(ipaddress.ip_network(f"{addr}/{mask}", strict=False))


# ---------------------------------------------------------------------------------------------
# ipset
# ---------------------------------------------------------------------------------------------

_CREATE = re.compile(r"^create (\S+) (\S+)(.*)$")


def parse_ipset_save(text: str) -> dict[str, IpsetInfo]:
    meta: dict[str, tuple[str, int]] = {}
    members: dict[str, list[str]] = {}
    nomatch: set[str] = set()
    for line in text.splitlines():
        m = _CREATE.match(line.strip())
        if m:
            name, kind, rest = m.groups()
            meta[name] = (kind, 6 if "family inet6" in rest else 4)
            members[name] = []
            continue
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "add" and parts[1] in members:
            if "nomatch" in parts[3:]:
                nomatch.add(parts[1])
            members[parts[1]].append(parts[2])
    out: dict[str, IpsetInfo] = {}
    for name, (kind, version) in meta.items():
        mem = members[name]
        if kind == "list:set":
            continue  # resolved below
        out[name] = IpsetInfo(name, kind, version, tuple(mem), name in nomatch)
    for name, (kind, version) in meta.items():
        if kind == "list:set":
            subs = [out[s] for s in members[name] if s in out]
            same = {(s.type, s.version) for s in subs}
            if len(same) == 1 and len(subs) == len(members[name]):
                t, v = same.pop()
                out[name] = IpsetInfo(name, t, v, tuple(m for s in subs for m in s.members),
                                      any(s.has_nomatch for s in subs))
            else:
                out[name] = IpsetInfo(name, "list:set", version, (), True)
    return out


def fetch_ipset_save() -> str:
    """``ipset save`` here (empty without ip_set support: no rule can reference a set then)."""
    if shutil.which("ipset") is None:
        raise EnvironmentProblem("ipset is not installed (Debian package ipset)")
    res = run_command(["ipset", "save"])
    if res.returncode != 0:
        if "Operation not permitted" in res.stderr:
            raise EnvironmentProblem("ipset: permission denied (needs CAP_NET_ADMIN: run as root)")
        return ""
    return res.stdout


def read_ipsets() -> dict[str, IpsetInfo]:
    return parse_ipset_save(fetch_ipset_save())
