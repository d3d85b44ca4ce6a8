"""Reading user-named files: regular files only, bounded, UTF-8, no content in messages."""

from __future__ import annotations

import os
import threading

import pytest

from auditor.errors import InputError
from auditor.inputs import read_input_file


def test_reads_a_regular_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("version: 1\n")
    assert read_input_file(f, what="policy file") == "version: 1\n"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="policy file not found: .*nope"):
        read_input_file(tmp_path / "nope", what="policy file")


def test_directory_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        read_input_file(tmp_path, what="ruleset file")


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result: list[BaseException] = []
    t = threading.Thread(target=lambda: _capture(result, fifo), daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive(), "reading a FIFO blocked"
    assert isinstance(result[0], InputError) and "FIFO" in result[0].message


def _capture(out: list[BaseException], path) -> None:
    try:
        read_input_file(path, what="ruleset file")
    except BaseException as e:  # noqa: BLE001 - the test inspects it
        out.append(e)


def test_character_device_is_refused():
    with pytest.raises(InputError, match="character device"):
        read_input_file("/dev/zero", what="policy file")


def test_size_limit_and_override(tmp_path, monkeypatch):
    f = tmp_path / "big"
    f.write_bytes(b"x" * 2000)
    monkeypatch.setenv("FWAUDIT_MAX_INPUT_BYTES", "1000")
    with pytest.raises(InputError, match="larger than 1000 bytes.*FWAUDIT_MAX_INPUT_BYTES"):
        read_input_file(f, what="ruleset file")
    monkeypatch.setenv("FWAUDIT_MAX_INPUT_BYTES", "5000")
    assert len(read_input_file(f, what="ruleset file")) == 2000


def test_binary_content_is_an_input_error_without_echo(tmp_path):
    f = tmp_path / "bin"
    f.write_bytes(b"secret-line\n\xff\xfe")
    with pytest.raises(InputError) as e:
        read_input_file(f, what="ruleset file")
    assert "offset 12" in e.value.message and "secret" not in e.value.message


def test_control_characters_in_the_path_are_escaped(tmp_path):
    with pytest.raises(InputError) as e:
        read_input_file(tmp_path / "a\x1b]2;x\x07", what="policy file")
    assert "\x1b" not in e.value.message and "\\x1b" in e.value.message
