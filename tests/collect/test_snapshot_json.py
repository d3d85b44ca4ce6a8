"""Snapshot files read back: what ``fwaudit snapshot`` writes reads as the same snapshot, and a
file that is not one is a clear input error naming the file and the place, never its content."""

from __future__ import annotations

import json
import os

import pytest

from auditor.collect.snapshot_json import parse_snapshot, read_snapshot
from auditor.errors import InputError
from auditor.report.snapshot_json import render_snapshot
from tests.model.test_codec import SNAP


def test_what_is_written_reads_back_as_the_same_snapshot(tmp_path):
    text = render_snapshot(SNAP)
    assert text.isascii() and text.startswith('{"format":"fwaudit.snapshot/1",')
    (tmp_path / "s.json").write_text(text)
    assert read_snapshot(tmp_path / "s.json") == SNAP


def _doc(**change):
    return json.dumps({**json.loads(render_snapshot(SNAP)), **change})


SECRET = "s3cr3t-" * 200


@pytest.mark.parametrize("text,fragment", [
    ("{", "not valid JSON (line 1, column 2)"),
    ('{"format": NaN}', "a number that is not a JSON number"),
    ('{"x": ' + "1" * 5000 + "}", "a number that is not a JSON number"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[1]", "not a JSON object"),
    (json.dumps({"hello": "world"}), 'expected "format": "fwaudit.snapshot/1"'),
    (_doc(format="fwaudit.snapshot/7"), "unsupported snapshot version 'fwaudit.snapshot/7'"),
    (_doc(format="fwaudit.audit/1"), "not an fwaudit snapshot"),
    (_doc(target=7), "at /target: expected text"),
    (_doc(listeners=[{"protocol": "tcp", SECRET: 1}]), "at /listeners/0: unknown field 's3cr3t-"),
    (_doc(notes=[SECRET, 3]), "at /notes/1: expected text"),
])
def test_a_file_that_is_not_a_snapshot_is_named_and_not_quoted(text, fragment):
    with pytest.raises(InputError) as e:
        parse_snapshot(text, "hosts/\x1b[31mweb1.json")
    msg = e.value.message
    assert msg.startswith("hosts/\\x1b[31mweb1.json: ") and fragment in msg
    assert SECRET not in msg and len(msg) < 300


def test_only_regular_files_within_the_size_limit(tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a FIFO"):
        read_snapshot(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a character device"):
        read_snapshot("/dev/zero")
    with pytest.raises(InputError, match="snapshot not found"):
        read_snapshot(tmp_path / "nope.json")
    (tmp_path / "s.json").write_text(render_snapshot(SNAP))
    monkeypatch.setenv("FWAUDIT_MAX_INPUT_BYTES", "100")
    with pytest.raises(InputError, match="larger than 100 bytes"):
        read_snapshot(tmp_path / "s.json")
