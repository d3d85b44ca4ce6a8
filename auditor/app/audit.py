"""``fwaudit audit`` and ``fwaudit baseline accept``: a host (live, or a snapshot of it) held
against a policy.

A live audit takes the target's audit lock (one audit per network namespace), collects a
snapshot inside the target, optionally probes it from every zone (``--scan``), and evaluates;
an audit of a snapshot file does the same evaluation without touching anything. With a
baseline only the findings that are new since it are reported, with the drift.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from auditor.app.loaders import load_baseline, load_policy, load_snapshot
from auditor.app.scan import explain, scan_destination
from auditor.collect.snapshot import collect_snapshot
from auditor.engine import audit as engine_audit
from auditor.engine.baseline import drift
from auditor.engine.zones import probe_sources
from auditor.errors import InputError
from auditor.model.policy import Policy
from auditor.model.result import AuditResult
from auditor.model.scan import Comparison, ScanResult
from auditor.model.snapshot import HostSnapshot
from auditor.probe.scan import run_scan
from auditor.runlock import audit_lock
from auditor.target.targets import Target, parse_target


@contextmanager
def locked_target(spec: str | None) -> Iterator[Target]:
    """The parsed, resolved target, holding its audit lock (one audit per namespace)."""
    target = parse_target(spec)
    ident = target.identity()
    target.require_entry()
    with audit_lock(str(target), ident):
        yield target


def audit(policy_path: str | os.PathLike[str], *, target: str | None = None, snapshot: str | None = None,
          firewall: bool = True, scan: bool = False, baseline: str | None = None) -> AuditResult:
    """Audit ``target`` (default ``host``) or the snapshot file ``snapshot`` against the policy."""
    started = time.time()
    policy = load_policy(policy_path)
    if snapshot is not None:
        if target is not None:
            raise InputError("give --target or --snapshot, not both")
        if scan:
            raise InputError("--scan probes a live target: it cannot be combined with --snapshot")
        snap = load_snapshot(snapshot)
        if not firewall:
            snap = replace(snap, ruleset=None, host=None, notes=("firewall view not requested",))
        result = engine_audit.audit(policy, snap, started_at=started)
    else:
        with locked_target(target) as tgt:
            snap = tgt.call(collect_snapshot, str(tgt), firewall=firewall)
            probed: tuple[ScanResult, ...] = ()
            comparisons: tuple[tuple[str | None, tuple[Comparison, ...]], ...] = ()
            notes: tuple[str, ...] = ()
            if scan:
                probed, comparisons, notes = _probe_zones(tgt, policy, snap)
            result = engine_audit.audit(policy, snap, started_at=started, probed=probed, comparisons=comparisons,
                                        notes=notes)
    result = replace(result, duration=time.time() - started)
    if baseline is not None:
        new, d = drift(result.findings, load_baseline(baseline), str(baseline))
        result = replace(result, findings=new, drift=d, notes=result.notes + (
            f"baseline {baseline}: {d.new} new, {d.unchanged} unchanged, {len(d.resolved)} resolved finding(s)",))
    return result


def _probe_zones(target: Target, policy: Policy, snap: HostSnapshot
                 ) -> tuple[tuple[ScanResult, ...], tuple[tuple[str | None, tuple[Comparison, ...]], ...], tuple[str, ...]]:
    """``--scan``: probe from each zone's representative address, and compare with the model
    for the interface the probe really arrived on."""
    ports = engine_audit.scanned_ports(policy, snap)
    if not ports:
        return (), (), ("scan skipped: nothing listening or declared",)
    attach = target.attachment()
    destination = scan_destination(target, attach, snap.host)
    udp = {l.port for l in snap.listeners if l.protocol == "udp"}
    probed: list[ScanResult] = []
    comparisons: list[tuple[str | None, tuple[Comparison, ...]]] = []
    notes: list[str] = []
    for zone, rep, why in probe_sources(policy):
        if rep is None:
            notes.append(f"zone {zone} not scanned: {why}")
            continue
        result = run_scan(str(target), attach, [rep], ports, ["tcp", "udp"], destination=destination, udp_listening=udp)
        probed.append(result)
        if snap.ruleset is not None and snap.host is not None:
            comparisons.append((zone, tuple(explain(str(target), attach, snap, result))))
    if probed and snap.ruleset is None:
        notes.append("scan results not compared with the firewall model: there is no firewall view")
    return tuple(probed), tuple(comparisons), tuple(notes)
