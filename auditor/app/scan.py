"""``fwaudit scan``: probe a target from a vantage-point namespace, optionally beside the
evaluator's verdicts (``--explain``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from auditor.app.loaders import load_policy
from auditor.collect.host import collect_host
from auditor.collect.snapshot import collect_snapshot
from auditor.collect.sockets import collect_listeners
from auditor.engine.crosscheck import arrival_interface, explain_scan
from auditor.engine.zones import zone_representatives
from auditor.errors import EnvironmentProblem, FwauditError, InputError
from auditor.model.host import HostContext
from auditor.model.scan import Comparison, ScanResult
from auditor.model.snapshot import HostSnapshot
from auditor.probe.scan import parse_ports, run_scan
from auditor.target.targets import Attachment, Target, parse_target, require_root

PROTOCOLS = {"tcp": ["tcp"], "udp": ["udp"], "all": ["tcp", "udp"]}


def scan(target: str, *, sources: Sequence[str] = (), zones: Sequence[str] = (),
         policy: str | os.PathLike[str] | None = None, ports: str = "1-1024", protocol: str = "tcp",
         destination: str | None = None, bridge: str | None = None,
         with_explain: bool = False) -> tuple[ScanResult, list[Comparison] | None]:
    """The scan, and with ``with_explain`` the model's verdict beside every scanned range."""
    require_root("scanning from a vantage-point namespace")
    tgt = parse_target(target)
    froms = list(sources)
    if zones:
        if policy is None:
            raise InputError("--zone needs --policy FILE")
        froms += list(zone_representatives(load_policy(policy), list(zones)).values())
    if not froms:
        raise InputError("give --source or --zone")
    protocols = PROTOCOLS[protocol]
    wanted = parse_ports(ports)
    attach = tgt.attachment()
    if bridge:
        attach = replace(attach, bridge=bridge)
    dest = destination or scan_destination(tgt, attach, None)
    udp = _udp_listening(tgt) if "udp" in protocols else None
    result = run_scan(str(tgt), attach, froms, wanted, protocols, destination=dest, udp_listening=udp)
    if not with_explain:
        return result, None
    snap = tgt.call(collect_snapshot, str(tgt))
    if snap.ruleset is None:
        raise EnvironmentProblem("--explain needs the firewall view of the target: " + "; ".join(snap.notes))
    return result, explain(str(tgt), attach, snap, result)


def scan_destination(target: Target, attach: Attachment, host: HostContext | None) -> str:
    """What a scan is sent to by default: the attachment's address (a container's), else the
    target's first IPv4 address (from ``host``, or read now)."""
    if attach.address is not None:
        return attach.address
    if host is None:
        host = target.call(collect_host)
    addrs = [a.ip for i in host.interfaces if i.name != "lo" for a in i.addresses
             if a.version == 4 and not a.ip.is_loopback]
    if not addrs:
        raise InputError(f"{target} has no IPv4 address to scan; give --destination")
    return str(addrs[0])


def explain(label: str, attach: Attachment, snap: HostSnapshot, result: ScanResult) -> list[Comparison]:
    """The model's verdict beside every range of ``result``, for the interface the probe
    arrived on: the attached one, or, attached elsewhere (a container's network), the
    target's interface that holds the destination."""
    assert snap.ruleset is not None and snap.host is not None
    iface = arrival_interface(snap.host, result.destination, label) if attach.remote else result.in_interface
    return explain_scan(result, snap.ruleset, snap.host, snap.listeners, in_interface=iface, target=label)


def _udp_listening(target: Target) -> set[int] | None:
    """UDP ports with a socket on the target, when they can be read (an aid, not a need)."""
    try:
        return {l.port for l in target.call(collect_listeners) if l.protocol == "udp"}
    except FwauditError:
        return None
