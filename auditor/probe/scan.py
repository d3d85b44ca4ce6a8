"""``fwaudit scan``: attach a vantage point to the target and probe it, per source.

Sources are given (``--source``) or one representative per policy zone (an address the zone
owns inside the lab ranges). Container targets are reached through the container's own bridge
network in the Docker engine's namespace, so the probe arrives on the container's real
interface. Results cover every requested port once per source and protocol.
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from pathlib import Path

from auditor.collect.netns import run_in_namespace
from auditor.collect.target import Target, namespace_path, require_root
from auditor.errors import InputError
from auditor.model.host import HostContext
from auditor.model.policy import Policy
from auditor.model.scan import ScanResult
from auditor.probe import synscan
from auditor.probe.vantage import LAB_NETWORKS, VantagePoint
from auditor.untrusted import excerpt


_PORT_RANGE = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?\Z", re.ASCII)
_IFNAME = re.compile(r"[^/\s:]{1,15}\Z")  # what the kernel accepts as an interface name (IFNAMSIZ)


def parse_ports(spec: str) -> list[int]:
    """``1-1024,8080`` → the sorted ports; decimal ASCII digits only."""
    ports: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        m = _PORT_RANGE.match(part)
        if m is None:
            raise InputError(f"invalid port spec {excerpt(part)!r} (use e.g. 1-1024,8080)")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if not (1 <= lo <= hi <= 65535):
            raise InputError(f"invalid port range {excerpt(part)!r} (1-65535, low-high)")
        ports.update(range(lo, hi + 1))
    if not ports:
        raise InputError("no ports to scan")
    return sorted(ports)


def zone_representatives(policy: Policy, zones: list[str], version: int = 4) -> dict[str, str]:
    """One source address per zone: the highest usable address the zone owns in the lab ranges."""
    from auditor.engine.zones import effective_zone_sources

    owned = effective_zone_sources(policy, version)
    out: dict[str, str] = {}
    for z in zones:
        if policy.zone(z) is None:
            raise InputError(f"zone {z!r} is not defined in {policy.path}")
        pick = None
        for net_text in owned.get(z, []):
            net = ipaddress.ip_network(net_text)
            for lab in LAB_NETWORKS:
                if lab.version == net.version and net.overlaps(lab):
                    inner = net if net.subnet_of(lab) else lab
                    candidate = inner.broadcast_address - 1 if inner.num_addresses > 2 else inner.network_address
                    pick = max(pick, candidate) if pick is not None else candidate
        if pick is None:
            raise InputError(f"zone {z!r} owns no address inside 198.18.0.0/15; give --source")
        out[z] = str(pick)
    return out


def _engine_namespace() -> str:
    """The network namespace of the Docker engine serving DOCKER_HOST (where its bridges live)."""
    sock = (os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock").removeprefix("unix://")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"dockerd"):
            hosts = [c.decode() for c in cmd if c.startswith(b"unix://")]
            if (sock == "/var/run/docker.sock" and not hosts) or f"unix://{sock}" in hosts:
                return f"/proc/{pid}/ns/net"
    raise InputError(f"cannot find the dockerd serving {sock}")


def _address(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise InputError(f"{what} {excerpt(text)!r} is not an IP address") from None


def check_addresses(sources: list[str], destination: str) -> None:
    """Every source must be an address of the destination's family (a probe from an IPv6
    source cannot reach an IPv4 destination)."""
    dest = _address(destination, "--destination")
    for s in sources:
        if _address(s, "--source").version != dest.version:
            raise InputError(f"--source {s} is IPv{6 if dest.version == 4 else 4} but the destination "
                             f"{destination} is IPv{dest.version}: give sources of the same family")


def _link_kind(name: str) -> str | None:
    """The kind of link ``name`` in the current namespace ("bridge", "veth", "" …), None if absent."""
    from pyroute2 import IPRoute  # type: ignore[import-untyped]

    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        info = ipr.get_links(found[0])[0].get_attr("IFLA_LINKINFO")
        return (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""


def check_bridge(namespace: str, bridge: str, target: Target) -> None:
    """``--bridge`` must name a bridge in the target (checked before anything is created)."""
    if not _IFNAME.match(bridge):
        raise InputError(f"--bridge {excerpt(bridge)!r} is not an interface name")
    kind = run_in_namespace(namespace, _link_kind, bridge)
    if kind is None:
        raise InputError(f"--bridge {bridge}: {target} has no interface of that name")
    if kind != "bridge":
        raise InputError(f"--bridge {bridge}: that interface of {target} is a {kind or 'plain'} link, not a bridge")


def run_scan(target: Target, sources: list[str], ports: list[int], protocols: list[str], *,
             destination: str | None = None, bridge: str | None = None) -> list[ScanResult]:
    require_root("scanning from a vantage-point namespace")
    attach_path = namespace_path(target)
    if target.kind == "container":
        from auditor.collect.docker import container_info

        info = container_info(target.ref)
        net = info.networks[0]
        attach_path, bridge = _engine_namespace(), bridge or net.bridge
        destination = destination or net.address
    if destination is None:
        from auditor.collect.host import collect_host

        host = run_in_namespace(attach_path, collect_host)
        addrs = [a.ip for i in host.interfaces if i.name != "lo" for a in i.addresses
                 if a.version == 4 and not a.ip.is_loopback]
        if not addrs:
            raise InputError(f"{target} has no IPv4 address to scan; give --destination")
        destination = str(addrs[0])
    check_addresses(sources, destination)
    if bridge:
        check_bridge(attach_path, bridge, target)
    udp_listening = _udp_listening(target) if "udp" in protocols else None
    started = time.time()
    with VantagePoint(attach_path, sources, destination=destination, bridge=bridge) as vp, _Progress(
            len(sources) * len(protocols)) as progress:
        assert vp.ns is not None
        entries = []
        method = "syn"
        for src in sources:
            if "tcp" in protocols:
                rows, method = run_in_namespace(vp.ns.path, synscan.syn_scan, [src], destination, ports)
                entries += synscan.ranges(rows, "tcp")
                progress.advance(f"tcp from {src}")
            if "udp" in protocols:
                rows = run_in_namespace(vp.ns.path, synscan.udp_scan, [src], destination, ports)
                entries += synscan.ranges(_resolve_udp(rows, udp_listening), "udp")
                progress.advance(f"udp from {src}")
        return [ScanResult(str(target), vp.arrival_interface, destination, tuple(entries), method,
                           time.time() - started)]


def _udp_listening(target: Target) -> set[int] | None:
    """UDP ports with a socket on the target (when we can read it): a silent port with no
    socket cannot be open — the local view turns open|filtered into filtered there."""
    from auditor.collect.sockets import collect_listeners

    path = namespace_path(target)
    try:
        return {l.port for l in run_in_namespace(path, collect_listeners) if l.protocol == "udp"}
    except Exception:  # noqa: BLE001 - the local view is an aid, not a requirement
        return None


def _resolve_udp(rows, listening: set[int] | None):
    if listening is None:
        return rows
    return [(s, p, "filtered", "no-response; nothing listens there (local view)")
            if state == "open_filtered" and p not in listening else (s, p, state, reason)
            for s, p, state, reason in rows]


class _Progress:
    """A progress bar on a terminal (stderr), nothing otherwise."""

    def __init__(self, total: int) -> None:
        import sys

        self._bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._task = self._bar.add_task("scanning", total=total)

    def __enter__(self) -> "_Progress":
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, what: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"scanned {what}")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()


def explain_results(target: Target, results: list[ScanResult]) -> list[dict]:
    """The evaluator's verdict beside each scanned range (for the arrival interface the probe
    really used), with disagreements flagged."""
    from auditor.collect.ruleset import collect_firewall_view
    from auditor.collect.sockets import collect_listeners
    from auditor.engine.crosscheck import compare
    from auditor.engine.evaluate import ExposureQuery, evaluate_exposure

    path = namespace_path(target)
    if target.kind == "container":
        from auditor.collect.docker import container_pid

        path = f"/proc/{container_pid(target.ref)}/ns/net"
    rules, host = run_in_namespace(path, collect_firewall_view)
    listening = {(l.protocol, l.port) for l in run_in_namespace(path, collect_listeners)}
    out = []
    for r in results:
        iface = r.in_interface
        if target.kind == "container":  # the probe crossed the bridge: it arrives on the container's own interface
            iface = interface_holding(host, r.destination, target)
        sources = tuple(sorted({e.source for e in r.entries}))
        exp = evaluate_exposure(rules, host, ExposureQuery(iface, r.destination, sources), target=str(target))
        for c in compare(r, exp, lambda proto, port: (proto, port) in listening):
            out.append({"source": c.source, "protocol": c.protocol, "ports": list(c.ports), "probed": c.probed,
                        "verdict": c.verdict, "agrees": c.agrees,
                        "rule": c.entry.decisive[-1].text if c.entry.decisive else None})
    return out


def interface_holding(host: HostContext, address: str, target: Target) -> str:
    """The interface of ``host`` that carries ``address``: where a probe sent to that address
    over the container's network arrives. Not always ``eth0``: a container on several networks
    has ``eth1``…, and interfaces can be renamed inside the container."""
    wanted = ipaddress.ip_address(address)
    for i in host.interfaces:
        if any(a.ip == wanted for a in i.addresses):
            return i.name
    raise InputError(f"{address} is not an address of {target}: cannot tell where the probe arrived")
