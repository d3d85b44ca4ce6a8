"""Snapshot files (``fwaudit snapshot --output``) read back: a host to audit offline.

A snapshot file may come from another machine and is hostile input: it is read as every
user-named file (:func:`auditor.inputs.read_input_file`: regular files only, size cap, UTF-8),
parsed as strict JSON (no NaN or Infinity, nesting bounded by the decoder), and decoded against
the model's own types (:func:`auditor.model.codec.decode`: exactly the known fields, every value
of its declared type). Messages name the file and the place in it, never its content beyond a
short escaped excerpt.
"""

from __future__ import annotations

import json
import os
from typing import Any

from auditor.errors import InputError
from auditor.inputs import read_input_file
from auditor.model import codec
from auditor.model.snapshot import SNAPSHOT_FORMAT, HostSnapshot
from auditor.untrusted import escape, excerpt

_FORMAT_PREFIX = SNAPSHOT_FORMAT.rsplit("/", 1)[0] + "/"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_snapshot(text: str, source: str) -> HostSnapshot:
    """The snapshot in ``text`` (the content of file ``source``, named in messages)."""
    shown = escape(source)
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise InputError(f"{shown}: not an fwaudit snapshot (JSON nested too deeply)") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{shown}: not valid JSON (line {e.lineno}, column {e.colno})") from None
    except ValueError:  # NaN/Infinity, or an integer with more digits than Python converts
        raise InputError(f"{shown}: not an fwaudit snapshot (a number that is not a JSON number)") from None
    if not isinstance(data, dict):
        raise InputError(f"{shown}: not an fwaudit snapshot (not a JSON object)")
    fmt = data.pop("format", None)
    if fmt != SNAPSHOT_FORMAT:
        if isinstance(fmt, str) and fmt.startswith(_FORMAT_PREFIX):
            raise InputError(f"{shown}: unsupported snapshot version {excerpt(fmt, 40)!r} "
                             f"(this fwaudit reads {SNAPSHOT_FORMAT})")
        raise InputError(f"{shown}: not an fwaudit snapshot (expected \"format\": \"{SNAPSHOT_FORMAT}\")")
    try:
        return codec.decode(HostSnapshot, data)
    except codec.DecodeError as e:
        raise InputError(f"{shown}: not a valid fwaudit snapshot: at {excerpt(e.where, 120)}: "
                         f"{excerpt(e.message, 160)}") from None
    except RecursionError:
        raise InputError(f"{shown}: not a valid fwaudit snapshot (nested too deeply)") from None


def read_snapshot(path: str | os.PathLike[str]) -> HostSnapshot:
    return parse_snapshot(read_input_file(path, what="snapshot"), os.fspath(path))
