"""One ``iptables-restore`` command line → a parsed command, exactly as iptables 1.8.9 parses it.

iptables hands every line to ``getopt_long`` over a table that grows while the line is read:
the generic options first, then the options of each extension in the order it was loaded,
newest first. That table decides which match an option belongs to, wherever it stands:
``-p tcp --dport 22 -s 198.18.0.0/24`` (``-s`` after a module option is still the source),
``-m state --state NEW --dport 22`` (``--dport`` loads the ``tcp`` match implicitly, because
``-p tcp`` was given and no loaded match knows it), unique abbreviations (``--dp 22``,
``--dport`` for multiport's ``--dports``), ``--opt=value``, options after ``-j``. Emulating the
table is the only way to read hand-written restore files as the kernel will run them; the
order-dependent errors (``--dport`` before ``-p tcp``, ``!`` twice, an option of an extension
not yet loaded) fall out of the same emulation.

Pure: no I/O, no kernel. Errors are :class:`ArgError` with a short message.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union

from auditor.collect import xtvalues as xv
from auditor.collect.xtextensions import (
    TWO_WORD_KINDS,
    ArgError,
    Extension,
    ExtensionUse,
    Option,
    OptionUse,
    is_target_name,
    match_extension,
    parse_value,
    target_extension,
)
from auditor.collect.xtvalues import quote

MAX_PARAM = 1023  # add_param: "Parameter too long!"
MAX_ARGC = 255 - 4  # argv also holds the program name and "-t TABLE"
MAX_NAME = 28  # chain and target names: XT_EXTENSION_MAXNAMELEN - 1
IFNAMSIZ = 16


def split_line(line: str) -> list[str]:
    """``add_param_to_argv``: words split on blanks; ``"…"`` quotes (with ``\\`` escapes inside)
    and always ends a word; single quotes are ordinary characters; an unterminated quote runs
    to the end of the line, newline included. A leading ``[packets:bytes]`` counter is dropped."""
    if '"' not in line and not line.startswith("["):
        words = [w for w in line.replace("\t", " ").split(" ") if w]
        if len(words) > MAX_ARGC:
            raise ArgError("too many arguments on one line")
        if words and max(map(len, words)) > MAX_PARAM:
            raise ArgError(f"parameter longer than {MAX_PARAM} characters")
        return words
    return _split_quoted(line)


def _split_quoted(line: str) -> list[str]:
    if line.startswith("["):
        end = line.find("]")
        if end < 0 or ":" not in line[1:end] or line.index(":") == 1:
            raise ArgError("bad counters at the start of the line (need [packets:bytes])")
        line = line[end + 1:]
    words: list[str] = []
    cur: list[str] = []
    in_quote = escaped = False
    for ch in line:
        if in_quote:
            if escaped:
                cur.append(ch)
                escaped = False
                continue
            if ch == "\\":
                escaped = True
                continue
            if ch != '"':
                cur.append(ch)
                if len(cur) > MAX_PARAM:
                    raise ArgError(f"parameter longer than {MAX_PARAM} characters")
                continue
            in_quote = False
            _add(words, cur)
            continue
        if ch == '"':
            in_quote = True
            continue
        if ch in " \t\n":
            if cur:
                _add(words, cur)
            continue
        cur.append(ch)
        if len(cur) > MAX_PARAM:
            raise ArgError(f"parameter longer than {MAX_PARAM} characters")
    if in_quote:
        # the tool's line still ends in its newline, which an open quote takes into the word
        # (a lone '"' is then the argument "\n": "Bad argument")
        cur.append("\n")
    if cur:
        _add(words, cur)
    return words


def _add(words: list[str], cur: list[str]) -> None:
    if len(words) >= MAX_ARGC:
        raise ArgError("too many arguments on one line")
    words.append("".join(cur))
    cur.clear()


# ---------------------------------------------------------------------------------------------
# The generic options (iptables' original_opts and its short option string)
# ---------------------------------------------------------------------------------------------

# long name → (short letter, argument: 0 none, 1 required, 2 optional)
_BASE_LONG: tuple[tuple[str, str, int], ...] = (
    ("append", "A", 1), ("delete", "D", 1), ("check", "C", 1), ("insert", "I", 1), ("replace", "R", 1),
    ("list", "L", 2), ("list-rules", "S", 2), ("flush", "F", 2), ("zero", "Z", 2), ("new-chain", "N", 1),
    ("delete-chain", "X", 2), ("rename-chain", "E", 1), ("policy", "P", 1), ("source", "s", 1),
    ("destination", "d", 1), ("src", "s", 1), ("dst", "d", 1), ("protocol", "p", 1), ("in-interface", "i", 1),
    ("jump", "j", 1), ("table", "t", 1), ("match", "m", 1), ("numeric", "n", 0), ("out-interface", "o", 1),
    ("verbose", "v", 0), ("wait", "w", 2), ("wait-interval", "W", 2), ("exact", "x", 0), ("fragments", "f", 0),
    ("version", "V", 0), ("help", "h", 2), ("line-numbers", "0", 0), ("modprobe", "M", 1),
    ("set-counters", "c", 1), ("goto", "g", 1), ("ipv4", "4", 0), ("ipv6", "6", 0),
)
_SHORT = "A:C:D:E:F::I:L::M:N:P:R:S::VX::Z::c:d:i:j:o:p:s:t:vW::46fg:h::m:nw::x"
_SHORT_ARG: dict[str, int] = {}
for _i, _c in enumerate(_SHORT):
    if _c != ":":
        _SHORT_ARG[_c] = 2 if _SHORT[_i + 1:_i + 3] == "::" else 1 if _SHORT[_i + 1:_i + 2] == ":" else 0

_COMMANDS = "ACDIRLSFZNXEP"
# options allowed per command (generic_opt_check); letters of the options
_RULE_OPTS = set("sdpjiofcv")
_ALLOWED = {"A": _RULE_OPTS, "I": _RULE_OPTS, "R": _RULE_OPTS, "D": _RULE_OPTS - {"c"}, "C": _RULE_OPTS - {"c"},
            "P": {"c", "v"}, "L": {"n", "x", "0", "v"}, "S": {"v"}, "F": {"v"}, "Z": {"v"}, "N": {"v"},
            "X": {"v"}, "E": {"v"}}
_OPTION_NAMES = {"s": "--source", "d": "--destination", "p": "--protocol", "j": "--jump", "i": "--in-interface",
                 "o": "--out-interface", "f": "--fragments", "c": "--set-counters", "v": "--verbose",
                 "n": "--numeric", "x": "--exact", "0": "--line-numbers"}


@dataclass
class RuleSpec:
    """The rule part of -A/-I/-R/-D/-C: generic conditions, extensions in load order, target."""

    protocol: int | None = None
    protocol_inverted: bool = False
    sources: list[tuple[int, int]] = field(default_factory=lambda: [])
    source_inverted: bool = False
    destinations: list[tuple[int, int]] = field(default_factory=lambda: [])
    destination_inverted: bool = False
    in_interface: tuple[str, bool] | None = None
    out_interface: tuple[str, bool] | None = None
    fragment: bool | None = None  # True: -f, False: ! -f
    matches: list[ExtensionUse] = field(default_factory=lambda: [])
    jump: str | None = None  # target or chain name
    goto: bool = False
    target: ExtensionUse | None = None


@dataclass
class Command:
    op: str  # A I R D C N X F Z E P L S
    chain: str | None = None
    rulenum: int | None = None
    argument: str | None = None  # -E new name, -P policy
    rule: RuleSpec | None = None
    #: (index of the word, "s" or "d") for -s/-d values given as words of their own: a line that
    #: differs only there parses the same (see iptsave's memo)
    address_words: tuple[tuple[int, str], ...] = ()


class HelpRequested(ArgError):
    """``-h``/``-V`` in a restore file: iptables-restore prints and exits without loading."""


@dataclass
class _Loaded:
    """An extension type whose options are in the getopt table, newest first."""

    ext: Extension
    kind: str  # "match" | "target"


_Resolved = Union[str, tuple["_Loaded", Option]]  # a base option letter, or an extension option


_RESOLVED: dict[tuple[tuple[tuple[int, str], ...], str], tuple[object, int]] = {}


def _resolve(loaded: list[_Loaded], name: str) -> tuple[object, int]:
    cands: list[tuple[str, int, object]] = [(n, arg, letter) for n, letter, arg in _BASE_LONG]
    for position, ld in enumerate(loaded):
        for opt in ld.ext.options:
            for n in opt.names:
                cands.append((n, 1 if opt.kind else 0, (position, opt)))
    for n, arg, val in cands:
        if n == name:
            return val, arg
    found: list[tuple[object, int]] = []
    for n, arg, val in cands:
        if n.startswith(name) and not any(v == val for v, _ in found):
            found.append((val, arg))
    return found[0] if len(found) == 1 else (None, 0)  # unknown or ambiguous: getopt returns '?'


class _Parser:
    def __init__(self, argv: list[str], version: int, table: str) -> None:
        self.argv, self.version, self.table = argv, version, table
        self.i = 0
        self.cmd: Command | None = None
        self.rule = RuleSpec()
        self.given: set[str] = set()
        self.invert = False
        self.loaded: list[_Loaded] = []  # getopt table order after the base options: newest first
        self.proto_used = False
        self.source_text: str | None = None
        self.destination_text: str | None = None
        self.protocol_name: str | None = None
        self.start = 0  # index of the word the current option started at
        self.address_words: list[tuple[int, str]] = []

    # -- getopt_long --------------------------------------------------------------------------

    def _resolve_long(self, name: str) -> tuple[object, int] | None:
        """getopt_long: an exact name (first in table order) or an unambiguous abbreviation."""
        key = (tuple((id(ld.ext), ld.kind) for ld in self.loaded), name)
        hit = _RESOLVED.get(key)
        if hit is None:
            if len(_RESOLVED) > 50_000:  # names come from the input: keep the cache bounded
                _RESOLVED.clear()
            hit = _RESOLVED[key] = _resolve(self.loaded, name)
        if hit[0] is None:
            return None
        what, arg = hit
        if isinstance(what, tuple):  # (position in the table, option): bind to this parser's entry
            return (self.loaded[what[0]], what[1]), arg
        return what, arg

    def next_option(self) -> tuple[object, str | None, str] | None:
        """(what, argument, spelling) of the next option, ``("?", None, word)`` when getopt
        does not know it, ``(":", None, word)`` when its argument is missing, ``None`` at the end."""
        if self.i >= len(self.argv):
            return None
        self.start = self.i
        word = self.argv[self.i]
        self.i += 1
        if word == "--":
            if self.i < len(self.argv):
                raise ArgError("unknown arguments found on the command line")
            return None
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            hit = self._resolve_long(name)
            if hit is None:
                return "?", None, word
            val, arg = hit
            if arg == 0:
                return ("?", None, word) if eq else (val, None, word)
            if eq:
                return val, value, word
            if arg == 2:
                return val, None, word
            if self.i >= len(self.argv):
                return ":", None, word
            self.i += 1
            return val, self.argv[self.i - 1], word
        if word.startswith("-") and len(word) > 1:
            letter, rest = word[1], word[2:]
            takes = _SHORT_ARG.get(letter)
            if takes is None:
                return "?", None, f"-{letter}"
            if takes == 0:
                if rest:
                    raise ArgError(f"option {quote(word)}: give short options one at a time")
                return letter, None, f"-{letter}"
            if rest:  # iptables-nft 1.8.9 reads "-ptcp" as the protocol "-ptcp"
                raise ArgError(f"option {quote(word)}: write the value as a separate word")
            if takes == 2:
                return letter, None, f"-{letter}"
            if self.i >= len(self.argv):
                return ":", None, f"-{letter}"
            self.i += 1
            return letter, self.argv[self.i - 1], f"-{letter}"
        return "non-option", word, word

    def has_arg(self) -> bool:
        """``xs_has_arg``: the next word is a value (does not start with ``-`` or ``!``)."""
        return self.i < len(self.argv) and not self.argv[self.i].startswith(("-", "!"))

    # -- do_parse -----------------------------------------------------------------------------

    def parse(self) -> Command | None:
        while True:
            item = self.next_option()
            if item is None:
                break
            what, arg, spelling = item
            if what == "non-option":
                assert arg is not None
                if arg == "!":
                    if self.invert:
                        raise ArgError("multiple consecutive ! not allowed")
                    self.invert = True
                    continue
                raise ArgError(f"bad argument {quote(arg)}")
            if isinstance(what, str) and what not in ("?", ":"):
                if self._base(what, arg) is None:
                    return None  # -6 in an IPv4 file (or -4 in IPv6): iptables-restore skips the line
            elif self._extension_option(what, arg, spelling):
                continue  # retried with the protocol's match loaded: a pending '!' still applies
            self.invert = False
        return self._finish()

    def canonical(self) -> Command | None:
        """The fast path for lines in iptables-save's own order — ``-A CHAIN``, generic options,
        ``-m NAME`` each followed by its own options (exact names), ``-j``/``-g`` last — which is
        every line of a live dump. Such a line reads the same through getopt's table (an
        extension's exact option names win as the newest entries, no generic option has an
        extension's name), so its segments are checked once and reused. ``None``: anything
        else, for the full emulation."""
        w = self.argv
        n = len(w)
        if n < 2 or w[0] != "-A" or w[1].startswith("-"):
            return None
        self.cmd = Command("A", chain=w[1])
        self.i = 2
        while self.i < n:  # generic options
            inv = w[self.i] == "!"
            at = self.i + inv
            if at + 1 >= n or w[at] not in ("-s", "-d", "-i", "-o", "-p"):
                if inv or (at < n and w[at] == "-f"):
                    return None
                break
            self.invert, self.start, self.i = inv, at, at + 2
            self._base(w[at][1], w[at + 1])
            self.invert = False
        while self.i + 1 < n and w[self.i] == "-m":  # matches, each with its own options
            ext = match_extension(w[self.i + 1], self.version)
            if ext is None:
                return None
            self._load_match(ext, implicit=False)
            self.i += 2
            if not self._segment(self.rule.matches[-1], ("-m", "-j", "-g")):
                return None
        if self.i < n:
            if self.i + 1 >= n or w[self.i] not in ("-j", "-g"):
                return None
            letter, name = w[self.i][1], w[self.i + 1]
            self.start, self.i = self.i, self.i + 2
            self._base(letter, name)
            target = self.rule.target
            if (target is None and self.i < n) or (target is not None and not self._segment(target, ())):
                return None
        return self._finish()

    def _segment(self, use: ExtensionUse, stops: tuple[str, ...]) -> bool:
        """The options after ``-m NAME``/``-j NAME`` up to the next stop word; False when one is
        not an exact option of that extension (the full emulation decides then)."""
        w, start = self.argv, self.i
        end = start
        while end < len(w) and w[end] not in stops:
            end += 1
        key = (id(use.ext), self.version, self.rule.protocol, self.rule.protocol_inverted, *w[start:end])
        cached = _SEGMENTS.get(key)
        if cached is not None:
            use.uses.extend(cached)
            self.i = end
            return True
        self.i = start
        while self.i < end:
            inv = w[self.i] == "!"
            word = w[self.i + inv] if self.i + inv < end else ""
            opt = next((o for o in use.ext.options if word.startswith("--") and word[2:] in o.names), None)
            if opt is None:
                return False
            self.start, self.i = self.i + inv, self.i + inv + 1
            arg = None
            if opt.kind is not None:
                if self.i >= end:
                    return False
                arg, self.i = w[self.i], self.i + 1
            self.invert = inv
            self._option(use, opt, arg)
            self.invert = False
            if self.i > end:
                return False
        if len(_SEGMENTS) > 50_000:  # keys come from the input: keep the cache bounded
            _SEGMENTS.clear()
        _SEGMENTS[key] = list(use.uses)
        return True

    def _command(self, op: str) -> None:
        if self.invert:
            raise ArgError("unexpected '!' flag")
        if self.cmd is not None:
            raise ArgError(f"cannot use -{op} with -{self.cmd.op}")
        self.cmd = Command(op)

    def _set_option(self, letter: str) -> None:
        if letter in self.given:
            raise ArgError(f"multiple {_OPTION_NAMES.get(letter, '-' + letter)} options not allowed")
        self.given.add(letter)
        if self.invert and letter not in "sdpiof":
            raise ArgError(f"cannot have ! before {_OPTION_NAMES.get(letter, '-' + letter)}")

    def _base(self, c: str, arg: str | None) -> bool | None:
        if c in _COMMANDS:
            self._command(c)
            assert self.cmd is not None
            if c in "AICDRNEP":
                self.cmd.chain = arg
            if c in "LSFZX":
                if arg is not None:
                    self.cmd.chain = arg
                elif self.has_arg():
                    self.cmd.chain = self.argv[self.i]
                    self.i += 1
            if c == "I":
                self.cmd.rulenum = self._rulenum() if self.has_arg() else 1
            elif c == "R":
                if not self.has_arg():
                    raise ArgError("-R requires a rule number")
                self.cmd.rulenum = self._rulenum()
            elif c == "D" and self.has_arg():
                word = self.argv[self.i]
                self.i += 1
                if ":" in word:
                    raise ArgError("rule ranges are not supported")
                parsed = xv.strtoul(word, 10)
                if parsed is None or parsed[1] or parsed[0] == 0:
                    raise ArgError(f"invalid rule number {quote(word)}")
                self.cmd.rulenum = parsed[0]
            elif c in "LSZ" and self.has_arg():
                self.cmd.rulenum = self._rulenum()
            elif c == "E":
                if not self.has_arg():
                    raise ArgError("-E requires old-chain-name and new-chain-name")
                self.cmd.argument = self.argv[self.i]
                self.i += 1
                valid_chain_name(self.cmd.argument)
            elif c == "P":
                if not self.has_arg():
                    raise ArgError("-P requires a chain and a policy")
                self.cmd.argument = self.argv[self.i]
                self.i += 1
            if c == "N":
                valid_chain_name(self.cmd.chain or "")
            return True
        assert arg is not None or c in "vnxf0VhF46LSXZw"
        if c == "p":
            self._set_option("p")
            name = (arg or "").lower()
            try:
                number = xv.parse_protocol(name)
            except ValueError as e:
                raise ArgError(str(e)) from None
            if number == 0 and self.invert:
                raise ArgError("rule would never match protocol")
            self.rule.protocol = None if number == 0 else number
            self.rule.protocol_inverted = self.invert
            self.protocol_name = name
        elif c in "sd":
            self._set_option(c)
            if self.i - 1 > self.start:  # the value was a word of its own
                self.address_words.append((self.i - 1, c))
            if c == "s":
                self.source_text, self.rule.source_inverted = arg, self.invert
            else:
                self.destination_text, self.rule.destination_inverted = arg, self.invert
        elif c in "io":
            if arg == "":
                raise ArgError("empty interface is likely to be undesired")
            self._set_option(c)
            if len(arg or "") >= IFNAMSIZ:
                raise ArgError(f"interface name {quote(arg or '')} must be shorter than {IFNAMSIZ} characters")
            setattr(self.rule, "in_interface" if c == "i" else "out_interface", (arg, self.invert))
        elif c == "f":
            if self.version == 6:
                raise ArgError("-f is not supported in IPv6, use -m frag instead")
            self._set_option("f")
            self.rule.fragment = not self.invert
        elif c in "jg":
            self._set_option("j")
            name = arg or ""
            if not name or len(name) > MAX_NAME or any(ch.isspace() for ch in name):
                raise ArgError(f"invalid target name {quote(name)}")
            self.rule.jump, self.rule.goto = name, c == "g"
            if c == "j":
                ext = target_extension(name, self.version)
                if ext is not None:
                    self.rule.target = ExtensionUse(ext)
                    if ext.options:
                        self.loaded.insert(0, _Loaded(ext, "target"))
        elif c == "m":
            if self.invert:
                raise ArgError("unexpected ! flag before --match")
            ext = match_extension(arg or "", self.version)
            if ext is None:
                raise ArgError(f"couldn't load match {quote(arg or '')}")
            self._load_match(ext, implicit=False)
        elif c in "vM":
            if c == "v" and self.invert:
                raise ArgError("cannot have ! before --verbose")
        elif c in "nx0":
            self._set_option(c)
        elif c == "c":
            self._set_option("c")
            packets, comma, byte_count = (arg or "").partition(",")
            if not comma:
                if not self.has_arg():
                    raise ArgError("--set-counters requires packet and byte counter")
                byte_count = self.argv[self.i]
                self.i += 1
            for counter in (packets, byte_count):
                if xv.strtoul(counter, 10) is None:
                    raise ArgError("--set-counters counters must be numbers")
        elif c == "t":
            raise ArgError("the -t option cannot be used in a restore file")
        elif c in "wW":
            raise ArgError(f"you cannot use -{c} in a restore file")
        elif c in "hV":
            raise HelpRequested(f"-{c} in a restore file: iptables-restore prints {'help' if c == 'h' else 'its version'}"
                                " and stops without loading anything")
        elif c in "46":
            if (c == "4") != (self.version == 4):
                return None
        return True

    def _rulenum(self) -> int:
        word = self.argv[self.i]
        self.i += 1
        number = xv.xt_uint(word, 1, 2**31 - 1)
        if number is None:
            raise ArgError(f"invalid rule number {quote(word)}")
        return number

    def _load_match(self, ext: Extension, *, implicit: bool) -> None:
        """Append an instance; from now on it owns the extension's options (earlier instances
        are complete). ``-m`` merges the options into getopt's table only the first time; an
        implicit protocol match merges them again (so abbreviations may become ambiguous)."""
        first = all(m.ext is not ext for m in self.rule.matches)
        self.rule.matches.append(ExtensionUse(ext))
        if ext.options and (first or implicit):
            self.loaded.insert(0, _Loaded(ext, "match"))

    def _extension_option(self, what: object, arg: str | None, spelling: str) -> bool:
        """Apply an extension's option; True when the option must be read again because the
        protocol's match was loaded for it (``command_default`` returning 1: ``invert`` is
        kept, as in iptables' ``do_parse``)."""
        if isinstance(what, tuple):
            loaded, opt = what
            assert isinstance(loaded, _Loaded) and isinstance(opt, Option)
            if loaded.kind == "target":
                assert self.rule.target is not None
                use = self.rule.target
            else:
                use = next(u for u in reversed(self.rule.matches) if u.ext is loaded.ext)
            self._option(use, opt, arg)
            return False
        # unknown to every loaded extension: load the protocol's match implicitly and retry
        if self._load_proto():
            self.i = self.start
            return True
        if what == ":":
            raise ArgError(f"option {spelling} requires an argument")
        raise ArgError(f"unknown option {quote(spelling)}")

    def _load_proto(self) -> bool:
        """``load_proto``: once per rule, the match named after ``-p`` (``-p 6`` → tcp)."""
        if self.protocol_name is None or self.proto_used:
            return False
        self.proto_used = True
        number = xv.xt_uint(self.protocol_name, 0, 255)
        name = xv.PROTO_MATCH.get(number, "") if number is not None else self.protocol_name
        if name in ("icmpv6", "ipv6-icmp"):
            name = "icmp6"
        ext = match_extension(name, self.version)
        if ext is None:
            return False
        self._load_match(ext, implicit=True)
        return True

    def _option(self, use: ExtensionUse, opt: Option, arg: str | None) -> None:
        if opt.kind is not None and arg is None:
            raise ArgError(f"{use.ext.name}: option --{opt.name} requires an argument")
        if self.invert and not opt.invert:
            raise ArgError(f"{use.ext.name}: option --{opt.name} cannot be inverted")
        if not opt.multi and any(u.option is opt for u in use.uses):
            raise ArgError(f"{use.ext.name}: option --{opt.name} can only be used once")
        raw: tuple[str, ...] = (arg,) if arg is not None else ()
        if opt.kind in TWO_WORD_KINDS:
            if not self.has_arg():
                raise ArgError(f"--{opt.name} requires two arguments")
            raw += (self.argv[self.i],)
            self.i += 1
        value = parse_value(use.ext, opt, raw, self.version)
        use.uses.append(OptionUse(opt, self.invert, raw, value, self.rule.protocol, self.rule.protocol_inverted))

    def _finish(self) -> Command:
        if self.table == "nat" and self.cmd is not None and (
                (self.cmd.op == "P" and self.cmd.argument == "DROP") or self.rule.jump == "DROP"):
            raise ArgError('the "nat" table is not intended for filtering, the use of DROP is therefore inhibited')
        if self.cmd is None:
            raise ArgError("no command specified")
        if self.invert:
            raise ArgError("nothing appropriate following !")
        for letter in self.given:
            if letter not in _ALLOWED[self.cmd.op]:
                raise ArgError(f"illegal option {_OPTION_NAMES.get(letter, '-' + letter)} with -{self.cmd.op}")
        if self.cmd.op in "AICDR":
            self.rule.sources = self._addresses(self.source_text)
            self.rule.destinations = self._addresses(self.destination_text)
            if (len(self.rule.sources) > 1 or len(self.rule.destinations) > 1) and (
                    self.rule.source_inverted or self.rule.destination_inverted):
                raise ArgError("! not allowed with multiple source or destination IP addresses")
            self.cmd.rule = self.rule
            self.cmd.address_words = tuple(self.address_words)
        if self.cmd.chain is not None and len(self.cmd.chain) > MAX_NAME:
            raise ArgError(f"chain name {quote(self.cmd.chain)} too long (must be under {MAX_NAME + 1} chars)")
        if self.cmd.op in "AICDR":
            if self.cmd.chain in ("PREROUTING", "INPUT") and "o" in self.given:
                raise ArgError(f"can't use --out-interface with {self.cmd.chain}")
            if self.cmd.chain in ("POSTROUTING", "OUTPUT") and "i" in self.given:
                raise ArgError(f"can't use --in-interface with {self.cmd.chain}")
        return self.cmd

    def _addresses(self, text: str | None) -> list[tuple[int, int]]:
        return addresses(text, self.version)


