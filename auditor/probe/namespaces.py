"""Network namespaces and veth links that fwaudit creates itself, and takes down again.

Used by the demo lab, the scanner's vantage points, and the tests. A :class:`Namespace` owns
what it created (the namespace, the processes it started there); ``close()`` removes all of it
and is safe to call twice. Every name starts with :data:`PREFIX` so leftovers of a killed run
can be found (``fwaudit cleanup``) without touching anything else.

pyroute2 is only called inside :func:`auditor.interrupts.deferred`: it forks (creating a
namespace, opening a socket in one) and runs an asyncio loop, and SIGTERM/SIGINT handled in
its at-fork or loop callbacks would raise an exception that is swallowed there (see
:mod:`auditor.interrupts`). The calls take milliseconds; the signal goes up when they end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute, netns

from auditor.errors import EnvironmentProblem
from auditor.interrupts import deferred
from auditor.target.runner import CommandResult, in_namespace, run_command, start_command, stop_process
from auditor.target.targets import NETNS_DIR

PREFIX = "fwa-"
#: Seconds an ``ip``/``nft``/``sysctl`` command in a namespace may take (they take milliseconds).
EXEC_TIMEOUT = 60.0


class Namespace:
    """A network namespace created (or adopted) by this process, with loopback up."""

    def __init__(self, name: str, *, create: bool = True) -> None:
        if not name.startswith(PREFIX):
            raise ValueError(f"namespace names must start with {PREFIX!r}: {name!r}")
        self.name = name
        self.path = os.path.join(NETNS_DIR, name)
        self._procs: list[subprocess.Popen[Any]] = []
        self._closed = False
        if create:
            if os.geteuid() != 0:
                raise EnvironmentProblem("creating network namespaces needs root (CAP_SYS_ADMIN)")
            if os.path.exists(self.path):
                remove_namespace(name)
            with deferred():
                netns.create(name)
                self.link_up("lo")

    # -- configuration (pyroute2, never creating a namespace by accident: flags=0) -----------
    @contextmanager
    def iproute(self) -> Iterator[IPRoute]:
        """An ``IPRoute`` in this namespace for the block, which holds stop signals back."""
        with deferred(), IPRoute(netns=self.name, flags=0) as ipr:
            yield ipr

    def link_up(self, ifname: str) -> None:
        with self.iproute() as ipr:
            ipr.link("set", index=self._index(ipr, ifname), state="up")

    def add_address(self, ifname: str, cidr: str) -> None:
        addr, _, plen = cidr.partition("/")
        if not plen:
            plen = "128" if ":" in addr else "32"
        with self.iproute() as ipr:
            ipr.addr("add", index=self._index(ipr, ifname), address=addr, prefixlen=int(plen))

    def add_route(self, destination: str, *, gateway: str | None = None, dev: str | None = None) -> None:
        with self.iproute() as ipr:
            kw: dict[str, Any] = {"dst": destination}
            if gateway:
                kw["gateway"] = gateway
            if dev:
                kw["oif"] = self._index(ipr, dev)
            ipr.route("add", **kw)

    def sysctl(self, key: str, value: str) -> None:
        self.exec(["sysctl", "-qw", f"{key}={value}"])

    @staticmethod
    def _index(ipr: IPRoute, ifname: str) -> int:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            raise LookupError(f"no interface {ifname!r}")
        index: int = found[0]
        return index

    # -- processes ------------------------------------------------------------------------
    def command(self, cmd: Sequence[str]) -> list[str]:
        """``cmd`` prefixed to run inside this namespace (nsenter keeps the host's /sys)."""
        return in_namespace(cmd, self.path)

    def exec(self, cmd: Sequence[str], *, check: bool = True, input: str | None = None,
             timeout: float = EXEC_TIMEOUT) -> CommandResult:
        """Run ``cmd`` here; ``check``: a failure is an :class:`EnvironmentProblem`."""
        return run_command(cmd, netns=self.path, stdin=input, timeout=timeout, check=check)

    def spawn(self, cmd: Sequence[str], *, stdout: int | None = None, text: bool = False) -> subprocess.Popen[Any]:
        """Start a long-running process in the namespace; ``close()`` stops it."""
        proc = start_command(cmd, netns=self.path, stdout=stdout, text=text)
        self._procs.append(proc)
        return proc

    # -- teardown --------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for proc in self._procs:
            stop_process(proc)
        remove_namespace(self.name)

    def __enter__(self) -> Namespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def namespace_pids(name: str) -> list[int]:
    try:
        res = run_command(["ip", "netns", "pids", name], timeout=10)
    except EnvironmentProblem:
        return []
    return [int(p) for p in res.stdout.split() if p.isdigit()]


def remove_namespace(name: str) -> bool:
    """Kill whatever still runs in the namespace, then delete it (its veths go with it).

    True when there was a namespace to remove (for reports that say only what was removed)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace_pids(name)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 2
        while namespace_pids(name) and time.monotonic() < deadline:
            time.sleep(0.05)
    if not os.path.lexists(os.path.join(NETNS_DIR, name)):
        return False
    with deferred():
        netns.remove(name)
    return True


def connect(a: Namespace, a_if: str, b: Namespace, b_if: str) -> None:
    """Create a veth pair with one end in each namespace, both ends up.

    The pair is created inside ``a`` (never in the root namespace), so names such as ``eth0``
    cannot collide with the host's interfaces.
    """
    with a.iproute() as ipr:
        ipr.link("add", ifname=a_if, kind="veth", peer={"ifname": b_if, "net_ns_fd": b.name})
    a.link_up(a_if)
    b.link_up(b_if)


def add_bridge(ns: Namespace, name: str, ports: Sequence[str] = ()) -> None:
    """Create a bridge in ``ns`` and enslave ``ports`` (interfaces already in ``ns``)."""
    with ns.iproute() as ipr:
        ipr.link("add", ifname=name, kind="bridge")
        br = ipr.link_lookup(ifname=name)[0]
        for port in ports:
            ipr.link("set", index=ipr.link_lookup(ifname=port)[0], master=br)
        ipr.link("set", index=br, state="up")


def leftover_namespaces(prefix: str = PREFIX) -> list[str]:
    if not os.path.isdir(NETNS_DIR):
        return []
    return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
