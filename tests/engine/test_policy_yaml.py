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


# --- exact values, lines and rejections (each bound at its edge) ---------------------------------

def rejection(text: str) -> tuple[str, int | None, str | None]:
    """(message, line, file) of the error loading ``text``."""
    with pytest.raises(LocatedInputError) as e:
        load_plain(text, "t.yaml")
    return e.value.detail, e.value.line, e.value.file


@pytest.mark.parametrize("text", ["", "~", "null", "Null", "NULL"])
def test_every_spelling_of_null(text):
    assert load_plain(f"v: {text}\n", "t.yaml")[0] == {"v": None}


@pytest.mark.parametrize("text,value", [("true", True), ("True", True), ("TRUE", True),
                                        ("false", False), ("False", False), ("FALSE", False),
                                        ("tRUE", "tRUE"), ("nULL", "nULL"), ("-0", 0), ("+0", 0)])
def test_every_spelling_of_true_and_false_and_signed_zero(text, value):
    data, _ = load_plain(f"v: {text}\n", "t.yaml")
    assert data == {"v": value} and type(data["v"]) is type(value)


@pytest.mark.parametrize("text", ['"null"', "'~'", '"true"', "'FALSE'", '"7"', "''"])
def test_quoted_scalars_are_always_text(text):
    data, _ = load_plain(f"v: {text}\n", "t.yaml")
    assert data == {"v": text[1:-1]}


def test_numbers_up_to_1000_digits_are_integers():
    data, _ = load_plain("v: " + "9" * 1000 + "\n", "t.yaml")
    assert data == {"v": int("9" * 1000)}
    assert rejection("x: 1\nv: " + "9" * 1001 + "\n") == ("a number of more than 1000 digits", 2, "t.yaml")


@pytest.mark.parametrize("number", ["00", "01", "-01", "+01", "0123"])
def test_leading_zero_is_refused_at_its_line(number):
    assert rejection(f"x: 1\nv: {number}\n") == (
        f"{number}: a number with a leading zero is ambiguous (octal in YAML 1.1); "
        "write it without the zero, or quote it", 2, "t.yaml")


@pytest.mark.parametrize("text,message,line", [
    ("", "the policy file is empty", 1),
    ("# only a comment\n", "the policy file is empty", 1),
    ("x: 1\nv: !t 5\n", "YAML tags (!t) are not allowed in a policy", 2),
    ("x: 1\nv:\n  - !!str x\n", "YAML tags (tag:yaml.org,2002:str) are not allowed in a policy", 3),
    ("x: 1\nv: !t [1]\n", "YAML tags (!t) are not allowed in a policy", 2),
    ("x: 1\nv: !t {a: 1}\n", "YAML tags (!t) are not allowed in a policy", 2),
    ("x: 1\n\nv: *nope\n", "alias *nope refers to no anchor before it", 3),
    ("x: 1\nv: &x [1, *x]\n", "alias *x is inside the node it refers to (a cycle)", 2),
    ("x: 1\nv: &x {b: {c: *x}}\n", "alias *x is inside the node it refers to (a cycle)", 2),
    ("x: 1\n? [a]\n: 1\n", "a mapping key must be a plain value, not a list, mapping or alias", 2),
    ("x: 1\n? {a: 1}\n: 1\n", "a mapping key must be a plain value, not a list, mapping or alias", 2),
    ("b: &a k\n*a : 1\n", "a mapping key must be a plain value, not a list, mapping or alias", 2),
    ("x: 1\n<<: {a: 1}\n", "merge keys (<<) are not supported in a policy: write the entries out", 2),
    ("x: 1\n---\ny: 2\n", "a policy file holds one YAML document (found a second '---')", 2),
    ("---\nx: 1\n...\n---\ny: 2\n", "a policy file holds one YAML document (found a second '---')", 4),
    ("x: 1\nv: [1\n", "YAML syntax error: did not find expected ',' or ']'", 3),
    ("x: 1\nv: b: c\n", "YAML syntax error: mapping values are not allowed in this context", 2),
    ("v: 'x\n", "YAML syntax error: found unexpected end of stream", 2),
])
def test_rejections_name_their_line(text, message, line):
    assert rejection(text) == (message, line, "t.yaml")


