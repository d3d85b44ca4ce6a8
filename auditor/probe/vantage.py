"""Vantage points: a probe namespace attached to the target, owned and cleaned up by us.

The probe arrives by the least intrusive path:

* the target has a bridge whose subnet holds the sources (a container network, a lab LAN):
  a veth port is added to that bridge — the probe arrives like any host on that segment;
* otherwise a dedicated veth pair into the target; the target side gets no address, the target
  routes the probe's source addresses back through it (recorded), and the probe reaches the
  destination on-link (the target answers ARP for its own addresses).

Every change is written to a journal in ``/run/fwaudit`` before it is made, undone on close,
on exceptions and on SIGINT/SIGTERM; ``cleanup_leftovers`` undoes journals of dead runs and
removes ``fwa-probe-*`` namespaces — nothing else.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import signal
import subprocess
from pathlib import Path

from auditor.errors import InputError, Terminated
from auditor.probe.namespaces import Namespace, leftover_namespaces, remove_namespace

PROBE_PREFIX = "fwa-probe-"
JOURNAL_DIR = Path(os.environ.get("FWAUDIT_JOURNAL_DIR", "/run/fwaudit"))
LAB_NETWORKS = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))
_counter = itertools.count()


def _nsexec(path: str, cmd: list[str]) -> subprocess.CompletedProcess:
    res = subprocess.run(["nsenter", f"--net={path}", "--", *cmd], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.strip()}")
    return res


class VantagePoint:
    """A probe namespace holding one address per source, attached to ``target_path``."""

    def __init__(self, target_path: str, sources: list[str], *, destination: str,
                 bridge: str | None = None, allow_any_source: bool = False) -> None:
        for s in sources:
            a = ipaddress.ip_address(s)
            if not allow_any_source and not any(a in n for n in LAB_NETWORKS):
                raise InputError(f"source {s} is outside the lab ranges 198.18.0.0/15 and 2001:db8::/32")
        self.target_path = target_path
        self.sources = sources
        self.destination = destination
        self.name = f"{PROBE_PREFIX}{os.getpid()}-{next(_counter)}"
        self.journal = JOURNAL_DIR / f"{self.name}.json"
        self._actions: list[dict] = []
        self.ns: Namespace | None = None
        self.arrival_interface = ""
        self._old_handlers: dict = {}
        self._install_handlers()
        try:
            self._attach(bridge)
        except BaseException:
            self.close()
            raise

    # -- journal -------------------------------------------------------------------------------

    def _record(self, action: dict) -> None:
        self._actions.append(action)
        JOURNAL_DIR.mkdir(parents=True, exist_ok=True)
        tmp = self.journal.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "target": self.target_path, "actions": self._actions}))
        os.replace(tmp, self.journal)

    def _install_handlers(self) -> None:
        owner = os.getpid()

        def on_term(signum, frame):
            if os.getpid() != owner:
                # a forked helper (pyroute2, a namespace worker) inherited this handler: it must
                # just die as it would have, not run our cleanup
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            raise Terminated()

        for sig in (signal.SIGTERM,):
            try:
                self._old_handlers[sig] = signal.signal(sig, on_term)
            except ValueError:  # not the main thread: the journal still allows cleanup
                pass

    # -- attach ----------------------------------------------------------------------------------

    def _attach(self, bridge: str | None) -> None:
        self._record({"kind": "netns", "name": self.name})
        self.ns = Namespace(self.name)
        peer = f"fwp{os.getpid() % 100000}{len(self._actions)}"[:15]
        with self.ns.iproute() as ipr:
            ipr.link("add", ifname="eth0", kind="veth", peer={"ifname": peer, "net_ns_fd": self.target_path})
        self.ns.link_up("eth0")
        self._record({"kind": "link", "target_ifname": peer})
        for s in self.sources:
            self.ns.add_address("eth0", s + ("/128" if ":" in s else "/32"))
        _nsexec(self.target_path, ["ip", "link", "set", peer, "up"])
        if bridge:
            _nsexec(self.target_path, ["ip", "link", "set", peer, "master", bridge])
            self.arrival_interface = bridge
            for s in self.sources:  # the bridge's subnet is on-link for the probe too
                self._route_probe(s)
                plen = "128" if ":" in s else "32"
                # sources outside the bridge's subnet: replies routed by the target go back here
                res = subprocess.run(["nsenter", f"--net={self.target_path}", "--", "ip", "route", "add",
                                      f"{s}/{plen}", "dev", bridge], capture_output=True, text=True)
                if res.returncode == 0:
                    self._record({"kind": "route", "target_route": f"{s}/{plen}", "dev": bridge})
        else:
            self.arrival_interface = peer
            for s in self.sources:
                plen = "128" if ":" in s else "32"
                _nsexec(self.target_path, ["ip", "route", "add", f"{s}/{plen}", "dev", peer])
                self._record({"kind": "route", "target_route": f"{s}/{plen}", "dev": peer})
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
        for action in reversed(self._actions):
            _undo(self.target_path, action)
        self._actions.clear()
        if self.ns is not None:
            self.ns.close()
            self.ns = None
        self.journal.unlink(missing_ok=True)
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        self._old_handlers.clear()

    def __enter__(self) -> "VantagePoint":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _undo(target_path: str, action: dict) -> None:
    kind = action["kind"]
    if kind == "netns":
        remove_namespace(action["name"])  # takes the veth pair (and routes through it) along
    elif kind == "link" and os.path.exists(target_path):
        subprocess.run(["nsenter", f"--net={target_path}", "--", "ip", "link", "del", action["target_ifname"]],
                       capture_output=True)
    elif kind == "route" and os.path.exists(target_path):
        subprocess.run(["nsenter", f"--net={target_path}", "--", "ip", "route", "del", action["target_route"],
                        "dev", action["dev"]], capture_output=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_leftovers() -> list[str]:
    """Undo what killed runs left (their journals) and remove orphaned probe namespaces."""
    removed: list[str] = []
    if JOURNAL_DIR.is_dir():
        for j in sorted(JOURNAL_DIR.glob(f"{PROBE_PREFIX}*.json")):
            try:
                doc = json.loads(j.read_text())
            except (OSError, ValueError):
                continue
            if _alive(int(doc.get("pid", 0))):
                continue
            for action in reversed(doc.get("actions", [])):
                _undo(doc.get("target", ""), action)
                removed.append(f"{action['kind']} {action.get('name') or action.get('target_ifname') or action.get('target_route')}")
            j.unlink(missing_ok=True)
    for name in leftover_namespaces(PROBE_PREFIX):
        pid = name[len(PROBE_PREFIX):].split("-")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        remove_namespace(name)
        removed.append(f"netns {name}")
    return removed
