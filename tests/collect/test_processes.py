"""Socket owners from /proc: the forked walk against the in-process walk, in a PID namespace
the test owns.

Both walks read every process's fds. Compared on the host's /proc they race with everything
else the machine does (a process that opens or closes a socket between the two walks), so the
comparison runs inside a private PID namespace with its own /proc (``unshare --pid
--mount-proc``; with ``--user`` when not root) where every process and socket belongs to the
test and nothing changes between the walks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Runs as PID 1 of the private namespace. Children hold socketpairs (AF_UNIX: no network is
# touched), one pair is shared by the parent and two children, and there are enough sockets in
# enough owner groups that the forked walk's answer is far larger than a pipe buffer (64 KiB).
WALKER = r"""
import json, os, pickle, resource, signal, socket, sys
from auditor.collect.processes import OwnerWalk, socket_owner_groups

CHILDREN, PAIRS = 16, 450
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < 2 * PAIRS + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))

def inode(s):
    return os.fstat(s.fileno()).st_ino

expected = {}
shared = socket.socketpair()
for s in shared:
    expected[inode(s)] = {os.getpid()}
mine = [socket.socketpair() for _ in range(PAIRS)]
for pair in mine:
    for s in pair:
        expected[inode(s)] = {os.getpid()}
children, reports = [], []
for n in range(CHILDREN):
    report_r, report_w = os.pipe()  # one each: reports are larger than PIPE_BUF, writes would interleave
    pid = os.fork()
    if pid == 0:
        try:
            os.close(report_r)
            held = [socket.socketpair() for _ in range(PAIRS)]
            inodes = [inode(s) for pair in held for s in pair]
            if n >= 2:  # only children 0 and 1 keep the shared pair
                for s in shared:
                    s.close()
            for pair in mine:
                for s in pair:
                    s.close()
            with os.fdopen(report_w, "w") as w:
                json.dump(inodes, w)
            signal.pause()
        finally:
            os._exit(0)
    os.close(report_w)
    children.append(pid)
    reports.append(report_r)
for pid, report_r in zip(children, reports):
    with os.fdopen(report_r) as r:
        for i in json.load(r):
            expected[i] = {pid}
for s in shared:
    expected[inode(s)] |= set(children[:2])

def table(owners):
    return {str(i): sorted([p.pid, p.name, p.user] for p in procs) for i, procs in owners.items()}

with OwnerWalk() as walk:
    assert walk._pid, "the walk did not run in a forked child"
    background = table(walk.owners())
with OwnerWalk(background=False) as walk:
    here = table(walk.owners())
answer_size = len(pickle.dumps(socket_owner_groups(), protocol=pickle.HIGHEST_PROTOCOL))
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
json.dump({"background": background, "here": here, "answer_size": answer_size,
           "expected": {str(i): sorted(p) for i, p in expected.items()}}, sys.stdout)
"""


def _in_private_pid_namespace(script: str) -> dict:
    unshare = ["unshare", "--pid", "--fork", "--mount", "--mount-proc"]
    if os.geteuid() != 0:
        unshare[1:1] = ["--user", "--map-root-user"]
    res = subprocess.run([*unshare, sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"{unshare} failed (unprivileged user namespaces disabled?): {res.stderr[-2000:]}"
    return json.loads(res.stdout)


def test_owner_walk_in_background_equals_walk_in_process():
    """The forked walk gives exactly what walking here gives, and both give what the test made:
    every socket with every process holding it (the shared pair: three owners)."""
    out = _in_private_pid_namespace(WALKER)
    background, here, expected = out["background"], out["here"], out["expected"]
    assert len(expected) == 2 + 2 * 450 * 17
    assert background == here
    assert {i: sorted(p[0] for p in procs) for i, procs in here.items()} == expected
    shared = [procs for procs in here.values() if len(procs) == 3]
    assert len(shared) == 2 and all(user == "root" for procs in shared for _, _, user in procs)
    assert out["answer_size"] > 1 << 16  # the child's answer is more than one pipe buffer


def test_owner_walk_reaps_its_child_when_the_caller_fails():
    from auditor.collect.processes import OwnerWalk

    with pytest.raises(RuntimeError):
        with OwnerWalk() as walk:
            child = walk._pid
            raise RuntimeError("netlink failed")
    assert child and not os.path.exists(f"/proc/{child}")
