"""Scan journals: private, validated before root acts on them, owners identified beyond the PID."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from auditor.probe.journal import Journal, dead_runs, owner_alive, process_start
from auditor.probe.vantage import cleanup_leftovers


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def write_journal(run_dir, name: str, doc) -> None:
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    path = os.path.join(run_dir, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f)
    os.chmod(path, 0o600)


def journal_doc(pid: int, actions, target="/proc/self/ns/net") -> dict:
    st = os.stat(target)
    return {"pid": pid, "started": None, "target": target, "target_id": [st.st_dev, st.st_ino], "actions": actions}


@pytest.fixture
def namespaces_seen(monkeypatch):
    """Limit the namespaces ``cleanup_leftovers`` sees to the ones a test names (none by default).

    Besides journals it removes every probe namespace on the machine whose owner is dead: run as
    root, a test of journals removed a killed scan's namespace that another suite on the machine
    was about to check its own cleanup against (seen once, in a full run beside a unit run).
    """
    from auditor.probe import vantage

    real = vantage.leftover_namespaces
    names: set[str] = set()
    monkeypatch.setattr(vantage, "leftover_namespaces", lambda prefix: [n for n in real(prefix) if n in names])
    return names


def test_journal_round_trip_and_discard(private_run_dir):
    j = Journal("fwa-probe-1-0", "/proc/self/ns/net")
    j.record({"kind": "netns", "name": "fwa-probe-1-0"})
    doc = json.loads(open(os.path.join(private_run_dir, "fwa-probe-1-0.json")).read())
    assert doc["actions"] == [{"kind": "netns", "name": "fwa-probe-1-0"}] and doc["pid"] == os.getpid()
    assert oct(os.stat(os.path.join(private_run_dir, "fwa-probe-1-0.json")).st_mode & 0o777) == "0o600"
    j.discard()
    assert os.listdir(private_run_dir) == []


def test_owner_identified_by_pid_and_start_time():
    me = os.getpid()
    assert owner_alive(me, process_start(me))
    assert not owner_alive(me, process_start(me) + 1)  # same PID, another process: dead owner
    assert not owner_alive(dead_pid(), None)


@pytest.mark.parametrize("action", [
    {"kind": "netns", "name": "production"},                               # not a probe namespace
    {"kind": "route", "target_route": "0.0.0.0/0", "dev": "eth0"},       # the default route
    {"kind": "link", "target_ifname": "eth0"},                             # the host's interface
    {"kind": "route", "target_route": "198.18.0.1/32", "dev": "eth0; reboot"},
    {"kind": "exec", "cmd": "rm -rf /"},
])
def test_journal_not_shaped_as_fwaudit_writes_it_is_left_alone(private_run_dir, namespaces_seen, action):
    pid = dead_pid()
    name = f"fwa-probe-{pid}-0"
    write_journal(private_run_dir, name, journal_doc(pid, [action]))
    (run,) = [r for r in dead_runs() if r.name == name]
    assert run.problem == "the journal does not have the shape fwaudit writes"
    removed, refused = cleanup_leftovers()
    assert any(r.startswith(name) for r in refused) and not [r for r in removed if name in r]
    assert os.path.exists(os.path.join(private_run_dir, name + ".json"))


def test_journal_of_a_live_run_is_not_touched(private_run_dir):
    name = f"fwa-probe-{os.getpid()}-7"
    doc = journal_doc(os.getpid(), [{"kind": "netns", "name": name}])
    doc["started"] = process_start(os.getpid())
    write_journal(private_run_dir, name, doc)
    assert [r for r in dead_runs() if r.name == name] == []


def test_cleanup_reports_only_what_it_really_removed(private_run_dir, namespaces_seen):
    """Reproduction: cleanup reported as removed things that were already gone."""
    pid = dead_pid()
    name = f"fwa-probe-{pid}-0"
    write_journal(private_run_dir, name, journal_doc(pid, [
        {"kind": "netns", "name": name}, {"kind": "link", "target_ifname": "fwp999991"},
        {"kind": "route", "target_route": "198.18.99.99/32", "dev": "fwp999991"}]))
    removed, refused = cleanup_leftovers()
    assert not [r for r in removed if name in r or "fwp999991" in r or "198.18.99.99" in r]
    assert refused == [] and not os.path.exists(os.path.join(private_run_dir, name + ".json"))


def test_journal_symlink_is_not_followed(private_run_dir, tmp_path):
    pid = dead_pid()
    os.makedirs(private_run_dir, mode=0o700, exist_ok=True)
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps(journal_doc(pid, [])))
    os.symlink(other, os.path.join(private_run_dir, f"fwa-probe-{pid}-0.json"))
    (run,) = [r for r in dead_runs() if r.name == f"fwa-probe-{pid}-0"]
    assert run.problem is not None and "cannot open" in run.problem


@pytest.mark.root
def test_cleanup_removes_a_dead_runs_prove_namespace_and_nothing_alive(private_run_dir, namespaces_seen):
    from auditor.probe.journal import PROVE_PREFIX
    from auditor.probe.namespaces import Namespace, leftover_namespaces

    dead, alive = Namespace(f"{PROVE_PREFIX}{dead_pid()}"), Namespace(f"{PROVE_PREFIX}{os.getpid()}")
    namespaces_seen.update((dead.name, alive.name))
    try:
        removed, _ = cleanup_leftovers()
        assert f"netns {dead.name}" in removed and f"netns {alive.name}" not in removed
        assert alive.name in leftover_namespaces(PROVE_PREFIX) and dead.name not in leftover_namespaces(PROVE_PREFIX)
    finally:
        dead.close()
        alive.close()
