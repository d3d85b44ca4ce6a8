"""The bounded, tag-free YAML reader behind policies."""

from __future__ import annotations

import re

import pytest

from auditor.engine.policy_yaml import MAX_DEPTH, load_plain
from auditor.errors import LocatedInputError


@pytest.mark.parametrize("text,value", [
    ("22", 22), ("-5", -5), ("+7", 7), ("0", 0), ('"022"', "022"), ("'yes'", "yes"),
    ("yes", "yes"), ("on", "on"), ("no", "no"), ("off", "off"), ("y", "y"),
    ("true", True), ("False", False), ("~", None), ("null", None), ("", None),
    ("0x1f", "0x1f"), ("0o17", "0o17"), ("1.5", "1.5"), ("1e3", "1e3"), (".inf", ".inf"),
    ("22:00", "22:00"), ("2024-01-01", "2024-01-01"), ("٨٠", "٨٠"), ("8_0", "8_0"),
])
def test_scalars_follow_a_strict_yaml_1_2_core_schema(text, value):
    data, _ = load_plain(f"v: {text}\n", "t.yaml")
    assert data == {"v": value} and type(data["v"]) is type(value)


def test_every_value_and_key_has_its_line_and_duplicates_are_marked():
    data, lines = load_plain("a: 1\nb:\n  - x\n  - {c: 2}\na: 3\n", "t.yaml")
    assert data == {"a": 3, "b": ["x", {"c": 2}]}
    assert lines[("b", 1, "c")] == 4 and lines[("a", "__dup__")] == 5 and lines[("b", "__key__")] == 2


@pytest.mark.parametrize("text,fragment", [
    ("[a, b]: 1\n", "a mapping key must be a plain value"),
    ("a: *nope\n", "refers to no anchor before it"),
    ("a: &x {b: *x}\n", "(a cycle)"),
    ("a: !foo x\n", "YAML tags (!foo)"),
    ("a: ! x\n", "YAML tags (!)"),
    ("a: !!str x\n", "YAML tags"),
    ("a: [1\n", "YAML syntax error"),
    ("a: 01\n", "leading zero"),
    ("a: " + "9" * 5000 + "\n", "a number of more than 1000 digits"),
])
def test_rejected_constructs(text, fragment):
    with pytest.raises(LocatedInputError, match=re.escape(fragment)):
        load_plain(text, "t.yaml")


def test_depth_is_bounded_also_through_aliases():
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    load_plain(f"a: {deep}\n", "t.yaml")
    with pytest.raises(LocatedInputError, match="nested deeper"):
        load_plain(f"a: [{deep}]\n", "t.yaml")
    with pytest.raises(LocatedInputError, match="through aliases"):
        load_plain(f"a: &d {deep}\nb: [[[*d]]]\n", "t.yaml")


def test_aliases_share_lines_of_their_use():
    data, lines = load_plain("a: &x [1, 2]\nb: *x\n", "t.yaml")
    assert data == {"a": [1, 2], "b": [1, 2]} and lines[("b",)] == 2 and lines[("b", 1)] == 1


def test_text_no_file_could_hold_is_an_input_error():
    # found by the fuzzer: a lone surrogate made libyaml's encoder raise UnicodeEncodeError
    with pytest.raises(LocatedInputError, match="not valid Unicode text"):
        load_plain("a: \ud83d\n", "t.yaml")
