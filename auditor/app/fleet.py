"""``fwaudit fleet report``: many hosts' audit documents (or the records of hosts that could not
be audited) merged into one fleet.

A fleet's documents add up (5,000 hosts × 200 KB is a gigabyte of JSON), so large runs are
read in worker processes, one per CPU, each returning only the compact per-host view.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from auditor.collect.host_reports import HostDocument, read_host_document, report_files, warm_validator
from auditor.engine.fleet import merge_fleet
from auditor.errors import InputError
from auditor.model.fleet import Fleet, HostReport, InputProblem
from auditor.report.host_view import host_from_document, host_from_record, host_name
from auditor.untrusted import escape

#: Below this many files a worker pool costs more than it saves.
PARALLEL_FROM = 64
_CHUNK = 32


def fleet(paths: Sequence[str], *, details: bool = True, workers: int | None = None) -> Fleet:
    """Every host report under ``paths`` (files, or directories of ``*.json``), merged.
    ``details=False`` leaves out evidence and deciding rules (only the HTML report shows them)."""
    reports, problems = read_host_reports(paths, workers=workers, details=details)
    return merge_fleet(reports, problems, generated_at=time.time())


def host_report(d: HostDocument, *, details: bool = True) -> HostReport:
    """One host of the fleet from its validated document."""
    shown = escape(d.source)
    if d.kind == "record":
        return host_from_record(d.doc, shown)
    name = host_name(d.doc["host"], shown) if "host" in d.doc else Path(d.source).stem
    return host_from_document(d.doc, shown, name, details=details)


def load_host_report(path: str, details: bool = True) -> HostReport | InputProblem:
    """Read one file; a problem with it is returned, not raised, so that the rest of the fleet
    can still be reported (``--keep-going``)."""
    d = read_host_document(path)
    if isinstance(d, InputProblem):
        return d
    try:
        return host_report(d, details=details)
    except InputError as e:
        return InputProblem(path, e.message)


def _load_chunk(paths: Sequence[str], details: bool = True) -> list[HostReport | InputProblem]:
    return [load_host_report(p, details) for p in paths]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def read_host_reports(paths: Sequence[str], *, workers: int | None = None, details: bool = True
                      ) -> tuple[list[HostReport], list[InputProblem]]:
    """Every host report under ``paths``, in file order, and the files that were not host
    reports (``details`` as for :func:`fleet`)."""
    names, problems = report_files(paths)
    if workers is None:
        workers = len(os.sched_getaffinity(0))
    if workers <= 1 or len(names) < PARALLEL_FROM:
        loaded = _load_chunk(names, details)
    else:
        # fork: the workers inherit the imported modules and the compiled schema
        warm_validator()
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            chunks = list(_chunks(names, _CHUNK))
            loaded = [r for chunk in pool.map(_load_chunk, chunks, [details] * len(chunks)) for r in chunk]
    reports = [r for r in loaded if isinstance(r, HostReport)]
    problems += [r for r in loaded if isinstance(r, InputProblem)]
    return reports, problems
