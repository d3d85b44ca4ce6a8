"""The audit lock: one per namespace identity, taken after the target resolves, never through a link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.errors import AlreadyRunning
from auditor.runlock import audit_lock, lock_name

ROOT = Path(__file__).resolve().parents[1]
FWAUDIT = [sys.executable, "-m", "auditor"]


@pytest.fixture
def run_dir(private_run_dir):
    return Path(private_run_dir)


def test_second_lock_of_the_same_namespace_is_refused_with_the_holder(run_dir):
    ns = os.stat("/proc/self/ns/net")
    with audit_lock("netns:x", ns):
        code = ("import os\nfrom auditor.runlock import audit_lock\n"
                "with audit_lock('pid:1', os.stat('/proc/self/ns/net')): pass\n")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "FWAUDIT_RUN_DIR": str(run_dir)})
        assert "AlreadyRunning" in res.stderr and f"(pid {os.getpid()})" in res.stderr
    assert (run_dir / lock_name(ns)).read_text() == f"{os.getpid()}\n"


def test_lock_symlink_attack_leaves_the_victim_file_alone(run_dir, tmp_path):
    """Reproduction: mkdir -m777 /tmp/fwaudit-UID; ln -s precious .../audit-host.lock."""
    precious = tmp_path / "precious"
    precious.write_text("precious\n")
    ns = os.stat("/proc/self/ns/net")
    run_dir.mkdir(mode=0o700)
    (run_dir / lock_name(ns)).symlink_to(precious)
    with pytest.raises(Exception, match="symbolic link"):
        with audit_lock("host", ns):
            pass
    assert precious.read_text() == "precious\n"
    os.chmod(run_dir, 0o777)  # the attacker's directory: refused before any file is opened
    with pytest.raises(Exception, match="others may write"):
        with audit_lock("host", ns):
            pass
    assert precious.read_text() == "precious\n"


@pytest.mark.root
def test_lock_is_keyed_on_namespace_identity_not_spelling(netns, run_dir):
    """Reproduction: pid:<pid in ns>, ' netns:x' and netns:x audited the same namespace at once."""
    from auditor.target.targets import parse_target

    proc = netns.spawn(["sleep", "30"])
    spellings = [f"netns:{netns.name}", f" netns:{netns.name}", f"pid:{_pid_in(netns, proc)}"]
    ids = {lock_name(parse_target(s).identity()) for s in spellings}
    assert len(ids) == 1
    with audit_lock(spellings[0], parse_target(spellings[0]).identity()):
        for other in spellings[1:]:
            with pytest.raises(AlreadyRunning):
                with audit_lock(other, parse_target(other).identity()):
                    pass


def _pid_in(netns, proc) -> int:
    """The PID of the process nsenter started in the namespace (the spawned one is nsenter
    until it execs; wait for the namespace to show it)."""
    import time

    deadline = time.monotonic() + 5
    target = os.stat(netns.path)
    while time.monotonic() < deadline:
        try:
            st = os.stat(f"/proc/{proc.pid}/ns/net")
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                return proc.pid
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise AssertionError("the process never entered the namespace")


def test_audit_of_a_missing_target_leaves_no_lock_file(run_dir, tmp_path):
    """Reproduction: the lock was taken before validation (junk lock files; a 300-character
    name gave an ENAMETOOLONG traceback)."""
    policy = ROOT / "policies" / "demo.yaml"
    for target in ("netns:fwa-does-not-exist", "netns:" + "a" * 300, "container:" + "b" * 300):
        res = subprocess.run([*FWAUDIT, "audit", "--policy", str(policy), "--target", target],
                             capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "FWAUDIT_RUN_DIR": str(run_dir), "DOCKER_HOST": "unix:///nonexistent"})
        assert res.returncode in (2, 3) and "Traceback" not in res.stderr, res.stderr
    assert not run_dir.exists() or list(run_dir.iterdir()) == []
