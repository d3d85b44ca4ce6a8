"""Reading what a fleet run brought back: one audit document (or host record) per host.

The files come from other machines and are hostile input: each is read through
:func:`auditor.inputs.read_input_file` (regular file, size cap, UTF-8), parsed strictly (orjson:
no NaN or Infinity, nesting bounded), and validated against the audit schema
(``auditor/report/schemas/audit-1.schema.json``) before anything else looks at it. Messages name
the file and the place in it, never more than a short excerpt of the content.

A fleet's documents add up (5,000 hosts × 200 KB is a gigabyte of JSON), so large runs are
parsed in worker processes, one per CPU, each returning only the compact per-host report.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson  # strict JSON: no NaN or Infinity, at most 1024 levels deep

from auditor.engine.fleet import host_from_document, host_from_record, host_name
from auditor.errors import InputError
from auditor.inputs import read_input_file
from auditor.model.fleet import HostReport, InputProblem
from auditor.untrusted import escape, excerpt

AUDIT_SCHEMA = "fwaudit.audit/1"
#: Below this many files a worker pool costs more than it saves.
PARALLEL_FROM = 64
_CHUNK = 32


@functools.cache
def _audit_validator() -> Any:
    import jsonschema_rs

    schema = json.loads(files("auditor.report").joinpath("schemas/audit-1.schema.json").read_text())
    return jsonschema_rs.validator_for(schema)


def parse_host_report(text: str, source: str, *, details: bool = True) -> HostReport:
    """One host's report from the text of its file (pure; ``source`` names it in messages;
    ``details`` as for :func:`auditor.engine.fleet.host_from_document`)."""
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
            return host_from_record(doc, shown)
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
    name = host_name(doc["host"], shown) if "host" in doc else Path(source).stem
    return host_from_document(doc, shown, name, details=details)


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


def load_host_report(path: str, details: bool = True) -> HostReport | InputProblem:
    """Read and parse one file; a problem with it is returned, not raised, so that the rest of
    the fleet can still be reported (``--keep-going``)."""
    try:
        return parse_host_report(read_input_file(path, what="host report"), path, details=details)
    except InputError as e:
        return InputProblem(path, e.message)


def _load_chunk(paths: Sequence[str], details: bool = True) -> list[HostReport | InputProblem]:
    return [load_host_report(p, details) for p in paths]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def read_host_reports(paths: Sequence[str], *, workers: int | None = None, details: bool = True
                      ) -> tuple[list[HostReport], list[InputProblem]]:
    """Every host report under ``paths`` (files or directories), in file order, and the files
    that were not host reports (``details`` as for :func:`parse_host_report`)."""
    names, problems = report_files(paths)
    if workers is None:
        workers = len(os.sched_getaffinity(0))
    if workers <= 1 or len(names) < PARALLEL_FROM:
        loaded = _load_chunk(names, details)
    else:
        # fork: the workers inherit the imported modules and the compiled schema
        _audit_validator()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            chunks = list(_chunks(names, _CHUNK))
            loaded = [r for chunk in pool.map(_load_chunk, chunks, [details] * len(chunks)) for r in chunk]
    reports = [r for r in loaded if isinstance(r, HostReport)]
    problems += [r for r in loaded if isinstance(r, InputProblem)]
    return reports, problems