def test_errors_without_a_position_have_no_line():
    assert rejection("x: 1\nv: \ud83d\n") == ("not valid Unicode text (character 8)", None, "t.yaml")
    message, line, file = rejection("v: \x00\n")
    assert message.startswith("YAML error: unacceptable character #x0000") and (line, file) == (None, "t.yaml")


def test_one_document_may_be_marked_explicitly():
    assert load_plain("---\nx: 1\n...\n", "t.yaml")[0] == {"x": 1}
    assert load_plain("- &a 5\n- *a\n", "t.yaml")[0] == [5, 5]
    assert load_plain("x: &m {k: v}\ny: *m\n", "t.yaml")[0] == {"x": {"k": "v"}, "y": {"k": "v"}}


def test_depth_bound_is_exact_at_its_line():
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    data, _ = load_plain(ok + "\n", "t.yaml")
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []
    assert rejection("x: 1\nv: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n") == (
        "nested deeper than 64 levels", 2, "t.yaml")


def test_depth_through_aliases_is_exact_at_the_line_of_the_value_too_deep():
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # 63 levels below the top mapping
    data, _ = load_plain(f"a: &d {deep}\nb: [*d]\n", "t.yaml")  # 64 levels: the bound itself
    assert data["b"] == [data["a"]]
    assert rejection(f"a: &d {deep}\nb: [[*d]]\n") == ("nested deeper than 64 levels (through aliases)", 1, "t.yaml")


def test_node_count_is_bounded_exactly(monkeypatch):
    from auditor.engine import policy_yaml

    monkeypatch.setattr(policy_yaml, "MAX_NODES", 9)
    # counted: each scalar and alias, each list and mapping at its start and again at its end:
    # the mapping (2), two keys, the list (2) and its two items, one alias = 9
    assert load_plain("a: &l [1, 2]\nb: *l\n", "t.yaml")[0] == {"a": [1, 2], "b": [1, 2]}
    assert rejection("a: &l [1, 2]\nb: *l\nc:\n") == ("more than 9 values: not a policy this tool reads", 3, "t.yaml")
    assert rejection("a: [1, 2, 3, 4]\nb:\n  - x\n") == ("more than 9 values: not a policy this tool reads", 3, "t.yaml")


def test_alias_expansion_is_bounded_exactly(monkeypatch):
    from auditor.engine import policy_yaml

    monkeypatch.setattr(policy_yaml, "MAX_ALIAS_NODES", 6)
    # each use of *l expands 3 values (the list and its 2 items): two uses fit, three do not
    data, _ = load_plain("a: &l [1, 2]\nb: *l\nc: *l\n", "t.yaml")
    assert data == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}
    assert rejection("a: &l [1, 2]\nb: *l\nc: *l\nd: [*l]\n") == (
        "aliases expand to more than 6 values", 1, "t.yaml")
    # so does each value in an aliased mapping: *m expands 3 (the mapping and its 2 values)
    assert load_plain("a: &m {k: v, j: w}\nb: *m\nc: *m\n", "t.yaml")[0]["c"] == {"k": "v", "j": "w"}
    assert rejection("a: &m {k: v, j: w}\nb: *m\nc: *m\nd: [*m]\n") == (
        "aliases expand to more than 6 values", 1, "t.yaml")
    # a scalar counts too
    monkeypatch.setattr(policy_yaml, "MAX_ALIAS_NODES", 1)
    assert load_plain("a: &s 5\nb: *s\n", "t.yaml")[0] == {"a": 5, "b": 5}
    assert rejection("a: &s 5\nb: *s\nc: *s\n") == ("aliases expand to more than 1 values", 1, "t.yaml")


def test_lines_of_keys_values_duplicates_and_aliases():
    data, lines = load_plain("top:\n  k: &v [x,\n    y]\n  k: 2\nuse: *v\n", "t.yaml")
    assert data == {"top": {"k": 2}, "use": ["x", "y"]}
    assert lines == {
        (): 1, ("top", "__key__"): 1, ("top",): 2,
        ("top", "k", "__key__"): 4, ("top", "k"): 2, ("top", "k", 0): 2, ("top", "k", 1): 3,
        ("top", "k", "__dup__"): 4,
        ("use", "__key__"): 5, ("use",): 5, ("use", 0): 2, ("use", 1): 3,
    }
