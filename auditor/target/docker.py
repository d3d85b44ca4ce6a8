"""Docker containers as targets, through the Docker SDK.

``container:NAME_OR_ID`` resolves to the container's init PID (a PID of the engine's — here the
root — PID namespace), whose ``/proc/PID/ns/net`` is the container's network namespace. The
engine is the one ``DOCKER_HOST`` names, or the default socket; its own network namespace
(:func:`engine_namespace`) holds the bridges a probe joins to reach a container.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import EnvironmentProblem, InputError

if TYPE_CHECKING:
    from docker import DockerClient


@dataclass(frozen=True)
class ContainerNetwork:
    name: str
    bridge: str | None  # the engine-side bridge (docker0, br-<id12>)
    address: str
    prefix: int
    gateway: str | None


@dataclass(frozen=True)
class PublishedPort:
    protocol: str
    host_ip: str
    host_port: int
    container_port: int


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    pid: int
    networks: tuple[ContainerNetwork, ...]
    published: tuple[PublishedPort, ...]


def _client(base_url: str | None) -> DockerClient:
    import docker  # 82 ms; only for container targets

    url = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.DockerClient(base_url=url, timeout=10)
        client.ping()
    except Exception as e:
        hint = ""
        if url.startswith("unix://") and not os.path.exists(url.removeprefix("unix://")):
            hint = " (no such socket: is dockerd running? set DOCKER_HOST for another engine)"
        raise EnvironmentProblem(f"cannot reach the Docker engine at {url}{hint}: {e}") from None
    return client


def container_info(ref: str, *, base_url: str | None = None) -> ContainerInfo:
    import docker

    client = _client(base_url)
    try:
        c = client.containers.get(ref)
    except docker.errors.NotFound:
        raise InputError(f"no container named or with id {ref!r}") from None
    except docker.errors.APIError as e:
        raise EnvironmentProblem(f"Docker engine error for {ref!r}: {e}") from None
    return info_from_attrs(c.attrs, bridges=_bridges(client))


def _bridges(client: DockerClient) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in client.networks.list():
        opts = n.attrs.get("Options") or {}
        name = opts.get("com.docker.network.bridge.name") or (
            f"br-{(n.id or '')[:12]}" if n.attrs.get("Driver") == "bridge" else None)
        if name and n.name:
            out[n.name] = name
    return out


def info_from_attrs(attrs: Mapping[str, Any], *, bridges: dict[str, str] | None = None) -> ContainerInfo:
    """``docker inspect`` data → ContainerInfo (pure, for tests)."""
    state = attrs.get("State") or {}
    name = (attrs.get("Name") or "").lstrip("/")
    if not state.get("Running") or not state.get("Pid"):
        raise InputError(f"container {name or attrs.get('Id', '?')[:12]} is not running")
    settings = attrs.get("NetworkSettings") or {}
    nets = []
    for net_name, n in sorted((settings.get("Networks") or {}).items()):
        if not n.get("IPAddress"):
            continue
        nets.append(ContainerNetwork(net_name, (bridges or {}).get(net_name), n["IPAddress"],
                                     int(n.get("IPPrefixLen") or 0), n.get("Gateway") or None))
    published = []
    for spec, bindings in sorted((settings.get("Ports") or {}).items()):
        port, _, proto = spec.partition("/")
        for b in bindings or ():
            published.append(PublishedPort(proto or "tcp", b.get("HostIp") or "0.0.0.0", int(b["HostPort"]), int(port)))
    return ContainerInfo(attrs["Id"], name, int(state["Pid"]), tuple(nets), tuple(published))


def container_pid(ref: str, *, base_url: str | None = None) -> int:
    return container_info(ref, base_url=base_url).pid


def engine_namespace() -> str:
    """The network namespace of the Docker engine serving DOCKER_HOST (where its bridges live)."""
    sock = (os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock").removeprefix("unix://")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"dockerd"):
            hosts = [c.decode(errors="replace") for c in cmd if c.startswith(b"unix://")]
            if (sock == "/var/run/docker.sock" and not hosts) or f"unix://{sock}" in hosts:
                return f"/proc/{pid}/ns/net"
    raise InputError(f"cannot find the dockerd serving {sock}")
