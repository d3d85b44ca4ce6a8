"""Which processes hold which sockets: ``/proc/PID/fd/*`` links of the form ``socket:[INODE]``.

One pass over all file descriptors of all processes, keeping only the inodes asked for; with
20,000 sockets this is a few tens of milliseconds. Processes that exit during the walk, or whose
fds we may not read, are skipped: a socket without a known owner is reported without one.
"""

from __future__ import annotations

import os
import pwd

from auditor.model.listener import Process


def processes_by_inode(inodes: set[int]) -> dict[int, set[Process]]:
    found: dict[int, set[Process]] = {}
    if not inodes:
        return found
    users: dict[int, str] = {}
    readlink, listdir = os.readlink, os.listdir
    for name in listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            dfd = os.open(f"/proc/{name}/fd", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        hits: list[int] = []
        try:
            for fd in listdir(dfd):
                try:
                    link = readlink(fd, dir_fd=dfd)
                except OSError:
                    continue
                if link[:8] == "socket:[":
                    inode = int(link[8:-1])
                    if inode in inodes:
                        hits.append(inode)
        except OSError:
            continue
        finally:
            os.close(dfd)
        if not hits:
            continue
        proc = _process(int(name), users)
        if proc is None:
            continue
        for inode in hits:
            found.setdefault(inode, set()).add(proc)
    return found


def _process(pid: int, users: dict[int, str]) -> Process | None:
    try:
        with open(f"/proc/{pid}/comm") as f:
            name = f.read().strip()
        with open(f"/proc/{pid}/status") as f:
            uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
    except (OSError, StopIteration, ValueError):
        return None
    if uid not in users:
        try:
            users[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            users[uid] = str(uid)
    return Process(pid=pid, name=name, user=users[uid])
