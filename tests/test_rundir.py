"""The private run directory: created 0700, never adopted from someone else, never followed."""

from __future__ import annotations

import os
from pathlib import Path
import stat

import pytest

from auditor.errors import EnvironmentProblem
from auditor.rundir import open_private_file, open_run_dir, run_dir_path


@pytest.fixture
def run_dir(private_run_dir):
    return Path(private_run_dir)


def test_created_with_mode_0700(run_dir):
    fd = open_run_dir()
    os.close(fd)
    st = os.lstat(run_dir)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()


def test_merely_readable_directory_of_ours_is_tightened(run_dir):
    run_dir.mkdir(mode=0o755)
    os.chmod(run_dir, 0o755)
    os.close(open_run_dir())
    assert stat.S_IMODE(os.lstat(run_dir).st_mode) == 0o700


def test_world_writable_directory_is_refused(run_dir):
    run_dir.mkdir()
    os.chmod(run_dir, 0o777)
    with pytest.raises(EnvironmentProblem, match="others may write to it"):
        open_run_dir()


def test_symlinked_directory_is_refused(run_dir, tmp_path):
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    run_dir.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(EnvironmentProblem, match="symbolic link"):
        open_run_dir()


@pytest.mark.root
def test_directory_made_by_another_user_is_refused(run_dir):
    run_dir.mkdir(mode=0o700)
    os.chown(run_dir, 40002, 40002)
    with pytest.raises(EnvironmentProblem, match="belongs to uid 40002"):
        open_run_dir()


def test_symlinked_file_is_never_written_through(run_dir, tmp_path):
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    fd = open_run_dir()
    try:
        os.symlink(precious, "audit-x.lock", dir_fd=fd)
        with pytest.raises(EnvironmentProblem, match="symbolic link"):
            open_private_file(fd, "audit-x.lock", os.O_RDWR)
        os.link(precious, run_dir / "hard.lock")
        with pytest.raises(EnvironmentProblem, match="not a private regular file"):
            open_private_file(fd, "hard.lock", os.O_RDWR)
    finally:
        os.close(fd)
    assert precious.read_text() == "keep me\n"


def test_default_locations(monkeypatch):
    monkeypatch.delenv("FWAUDIT_RUN_DIR", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 40002)
    assert run_dir_path() == "/tmp/fwaudit-40002"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/40002")
    assert run_dir_path() == "/run/user/40002/fwaudit"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert run_dir_path() == "/run/fwaudit"
