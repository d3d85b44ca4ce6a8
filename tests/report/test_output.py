"""--output: atomic, keeps mode and owner, refuses what is not a regular file, clear errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.errors import EnvironmentProblem, InputError
from auditor.report.output import write_output

ROOT = Path(__file__).resolve().parents[2]


def test_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_output(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").read_text() == "{}"
    assert stat.S_IMODE(os.stat(tmp_path / "r.json").st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_existing_0600_report_stays_0600(tmp_path):
    """Reproduction: an existing 0600 report became 0644."""
    out = tmp_path / "r.json"
    out.write_text("old")
    os.chmod(out, 0o600)
    write_output(out, "new")
    assert out.read_text() == "new" and stat.S_IMODE(os.stat(out).st_mode) == 0o600


@pytest.mark.root
def test_root_keeps_the_owner_of_an_existing_report(tmp_path):
    out = tmp_path / "r.prom"
    out.write_text("old")
    os.chown(out, 40002, 40003)
    write_output(out, "new")
    st = os.stat(out)
    assert (st.st_uid, st.st_gid) == (40002, 40003) and out.read_text() == "new"


def in_private_dev(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a mount namespace whose /dev is a fresh tmpfs holding only ``null`` and
    ``stdout``: a regression can then only damage that copy, never the machine's /dev."""
    setup = ("import os, subprocess\n"
             "subprocess.run(['mount', '-t', 'tmpfs', 'none', '/dev'], check=True)\n"
             "os.mknod('/dev/null', 0o666 | 0o020000, os.makedev(1, 3))\n"
             "os.symlink('/proc/self/fd/1', '/dev/stdout')\n")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", setup + code],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.mark.root
def test_dev_null_is_refused_not_replaced():
    """Reproduction: --output /dev/null replaced the device node with a regular file."""
    res = in_private_dev(
        "import stat\nfrom auditor.report.output import write_output\n"
        "try:\n    write_output('/dev/null', 'x')\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
        "print('char device' if stat.S_ISCHR(os.lstat('/dev/null').st_mode) else 'REPLACED')\n")
    assert res.stdout.splitlines() == [
        "InputError --output /dev/null is a character device, not a regular file (use - for standard output)",
        "char device"], res.stderr


@pytest.mark.root
def test_dev_stdout_and_dash_write_to_standard_output():
    """Reproduction: --output /dev/stdout replaced /dev/stdout (a symlink) with a file."""
    res = in_private_dev(
        "from auditor.report.output import write_output\n"
        "write_output('/dev/stdout', 'one')\nwrite_output('-', 'two\\n')\n"
        "print('link' if os.path.islink('/dev/stdout') else 'REPLACED')\n")
    assert res.stdout == "one\ntwo\nlink\n", res.stderr


def test_directory_fifo_and_symlink_are_refused(tmp_path):
    """Reproduction: --output DIR gave a traceback."""
    with pytest.raises(InputError, match="is a directory, not a regular file"):
        write_output(tmp_path, "x")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="is a FIFO"):
        write_output(tmp_path / "fifo", "x")
    (tmp_path / "victim").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "victim")
    with pytest.raises(InputError, match="symbolic link"):
        write_output(tmp_path / "link", "x")
    assert (tmp_path / "victim").read_text() == "keep"


def test_missing_directory_and_proc_file_are_clear_errors(tmp_path):
    """Reproduction: /proc/version gave a traceback."""
    with pytest.raises(InputError, match="directory .*nope does not exist"):
        write_output(tmp_path / "nope" / "r.json", "x")
    with pytest.raises((InputError, EnvironmentProblem), match="cannot write /proc/version"):
        write_output("/proc/version", "x")


@pytest.mark.root
def test_read_only_mount_is_an_environment_problem(tmp_path):
    """Reproduction: a read-only mount gave a traceback."""
    ro = tmp_path / "ro"
    ro.mkdir()
    code = (f"import subprocess, sys\n"
            f"subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro', 'none', {str(ro)!r}], check=True)\n"
            "from auditor.report.output import write_output\n"
            f"write_output({str(ro / 'r.json')!r}, 'x')\n")
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", code],
                         capture_output=True, text=True, cwd=ROOT)
    assert "EnvironmentProblem: cannot write" in res.stderr and "Read-only file system" in res.stderr


def test_someone_elses_file_in_a_sticky_shared_directory_is_not_taken_over(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    planted = shared / "r.json"
    planted.write_text("planted")
    if os.geteuid() != 0:
        pytest.skip("needs root to plant a file owned by another user")
    os.chown(planted, 40002, 40002)
    with pytest.raises(EnvironmentProblem, match="belongs to uid 40002 in a shared directory"):
        write_output(planted, "x")
    assert planted.read_text() == "planted"


def test_cli_output_to_a_directory_device_or_proc_file_exits_with_a_message(tmp_path):
    """Reproduction: --output DIR, /proc/version gave tracebacks."""
    (tmp_path / "p.yaml").write_text("version: 1\nname: t\nzones: {lan: [198.18.0.0/24]}\n")
    (tmp_path / "r.nft").write_text("table inet f {\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n")
    base = [sys.executable, "-m", "auditor", "verify", "--policy", str(tmp_path / "p.yaml"), "--ruleset",
            str(tmp_path / "r.nft"), "--interface", "eth0=198.18.0.2/24", "--output"]
    for out, code in ((str(tmp_path), 2), ("/proc/version", None)):
        res = subprocess.run([*base, out], capture_output=True, text=True, cwd=ROOT)
        assert res.returncode == code or (code is None and res.returncode in (2, 3)), res.stderr
        assert res.stderr.startswith("fwaudit: error: ") and "Traceback" not in res.stderr
    res = subprocess.run([*base, "-", "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and res.stdout.lstrip().startswith("{")
