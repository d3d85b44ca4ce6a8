"""Native nftables: live from the current namespace, or offline from ruleset files.

Files are parsed by the real ``nft`` — ``define``, ``include``, sets and maps need no parser of
ours — inside a throwaway network namespace (``unshare --net``; with ``--user`` when not
root), so nothing on the host is touched. A structural scan of the source then attaches the
file and line of every chain and rule, for messages and SARIF.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from auditor.collect.gcpause import gc_paused
from auditor.collect.nftjson import rule_texts_from_listing, tables_from_nft_json
from auditor.errors import EnvironmentProblem, InputError, LocatedInputError
from auditor.model.ruleset import Table

SEP = "=====fwaudit-nft-separator====="


def _nft() -> str:
    path = shutil.which("nft")
    if path is None:
        raise EnvironmentProblem("nft is not installed (Debian package nftables)")
    return path


@gc_paused
def read_nftables(skip: frozenset[tuple[str, str]] = frozenset()) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    nft = _nft()
    # JSON for the structure, the listing for each rule's text as nft prints it; run both at once
    # (temporary files, not pipes: a 100k-rule dump through a pipe costs thousands of polls)
    outs = [tempfile.TemporaryFile() for _ in range(3)]
    procs = [subprocess.Popen(cmd, stdout=out, stderr=err)
             for cmd, out, err in (([nft, "-j", "-a", "list", "ruleset"], outs[0], outs[2]),
                                   ([nft, "-a", "list", "ruleset"], outs[1], subprocess.DEVNULL))]
    for p in procs:
        p.wait()
    js_out, listing, js_err = (_read(f) for f in outs)
    if procs[0].returncode != 0:
        if "Operation not permitted" in js_err or "Permission denied" in js_err:
            raise EnvironmentProblem("nft: permission denied (needs CAP_NET_ADMIN: run as root)")
        raise EnvironmentProblem(f"nft -j list ruleset failed: {js_err.strip()}")
    doc = json.loads(js_out or '{"nftables": []}')
    return tables_from_nft_json(doc, rule_texts=rule_texts_from_listing(listing), skip=skip)


def _read(f) -> str:
    f.seek(0)
    data = f.read().decode()
    f.close()
    return data


@gc_paused
def read_nft_file(path: Path | str) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    path = Path(path).resolve()
    nft = _nft()
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--net"]
    # relative includes are looked up in the file's own directory (-I), as users expect
    script = f'{nft} -I "$2" -f "$1" && {nft} -j -a list ruleset && echo {SEP} && {nft} -a list ruleset'
    res = subprocess.run([*unshare, "sh", "-c", script, "sh", str(path), str(path.parent)],
                         capture_output=True, text=True, cwd=path.parent)
    if res.returncode != 0:
        err = res.stderr.strip()
        if "unshare" in err and ("Operation not permitted" in err or "Permission denied" in err):
            raise EnvironmentProblem(
                "cannot create a private network namespace to parse the nft file (unshare failed: "
                f"{err}); run as root or enable unprivileged user namespaces")
        m = re.search(r"^(.*?):(\d+):\d+(?:-\d+)?: Error: (.*)$", err, re.M)
        if m:
            raise LocatedInputError(f"nft: {m.group(3)}", m.group(1), int(m.group(2)))
        raise InputError(f"{path}: nft could not load it: {err}")
    js, _, listing = res.stdout.partition(SEP)
    doc = json.loads(js)
    lines, chain_lines = scan_lines(path)
    return tables_from_nft_json(doc, backend="file", rule_texts=rule_texts_from_listing(listing),
                                lines=lines, chain_lines=chain_lines, source=str(path))


# ---------------------------------------------------------------------------------------------
# Where each rule sits in the source (following includes)
# ---------------------------------------------------------------------------------------------

_TABLE = re.compile(r"^\s*(?:add\s+|create\s+)?table\s+(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s*\{?")
_CHAIN = re.compile(r"^\s*(?:add\s+|create\s+)?chain\s+(?:(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s+)?([\w.-]+)\s*\{?")
_ADD_RULE = re.compile(r"^\s*add\s+rule\s+(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s+([\w.-]+)\s+(.*)$")
_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"')
_DECL = ("type ", "policy ", "hook ", "flags ", "elements", "comment ", "devices", "device ", "priority ",
         "counter ", "size ", "timeout ", "gc-interval ", "auto-merge", "}")


def scan_lines(path: Path) -> tuple[dict, dict]:
    """(family, table, chain, position) → (file, line), and (family, table, chain) → (file, line)."""
    rules: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    chains: dict[tuple[str, str, str], tuple[str, int]] = {}
    _scan(path, rules, chains, set())
    out = {(f, t, c, i): loc for (f, t, c), locs in rules.items() for i, loc in enumerate(locs, 1)}
    return out, chains


def _scan(path: Path, rules: dict, chains: dict, seen: set) -> None:
    if path in seen or not path.is_file():
        return
    seen.add(path)
    family = table = chain = None
    depth = 0
    block = None  # "table" | "chain" | "set"
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        m = _INCLUDE.match(line)
        if m:
            for inc in sorted(path.parent.glob(m.group(1))) if any(ch in m.group(1) for ch in "*?[") else [path.parent / m.group(1)]:
                _scan(inc.resolve(), rules, chains, seen)
            continue
        m = _ADD_RULE.match(line)
        if m and depth == 0:
            key = (m.group(1) or "ip", m.group(2), m.group(3))
            rules.setdefault(key, []).append((str(path), lineno))
            continue
        if depth == 0:
            m = _TABLE.match(line)
            if m:
                family, table = m.group(1) or "ip", m.group(2)
                if "{" in line:
                    depth, block = 1, "table"
                    rest = line.split("{", 1)[1]
                    depth += rest.count("{") - rest.count("}")
                continue
            continue
        stripped = line.strip()
        if depth == 1:
            m = _CHAIN.match(line)
            if m and stripped.startswith(("chain", "add chain", "create chain")):
                chain = m.group(3)
                chains[(family, table, chain)] = (str(path), lineno)
                if "{" in line:
                    body = line.split("{", 1)[1]
                    depth = 2
                    block = "chain"
                    _statements(body, (family, table, chain), rules, str(path), lineno)
                    depth += body.count("{") - body.count("}")
                    if depth < 2:
                        depth, chain = 1, None
                continue
            if stripped.startswith(("set ", "map ", "flowtable ", "counter ", "quota ", "ct ", "limit ", "secmark ", "synproxy ")):
                opens = line.count("{") - line.count("}")
                depth += opens
                block = "set" if opens else block
                continue
            if stripped == "}":
                depth, family, table = 0, None, None
                continue
            continue
        if block == "chain" and depth == 2:
            _statements(line, (family, table, chain), rules, str(path), lineno)
        depth += line.count("{") - line.count("}")
        if depth == 1:
            chain, block = None, "table"


def _statements(text: str, key: tuple, rules: dict, file: str, lineno: int) -> None:
    """Rules in a chain body line; ``;`` separates statements on one line (outside braces)."""
    parts, level, cur = [], 0, ""
    for ch in text:
        if ch == "{":
            level += 1
        elif ch == "}":
            level -= 1
            if level < 0:
                break
        if ch == ";" and level == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        s = p.strip()
        if s and not s.startswith(_DECL):
            rules.setdefault(key, []).append((file, lineno))
