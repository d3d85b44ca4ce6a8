"""Shared fixtures. Root tests get their own namespaces (unique per test run), always removed."""

from __future__ import annotations

import itertools
import os
from typing import Callable, Iterator

import pytest

from auditor.probe.namespaces import Namespace

RUN_ID = f"{os.getpid() % 100000:05d}"
_counter = itertools.count()


def pytest_ignore_collect(collection_path, config):
    """``FWAUDIT_MUTATION_TESTS="tests/a.py tests/b"`` (set by ``scripts/mutation --tests``):
    collect only those test files and directories. mutmut has one test selection for every
    module; this narrows it for one run without touching its configuration (a changed
    configuration makes mutmut drop every cached result)."""
    only = os.environ.get("FWAUDIT_MUTATION_TESTS")
    if not only or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    rel = collection_path.relative_to(config.rootpath).as_posix()
    return not any(rel == w or rel.startswith(w.rstrip("/") + "/") for w in only.split())


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces)")
    for item in items:
        if "root" in item.keywords or "docker" in item.keywords:
            item.add_marker(skip)


def unique_name(tag: str) -> str:
    """``fwa-t<run>-<n><tag>``: unique per run, short enough for interface names derived from it."""
    return f"fwa-t{RUN_ID}-{next(_counter)}{tag}"[:40]


@pytest.fixture(autouse=True)
def private_run_dir(tmp_path_factory, monkeypatch) -> str:
    """Every test (and every fwaudit it starts) keeps locks and scan journals in its own run
    directory, not in the machine's /run/fwaudit that other runs share."""
    path = str(tmp_path_factory.mktemp("run") / "fwaudit")
    monkeypatch.setenv("FWAUDIT_RUN_DIR", path)
    return path


@pytest.fixture
def make_netns() -> Iterator[Callable[[str], Namespace]]:
    """Factory for throwaway namespaces; every one is removed at teardown, pass or fail."""
    made: list[Namespace] = []

    def make(tag: str = "") -> Namespace:
        ns = Namespace(unique_name(tag))
        made.append(ns)
        return ns

    yield make
    for ns in reversed(made):
        ns.close()


@pytest.fixture
def netns(make_netns) -> Namespace:
    return make_netns()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``fwaudit ARGV`` in this process, as the console script runs it: (exit code, stdout, stderr)."""
    import contextlib
    import io
    import sys

    from auditor.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["fwaudit", *argv]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0) if not isinstance(e.code, str) else 1
    finally:
        sys.argv = old
    return code, out.getvalue(), err.getvalue()


def lab_host(ns: Namespace, cidr: str, *, nft: str | None = None, tcp: str = "", udp: str = "",
             name: str | None = None) -> Namespace:
    """Give ``ns`` an ``eth0`` with ``cidr``, an optional nft ruleset and real listeners."""
    import subprocess
    import sys

    ns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
    ns.exec(["ip", "addr", "add", cidr, "dev", "eth0"])
    ns.exec(["ip", "link", "set", "eth0", "up"])
    if nft:
        ns.exec(["nft", "-f", "-"], input=nft)
    if tcp or udp:
        cmd = [sys.executable, "-m", "auditor.probe.servers", "--tcp", tcp, "--udp", udp]
        p = ns.spawn(cmd + (["--name", name] if name else []), stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
    return ns
