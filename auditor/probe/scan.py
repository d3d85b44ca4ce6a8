"""``fwaudit scan``: attach a vantage point to the target and probe it, per source.

The caller says where to attach (:class:`~auditor.target.targets.Attachment`: container targets
are reached through the container's own bridge network in the Docker engine's namespace, so the
probe arrives on the container's real interface), from which sources, to which destination.
Results cover every requested port once per source and protocol. This module only sends
packets and reports what came back; comparing with the firewall model is the caller's job.
"""

from __future__ import annotations

import ipaddress
import re
import sys
import time
from collections.abc import Set
from types import TracebackType

from auditor.errors import InputError
from auditor.model.scan import ScanEntry, ScanResult
from auditor.probe import synscan
from auditor.probe.vantage import VantagePoint
from auditor.target.runner import run_in_namespace
from auditor.target.targets import Attachment, require_root
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
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        info = ipr.get_links(found[0])[0].get_attr("IFLA_LINKINFO")
        return (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""


def check_bridge(namespace: str, bridge: str, target: str) -> None:
    """``--bridge`` must name a bridge in the target (checked before anything is created)."""
    if not _IFNAME.match(bridge):
        raise InputError(f"--bridge {excerpt(bridge)!r} is not an interface name")
    kind = run_in_namespace(namespace, _link_kind, bridge)
    if kind is None:
        raise InputError(f"--bridge {bridge}: {target} has no interface of that name")
    if kind != "bridge":
        raise InputError(f"--bridge {bridge}: that interface of {target} is a {kind or 'plain'} link, not a bridge")


def run_scan(label: str, attach: Attachment, sources: list[str], ports: list[int], protocols: list[str], *,
             destination: str, udp_listening: Set[int] | None = None) -> ScanResult:
    """Probe ``destination`` from every source over ``protocols``, attached as ``attach``
    says; ``label`` names the target in the result. ``udp_listening``: the UDP ports with a
    socket on the target, when known — a silent port with no socket cannot be open, so the
    local view turns open|filtered into filtered there."""
    require_root("scanning from a vantage-point namespace")
    check_addresses(sources, destination)
    if attach.bridge:
        check_bridge(attach.namespace, attach.bridge, label)
    started = time.time()
    with VantagePoint(attach.namespace, sources, destination=destination, bridge=attach.bridge) as vp, _Progress(
            len(sources) * len(protocols)) as progress:
        assert vp.ns is not None
        entries: list[ScanEntry] = []
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
        return ScanResult(label, vp.arrival_interface, destination, tuple(entries), method, time.time() - started)


def _resolve_udp(rows: list[synscan.Row], listening: Set[int] | None) -> list[synscan.Row]:
    if listening is None:
        return rows
    return [(s, p, "filtered", "no-response; nothing listens there (local view)")
            if state == "open_filtered" and p not in listening else (s, p, state, reason)
            for s, p, state, reason in rows]


class _Progress:
    """A progress bar on a terminal (stderr), nothing otherwise."""

    def __init__(self, total: int) -> None:
        from rich.progress import Progress, TaskID

        self._bar: Progress | None = None
        self._task = TaskID(0)
        if sys.stderr.isatty():
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._task = self._bar.add_task("scanning", total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, what: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"scanned {what}")

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
