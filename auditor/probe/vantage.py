"""Vantage points: a probe namespace attached to the target, owned and cleaned up by us.

The probe arrives by the least intrusive path:

* the target has a bridge whose subnet holds the sources (a container network, a lab LAN):
  a veth port is added to that bridge — the probe arrives like any host on that segment;
* otherwise a dedicated veth pair into the target; the target side gets no address, the target
  routes the probe's source addresses back through it (recorded), and the probe reaches the
  destination on-link (the target answers ARP for its own addresses).

Every change is written to a journal (:mod:`auditor.probe.journal`) before it is made, undone
on close, on exceptions and on SIGINT/SIGTERM; ``cleanup_leftovers`` undoes journals of dead
runs and removes ``fwa-probe-*`` (and ``verify --prove``'s ``fwa-prove-*``) namespaces of dead
runs — nothing else — and reports only what it really removed.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
from contextlib import ExitStack

from auditor.errors import EnvironmentProblem, InputError
from auditor.interrupts import deferred, stop_signals_raise
from auditor.model.scan import LAB_NETWORKS
from auditor.probe.journal import PROBE_PREFIX, PROVE_PREFIX, DeadRun, Journal, dead_runs, forget, owner_alive
from auditor.probe.namespaces import Namespace, leftover_namespaces, remove_namespace
from auditor.target.runner import run_command
from auditor.untrusted import excerpt

TOOL_TIMEOUT = 30  # seconds for one ``ip`` command; they take milliseconds
_counter = itertools.count()


def _nsexec(path: str, cmd: list[str], *, check: bool = True) -> bool:
    """Run ``cmd`` in the namespace at ``path``; True when it succeeded."""
    try:
        res = run_command(cmd, netns=path, timeout=TOOL_TIMEOUT)
    except EnvironmentProblem:
        if check:
            raise
        return False
    if check and res.returncode != 0:
        raise EnvironmentProblem(f"cannot attach the probe: {' '.join(cmd)}: {excerpt(res.stderr.strip(), 160)}")
    return res.returncode == 0


class VantagePoint:
    """A probe namespace holding one address per source, attached to ``target_path``."""

    def __init__(self, target_path: str, sources: list[str], *, destination: str,
                 bridge: str | None = None, allow_any_source: bool = False) -> None:
        for s in sources:
            a = ipaddress.ip_address(s)
            if not allow_any_source and not any(a in n for n in LAB_NETWORKS):
                raise InputError(f"source {s} is outside the lab ranges 198.18.0.0/15 and fd00::/8")
        self.target_path = target_path
        self.sources = sources
        self.destination = destination
        self.name = f"{PROBE_PREFIX}{os.getpid()}-{next(_counter)}"
        self.ns: Namespace | None = None
        self.arrival_interface = ""
        self._owner = os.getpid()
        self._signals = ExitStack()
        self._signals.enter_context(stop_signals_raise())
        self.journal: Journal | None = None
        try:
            self.journal = Journal(self.name, target_path)
            self._attach(bridge)
        except BaseException:
            self.close()
            raise

    # -- attach ----------------------------------------------------------------------------------

    def _record(self, action: dict[str, str]) -> None:
        assert self.journal is not None
        self.journal.record(action)

    def _attach(self, bridge: str | None) -> None:
        # every change is journaled before it is made: a kill in between leaves a journal entry
        # for something that does not exist, which cleanup skips, never the reverse
        self._record({"kind": "netns", "name": self.name})
        self.ns = Namespace(self.name)
        peer = f"fwp{os.getpid() % 100000}{next(_counter)}"[:15]
        self._record({"kind": "link", "target_ifname": peer})
        with self.ns.iproute() as ipr:
            ipr.link("add", ifname="eth0", kind="veth", peer={"ifname": peer, "net_ns_fd": self.target_path})
        self.ns.link_up("eth0")
        for s in self.sources:
            self.ns.add_address("eth0", s + ("/128" if ":" in s else "/32"))
        _nsexec(self.target_path, ["ip", "link", "set", peer, "up"])
        if bridge:
            _nsexec(self.target_path, ["ip", "link", "set", peer, "master", bridge])
            self.arrival_interface = bridge
            for s in self.sources:  # the bridge's subnet is on-link for the probe too
                self._route_probe(s)
                route = f"{s}/{'128' if ':' in s else '32'}"
                # sources outside the bridge's subnet: replies routed by the target go back here
                self._record({"kind": "route", "target_route": route, "dev": bridge})
                _nsexec(self.target_path, ["ip", "route", "add", route, "dev", bridge], check=False)
        else:
            self.arrival_interface = peer
            for s in self.sources:
                route = f"{s}/{'128' if ':' in s else '32'}"
                self._record({"kind": "route", "target_route": route, "dev": peer})
                _nsexec(self.target_path, ["ip", "route", "add", route, "dev", peer])
                self._route_probe(s)

    def _route_probe(self, source: str) -> None:
        assert self.ns is not None
        dest = self.destination
        if (":" in dest) != (":" in source):
            return
        plen = "128" if ":" in dest else "32"
        self.ns.exec(["ip", "route", "replace", f"{dest}/{plen}", "dev", "eth0", "src", source], check=False)

    # -- teardown ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Undo every journaled change, then drop the journal. Only the process that made the
        changes undoes them (a forked worker unwinding a copy of this object must not)."""
        if os.getpid() != self._owner:
            return
        with deferred():
            if self.journal is not None:
                for action in reversed(self.journal.actions):
                    undo(self.target_path, action)
                self.journal.discard()
                self.journal = None
            if self.ns is not None:
                self.ns.close()
                self.ns = None
        self._signals.close()

    def __enter__(self) -> VantagePoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def undo(target_path: str, action: dict[str, str]) -> bool:
    """Undo one journaled change; True only when there was something to remove."""
    kind = action["kind"]
    if kind == "netns":
        return remove_namespace(action["name"])  # takes the veth pair (and routes through it) along
    if kind == "link":
        return _nsexec(target_path, ["ip", "link", "del", action["target_ifname"]], check=False)
    if kind == "route":
        return _nsexec(target_path, ["ip", "route", "del", action["target_route"], "dev", action["dev"]],
                       check=False)
    return False


def cleanup_leftovers() -> tuple[list[str], list[str]]:
    """Undo what killed runs left (their journals) and remove orphaned probe namespaces.

    Returns (what was really removed, journals left alone and why). A change that had already
    gone (a route that went with its veth, a namespace removed by hand) is not reported.
    """
    removed: list[str] = []
    refused: list[str] = []
    for run in dead_runs():
        if run.problem is not None:
            refused.append(f"{run.name}: {run.problem}")
            continue
        removed += _undo_run(run)
        forget(run)
    for prefix in (PROBE_PREFIX, PROVE_PREFIX):
        for name in leftover_namespaces(prefix):
            pid = name[len(prefix):].split("-")[0]
            if pid.isdigit() and owner_alive(int(pid), None):
                continue
            if remove_namespace(name):
                removed.append(f"netns {name}")
    return removed, refused


def _undo_run(run: DeadRun) -> list[str]:
    done = []
    for action in reversed(run.actions):
        if action["kind"] != "netns" and not run.target_present:
            continue  # the target namespace is gone, and the veth and routes with it
        with deferred():
            if undo(run.target_path, action):
                done.append(f"{action['kind']} {action.get('name') or action.get('target_ifname') or action.get('target_route')}")
    return done
