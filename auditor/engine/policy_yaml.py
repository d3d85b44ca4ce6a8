"""Policy YAML read strictly and within bounds: plain data, with the line of every value.

Policies are written by people and sometimes by tools fed with other people's strings; PyYAML's
loaders are not made for that. A YAML alias bomb expands 10⁷ nodes from a few hundred bytes, a
500-deep nesting or an alias cycle overflows the stack, ``!!python/object`` and ``!!binary``
construct things, and YAML 1.1 reads ``022`` as 18 and ``22:00`` as 1320. So only the parser's
event stream is used (libyaml's when available) and composed here, iteratively:

* no tags at all (``!!int``, ``!!binary``, ``!!timestamp``, ``!foo`` …) and no merge keys
  (``<<``): input errors at their line;
* nesting at most :data:`MAX_DEPTH` levels; at most :data:`MAX_NODES` values in a file and
  :data:`MAX_ALIAS_NODES` more produced by expanding aliases; an alias inside the node it
  names (a cycle) is an error;
* plain scalars follow the YAML 1.2 core schema, stricter: ``null``/``~``/empty is null,
  ``true``/``false`` are booleans, decimal ASCII digits are integers (no leading zero, at most
  :data:`MAX_DIGITS`), everything else is text. Quoted scalars are always text;
* one document per file; mapping keys are scalars.

Error messages quote at most a short, escaped excerpt of the input (:mod:`auditor.untrusted`).
"""

from __future__ import annotations

import re
from typing import Any

from auditor.errors import LocatedInputError
from auditor.untrusted import excerpt

MAX_DEPTH = 64
MAX_NODES = 2_000_000
MAX_ALIAS_NODES = 100_000

_INT = re.compile(r"[-+]?[0-9]+\Z", re.ASCII)
MAX_DIGITS = 1000
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]", re.ASCII)
_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_NUMBER_START = frozenset("+-0123456789")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}

Lines = dict[tuple[Any, ...], int]


class _Node:
    """A composed value: ``kind`` is ``map`` (items: [(key node, value node)]), ``seq`` (items:
    [node]) or ``scalar`` (value); ``alias`` marks a node reached through ``*name``."""

    __slots__ = ("items", "kind", "line", "value")

    def __init__(self, kind: str, line: int, value: Any = None) -> None:
        self.kind = kind
        self.line = line
        self.value = value
        self.items: list[Any] = []


class _Alias:
    __slots__ = ("line", "target")

    def __init__(self, target: _Node, line: int) -> None:
        self.target = target
        self.line = line


def load_plain(text: str, source: str) -> tuple[Any, Lines]:
    """(plain data, line of every path) of a one-document YAML text; raises LocatedInputError."""
    root = _compose(text, source)
    if root is None:
        raise LocatedInputError("the policy file is empty", source, 1)
    lines: Lines = {}
    budget = [MAX_ALIAS_NODES]
    return _plain(root, (), lines, 0, False, budget, source), lines


def _resolve(value: str, line: int, source: str) -> Any:
    """A plain scalar's value (YAML 1.2 core schema, stricter: see the module docstring)."""
    if value in _NULL:
        return None
    b = _BOOL.get(value)
    if b is not None:
        return b
    if value[0] in _NUMBER_START and _INT.match(value):
        if len(value) > MAX_DIGITS:
            raise LocatedInputError(f"a number of more than {MAX_DIGITS} digits", source, line)
        if _LEADING_ZERO.match(value):
            raise LocatedInputError(
                f"{excerpt(value)}: a number with a leading zero is ambiguous (octal in YAML 1.1); "
                "write it without the zero, or quote it", source, line)
        return int(value)
    return value


