"""``iptables-save`` output and ``iptables-restore`` files → ruleset model, as the kernel gets them.

One reader serves every iptables source: live legacy tables (``iptables-legacy-save``), tables
iptables-nft wrote into nf_tables (``iptables-nft-save``, which keeps the parameters ``nft -j``
drops), the python-iptables binding (which renders the same text), and files for
pre-deployment checks (``iptables-restore`` input, with line numbers).

A file is read the way ``iptables-restore`` (1.8.9, the nf_tables variant Debian runs) reads it,
line by line, and the commands are *executed* on a model of the tables: ``-A``, ``-I CHAIN [N]``
(1-based, default 1; each address of ``-s a,b`` becomes its own rule, inserted in turn),
``-R``, ``-D``, ``-C``, ``-N``, ``-X``, ``-F``, ``-Z``, ``-E``, ``-P``, ``:CHAIN POLICY`` lines
and a repeated ``*table`` (which starts the table afresh). What the tool or the kernel would
refuse — a bad value, an option in the wrong place, a missing chain, an insert position past
the end, a target outside its table or hook, a jump loop — is a :class:`LocatedInputError` with
the file and line, never a guess. Messages quote at most a short escaped excerpt of the line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from auditor.collect.gcpause import gc_paused
from auditor.collect.iptcommand import (
    Command,
    RuleSpec,
    parse_command,
    split_line,
    valid_chain_name,
    with_addresses,
)
from auditor.collect.xtextensions import (
    ArgError,
    IpsetInfo,
    RuleContext,
    convert_match,
    convert_target,
)
from auditor.collect.xtvalues import mask_to_range, quote
from auditor.errors import LocatedInputError
from auditor.model.ruleset import (
    AddressMatch,
    Backend,
    Chain,
    InterfaceMatch,
    MaskedAddressMatch,
    Match,
    NamedSet,
    Origin,
    ProtocolMatch,
    Rule,
    Statement,
    Table,
    UnknownMatch,
    Verdict,
)
from auditor.untrusted import excerpt

__all__ = ["BASE_CHAINS", "IpsetInfo", "ipset_tables", "parse_iptables_save"]

#: Base chains of the iptables tables: chain → (hook, priority).
BASE_CHAINS: dict[str, dict[str, tuple[str, int]]] = {
    "filter": {"INPUT": ("input", 0), "FORWARD": ("forward", 0), "OUTPUT": ("output", 0)},
    "nat": {"PREROUTING": ("prerouting", -100), "INPUT": ("input", 100), "OUTPUT": ("output", -100),
            "POSTROUTING": ("postrouting", 100)},
    "mangle": {h.upper(): (h, -150) for h in ("prerouting", "input", "forward", "output", "postrouting")},
    "raw": {"PREROUTING": ("prerouting", -300), "OUTPUT": ("output", -300)},
    "security": {"INPUT": ("input", 50), "FORWARD": ("forward", 50), "OUTPUT": ("output", 50)},
}
#: fgets in iptables-restore reads at most this much of a line; the rest becomes another line.
MAX_LINE = 10239

# Where the kernel accepts a target or match (measured with iptables-nft 1.8.9 on 6.18): tables,
# and hooks of the base chains the rule is reachable from.
_TARGET_TABLES = {"REJECT": {"filter"}, "DNAT": {"nat"}, "SNAT": {"nat"}, "MASQUERADE": {"nat"},
                  "REDIRECT": {"nat"}, "NETMAP": {"nat"}, "CT": {"raw"}, "NOTRACK": {"raw"}, "TOS": {"mangle"},
                  "DSCP": {"mangle"}, "TTL": {"mangle"}, "HL": {"mangle"}, "ECN": {"mangle"},
                  "CLASSIFY": {"mangle"}, "CHECKSUM": {"mangle"}, "TPROXY": {"mangle"},
                  "SECMARK": {"mangle", "security"}, "CONNSECMARK": {"mangle", "security"},
                  "DNPT": {"mangle"}, "SNPT": {"mangle"}}
_TARGET_HOOKS = {"REJECT": {"input", "forward", "output"}, "DNAT": {"prerouting", "output"},
                 "REDIRECT": {"prerouting", "output"}, "SNAT": {"postrouting", "input"},
                 "MASQUERADE": {"postrouting"}, "TPROXY": {"prerouting"},
                 "CLASSIFY": {"forward", "output", "postrouting"}, "SYNPROXY": {"input", "forward"},
                 "DNPT": {"prerouting", "output"}, "SNPT": {"postrouting", "input"}}
_MATCH_TABLES = {"rpfilter": {"raw", "mangle"}}
_MATCH_HOOKS = {"owner": {"output", "postrouting"}, "mac": {"prerouting", "input", "forward"},
                "socket": {"prerouting", "input", "output"}, "rpfilter": {"prerouting", "output"}}


# generic matches, extension matches, statements, comment, target name, match names, clamp
_Template = tuple[tuple[Match, ...], tuple[Match, ...], tuple[Statement, ...], str | None, str | None,
                  tuple[str, ...], bool]


@dataclass
class _Entry:
    """A rule in a chain being built: its model and, for checks at COMMIT, what it uses."""

    rule: Rule
    line: int
    jump: str | None  # user chain jumped to or gone to
    target: str | None  # target extension name
    matches: tuple[str, ...]
    clamp: bool = False  # TCPMSS --clamp-mss-to-pmtu


@dataclass
class _ChainState:
    name: str
    builtin: bool
    policy: str | None
    line: int | None
    entries: list[_Entry] = field(default_factory=list)


@dataclass
class _TableState:
    name: str
    line: int
    chains: dict[str, _ChainState] = field(default_factory=dict)

    def chain(self, name: str | None) -> _ChainState:
        found = self.chains.get(name or "")
        if found is None:
            raise ArgError(f"chain {quote(name or '')} does not exist")
        return found


class _Reader:
    def __init__(self, version: int, backend: Backend, source: str | None,
                 ipsets: Mapping[str, IpsetInfo]) -> None:
        self.version, self.backend, self.source, self.ipsets = version, backend, source, ipsets
        self.family = "ip" if version == 4 else "ip6"
        self.file = source if backend == "file" else None
        self.committed: dict[str, _TableState] = {}  # in order of first appearance
        self.current: _TableState | None = None
        self.memo: dict[tuple[str, ...], Command] = {}
        self.templates: dict[tuple[object, ...], _Template] = {}
        self.converted: dict[tuple[object, ...], tuple[Match, ...]] = {}

    def fail(self, message: str, line: int) -> LocatedInputError:
        # every value in a message is quoted short already; this bounds the whole as well
        return LocatedInputError(excerpt(message, 200), self.source or "<iptables-save>", line)

    # -- lines --------------------------------------------------------------------------------

    def read(self, text: str) -> tuple[Table, ...]:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        numbered = enumerate(lines, 1) if self.file else _saved_lines(lines)
        for lineno, line in numbered:
            if len(line) > MAX_LINE:
                raise self.fail(f"line longer than {MAX_LINE} characters (iptables-restore cannot read it)", lineno)
            try:
                self.line(line, lineno)
            except ArgError as e:
                raise self.fail(str(e), lineno) from None
        if self.current is not None:
            raise self.fail(f"COMMIT expected (table {self.current.name} started at line {self.current.line})",
                            len(lines) + 1)
        return tuple(self._table(t) for t in self.committed.values())

    def line(self, line: str, lineno: int) -> None:
        if line == "" or line.startswith("#"):
            return
        current = self.current
        if current is not None and line == "COMMIT":
            self._check_table(current)
            self.committed[current.name] = current
            self.current = None
            return
        if line.startswith("*") and current is None:
            self._start_table(line, lineno)
            return
        if current is None:  # not quoted: this may well be no ruleset at all
            raise ArgError("a line outside a table (expected '*filter' or another table first)")
        if line.startswith(":"):
            self._chain_line(current, line, lineno)
            return
        words = split_line(line)
        # lines that differ only in their -s/-d values parse alike: one parse, one template
        positions = {i + 1 for i, w in enumerate(words[:-1]) if w in ("-s", "-d")}
        key = (current.name, *("\0" if i in positions else w for i, w in enumerate(words)))
        cached = self.memo.get(key)
        if cached is not None:
            command: Command | None = with_addresses(cached, words, self.version)
        else:
            command = parse_command(words, version=self.version, table=current.name)
            if command is not None and command.rule is not None and \
                    {i for i, _ in command.address_words} == positions:
                self.memo[key] = command
            else:
                key = None  # type: ignore[assignment]
        if command is not None:
            self._execute(current, command, line.strip(), lineno, key)

    def _start_table(self, line: str, lineno: int) -> None:
        words = line[1:].split()
        if not words:
            raise ArgError("table name missing after '*'")
        name = words[0]
        if name not in BASE_CHAINS:
            raise ArgError(f"unknown table {quote(name)} (filter, nat, mangle, raw or security)")
        # a table is flushed when it starts (again): its chains go, builtin policies reset
        state = _TableState(name, lineno)
        for chain in BASE_CHAINS[name]:
            state.chains[chain] = _ChainState(chain, True, "accept", None)
        self.current = state

    def _chain_line(self, table: _TableState, line: str, lineno: int) -> None:
        words = line[1:].split()
        if not words:
            raise ArgError("chain name missing after ':'")
        name = words[0]
        valid_chain_name(name)
        if len(words) < 2:
            raise ArgError(f"policy missing for chain {quote(name)}")
        policy = words[1]
        if name in BASE_CHAINS[table.name]:
            chain = table.chains[name]
            if policy not in ("ACCEPT", "DROP", "-"):
                raise ArgError(f"bad policy name {quote(policy)} for chain {name} (ACCEPT or DROP)")
            if policy != "-":
                chain.policy = policy.lower()
            chain.line = lineno
        elif name not in table.chains:
            table.chains[name] = _ChainState(name, False, None, lineno)

    # -- commands -----------------------------------------------------------------------------

    def _execute(self, table: _TableState, cmd: Command, text: str, lineno: int,
                 template_key: tuple[object, ...] | None = None) -> None:
        op = cmd.op
        if op in "AIRDC":
            chain = table.chain(cmd.chain)
            assert cmd.rule is not None
            entries = self._entries(table, chain, cmd.rule, text, lineno, template_key)
            self._rule_command(op, chain, cmd, entries)
        elif op == "N":
            if cmd.chain in table.chains:
                raise ArgError(f"chain {cmd.chain} already exists")
            table.chains[cmd.chain or ""] = _ChainState(cmd.chain or "", False, None, lineno)
        elif op == "X":
            self._delete_chains(table, cmd.chain)
        elif op == "F":  # an empty name ('-F ""') is a chain that does not exist, not "every chain"
            for chain in ([table.chain(cmd.chain)] if cmd.chain is not None else table.chains.values()):
                chain.entries.clear()
        elif op in "ZLS":
            if cmd.chain is not None:
                table.chain(cmd.chain)
        elif op == "E":
            self._rename(table, cmd.chain or "", cmd.argument or "")
        elif op == "P":
            builtin = table.chains.get(cmd.chain or "")
            if builtin is None or not builtin.builtin:
                raise ArgError(f"bad built-in chain name {quote(cmd.chain or '')}")
            if cmd.argument not in ("ACCEPT", "DROP"):
                raise ArgError(f"bad policy name {quote(cmd.argument or '')} (ACCEPT or DROP)")
            builtin.policy = cmd.argument.lower()

    def _rule_command(self, op: str, chain: _ChainState, cmd: Command, entries: list[_Entry]) -> None:
        rules = chain.entries
        if op == "A":
            rules.extend(entries)
        elif op == "I":
            position = (cmd.rulenum or 1) - 1
            if position > len(rules):
                raise ArgError(f"index of insertion too big ({cmd.rulenum} in a chain of {len(rules)} rules)")
            for entry in entries:  # each address's rule is inserted at the same place, in turn
                rules.insert(position, entry)
        elif op == "R":
            if len(entries) != 1:
                raise ArgError("replacement rule does not specify a unique address")
            if (cmd.rulenum or 0) > len(rules):
                raise ArgError(f"index of replacement too big ({cmd.rulenum} in a chain of {len(rules)} rules)")
            rules[(cmd.rulenum or 1) - 1] = entries[0]
        elif op == "D" and cmd.rulenum is not None:
            if cmd.rulenum > len(rules):
                raise ArgError(f"index of deletion too big ({cmd.rulenum} in a chain of {len(rules)} rules)")
            del rules[cmd.rulenum - 1]
        else:  # -D RULE / -C RULE: the rule must be there
            for entry in entries:
                at = next((i for i, r in enumerate(rules) if _same_rule(r.rule, entry.rule)), None)
                if at is None:
                    raise ArgError("bad rule (does a matching rule exist in that chain?)")
                if op == "D":
                    del rules[at]

    def _delete_chains(self, table: _TableState, name: str | None) -> None:
        if name is not None:
            chain = table.chain(name)
            if chain.builtin:
                return  # iptables-nft accepts and ignores it
            victims = [chain]
        else:
            victims = [c for c in table.chains.values() if not c.builtin]
        names = {c.name for c in victims}
        for chain in table.chains.values():
            if chain.name in names and chain.entries:
                raise ArgError(f"cannot delete chain {chain.name}: it is not empty")
            if chain.name not in names and any(e.jump in names for e in chain.entries):
                raise ArgError(f"cannot delete chain {next(e.jump for e in chain.entries if e.jump in names)}: "
                               f"chain {chain.name} refers to it")
        for n in names:
            del table.chains[n]

    def _rename(self, table: _TableState, old: str, new: str) -> None:
        chain = table.chain(old)
        if chain.builtin:
            raise ArgError(f"cannot rename built-in chain {old}")
        if new in table.chains:
            raise ArgError(f"chain {new} already exists")
        chain.name = new
        table.chains = {(new if k == old else k): v for k, v in table.chains.items()}
        for c in table.chains.values():
            for i, e in enumerate(c.entries):
                if e.jump == old:
                    statements = tuple(Verdict(s.kind, new, s.detail) if isinstance(s, Verdict) and s.chain == old
                                       else s for s in e.rule.statements)
                    c.entries[i] = _Entry(Rule(e.rule.matches, statements, e.rule.origin, e.rule.comment),
                                          e.line, new, e.target, e.matches, e.clamp)

    # -- one rule -----------------------------------------------------------------------------

    def _entries(self, table: _TableState, chain: _ChainState, spec: RuleSpec, text: str,
                 lineno: int, template_key: tuple[object, ...] | None) -> list[_Entry]:
        template = self.templates.get(template_key) if template_key is not None else None
        if template is None:
            template = self._template(table, spec)
            if template_key is not None:
                self.templates[template_key] = template
        generic, extension_matches, statements, comment, target_name, match_names, clamp = template
        jump = None
        if spec.jump is not None and spec.target is None and not (
                spec.jump in ("ACCEPT", "DROP", "RETURN", "QUEUE") and not spec.goto):
            target = table.chains.get(spec.jump)  # the chain must exist now, and be a user chain
            if target is None:
                raise ArgError(f"chain {quote(spec.jump)} does not exist")
            if target.builtin:
                raise ArgError(f"cannot jump to built-in chain {spec.jump}")
            jump = spec.jump
        out = []
        for saddr in spec.sources:
            for daddr in spec.destinations:
                matches = list(generic)
                for field_name, (addr, mask), inverted in (("saddr", saddr, spec.source_inverted),
                                                           ("daddr", daddr, spec.destination_inverted)):
                    if mask == 0 and not inverted:
                        continue
                    r = mask_to_range(addr, mask, self.version)
                    matches.append(AddressMatch(field_name, self.version, (r,), inverted)  # type: ignore[arg-type]
                                   if r is not None
                                   else MaskedAddressMatch(field_name, self.version, mask, addr & mask,  # type: ignore[arg-type]
                                                           inverted))
                matches.sort(key=_generic_order)
                origin = Origin(self.backend, self.family, table.name, chain.name, 0, text, "iptables", None,
                                self.file, lineno if self.file else None)
                rule = Rule(tuple(matches) + extension_matches, statements, origin, comment)
                out.append(_Entry(rule, lineno, jump, target_name, match_names, clamp))
        return out

    def _template(self, table: _TableState, spec: RuleSpec) -> _Template:
        """Everything of a rule but its addresses and its place: the same for every line that
        differs only in -s/-d, so it is built once for them."""
        ctx = RuleContext(self.version, self.ipsets, spec.protocol, spec.protocol_inverted)
        generic: list[Match] = []
        if spec.protocol is not None:
            generic.append(ProtocolMatch(frozenset({spec.protocol}), spec.protocol_inverted))
        for field_name, iface in (("iif", spec.in_interface), ("oif", spec.out_interface)):
            if iface is not None:
                generic.append(InterfaceMatch(field_name, (iface[0],), iface[1]))  # type: ignore[arg-type]
        if spec.fragment is not None:
            generic.append(UnknownMatch("-f" if spec.fragment else "! -f"))
        extension_matches: list[Match] = []
        comment = None
        for use in spec.matches:
            key = (use.ext.name, ctx.protocol, ctx.protocol_inverted,
                   *((u.option.name, u.inverted, *u.raw) for u in use.uses))
            converted = self.converted.get(key)
            if converted is None:  # real rulesets repeat the same -m conntrack --ctstate … a lot
                converted = self.converted[key] = tuple(convert_match(use, ctx))
            extension_matches.extend(converted)
            if use.ext.name == "comment":
                comment = use.uses[0].value
        statements: list[Statement] = []
        if spec.target is not None:
            statements = convert_target(spec.target, ctx)
        elif spec.jump is not None:
            if spec.jump in ("ACCEPT", "DROP", "RETURN", "QUEUE") and not spec.goto:
                statements = [Verdict("queue", detail="-j QUEUE") if spec.jump == "QUEUE"
                              else Verdict(spec.jump.lower())]  # type: ignore[arg-type]
            else:
                statements = [Verdict("goto" if spec.goto else "jump", spec.jump)]
        target_name = spec.target.ext.name if spec.target is not None else None
        clamp = spec.target is not None and spec.target.get("clamp-mss-to-pmtu") is not None
        if target_name == "TCPMSS" and spec.protocol != 6:
            raise ArgError("TCPMSS target requires -p tcp")
        for name, tables in _TARGET_TABLES.items():
            if target_name == name and table.name not in tables:
                raise ArgError(f"{name} target is only valid in the {'/'.join(sorted(tables))} table")
        match_names = tuple(u.ext.name for u in spec.matches)
        for name in match_names:
            if name in _MATCH_TABLES and table.name not in _MATCH_TABLES[name]:
                raise ArgError(f"{name} match is only valid in the {'/'.join(sorted(_MATCH_TABLES[name]))} table")
        return (tuple(generic), tuple(extension_matches), tuple(statements), comment, target_name, match_names,
                clamp)

    # -- COMMIT: what the kernel checks when the table is loaded -------------------------------

    def _check_table(self, table: _TableState) -> None:
        hooks, loop = _reachable_hooks(table)
        if loop is not None:
            raise self.fail(f"jump loop through chain {loop[0]}", loop[1])
        for chain in table.chains.values():
            reach = hooks.get(chain.name, set())
            for entry in chain.entries if reach else ():
                allowed = _TARGET_HOOKS.get(entry.target or "")
                if entry.clamp:
                    allowed = {"forward", "output", "postrouting"}
                problems = [f"{entry.target} target"] if allowed is not None and reach - allowed else []
                problems += [f"{m} match" for m in entry.matches if m in _MATCH_HOOKS and reach - _MATCH_HOOKS[m]]
                if problems:
                    raise self.fail(f"{problems[0]} is not valid in chain {chain.name} (reached from "
                                    f"{', '.join(sorted(h.upper() for h in reach))})", entry.line)

    def _table(self, state: _TableState) -> Table:
        chains = []
        hooks = BASE_CHAINS[state.name]
        for c in state.chains.values():
            hook = hooks.get(c.name) if c.builtin else None
            rules = tuple(
                Rule(e.rule.matches, e.rule.statements, _at(e.rule.origin, i, c.name), e.rule.comment)
                for i, e in enumerate(c.entries, 1))
            chains.append(Chain(
                name=c.name, rules=rules, hook=hook[0] if hook else None, priority=hook[1] if hook else None,
                type=("nat" if state.name == "nat" else "filter") if hook else None,
                policy=(c.policy or "accept") if hook else None,  # type: ignore[arg-type]
                line=c.line if self.backend == "file" else None,
            ))
        return Table(backend=self.backend, family=self.family, name=state.name, chains=tuple(chains),
                     source=self.source)


def _at(origin: Origin, position: int, chain: str) -> Origin:
    return Origin(origin.backend, origin.family, origin.table, chain, position, origin.text, origin.syntax,
                  origin.handle, origin.file, origin.line)


def _generic_order(m: Match) -> int:
    """iptables-save prints the generic conditions in a fixed order: -s, -d, -i, -o, -p, -f."""
    if isinstance(m, (AddressMatch, MaskedAddressMatch)):
        return 0 if m.field == "saddr" else 1
    if isinstance(m, InterfaceMatch):
        return 2 if m.field == "iif" else 3
    if isinstance(m, ProtocolMatch):
        return 4
    return 5


def _same_rule(a: Rule, b: Rule) -> bool:
    return a.matches == b.matches and a.statements == b.statements


def _reachable_hooks(table: _TableState) -> tuple[dict[str, set[str]], tuple[str, int] | None]:
    """The hooks each chain runs in (through jumps and gotos from the base chains), and a jump
    loop reachable from a base chain as (chain, line), if there is one. The line is that of the
    last-written jump on the way into the loop: the rule iptables-nft fails to add."""
    out: dict[str, set[str]] = {}
    for base, (hook, _) in BASE_CHAINS[table.name].items():
        stack: list[tuple[str, tuple[str, ...], int]] = [(base, (), 0)]
        while stack:
            name, path, last = stack.pop()
            if name in path:
                return out, (name, last)
            seen = out.setdefault(name, set())
            if hook in seen and name != base:
                continue
            seen.add(hook)
            for e in table.chains[name].entries:
                if e.jump is not None and e.jump in table.chains:
                    stack.append((e.jump, path + (name,), max(last, e.line)))
    return out, None


@gc_paused
def _saved_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Lines of iptables-save output: a quoted value that holds a newline (``--comment``
    loaded from a file whose quote was left open) is printed across two lines; rejoin them."""
    pending: tuple[int, str] | None = None
    for lineno, line in enumerate(lines, 1):
        if pending is not None:
            lineno, line = pending[0], pending[1] + "\n" + line
            pending = None
        if '"' in line and _quote_open(line):
            pending = (lineno, line)
            continue
        yield lineno, line
    if pending is not None:
        yield pending


def _quote_open(line: str) -> bool:
    """Whether ``line`` ends inside a ``"…"`` quote (``\\`` escapes within quotes)."""
    inside = escaped = False
    for ch in line:
        if escaped:
            escaped = False
        elif inside and ch == "\\":
            escaped = True
        elif ch == '"':
            inside = not inside
    return inside


def parse_iptables_save(
    text: str,
    *,
    version: int,
    backend: Backend,
    source: str | None = None,
    ipsets: Mapping[str, IpsetInfo] | None = None,
) -> tuple[Table, ...]:
    """Parse save/restore text into tables (family ``ip`` or ``ip6``)."""
    ipsets = dict(ipsets or {})
    for name in set(_ADD_SET.findall(text)) & set(ipsets):
        ipsets[name] = dataclasses.replace(ipsets[name], filled_by_rules=True)
    return _Reader(version, backend, source, ipsets).read(text)


_ADD_SET = re.compile(r"--add-set\s+(\S+)")


def ipset_tables(ipsets: Iterable[IpsetInfo]) -> tuple[NamedSet, ...]:
    return tuple(NamedSet(s.name, s.type, s.members) for s in ipsets)

