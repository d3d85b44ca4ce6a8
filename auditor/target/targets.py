"""Targets: *where* fwaudit looks (a network namespace), separate from *what* it reads there.

Each kind is a small class registered in :data:`TARGET_KINDS` under the prefix users write:
``host`` is the root network namespace (that of PID 1), ``netns:NAME`` an ``ip netns`` name,
``pid:PID`` the namespace of a process, ``container:NAME_OR_ID`` a Docker container's. Every
kind answers the same questions — where is your namespace, may we enter it, run this there —
so collectors and probes never ask which kind they are in. Resolution never creates anything:
a missing name is an input error (exit 2), not an empty namespace with no rules and no
listeners.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from auditor.errors import EnvironmentProblem, InputError
from auditor.target.runner import COMMAND_TIMEOUT, CommandResult, run_command, run_in_namespace
from auditor.untrusted import excerpt

T = TypeVar("T")
NETNS_DIR = "/run/netns"
_NAME = re.compile(r"^[A-Za-z0-9_.@:+-]{1,64}$")
PF_KTHREAD = 0x00200000  # include/linux/sched.h


@dataclass(frozen=True)
class Attachment:
    """Where a probe namespace must be attached to reach a target, and what it then talks to.

    ``namespace`` is the namespace the probe's veth goes into, ``bridge`` a bridge there to
    join (``None``: a dedicated veth), ``address`` the target's address on that segment
    (``None``: the caller picks one). ``remote``: the namespace is not the target's own (a
    container is reached over its network in the Docker engine's namespace), so the probe
    arrives on the target's interface that holds ``address``, not on the one attached to."""

    namespace: str
    bridge: str | None = None
    address: str | None = None
    remote: bool = False


class Target(ABC):
    """A place fwaudit looks into. Subclasses are frozen dataclasses with a ``ref``."""

    kind: ClassVar[str]
    ref: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"

    @classmethod
    @abstractmethod
    def parse(cls, ref: str) -> Target:
        """The target named ``ref`` (the part after ``kind:``); syntax errors are input errors."""

    @abstractmethod
    def locate(self) -> str:
        """The path of the target's nsfs file (``/proc/…/ns/net``, ``/run/netns/…``)."""

    def namespace_path(self) -> str:
        """:meth:`locate`, checked to exist and to be openable."""
        path = self.locate()
        _stat_namespace(self, path)
        return path

    def identity(self) -> os.stat_result:
        """``os.stat`` of the nsfs file: ``(st_dev, st_ino)`` is the namespace's identity, the
        same however the target was spelt (``pid:`` of a process in it, ``netns:NAME``)."""
        return _stat_namespace(self, self.locate())

    def require_entry(self) -> None:
        """Fail with exit 3 unless this process may enter the target (root, or already in it)."""
        require_root(f"entering the network namespace of {self}")

    def call(self, fn: Callable[..., T], *args: Any, time_limit: float | None = None, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` inside the target's network namespace (at most
        ``time_limit`` seconds, when given)."""
        path = self.namespace_path()
        self.require_entry()
        return run_in_namespace(path, fn, *args, time_limit=time_limit, **kwargs)

    def run(self, cmd: Sequence[str], *, timeout: float = COMMAND_TIMEOUT, check: bool = False) -> CommandResult:
        """Run the command ``cmd`` inside the target's network namespace."""
        path = self.namespace_path()
        self.require_entry()
        return run_command(cmd, netns=path, timeout=timeout, check=check)

    def attachment(self) -> Attachment:
        """Where a probe attaches to reach this target: a veth into its own namespace."""
        return Attachment(self.namespace_path())


@dataclass(frozen=True)
class HostTarget(Target):
    kind: ClassVar[str] = "host"
    ref: str = ""

    def __str__(self) -> str:
        return "host"

    @classmethod
    def parse(cls, ref: str) -> Target:
        return cls()

    def locate(self) -> str:
        return root_namespace_path()

    def require_entry(self) -> None:
        if not _in_root_namespace():
            super().require_entry()


@dataclass(frozen=True)
class NetnsTarget(Target):
    kind: ClassVar[str] = "netns"
    ref: str

    @classmethod
    def parse(cls, ref: str) -> Target:
        if not _NAME.match(ref) or ref in (".", ".."):
            raise InputError(f"invalid network namespace name {excerpt(ref)!r}")
        return cls(ref)

    def locate(self) -> str:
        path = os.path.join(NETNS_DIR, self.ref)
        if not os.path.exists(path):
            known = sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else []
            hint = f" (known: {', '.join(known[:10])})" if known else " (there are none)"
            raise InputError(f"no network namespace named {self.ref!r}{hint}")
        return path


@dataclass(frozen=True)
class PidTarget(Target):
    kind: ClassVar[str] = "pid"
    ref: str

    @classmethod
    def parse(cls, ref: str) -> Target:
        if not (ref.isascii() and ref.isdigit()) or int(ref) <= 0:
            raise InputError(f"invalid target 'pid:{excerpt(ref)}': PID must be a positive number")
        return cls(ref)

    def locate(self) -> str:
        if not os.path.exists(f"/proc/{self.ref}"):
            raise InputError(f"no process with PID {self.ref}")
        return f"/proc/{self.ref}/ns/net"


@dataclass(frozen=True)
class ContainerTarget(Target):
    """A Docker container: its init process's namespace. A probe reaches it over the
    container's own bridge network in the engine's namespace, so it arrives on the container's
    real interface."""

    kind: ClassVar[str] = "container"
    ref: str

    @classmethod
    def parse(cls, ref: str) -> Target:
        return cls(ref)

    def locate(self) -> str:
        from auditor.target.docker import container_pid

        return f"/proc/{container_pid(self.ref)}/ns/net"

    def attachment(self) -> Attachment:
        from auditor.target.docker import container_info, engine_namespace

        net = container_info(self.ref).networks[0]
        return Attachment(engine_namespace(), net.bridge, net.address, remote=True)


#: Target kinds by the prefix users write (``netns:NAME``); ``host`` takes no reference.
TARGET_KINDS: dict[str, type[Target]] = {
    cls.kind: cls for cls in (HostTarget, NetnsTarget, PidTarget, ContainerTarget)
}


def parse_target(spec: str | None) -> Target:
    """Parse a ``--target`` value. Syntax errors are input errors; existence is checked later."""
    spec = (spec or "host").strip()
    if spec == "host":
        return HostTarget()
    kind, sep, ref = spec.partition(":")
    if not sep or not ref:
        raise InputError(
            f"invalid target {excerpt(spec)!r}: expected host, netns:NAME, pid:PID or container:NAME"
        )
    cls = TARGET_KINDS.get(kind)
    if cls is None or cls is HostTarget:
        raise InputError(f"unknown target kind {excerpt(kind)!r} in {excerpt(spec)!r}: use host, netns, pid or container")
    return cls.parse(ref)


def _stat_namespace(target: Target, path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except PermissionError:
        why = ("even as root: a security module or sandbox protects it" if os.geteuid() == 0
               else "needs CAP_SYS_ADMIN and CAP_SYS_PTRACE: run as root")
        raise EnvironmentProblem(f"cannot open the network namespace of {target}: permission denied ({why})") from None
    except FileNotFoundError:
        raise InputError(f"target {target} has gone away") from None


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