def _compose(text: str, source: str) -> _Node | None:
    """The node tree of ``text``, composed from parser events with an explicit stack."""
    import yaml
    from yaml import events as ev

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # only its parser is used
    stack: list[tuple[_Node, list[Any], str | None]] = []  # open collections: pending key, anchor
    anchors: dict[str, _Node] = {}
    open_anchors: set[str] = set()
    root: list[Any] = []
    documents = 0
    count = 0
    try:
        event: Any
        for event in yaml.parse(text, Loader=loader):
            t = type(event)
            line = event.start_mark.line + 1
            if t is ev.ScalarEvent:
                if event.tag is not None:
                    raise LocatedInputError(f"YAML tags ({excerpt(event.tag)}) are not allowed in a policy", source, line)
                value = event.value
                node: Any = _Node("scalar", line, value if event.style else _resolve(value, line, source))
                if event.anchor is not None:
                    anchors[event.anchor] = node
            elif t is ev.MappingStartEvent or t is ev.SequenceStartEvent:
                if event.tag is not None:
                    raise LocatedInputError(f"YAML tags ({excerpt(event.tag)}) are not allowed in a policy", source, line)
                if len(stack) >= MAX_DEPTH:
                    raise LocatedInputError(f"nested deeper than {MAX_DEPTH} levels", source, line)
                node = _Node("map" if t is ev.MappingStartEvent else "seq", line)
                if event.anchor is not None:
                    anchors[event.anchor] = node
                    open_anchors.add(event.anchor)
                stack.append((node, [], event.anchor))
                count += 1
                continue
            elif t is ev.MappingEndEvent or t is ev.SequenceEndEvent:
                node, _, anchor = stack.pop()
                if anchor is not None:
                    open_anchors.discard(anchor)
            elif t is ev.AliasEvent:
                target = anchors.get(event.anchor)
                if target is None:
                    raise LocatedInputError(f"alias *{excerpt(event.anchor)} refers to no anchor before it", source, line)
                if event.anchor in open_anchors:
                    raise LocatedInputError(f"alias *{excerpt(event.anchor)} is inside the node it refers to "
                                            "(a cycle)", source, line)
                node = _Alias(target, line)
            elif t is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise LocatedInputError("a policy file holds one YAML document (found a second '---')", source, line)
                continue
            else:  # stream start/end, document end
                continue
            count += 1
            if count > MAX_NODES:
                raise LocatedInputError(f"more than {MAX_NODES} values: not a policy this tool reads", source, line)
            if not stack:
                root.append(node)
                continue
            parent, pending, _ = stack[-1]
            if parent.kind == "seq":
                parent.items.append(node)
            elif pending:
                parent.items.append((pending.pop(), node))
            elif type(node) is not _Node or node.kind != "scalar":
                raise LocatedInputError("a mapping key must be a plain value, not a list, mapping or alias",
                                        source, line)
            elif node.value == "<<":
                raise LocatedInputError("merge keys (<<) are not supported in a policy: write the entries out",
                                        source, line)
            else:
                pending.append(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise LocatedInputError(f"YAML syntax error: {excerpt(str(e.problem or e.context or 'invalid YAML'))}",
                                source, mark.line + 1 if mark else 1) from None
    except yaml.YAMLError as e:
        raise LocatedInputError(f"YAML error: {excerpt(str(e))}", source, None) from None
    except UnicodeEncodeError as e:  # a str that no file could hold (a lone surrogate)
        raise LocatedInputError(f"not valid Unicode text (character {e.start})", source, None) from None
    return root[0] if root else None


def _plain(node: Any, path: tuple[Any, ...], lines: Lines, depth: int, aliased: bool,
           budget: list[int], source: str) -> Any:
    """Node → plain data, recording each path's line; aliases expanded within the budget."""
    if isinstance(node, _Alias):
        lines[path] = node.line
        return _plain(node.target, path, lines, depth, True, budget, source)
    if aliased:
        budget[0] -= 1
        if budget[0] < 0:
            raise LocatedInputError(f"aliases expand to more than {MAX_ALIAS_NODES} values", source, node.line)
    if depth > MAX_DEPTH:
        raise LocatedInputError(f"nested deeper than {MAX_DEPTH} levels (through aliases)", source, node.line)
    lines.setdefault(path, node.line)
    if node.kind == "scalar":
        return node.value
    if node.kind == "seq":
        return [_plain(v, path + (i,), lines, depth + 1, aliased, budget, source) for i, v in enumerate(node.items)]
    out: dict[Any, Any] = {}
    for k, v in node.items:
        key = k.value
        if key in out:
            lines[path + (key, "__dup__")] = k.line
        lines[path + (key, "__key__")] = k.line
        out[key] = _plain(v, path + (key,), lines, depth + 1, aliased, budget, source)
    return out
