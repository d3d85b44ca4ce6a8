"""Which processes hold which sockets: ``/proc/PID/fd/*`` links of the form ``socket:[INODE]``.

There is no kernel interface from a socket to its owners other than this walk (``ss -p`` does
the same). With 20,000 sockets it is ~20,000 ``readlink`` calls, ~0.15 s of kernel time and the
largest single cost of ``fwaudit listeners``; :class:`OwnerWalk` therefore runs it in a forked
child on the other core while the caller reads the sockets over netlink. Processes that exit
during the walk, or whose fds we may not read, are skipped: a socket without a known owner is
reported without one.
"""

from __future__ import annotations

import os
import pickle
import pwd

from auditor.model.listener import Process
from auditor.target.workers import fork_worker

# Sockets grouped by the exact set of processes holding them (a server with 4,000 sockets is
# one group): cheap to pickle, and turned back into a lookup table at C speed.
Groups = list[tuple[tuple[Process, ...], list[int]]]


def socket_owner_groups(*, skip: int = 0) -> Groups:
    """Every socket inode held open by any process but ``skip``, grouped by its (sorted) owners."""
    holders: dict[int, list[int]] = {}
    readlink, listdir = os.readlink, os.listdir
    skip_name = str(skip)
    for name in listdir("/proc"):
        if not name.isdigit() or name == skip_name:
            continue
        try:
            dfd = os.open(f"/proc/{name}/fd", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        pid = int(name)
        try:
            for fd in listdir(dfd):
                try:
                    link = readlink(fd, dir_fd=dfd)
                except OSError:
                    continue
                if link[:8] == "socket:[":
                    holders.setdefault(int(link[8:-1]), []).append(pid)
        except OSError:
            continue
        finally:
            os.close(dfd)
    by_pids: dict[tuple[int, ...], list[int]] = {}
    for inode, pids in holders.items():
        by_pids.setdefault(tuple(pids), []).append(inode)
    users: dict[int, str] = {}
    procs: dict[int, Process | None] = {}
    groups: Groups = []
    for held_by, inodes in by_pids.items():
        for pid in held_by:
            if pid not in procs:
                procs[pid] = _process(pid, users)
        owners = tuple(sorted({p for pid in held_by if (p := procs[pid]) is not None}))
        if owners:
            groups.append((owners, inodes))
    return groups


class OwnerWalk:
    """:func:`socket_owner_groups` in a forked child, started now, collected by :meth:`owners`.

    ``background=False``, or a failed fork, walks in-process instead; so does a failed child.
    Use as a context manager so the child is reaped even when the caller fails first.
    """

    def __init__(self, *, background: bool = True) -> None:
        self._pid = 0
        self._read_fd = -1
        if not background:
            return
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return
        try:
            pid = fork_worker(read_fd, write_fd)
        except OSError:  # fork_worker closed both descriptors
            return
        if pid == 0:  # child: walk, send, exit without running the parent's cleanup
            try:
                # Not itself: it holds copies of all the caller's sockets, owned by the caller.
                data = pickle.dumps(socket_owner_groups(skip=os.getpid()), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_fd, "wb") as w:
                    w.write(data)
            finally:
                os._exit(0)
        self._pid, self._read_fd = pid, read_fd

    def __enter__(self) -> OwnerWalk:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pid:
            os.close(self._read_fd)
            os.waitpid(self._pid, 0)  # the child exits on EPIPE or when done
            self._pid = 0

    def _groups(self) -> Groups:
        if not self._pid:
            return socket_owner_groups()
        with os.fdopen(self._read_fd, "rb") as r:
            data = r.read()
        os.waitpid(self._pid, 0)
        self._pid = 0
        try:
            groups: Groups = pickle.loads(data)
            return groups
        except Exception:
            return socket_owner_groups()

    def owners(self) -> dict[int, tuple[Process, ...]]:
        """Socket inode -> its owners (sorted); the tuple is shared within a group."""
        table: dict[int, tuple[Process, ...]] = {}
        for procs, inodes in self._groups():
            table.update(dict.fromkeys(inodes, procs))
        return table


def _process(pid: int, users: dict[int, str]) -> Process | None:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            # any bytes a process chose (prctl PR_SET_NAME): undecodable ones shown as \xNN,
            # never a reason to drop the owner (a process could hide that way)
            comm = f.read()
        name = comm.removesuffix(b"\n").decode("utf-8", "backslashreplace")  # the kernel adds one
        with open(f"/proc/{pid}/status", "rb") as f:  # its Name: line holds the same bytes
            uid = next(int(line.split()[1]) for line in f if line.startswith(b"Uid:"))
    except (OSError, StopIteration, ValueError):
        return None
    if uid not in users:
        try:
            users[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            users[uid] = str(uid)
    return Process(pid=pid, name=name, user=users[uid])
