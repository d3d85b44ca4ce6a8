"""Native nftables: live from the current namespace, or offline from ruleset files; and the
kernel's hook order (``nft list hooks``).

Files are parsed by the real ``nft`` — ``define``, ``include``, sets and maps need no parser of
ours — inside a throwaway network namespace (``unshare --net``; with ``--user`` when not root),
so nothing on the host is touched. Includes are resolved here first, the way users expect
(relative to the including file, globs sorted): each included file is read within the input
limits (regular files only, size cap, UTF-8 — a FIFO, ``/dev/zero`` or ``/dev/urandom`` is a
clear error) and nft gets private copies (in a directory only the caller can open) with the
includes rewritten to them, so what it reads is exactly what was checked and nothing else.
nft's error output is never passed on: only the file, the line and a short excerpt of nft's
own message. A structural scan of the sources then attaches the file
and line of every chain and rule, for messages and SARIF.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from auditor.collect.gcpause import gc_paused
from auditor.collect.nftjson import chain_devices_from_listing, rule_texts_from_listing, tables_from_nft_json
from auditor.errors import EnvironmentProblem, FwauditError, InputError, LocatedInputError
from auditor.inputs import read_input_file
from auditor.model.ruleset import HookEntry, Table
from auditor.target.runner import run_command, run_commands
from auditor.untrusted import escape, excerpt

SEP = "=====fwaudit-nft-separator====="
#: Seconds ``nft -f`` may take to load and list one ruleset file in its private namespace.
FILE_TIMEOUT = 60.0
#: At most this many files may be pulled in by includes (nft itself allows deep nesting).
MAX_INCLUDED_FILES = 1000


def _nft() -> str:
    path = shutil.which("nft")
    if path is None:
        raise EnvironmentProblem("nft is not installed (Debian package nftables)")
    return path


def fetch_nft_listing() -> tuple[dict[str, Any], str, str]:
    """``nft -j -a list ruleset`` (structure, handles), ``nft -a list ruleset`` (each rule's
    text as nft prints it) and ``nft list hooks`` (the kernel's hook order, where it tells) of
    the current namespace, listed side by side (each reads the whole ruleset: 100,000 rules take
    seconds apiece)."""
    nft = _nft()
    cmds = [[nft, "-j", "-a", "list", "ruleset"], [nft, "-a", "list", "ruleset"]]
    if kernel_reports_hooks() is not False:
        cmds.append([nft, "list", "hooks"])
    res, listing, *hooks = run_commands(cmds)
    if res.returncode != 0:
        if "Operation not permitted" in res.stderr or "Permission denied" in res.stderr:
            raise EnvironmentProblem("nft: permission denied (needs CAP_NET_ADMIN: run as root)")
        raise EnvironmentProblem(f"nft -j list ruleset failed: {excerpt(res.stderr.strip(), 200)}")
    try:
        doc = json.loads(res.stdout or '{"nftables": []}')
    except json.JSONDecodeError:
        raise EnvironmentProblem("nft -j list ruleset printed something that is not JSON") from None
    return doc, listing.stdout, hooks[0].stdout if hooks and hooks[0].returncode == 0 else ""


def kernel_reports_hooks() -> bool | None:
    """Whether this kernel can list its hooks (CONFIG_NETFILTER_NETLINK_HOOK), from its build
    configuration (``/proc/config.gz``, ``/boot/config-*``) or module lists; ``None`` unknown.
    ``nft list hooks`` reads the whole ruleset first, which costs seconds on a large one: not
    worth it where the kernel will say nothing."""
    import gzip
    import platform

    release = platform.release()
    for path, opener in (("/proc/config.gz", gzip.open), (f"/boot/config-{release}", open)):
        try:
            with opener(path, "rt") as f:
                return parse_kernel_config(f.read(1 << 20))
        except (OSError, EOFError, ValueError):
            continue
    found = None
    for name in ("modules.builtin", "modules.dep"):
        try:
            with open(f"/lib/modules/{release}/{name}") as f:
                found = bool(found) or "nfnetlink_hook" in f.read(16 << 20)
        except OSError:
            continue
    return found


def parse_kernel_config(text: str) -> bool | None:
    """CONFIG_NETFILTER_NETLINK_HOOK from a kernel configuration: built in or a module, or not."""
    for line in text.splitlines():
        if line.startswith("CONFIG_NETFILTER_NETLINK_HOOK="):
            return line.split("=", 1)[1].strip() in ("y", "m")
        if line.strip() == "# CONFIG_NETFILTER_NETLINK_HOOK is not set":
            return False
    return None


@gc_paused
def read_nftables(skip: frozenset[tuple[str, str]] = frozenset(),
                  listing: tuple[dict[str, Any], str] | None = None) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    """Native tables of the current namespace; ``skip`` names the (family, table) that another
    reader owns (tables iptables-nft wrote)."""
    doc, text = listing if listing is not None else fetch_nft_listing()[:2]
    return tables_from_nft_json(doc, rule_texts=rule_texts_from_listing(text),
                                chain_devices=chain_devices_from_listing(text), skip=skip)


def nft_handles(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[int, dict[str, int]]]:
    """(family, table) → (table handle, chain name → chain handle) from ``nft -j -a`` output."""
    out: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}
    for item in doc.get("nftables", []):
        if "table" in item and isinstance(item["table"].get("handle"), int):
            t = item["table"]
            out[(t["family"], t["name"])] = (t["handle"], {})
        elif "chain" in item:
            c = item["chain"]
            entry = out.get((c.get("family"), c.get("table")))
            if entry is not None and isinstance(c.get("handle"), int):
                entry[1][c["name"]] = c["handle"]
    return out


# ---------------------------------------------------------------------------------------------
# nft list hooks (text only: ``nft -j list hooks`` aborts in nftables 1.0.6)
# ---------------------------------------------------------------------------------------------

_HOOK_LINE = re.compile(r"^\s*([+-]?)(\d{10})\s+(.*)$")


def read_hooks(listing: str) -> tuple[HookEntry, ...] | None:
    """The kernel's hook order from ``nft list hooks`` (:func:`fetch_nft_listing`), or ``None``
    where the kernel does not report its hooks (built without CONFIG_NETFILTER_NETLINK_HOOK:
    nft prints nothing) or nft could not ask."""
    return parse_hook_listing(listing)


def parse_hook_listing(text: str) -> tuple[HookEntry, ...] | None:
    """Parse ``nft list hooks`` (nft(8), LIST HOOKS): per family and hook, one line per
    registered function in the kernel's order, e.g. ``-0000000200 ipv4_conntrack_in
    [nf_conntrack]`` or `` 0000000000 chain inet filter input [nf_tables]``. ``None`` for an
    empty listing."""
    entries: list[HookEntry] = []
    family = hook = None
    device = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "}":
            if line == "}" and hook is not None:
                hook, device = None, None
            elif line == "}":
                family = None
            continue
        m = re.match(r"^family (\S+) \{$", line)
        if m:
            family = m.group(1)
            continue
        m = re.match(r"^hook (\S+)(?: device (\S+))? \{$", line)
        if m:
            hook, device = m.group(1), m.group(2)
            continue
        m = _HOOK_LINE.match(raw)
        if m is None or family is None or hook is None:
            raise EnvironmentProblem(f"unexpected line in nft list hooks: {excerpt(line, 80)}")
        sign, digits, rest = m.groups()
        priority = -int(digits) if sign == "-" else int(digits)
        module = None
        mm = re.match(r"^(.*?)\s*\[(\S+)\]$", rest)
        if mm:
            rest, module = mm.group(1), mm.group(2)
        parts = rest.split()
        if parts[:1] == ["chain"] and len(parts) == 4:
            entries.append(HookEntry(family, hook, priority, "", module, (parts[1], parts[2], parts[3]), device))
        else:
            entries.append(HookEntry(family, hook, priority, rest, module, None, device))
    return tuple(entries) or None


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

_INCLUDE = re.compile(r'(^|[\s;{}])include(\s+)"([^"\n]*)"', re.M)


class _Sources:
    """The main file and everything it includes, read once within the input limits."""

    def __init__(self, main: Path) -> None:
        self.main = main
        self.texts: dict[Path, str] = {}
        # file → [(start, end) of the quoted include path, files it names]
        self.includes: dict[Path, list[tuple[int, int, list[Path]]]] = {}

    def load(self, path: Path, chain: tuple[Path, ...] = ()) -> None:
        if path in chain:
            raise InputError(f"{escape(str(path))}: includes itself (through {len(chain)} files)")
        if path in self.texts:
            return
        if len(self.texts) >= MAX_INCLUDED_FILES:
            raise InputError(f"{escape(str(self.main))}: more than {MAX_INCLUDED_FILES} files included")
        self.texts[path] = text = read_input_file(path, what="nft ruleset file")
        found = []
        for m in _INCLUDE.finditer(text):
            if _in_comment(text, m.start(3)):
                continue
            line = text.count("\n", 0, m.start(3)) + 1
            targets = self._resolve(path, m.group(3), line)
            found.append((m.start(3), m.end(3), targets))
            for target in targets:
                self.load(target, chain + (path,))
        self.includes[path] = found

    def _resolve(self, path: Path, pattern: str, line: int) -> list[Path]:
        where = pattern if os.path.isabs(pattern) else os.path.join(path.parent, pattern)
        if glob.has_magic(where):
            return [Path(p).resolve() for p in sorted(glob.glob(where))]
        target = Path(where).resolve()
        if not target.exists():
            raise LocatedInputError(f"included file not found: {excerpt(pattern, 80)}", str(path), line)
        return [target]

    def write_copies(self, directory: Path) -> tuple[Path, dict[str, Path]]:
        """Private copies for nft: every include statement points at a directory of its own
        holding copies of the files it named (``dir/*.nft``, in the order resolved here).
        Returns the main file's copy and copy → original for error messages."""
        rewritten: dict[Path, str] = {}
        groups: list[tuple[Path, list[Path]]] = []
        for path, text in self.texts.items():
            out, pos = [], 0
            for start, end, targets in self.includes[path]:
                group = directory / f"inc{len(groups)}"
                groups.append((group, targets))
                out += [text[pos:start], f"{group}/*.nft"]
                pos = end
            out.append(text[pos:])
            rewritten[path] = "".join(out)
        originals: dict[str, Path] = {}
        main = directory / "main.nft"
        main.write_text(rewritten[self.main])
        originals[str(main)] = self.main
        for group, targets in groups:
            group.mkdir()
            for i, target in enumerate(targets):
                copy = group / f"{i:06d}.nft"
                copy.write_text(rewritten[target])
                originals[str(copy)] = target
        return main, originals


def _in_comment(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return "#" in text[line_start:pos]


_BY_INDEX = re.compile(r"\b[io]if\s+(?:!=\s*)?(\{[^}]*\}|\S+)")
_IFNAME = re.compile(r'^"?([A-Za-z][A-Za-z0-9_.-]{0,14})"?$')


_DEFINE = re.compile(r"^\s*(?:re)?define\s+([A-Za-z_][\w-]*)\s*=\s*(.+?)\s*$", re.M)


def index_interfaces(text: str, defines: dict[str, str] | None = None) -> set[str]:
    """Interface names an nft source matches by index (``iif "eth0"``, ``oif { "a", "b" }``,
    ``iif $lan`` with ``define lan = eth1``), which must exist when it is loaded. Anything
    that is not a plain name is left to nft."""
    defines = dict(defines or {})
    defines.update(m.groups() for m in _DEFINE.finditer(text))  # type: ignore[misc]
    out: set[str] = set()
    for m in _BY_INDEX.finditer(text):
        for word in m.group(1).strip("{}").split(","):
            word = word.strip().rstrip(";")
            values = defines[word[1:]].strip("{} ").split(",") if word.startswith("$") and word[1:] in defines \
                else [word]
            for value in values:
                name = _IFNAME.match(value.strip())
                if name:
                    out.add(name.group(1))
    return out


def _sandbox_prefix() -> list[str]:
    """A fresh network namespace for nft (a user namespace too when not root). nft reads only
    the private copies in a directory no one else can open, so it runs as the caller."""
    if os.geteuid() == 0:
        return ["unshare", "--net"]
    return ["unshare", "--user", "--map-root-user", "--net"]


@gc_paused
def read_nft_file(path: Path | str) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    path = Path(path).resolve()
    nft = _nft()
    sources = _Sources(path)
    sources.load(path)
    with tempfile.TemporaryDirectory(prefix="fwaudit-nft-") as tmp:
        directory = Path(tmp)
        main, originals = sources.write_copies(directory)
        # iif/oif name interfaces by index: nft -f resolves them when it loads, so the
        # throwaway namespace gets a veth of every name the files use
        script = ('main="$1"; shift; i=0; for n in "$@"; do '
                  'ip link add "$n" type veth peer name "fwaudit-p$i" 2>/dev/null; i=$((i+1)); done; '
                  f'{nft} -f "$main" && {nft} -j -a list ruleset && echo {SEP} && {nft} -a list ruleset')
        defines = {k: v for text in sources.texts.values() for k, v in _DEFINE.findall(text)}
        names = sorted({n for text in sources.texts.values() for n in index_interfaces(text, defines)})
        res = run_command([*_sandbox_prefix(), "sh", "-c", script, "sh", str(main), *names],
                       timeout=FILE_TIMEOUT, cwd=str(directory))
    if res.returncode != 0:
        raise _load_error(res.stderr, path, originals)
    js, _, listing = res.stdout.partition(SEP)
    try:
        doc = json.loads(js)
    except json.JSONDecodeError:
        raise EnvironmentProblem("nft -j list ruleset printed something that is not JSON") from None
    lines, chain_lines = scan_lines(sources)
    return tables_from_nft_json(doc, backend="file", rule_texts=rule_texts_from_listing(listing),
                                chain_devices=chain_devices_from_listing(listing), lines=lines,
                                chain_lines=chain_lines, source=str(path))


def _load_error(stderr: str, main: Path, originals: dict[str, Path]) -> FwauditError:
    """nft's complaint as ``file:line: nft: message`` — the message cut short, the source line
    nft quotes below it never repeated."""
    err = stderr.strip()
    if "unshare" in err and ("Operation not permitted" in err or "Permission denied" in err):
        return EnvironmentProblem(
            "cannot create a private network namespace to parse the nft file; run as root or enable "
            "unprivileged user namespaces")
    m = re.search(r"^(.*?):(\d+):\d+(?:-\d+)?: Error: (.*)$", err, re.M)
    if m:
        original = originals.get(m.group(1), main)
        return LocatedInputError(f"nft: {excerpt(m.group(3), 80)}", str(original), int(m.group(2)))
    first = err.splitlines()[0] if err else "no message"
    for copy, original in originals.items():
        first = first.replace(copy, str(original))
    return InputError(f"{escape(str(main))}: nft could not load it: {excerpt(first, 120)}")


# ---------------------------------------------------------------------------------------------
# Where each rule sits in the source (following includes)
# ---------------------------------------------------------------------------------------------

_TABLE = re.compile(r"^\s*(?:add\s+|create\s+)?table\s+(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s*\{?")
_CHAIN = re.compile(r"^\s*(?:add\s+|create\s+)?chain\s+(?:(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s+)?([\w.-]+)\s*\{?")
_ADD_RULE = re.compile(r"^\s*add\s+rule\s+(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?([\w.-]+)\s+([\w.-]+)\s+(.*)$")
_INCLUDE_LINE = re.compile(r'^\s*include\s+"([^"]+)"')
_DECL = ("type ", "policy ", "hook ", "flags ", "elements", "comment ", "devices", "device ", "priority ",
         "counter ", "size ", "timeout ", "gc-interval ", "auto-merge", "}")

Lines = dict[tuple[str, str, str, int], tuple[str, int]]
ChainLines = dict[tuple[str, str, str], tuple[str, int]]


def scan_lines(sources: _Sources) -> tuple[Lines, ChainLines]:
    """(family, table, chain, position) → (file, line), and (family, table, chain) → (file, line)."""
    rules: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    chains: ChainLines = {}
    _scan(sources, sources.main, rules, chains, set())
    out = {(f, t, c, i): loc for (f, t, c), locs in rules.items() for i, loc in enumerate(locs, 1)}
    return out, chains


def _scan(sources: _Sources, path: Path, rules: dict[tuple[str, str, str], list[tuple[str, int]]],
          chains: ChainLines, seen: set[Path]) -> None:
    if path in seen or path not in sources.texts:
        return
    seen.add(path)
    family: str | None = None
    table: str | None = None
    chain: str | None = None
    depth = 0
    block = None  # "table" | "chain" | "set"
    includes = iter(sources.includes.get(path, []))
    for lineno, raw in enumerate(sources.texts[path].splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if _INCLUDE_LINE.match(line):
            entry = next(includes, None)
            for inc in entry[2] if entry else []:
                _scan(sources, inc, rules, chains, seen)
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
        stripped = line.strip()
        if depth == 1:
            m = _CHAIN.match(line)
            if m and stripped.startswith(("chain", "add chain", "create chain")):
                chain = m.group(3)
                key3 = (family or "ip", table or "", chain)
                chains[key3] = (str(path), lineno)
                if "{" in line:
                    body = line.split("{", 1)[1]
                    depth = 2
                    block = "chain"
                    _statements(body, key3, rules, str(path), lineno)
                    depth += body.count("{") - body.count("}")
                    if depth < 2:
                        depth, chain = 1, None
                continue
            if stripped.startswith(("set ", "map ", "flowtable ", "counter ", "quota ", "ct ", "limit ", "secmark ",
                                    "synproxy ")):
                opens = line.count("{") - line.count("}")
                depth += opens
                block = "set" if opens else block
                continue
            if stripped == "}":
                depth, family, table = 0, None, None
            continue
        if block == "chain" and depth == 2 and chain is not None:
            _statements(line, (family or "ip", table or "", chain), rules, str(path), lineno)
        depth += line.count("{") - line.count("}")
        if depth == 1:
            chain, block = None, "table"


def _statements(text: str, key: tuple[str, str, str], rules: dict[tuple[str, str, str], list[tuple[str, int]]],
                file: str, lineno: int) -> None:
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
