"""Mutated policies for fuzzing the loader: valid policies, broken in the ways attackers try.

:func:`mutate` applies a few random edits to a seed policy, driven by any ``random.Random``
(hypothesis' ``st.randoms()`` in the fuzz test, a seeded one in ``benchmarks/attack_policies.py``):
YAML-significant tokens, tags, anchors and aliases (bombs, cycles), deep nesting, YAML 1.1
numbers, non-ASCII digits, control characters, huge scalars, and structural damage (lines
deleted, duplicated, swapped, re-indented).
"""

from __future__ import annotations

import random
from pathlib import Path

SEEDS = [p.read_text() for p in sorted((Path(__file__).resolve().parents[2] / "policies").glob("*.yaml"))] + [
    """version: 1
name: t
zones:
  lan: &lan [198.18.0.0/24]
  internet: {networks: [0.0.0.0/0, "::/0"], description: x}
services:
  - {name: ssh, protocol: tcp, port: 22, zones: [lan], process: sshd}
  - name: web
    protocol: [tcp, udp]
    ports: [80, "8000-8010"]
    zones: [internet]
    bind: [198.18.0.2, "::1"]
    optional: false
""",
]

TOKENS = [
    "!!binary aGVsbG8=", "!!python/object:os.system x", "!!int abc", "!!timestamp 2024-13-45", "!!str",
    "!foo", "! x", "&a", "*a", "&a [*a]", "<<: *a", "<<:", "? x", "- ", ": ", "#", "|", ">", "---", "...",
    "%YAML 1.1", "{", "}", "[", "]", ",", '"', "'", "\t", "\\", "\x00", "\x1b]2;x\x07", "\x7f", "\u202e",
    "\ufeff", "\ud83d", "022", "0o17", "0x1f", "22:00", "1_000", "1e3", ".inf", "~", "null", "yes", "no",
    "on", "off", "٨٠", "８０", "+80", "-1", "65536", "0", "1-0", "99999999999999999999999", "[]", "{}",
    "0.0.0.0/0", "::/0", "198.18.0.1/24", "fe80::1%eth0/64", "tcp", "udp", "any", "loopback",
]


def _bomb(r: random.Random) -> str:
    width, depth = r.randint(2, 12), r.randint(2, 8)
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, depth):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def _nest(r: random.Random) -> str:
    n = r.choice([10, 63, 64, 65, 200, 1000])
    opener, closer = r.choice([("[", "]"), ("{a: ", "}")])
    return opener * n + "x" + closer * n


def mutate(seed: str, r: random.Random, edits: int | None = None) -> str:
    """``seed`` with 1–4 (or ``edits``) random edits."""
    text = seed
    for _ in range(edits if edits is not None else r.randint(1, 4)):
        lines = text.split("\n")
        i = r.randrange(len(lines))
        op = r.randrange(12)
        if op == 0:  # a token inserted somewhere in a line
            pos = r.randint(0, len(lines[i]))
            lines[i] = lines[i][:pos] + r.choice(TOKENS) + lines[i][pos:]
        elif op == 1:  # a scalar after ': ' replaced
            head, sep, _ = lines[i].partition(": ")
            if sep:
                lines[i] = head + sep + r.choice(TOKENS)
        elif op == 2:
            del lines[i]
        elif op == 3:
            lines.insert(i, lines[r.randrange(len(lines))])
        elif op == 4:
            j = r.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 5:  # re-indented
            lines[i] = " " * r.choice([0, 1, 3, 5, 8]) + lines[i].lstrip()
        elif op == 6:
            lines.insert(r.randrange(len(lines) + 1), _bomb(r))
        elif op == 7:
            head, sep, _ = lines[i].partition(": ")
            lines[i] = (head + sep if sep else lines[i] + ": ") + _nest(r)
        elif op == 8:  # a long scalar
            head, sep, _ = lines[i].partition(": ")
            lines[i] = (head + sep if sep else "x: ") + r.choice("x9 ,[") * r.choice([100, 5000, 200_000])
        elif op == 9:  # random characters
            pos = r.randint(0, len(lines[i]))
            lines[i] = lines[i][:pos] + "".join(chr(r.randrange(0, 0x3000)) for _ in range(r.randint(1, 5))) + lines[i][pos:]
        elif op == 10:  # a slice of the text cut out
            a = r.randrange(len(text) + 1)
            text = text[:a] + text[a + r.randint(1, 40):]
            continue
        else:  # duplicate a key / anchor a value and alias it elsewhere
            head, sep, value = lines[i].partition(": ")
            if sep and value:
                lines[i] = f"{head}: &m {value}"
                lines.insert(r.randrange(i, len(lines)) + 1, f"{head.strip() or 'k'}: *m")
        text = "\n".join(lines)
    return text
