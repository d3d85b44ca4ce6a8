"""The scan journal: every change a vantage point makes, written down before it is made.

A run killed with SIGKILL cannot undo anything itself; ``fwaudit cleanup`` (root) reads the
journals of dead runs and undoes them. Since cleanup acts as root on what a journal says, a
journal is trusted only as far as it must be:

* it lives in the private run directory (:mod:`auditor.rundir`: ``/run/fwaudit``, 0700, owned
  by the user) and is read and written without following links, size-bounded;
* its owner is identified by PID *and* start time, so a reused PID never passes for the run;
* the target namespace is identified by device and inode, so a ``/proc/PID/ns/net`` path whose
  PID now belongs to someone else is not entered;
* every action must have the exact shape fwaudit writes (a ``fwa-probe-`` namespace, a ``fwp``
  veth, a host route to one lab address): anything else makes the whole journal invalid, and
  it is left alone and reported.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.interrupts import deferred
from auditor.rundir import open_private_file, open_run_dir

PROBE_PREFIX = "fwa-probe-"
PROVE_PREFIX = "fwa-prove-"  # verify --prove's lab copy: no journal, the namespace is all it makes
MAX_JOURNAL_BYTES = 1 << 20
_NAME = re.compile(rf"^{PROBE_PREFIX}(\d+)-(\d+)$")
_FILE = re.compile(rf"^({PROBE_PREFIX}(\d+)-\d+)\.(json|tmp)$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_PEER = re.compile(r"^fwp\d{1,12}$")


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` (clock ticks since boot); None when it does not run (a
    zombie, killed but not yet reaped, does not run)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return None if fields[0] in (b"Z", b"X") else int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def owner_alive(pid: int, started: int | None) -> bool:
    """True while the process that wrote a journal (``pid`` started at ``started``) runs."""
    now = process_start(pid)
    return now is not None and (started is None or now == started)


class Journal:
    """The journal of one vantage point, ``<name>.json`` in the run directory."""

    def __init__(self, name: str, target_path: str) -> None:
        target = os.stat(target_path)
        self.name = name
        self._doc: dict[str, Any] = {
            "pid": os.getpid(), "started": process_start(os.getpid()), "target": target_path,
            "target_id": [target.st_dev, target.st_ino], "actions": []}
        self._dir = open_run_dir()

    def record(self, action: dict[str, str]) -> None:
        """Append ``action`` and replace the file atomically (temp file + rename)."""
        self._doc["actions"].append(action)
        data = json.dumps(self._doc).encode()
        with deferred():
            fd = open_private_file(self._dir, f"{self.name}.tmp", os.O_WRONLY)
            try:
                os.ftruncate(fd, 0)
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(f"{self.name}.tmp", f"{self.name}.json", src_dir_fd=self._dir, dst_dir_fd=self._dir)

    @property
    def actions(self) -> list[dict[str, str]]:
        return list(self._doc["actions"])

    def discard(self) -> None:
        """Everything was undone: remove the file."""
        for suffix in (".json", ".tmp"):
            try:
                os.unlink(self.name + suffix, dir_fd=self._dir)
            except FileNotFoundError:
                pass
        os.close(self._dir)
        self._dir = -1


@dataclass(frozen=True)
class DeadRun:
    """A journal whose owner is gone: what it changed, where — or why it is not trusted."""

    name: str
    target_path: str = ""
    target_present: bool = False    # the journaled namespace still exists at target_path
    actions: tuple[dict[str, str], ...] = ()
    problem: str | None = None      # set: the journal is left alone, and this says why


def dead_runs() -> Iterator[DeadRun]:
    """Journals (and stray temp files) of runs whose owner is gone, in name order."""
    dir_fd = open_run_dir()
    try:
        seen: set[str] = set()
        for entry in sorted(os.listdir(dir_fd)):
            m = _FILE.match(entry)
            if not m or m.group(1) in seen:
                continue
            run = m.group(1)
            seen.add(run)
            doc = _read(dir_fd, run)
            if isinstance(doc, str):
                yield DeadRun(run, problem=doc)
            elif doc is None:  # only a temp file: killed before its first record was complete
                if not owner_alive(int(m.group(2)), None):
                    yield DeadRun(run)
            elif not owner_alive(doc["pid"], doc["started"]):
                try:
                    st = os.stat(doc["target"])
                    present = [st.st_dev, st.st_ino] == doc["target_id"]
                except OSError:
                    present = False
                yield DeadRun(run, doc["target"], present, tuple(doc["actions"]))
    finally:
        os.close(dir_fd)


def forget(run: DeadRun) -> None:
    """Remove the journal (and temp file) of an undone run."""
    dir_fd = open_run_dir()
    try:
        for suffix in (".json", ".tmp"):
            try:
                os.unlink(run.name + suffix, dir_fd=dir_fd)
            except FileNotFoundError:
                pass
    finally:
        os.close(dir_fd)


def _read(dir_fd: int, run: str) -> dict[str, Any] | str | None:
    """The validated journal of ``run``; None if there is none; a reason if it is invalid."""
    try:
        fd = os.open(f"{run}.json", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot open the journal ({e.strerror})"
    try:
        st = os.fstat(fd)
        if not (stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1):
            return "the journal is not a private regular file"
        if st.st_size > MAX_JOURNAL_BYTES:
            return "the journal is too large"
        data = os.read(fd, MAX_JOURNAL_BYTES + 1)
    finally:
        os.close(fd)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return "the journal is not valid JSON"
    return doc if _valid(doc, run) else "the journal does not have the shape fwaudit writes"


def _valid(doc: Any, run: str) -> bool:
    if not isinstance(doc, dict) or set(doc) != {"pid", "started", "target", "target_id", "actions"}:
        return False
    m = _NAME.match(run)
    if (not m or type(doc["pid"]) is not int or str(doc["pid"]) != m.group(1)
            or not (doc["started"] is None or type(doc["started"]) is int)
            or not isinstance(doc["target"], str) or not isinstance(doc["target_id"], list)
            or len(doc["target_id"]) != 2 or not all(type(x) is int for x in doc["target_id"])
            or not isinstance(doc["actions"], list)):
        return False
    return all(_valid_action(a, run) for a in doc["actions"])


def _valid_action(a: Any, run: str) -> bool:
    if not isinstance(a, dict) or not all(isinstance(v, str) for v in a.values()):
        return False
    kind = a.get("kind")
    if kind == "netns":
        return set(a) == {"kind", "name"} and a["name"] == run
    if kind == "link":
        return set(a) == {"kind", "target_ifname"} and bool(_PEER.match(a["target_ifname"]))
    if kind == "route":
        if set(a) != {"kind", "target_route", "dev"} or not _IFNAME.match(a["dev"]):
            return False
        try:
            net = ipaddress.ip_network(a["target_route"])
        except ValueError:
            return False
        return net.prefixlen == net.max_prefixlen
    return False
