"""Targets: *where* an audit looks (the network namespace), separate from *what* it reads.

``host`` is the root network namespace (that of PID 1), ``netns:NAME`` an ``ip netns`` name,
``pid:PID`` the namespace of a process, ``container:NAME_OR_ID`` a Docker container's.
Resolution never creates anything: a missing name is an input error (exit 2), not an empty
namespace with no rules and no listeners.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, TypeVar

from auditor.collect.netns import run_in_namespace
from auditor.errors import EnvironmentProblem, InputError

T = TypeVar("T")
NETNS_DIR = "/run/netns"
_NAME = re.compile(r"^[A-Za-z0-9_.@:+-]{1,64}$")

TargetKind = Literal["host", "netns", "pid", "container"]


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    ref: str = ""

    def __str__(self) -> str:
        return "host" if self.kind == "host" else f"{self.kind}:{self.ref}"

    @property
    def is_local(self) -> bool:
        """True for targets reached through a namespace on this machine (all of them today)."""
        return True


def parse_target(spec: str | None) -> Target:
    """Parse a ``--target`` value. Syntax errors are input errors; existence is checked later."""
    spec = (spec or "host").strip()
    if spec == "host":
        return Target("host")
    kind, sep, ref = spec.partition(":")
    if not sep or not ref:
        raise InputError(
            f"invalid target {spec!r}: expected host, netns:NAME, pid:PID or container:NAME"
        )
    if kind == "netns":
        if not _NAME.match(ref) or ref in (".", ".."):
            raise InputError(f"invalid network namespace name {ref!r}")
        return Target("netns", ref)
    if kind == "pid":
        if not ref.isdigit() or int(ref) <= 0:
            raise InputError(f"invalid target {spec!r}: PID must be a positive number")
        return Target("pid", ref)
    if kind == "container":
        return Target("container", ref)
    raise InputError(f"unknown target kind {kind!r} in {spec!r}: use host, netns, pid or container")


def namespace_path(target: Target) -> str:
    """The ``/proc``/``/run`` path of the target's network namespace; checks that it exists."""
    if target.kind == "host":
        path = root_namespace_path()
    elif target.kind == "netns":
        path = os.path.join(NETNS_DIR, target.ref)
        if not os.path.exists(path):
            known = sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else []
            hint = f" (known: {', '.join(known[:10])})" if known else " (there are none)"
            raise InputError(f"no network namespace named {target.ref!r}{hint}")
    elif target.kind == "pid":
        path = f"/proc/{target.ref}/ns/net"
        if not os.path.exists(f"/proc/{target.ref}"):
            raise InputError(f"no process with PID {target.ref}")
    else:
        from auditor.collect.docker import container_pid

        path = f"/proc/{container_pid(target.ref)}/ns/net"
    _stat_namespace(target, path)
    return path


def namespace_stat(target: Target) -> os.stat_result:
    """``os.stat`` of the target's nsfs file: ``(st_dev, st_ino)`` is the namespace's identity,
    the same however the target was spelt (``pid:`` of a process in it, ``netns:NAME``)."""
    return _stat_namespace(target, namespace_path(target))


def _stat_namespace(target: Target, path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except PermissionError:
        why = ("even as root: a security module or sandbox protects it" if os.geteuid() == 0
               else "needs CAP_SYS_ADMIN and CAP_SYS_PTRACE: run as root")
        raise EnvironmentProblem(f"cannot open the network namespace of {target}: permission denied ({why})") from None
    except FileNotFoundError:
        raise InputError(f"target {target} has gone away") from None


def run_in_target(target: Target, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a collector inside the target's network namespace and return its result."""
    path = namespace_path(target)
    require_entry(target)
    return run_in_namespace(path, fn, *args, **kwargs)


def require_entry(target: Target) -> None:
    """Fail with exit 3 unless this process may enter the target (root, or already in it)."""
    if target.kind != "host" or not _in_root_namespace():
        require_root(f"entering the network namespace of {target}")


PF_KTHREAD = 0x00200000  # include/linux/sched.h


def root_namespace_path() -> str:
    """A path to the root network namespace: PID 1's, or else a kernel thread's.

    Some inits cannot be inspected even by root (a security module or a sandbox may protect
    PID 1's ``/proc`` entries). Kernel threads always live in the initial namespaces, so
    ``kthreadd`` (PID 2, checked by its PF_KTHREAD flag, not just its name) is an exact stand-in.
    """
    try:
        os.stat("/proc/1/ns/net")
    except PermissionError:
        if _is_kernel_thread("2"):
            return "/proc/2/ns/net"
    return "/proc/1/ns/net"  # namespace_path reports why it cannot be opened


def _is_kernel_thread(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return bool(int(fields[6]) & PF_KTHREAD)


def _in_root_namespace() -> bool:
    try:
        a, b = os.stat(root_namespace_path()), os.stat("/proc/self/ns/net")
    except PermissionError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def require_root(why: str) -> None:
    """Fail with exit 3 and the missing capability named, rather than a confusing EPERM later."""
    if os.geteuid() != 0:
        raise EnvironmentProblem(f"{why} needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")
