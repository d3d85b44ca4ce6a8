"""Escaping strings other people control before they reach a terminal or a message."""

from __future__ import annotations

from auditor.untrusted import escape, excerpt


def test_terminal_escapes_are_shown_not_sent():
    assert escape("\x1b]2;PWNED\x07") == "\\x1b]2;PWNED\\x07"


def test_c1_and_bidi_controls_are_escaped():
    assert escape("a\x9bb\u202ec") == "a\\x9bb\\u202ec"


def test_ordinary_unicode_is_kept():
    assert escape("nginx: wörker ٨٠") == "nginx: wörker ٨٠"


def test_excerpt_cuts_and_marks_the_cut():
    out = excerpt("x" * 1_000_000)
    assert out == "x" * 80 + "…"
    assert excerpt("short") == "short"


def test_what_cannot_be_written_out_is_escaped_too():
    # lone surrogates (undecodable bytes of a file name) and XML's forbidden noncharacters
    assert escape("a\udcffb\ufffe\uffff") == "a\\udcffb\\ufffe\\uffff"