def addresses(text: str | None, version: int) -> list[tuple[int, int]]:
    """-s/-d values as (address, mask) pairs; none given is everything."""
    if text is None:
        return [(0, 0)]
    try:
        return xv.parse_addresses(text, version)
    except ValueError as e:
        raise ArgError(str(e)) from None


def with_addresses(cmd: Command, words: list[str], version: int) -> Command:
    """``cmd`` parsed from another line that differed only in its -s/-d words: the same command
    with this line's addresses (checked as iptables checks them)."""
    assert cmd.rule is not None
    values = {kind: words[i] for i, kind in cmd.address_words}
    rule = replace(cmd.rule, sources=addresses(values["s"], version) if "s" in values else cmd.rule.sources,
                   destinations=addresses(values["d"], version) if "d" in values else cmd.rule.destinations)
    if (len(rule.sources) > 1 or len(rule.destinations) > 1) and (rule.source_inverted or rule.destination_inverted):
        raise ArgError("! not allowed with multiple source or destination IP addresses")
    return replace(cmd, rule=rule)


def valid_chain_name(name: str) -> None:
    """``assert_valid_chain_name``: short, not an option, not a target's name."""
    if len(name) > MAX_NAME:
        raise ArgError(f"chain name {quote(name)} too long (must be under {MAX_NAME + 1} chars)")
    if name.startswith(("-", "!")):
        raise ArgError(f"chain name not allowed to start with {quote(name[0])}")
    if is_target_name(name):
        raise ArgError(f"chain name {quote(name)} may not clash with a target name")


def parse_command(argv: list[str], *, version: int, table: str) -> Command | None:
    """Parse one restore line's words; ``None`` when iptables-restore skips the line."""
    fast = _Parser(list(argv), version, table).canonical()
    if fast is not None:
        return fast
    return _Parser(list(argv), version, table).parse()


_SEGMENTS: dict[tuple[object, ...], list[OptionUse]] = {}
