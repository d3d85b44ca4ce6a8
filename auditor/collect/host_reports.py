"""Reading what a fleet run brought back: one audit document (or host record) per host.

The files come from other machines and are hostile input: each is read through
:func:`auditor.inputs.read_input_file` (regular file, size cap, UTF-8), parsed strictly (orjson:
no NaN or Infinity, nesting bounded), and validated against the audit schema
(``auditor/report/schemas/audit-1.schema.json``) before anything else looks at it. Messages name
the file and the place in it, never more than a short excerpt of the content.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Literal

import orjson  # strict JSON: no NaN or Infinity, at most 1024 levels deep

from auditor.errors import InputError
from auditor.inputs import read_input_file
from auditor.model.fleet import InputProblem
from auditor.untrusted import escape, excerpt

AUDIT_SCHEMA = "fwaudit.audit/1"


@dataclass(frozen=True)
class HostDocument:
    """One file of a fleet run, parsed and validated: an audit document (``fwaudit.audit/1``)
    or the ``{"host", "status", "error"}`` record of a host that could not be audited."""

    kind: Literal["audit", "record"]
    doc: dict[str, Any]
    source: str


def warm_validator() -> None:
    """Compile the audit schema now (before forking workers that then share it)."""
    _audit_validator()


@functools.cache
def _audit_validator() -> Any:
    import jsonschema_rs

    schema = json.loads(files("auditor.report").joinpath("schemas/audit-1.schema.json").read_text())
    return jsonschema_rs.validator_for(schema)


def parse_host_document(text: str, source: str) -> HostDocument:
    """One host's document from the text of its file (pure; ``source`` names it in messages)."""
    shown = escape(source)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        if "depth limit" in str(e):
            raise InputError(f"{shown}: JSON nested too deeply") from None
        raise InputError(f"{shown}: not valid JSON (line {e.lineno}, column {e.colno})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{shown}: not an fwaudit audit report or host record (not a JSON object)")
    schema = doc.get("schema")
    if schema is None:
        if set(doc) == {"host", "status", "error"}:
            return HostDocument("record", doc, source)
        raise InputError(f"{shown}: not an fwaudit audit report or host record "
                         "(no 'schema' field, and not {\"host\", \"status\", \"error\"})")
    if schema != AUDIT_SCHEMA:
        kind = excerpt(schema, 40) if isinstance(schema, str) else "not a string"
        if isinstance(schema, str) and schema.startswith("fwaudit.audit/"):
            raise InputError(f"{shown}: unsupported audit report version {kind!r} (this fwaudit reads {AUDIT_SCHEMA})")
        raise InputError(f"{shown}: not an fwaudit audit report (schema {kind!r}, expected {AUDIT_SCHEMA!r})")
    validator = _audit_validator()
    try:
        valid = validator.is_valid(doc)
    except (RecursionError, ValueError):
        raise InputError(f"{shown}: not a valid fwaudit audit report (too deeply nested or unrepresentable)") from None
    if not valid:
        err = next(iter(validator.iter_errors(doc)))
        path = "/" + "/".join(str(p) for p in err.instance_path)
        raise InputError(f"{shown}: not a valid fwaudit audit report: at {escape(path)}: {excerpt(err.message)}")
    return HostDocument("audit", doc, source)


def report_files(paths: Sequence[str]) -> tuple[list[str], list[InputProblem]]:
    """The files named, with each directory replaced by its ``*.json`` files (sorted, hidden
    ones skipped: atomic writers leave ``.name.tmp`` files behind when killed)."""
    out: list[str] = []
    problems: list[InputProblem] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(e.path for e in os.scandir(p)
                           if e.name.endswith(".json") and not e.name.startswith(".") and not e.is_dir())
            if not found:
                problems.append(InputProblem(p, f"{escape(p)}: no host reports (*.json) in this directory"))
            out += found
        else:
            out.append(p)
    return out, problems


def read_host_document(path: str) -> HostDocument | InputProblem:
    """Read and parse one file; a problem with it is returned, not raised, so that the rest of
    the fleet can still be reported (``--keep-going``)."""
    try:
        return parse_host_document(read_input_file(path, what="host report"), path)
    except InputError as e:
        return InputProblem(path, e.message)
