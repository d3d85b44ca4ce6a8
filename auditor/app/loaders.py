"""The files users name — policies, baselines, snapshots — read within the input limits
(:func:`auditor.inputs.read_input_file`) and parsed by the layer that understands them."""

from __future__ import annotations

import os

from auditor.collect.snapshot_json import read_snapshot
from auditor.engine.baseline import parse_baseline_ids
from auditor.engine.policy import parse_policy
from auditor.errors import InputError
from auditor.inputs import read_input_file
from auditor.model.policy import Policy
from auditor.model.snapshot import HostSnapshot

__all__ = ["load_baseline", "load_policy", "load_snapshot"]


def load_policy(path: str | os.PathLike[str]) -> Policy:
    return parse_policy(read_input_file(path, what="policy file"), os.fspath(path))


def load_baseline(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{finding id: title}`` of an accepted JSON report."""
    try:
        text = read_input_file(path, what="baseline")
    except InputError as e:
        if "not found" in e.message:
            raise InputError(f"{e.message} (record one with 'fwaudit baseline accept')") from None
        raise
    return parse_baseline_ids(text, os.fspath(path))


def load_snapshot(path: str | os.PathLike[str]) -> HostSnapshot:
    return read_snapshot(path)
