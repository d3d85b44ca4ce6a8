"""Targets: parsing, resolution without side effects, and finding the root namespace."""

from __future__ import annotations

import os

import pytest

from auditor.target import targets as tg
from auditor.errors import InputError


@pytest.mark.parametrize("spec,expected", [
    (None, tg.HostTarget()),
    ("host", tg.HostTarget()),
    ("netns:lab-1", tg.NetnsTarget("lab-1")),
    ("pid:42", tg.PidTarget("42")),
    ("container:web", tg.ContainerTarget("web")),
])
def test_parse(spec, expected):
    assert tg.parse_target(spec) == expected
    assert str(expected) == (spec or "host")


@pytest.mark.parametrize("spec,fragment", [
    ("bogus", "expected host, netns:NAME"),
    ("netns:", "expected host, netns:NAME"),
    ("netns:../etc", "invalid network namespace name"),
    ("pid:0", "PID must be a positive number"),
    ("vm:x", "unknown target kind 'vm'"),
])
def test_parse_rejects(spec, fragment):
    with pytest.raises(InputError, match=fragment):
        tg.parse_target(spec)


def test_missing_netns_is_an_input_error_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tg, "NETNS_DIR", str(tmp_path))
    (tmp_path / "other").touch()
    with pytest.raises(InputError, match=r"no network namespace named 'nope' \(known: other\)"):
        tg.NetnsTarget("nope").namespace_path()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_kernel_thread_flag():
    assert tg._is_kernel_thread("2")  # kthreadd
    assert not tg._is_kernel_thread(str(os.getpid()))
    assert not tg._is_kernel_thread("999999999")


REAL_STAT = os.stat


@pytest.fixture
def pid1_hidden(monkeypatch):
    """PID 1's namespace files refuse even root, as some sandboxes and security modules do."""

    def stat(path, *a, **kw):
        if str(path) == "/proc/1/ns/net":
            raise PermissionError(13, "Permission denied", path)
        return REAL_STAT(path, *a, **kw)

    monkeypatch.setattr(tg.os, "stat", stat)


@pytest.mark.root
def test_root_namespace_falls_back_to_kthreadd_when_pid1_is_protected(pid1_hidden):
    assert tg.root_namespace_path() == "/proc/2/ns/net"
    # the tests run in the root namespace: the stand-in is the very same namespace
    a, b = REAL_STAT("/proc/2/ns/net"), REAL_STAT("/proc/self/ns/net")
    assert (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    assert tg.HostTarget().call(os.getpid) == os.getpid()  # in-process, no setns


@pytest.mark.root
def test_host_target_is_not_a_pid1_impostor(pid1_hidden, monkeypatch):
    """Without a readable PID 1 and without a kernel thread at PID 2, nothing stands in."""
    monkeypatch.setattr(tg, "_is_kernel_thread", lambda pid: False)
    with pytest.raises(tg.EnvironmentProblem, match="cannot open the network namespace of host"):
        tg.HostTarget().namespace_path()


@pytest.mark.root
def test_pid_target_is_the_namespace_of_that_process(netns):
    """``--target pid:PID`` sees what ``netns:NAME`` sees when the process lives there, and
    nothing of the caller's namespace; a PID that does not exist is an input error."""
    import json
    import subprocess
    import sys

    server = netns.spawn([sys.executable, "-m", "auditor.probe.servers", "--name", "sshd", "--tcp", "2222",
                          "--udp", "5353"], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    pid = server.pid  # nsenter execs the server: the same process
    a, b = REAL_STAT(f"/proc/{pid}/ns/net"), REAL_STAT(netns.path)
    assert (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    assert tg.PidTarget(str(pid)).namespace_path() == f"/proc/{pid}/ns/net"

    def listeners(target: str) -> tuple[dict, subprocess.CompletedProcess]:
        res = subprocess.run([sys.executable, "-m", "auditor", "listeners", "--target", target, "--format", "json"],
                             capture_output=True, text=True)
        return (json.loads(res.stdout) if res.returncode == 0 else {}), res

    by_pid, _ = listeners(f"pid:{pid}")
    by_name, _ = listeners(f"netns:{netns.name}")
    assert by_pid["target"] == f"pid:{pid}"
    assert by_pid["listeners"] == by_name["listeners"]
    assert {(l["protocol"], l["port"], p["name"]) for l in by_pid["listeners"] for p in l["processes"]} == {
        ("tcp", 2222, "sshd"), ("udp", 5353, "sshd")}
    _, gone = listeners("pid:999999999")
    assert gone.returncode == 2 and "no process with PID 999999999" in gone.stderr
