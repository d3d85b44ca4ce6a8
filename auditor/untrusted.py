"""Strings other people wrote — process names, comments, interface and file names, file content —
made safe to show.

fwaudit runs as root and prints what unprivileged users control: a process can name itself
``"\\x1b]2;PWNED\\x07"`` and a ruleset comment can hold a megabyte. Two rules, used everywhere
such a string reaches a terminal, a log or an error message:

* :func:`escape` shows control characters (C0, DEL, C1 and the Unicode bidi/line controls) as
  ``\\xNN`` / ``\\uNNNN`` escapes, so nothing is ever interpreted by a terminal;
* :func:`excerpt` additionally cuts to a short length, so an error never echoes more than a
  glimpse of the input that caused it.
"""

from __future__ import annotations

import re

#: Characters a terminal or a log viewer may act on: C0 controls (tab included, it misaligns
#: tables), DEL, C1 controls, and the Unicode format characters that reorder or hide text; also
#: what cannot be written out at all — lone surrogates (undecodable bytes of a file name) and
#: the noncharacters U+FFFE/U+FFFF, which XML 1.0 cannot carry.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff\ufffe\uffff]")

#: How much of an offending input an error message may quote.
EXCERPT_CHARS = 80


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(_escape_char, text)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, escaped glimpse of ``text`` for an error message (``…`` marks a cut)."""
    cut = text[:limit]
    shown = escape(cut)
    return shown + "…" if len(text) > limit else shown
