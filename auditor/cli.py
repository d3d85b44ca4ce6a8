"""The ``fwaudit`` command line: parse options, call the layers, render, map errors to exit codes.

No logic lives here. Heavy modules are imported inside the commands so that ``fwaudit
listeners`` on 20,000 sockets does not pay for pydantic, docker or python-iptables.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Iterator, Optional

import typer

from auditor.errors import EnvironmentProblem, FwauditError, Terminated
from auditor.untrusted import escape

if TYPE_CHECKING:
    from auditor.collect.target import Target
    from auditor.model.policy import Policy
    from auditor.model.result import AuditResult

app = typer.Typer(
    name="fwaudit",
    help=(
        "Audit what on a Linux host can be reached, from where, and whether that is what you "
        "declared: policy (declared) vs sockets (listening) vs firewall rules (evaluated) vs "
        "probes (scanned)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
policy_app = typer.Typer(help="Validate or draft policy files.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
lab_app = typer.Typer(
    help="The built-in demo lab: a misconfigured host in network namespaces (198.18.0.0/15).",
    no_args_is_help=True,
)
app.add_typer(lab_app, name="lab")
baseline_app = typer.Typer(help="Accept an audit as the baseline that --baseline compares against.",
                           no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")
fleet_app = typer.Typer(help="Merge the audit reports of many hosts (e.g. from contrib/ansible) into one fleet report.",
                        no_args_is_help=True)
app.add_typer(fleet_app, name="fleet")


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"
    sarif = "sarif"
    prometheus = "prometheus"
    html = "html"


class FailOn(str, Enum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


TargetOpt = Annotated[
    str,
    typer.Option(
        "--target", "-t",
        help="Where to look: host (root network namespace), netns:NAME, pid:PID, container:NAME.",
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def listeners(target: TargetOpt = "host", fmt: FormatOpt = OutputFormat.text) -> None:
    """List listening TCP and bound UDP sockets (IPv4 and IPv6) with their processes."""
    from auditor.collect.target import parse_target, run_in_target

    tgt = parse_target(target)
    # Rendered where it is collected: 20,000 sockets cross the namespace boundary as one string.
    _emit(run_in_target(tgt, _listeners_report, str(tgt), fmt.value))


def _listeners_report(label: str, fmt: str) -> str:
    from auditor.collect.sockets import collect_listeners
    from auditor.report.listeners import listeners_json, listeners_text

    found = collect_listeners()
    return listeners_json(label, found) if fmt == "json" else listeners_text(label, found)


@app.command()
def exposure(
    target: Annotated[Optional[str], typer.Option("--target", "-t", help="Read the live rules of host, netns:NAME, pid:PID or container:NAME.")] = None,
    ruleset: Annotated[Optional[list[str]], typer.Option("--ruleset", "-r", help="Ruleset file (iptables-save or nft); repeatable. Prefix iptables:/ip6tables:/nft:/ipset: to force the format. Files are taken as loaded in the order given (at equal priority the chain loaded last runs first).")] = None,
    in_interface: Annotated[str, typer.Option("--in-interface", "-i", help="Interface the connections arrive on.")] = ...,  # type: ignore[assignment]
    destination: Annotated[Optional[str], typer.Option("--destination", "-d", help="Destination address (default: the interface's primary address; required with --ruleset).")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="Source address or CIDR; repeatable (default: everything).")] = None,
    zone: Annotated[Optional[list[str]], typer.Option("--zone", "-z", help="Policy zone to use as sources; repeatable (needs --policy).")] = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", "-p", help="Policy file defining the zones.")] = None,
    interface: Annotated[Optional[list[str]], typer.Option("--interface", help="Offline only: NAME=ADDR/LEN of the host, repeatable (for DNAT/addrtype decisions).")] = None,
    forwarding: Annotated[Optional[bool], typer.Option("--forwarding/--no-forwarding", help="Offline only: whether the host forwards (DNAT to other hosts/containers); unknown if not given.")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """What the firewall does with every new inbound TCP/UDP connection, per source and port
    range, and which rule decided it (live from a target or offline from ruleset files)."""
    from auditor.engine.exposure import exposures
    from auditor.report.exposure import exposure_json, exposure_text

    if (target is None) == (not ruleset):
        raise typer.BadParameter("give exactly one of --target or --ruleset")
    pol = None
    if policy is not None:
        from auditor.engine.policy import load_policy

        pol = load_policy(policy)
    if target is not None:
        from auditor.collect.target import parse_target, run_in_target
        from auditor.engine.exposure import live_exposures

        tgt = parse_target(target)
        parts = run_in_target(
            tgt, live_exposures, str(tgt), in_interface, destination,
            sources=source or [], zones=zone or [], policy=pol,
        )
    else:
        from auditor.collect.host import offline_host
        from auditor.collect.ruleset import read_ruleset_files

        if destination is None:
            raise typer.BadParameter("--destination is required with --ruleset")
        rules = read_ruleset_files(list(ruleset or []))
        host = offline_host(_interfaces(in_interface, destination, interface or []), forwarding=forwarding)
        parts = exposures(
            rules, host, target=rules.source, in_interface=in_interface, destination=destination,
            sources=source or [], zones=zone or [], policy=pol,
        )
    _emit(exposure_json(parts) if fmt is OutputFormat.json else exposure_text(parts))


def _interfaces(in_interface: str, destination: str, specs: list[str]) -> dict[str, list[str]]:
    import ipaddress

    out: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, addr = spec.partition("=")
        try:
            ipaddress.ip_interface(addr)
        except ValueError:
            raise typer.BadParameter(f"--interface {spec!r}: expected NAME=ADDR/LEN") from None
        if not sep or not name:
            raise typer.BadParameter(f"--interface {spec!r}: expected NAME=ADDR/LEN")
        out.setdefault(name, []).append(addr)
    try:
        ipaddress.ip_address(destination)
    except ValueError:
        raise typer.BadParameter(f"--destination {destination!r} is not an address") from None
    out.setdefault(in_interface, []).append(destination)
    return out


@app.command()
def rules(
    target: Annotated[Optional[str], typer.Option("--target", "-t", help="host, netns:NAME, pid:PID or container:NAME.")] = None,
    ruleset: Annotated[Optional[list[str]], typer.Option("--ruleset", "-r", help="Ruleset file; repeatable, taken as loaded in the order given.")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Show the firewall as fwaudit reads it: every table, chain and rule of every backend, with
    the parts it does not understand marked."""
    from auditor.report.rules import rules_json, rules_text

    if (target is None) == (not ruleset):
        raise typer.BadParameter("give exactly one of --target or --ruleset")
    if target is not None:
        from auditor.collect.ruleset import collect_ruleset
        from auditor.collect.target import parse_target, run_in_target

        tgt = parse_target(target)
        rs = run_in_target(tgt, collect_ruleset)
        label = str(tgt)
    else:
        from auditor.collect.ruleset import read_ruleset_files

        rs = read_ruleset_files(list(ruleset or []))
        label = rs.source
    _emit(rules_json(label, rs) if fmt is OutputFormat.json else rules_text(label, rs))


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="Policy file (YAML) to validate.")],
) -> None:
    """Validate a policy file and say what it declares; exit 2 with file:line on errors."""
    from auditor.engine.policy import load_policy

    pol = load_policy(file)
    names = {s.name for s in pol.services}
    _emit(escape(
        f"{file}: valid policy {pol.name!r}: {len(pol.zones)} zone(s), "
        f"{len(names)} service(s) ({len(pol.services)} protocol/port entries), default {pol.default}"
    ))


PolicyOpt = Annotated[Path, typer.Option("--policy", "-p", help="Policy file (YAML).")]
ReportFormatOpt = Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to this regular file (atomically, keeping its mode) instead of stdout; - is stdout.")]
FailOnOpt = Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 if a finding has at least this severity.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless there are findings at or above --fail-on (for cron).")]


def _render_report(result, fmt: ReportFormat, extra: dict | None = None) -> str:
    if fmt is ReportFormat.json:
        from auditor.report.audit_json import render_audit_json

        return render_audit_json(result, extra)
    if fmt is ReportFormat.junit:
        from auditor.report.junit import render_junit

        return render_junit(result)
    if fmt is ReportFormat.sarif:
        from auditor.report.sarif import render_sarif

        return render_sarif(result, Path.cwd())
    if fmt is ReportFormat.prometheus:
        from auditor.report.prometheus import render_prometheus

        return render_prometheus(result)
    if fmt is ReportFormat.html:
        from auditor.report.html import render_audit_html

        return render_audit_html(result, extra)
    from auditor.report.audit_text import render_audit_text

    return render_audit_text(result)


def _deliver(text: str, output: Optional[Path], quiet: bool, failing: bool) -> None:
    if output is not None:
        from auditor.report.output import write_output

        write_output(output, text)
    elif not quiet or failing:
        _emit(text)


@contextmanager
def _locked_target(target: str) -> Iterator[Target]:
    """The parsed, resolved target, holding its audit lock (one audit per namespace)."""
    from auditor.collect.target import namespace_stat, parse_target, require_entry
    from auditor.runlock import audit_lock

    tgt = parse_target(target)
    ident = namespace_stat(tgt)
    require_entry(tgt)
    with audit_lock(str(tgt), ident):
        yield tgt


def _audit(pol: Policy, tgt: Target, no_firewall: bool, started: float) -> AuditResult:
    from auditor.collect.target import run_in_target
    from auditor.engine.audit import collect_views, run_audit

    listeners, ruleset, host, notes = run_in_target(tgt, collect_views, not no_firewall)
    return run_audit(pol, listeners, target=str(tgt), started_at=started, ruleset=ruleset, host=host, notes=notes)


@app.command()
def audit(
    policy: PolicyOpt,
    target: TargetOpt = "host",
    fmt: ReportFormatOpt = ReportFormat.text,
    output: OutputOpt = None,
    fail_on: FailOnOpt = FailOn.high,
    quiet: QuietOpt = False,
    baseline: Annotated[Optional[Path], typer.Option("--baseline", help="Report only findings that are new since this accepted JSON report (drift).")] = None,
    no_firewall: Annotated[bool, typer.Option("--no-firewall", help="Skip the firewall view (declared vs listening only).")] = False,
    scan: Annotated[bool, typer.Option("--scan", help="Also probe the target from each zone (a representative address per zone) and flag model/probe disagreements (FWA107).")] = False,
) -> None:
    """Reconcile declared, listening and firewall views into findings; exit 1 on findings at or
    above --fail-on. One audit per target runs at a time (a second one exits with a message)."""
    import time

    from auditor.engine.policy import load_policy
    from auditor.model.finding import Severity

    extra = None
    started = time.time()
    pol = load_policy(policy)
    with _locked_target(target) as tgt:
        result = _audit(pol, tgt, no_firewall, started)
        if scan:
            from auditor.engine.audit import with_probes

            result = with_probes(result, target)
    if baseline is not None:
        from dataclasses import replace

        from auditor.engine.baseline import drift, load_baseline_ids

        d = drift(result.findings, load_baseline_ids(baseline))
        result = replace(result, findings=d.new, notes=result.notes + (
            f"baseline {baseline}: {len(d.new)} new, {d.unchanged} unchanged, {len(d.resolved)} resolved finding(s)",))
        extra = {"drift": {"baseline": str(baseline), "new": len(d.new), "unchanged": d.unchanged,
                           "resolved": list(d.resolved)}}
    failing = bool(result.at_or_above(Severity.parse(fail_on.value)))
    _deliver(_render_report(result, fmt, extra), output, quiet, failing)
    if failing:
        raise typer.Exit(1)


@baseline_app.command("accept")
def baseline_accept(
    policy: PolicyOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to store the baseline (JSON report).")],
    target: TargetOpt = "host",
) -> None:
    """Audit now and store the result as the accepted baseline for later --baseline runs."""
    import time

    from auditor.engine.policy import load_policy
    from auditor.report.audit_json import render_audit_json
    from auditor.report.output import write_output

    started = time.time()
    pol = load_policy(policy)
    with _locked_target(target) as tgt:
        result = _audit(pol, tgt, False, started)
    write_output(output, render_audit_json(result))
    _emit(escape(f"baseline accepted: {len(result.findings)} finding(s) of {result.target} recorded in {output}"))


class FleetFormat(str, Enum):
    text = "text"
    json = "json"
    html = "html"
    junit = "junit"
    prometheus = "prometheus"


@fleet_app.command("report")
def fleet_report(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Host reports: audit JSON files or {host, status, error} records, or directories of them (*.json).")],
    fmt: Annotated[FleetFormat, typer.Option("--format", "-f", help="Report format.")] = FleetFormat.text,
    output: OutputOpt = None,
    fail_on: FailOnOpt = FailOn.high,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Report the other hosts even if some files are not host reports (exit 2 all the same).")] = False,
) -> None:
    """Merge per-host audit reports into one fleet report: per host status, counts and worst
    finding; per finding and port the hosts that have it. Exit 1 when a host has a finding at
    or above --fail-on or could not be audited; 2 when a file is not a host report."""
    import time

    from auditor.collect.host_reports import read_host_reports
    from auditor.engine.fleet import merge_fleet
    from auditor.errors import EXIT_INPUT, InputError
    from auditor.model.finding import Severity
    from auditor.report.fleet import render_fleet

    # evidence and deciding rules are shown only by the HTML report
    reports, problems = read_host_reports([str(p) for p in paths], details=fmt is FleetFormat.html)
    fleet = merge_fleet(reports, problems, generated_at=time.time())
    for p in fleet.problems:
        sys.stderr.write(f"fwaudit: error: {p.message}\n")
    if fleet.problems and not keep_going:
        sys.stderr.write("fwaudit: no fleet report written (--keep-going reports the other hosts)\n")
        raise typer.Exit(EXIT_INPUT)
    if not fleet.hosts:
        raise InputError("no host reports to merge")
    failing = bool(fleet.failing(Severity.parse(fail_on.value)))
    _deliver(render_fleet(fleet, fmt.value), output, False, failing)
    if fleet.problems:
        raise typer.Exit(EXIT_INPUT)
    if failing:
        raise typer.Exit(1)


@policy_app.command("init")
def policy_init(
    target: TargetOpt = "host",
    output: OutputOpt = None,
) -> None:
    """Draft a policy from what the target exposes now (listeners, and zones the firewall admits
    them from), for a human to review."""
    from auditor.collect.target import parse_target, run_in_target
    from auditor.engine.audit import collect_views
    from auditor.engine.policy import parse_policy
    from auditor.engine.policy_draft import draft_policy, draft_zones, zones_policy
    from auditor.engine.zones import zone_exposures

    tgt = parse_target(target)
    listeners, ruleset, host, _ = run_in_target(tgt, collect_views, True)
    views = ()
    if ruleset is not None and host is not None:
        stub = parse_policy(zones_policy(draft_zones(host)), "<draft>")
        views = zone_exposures(ruleset, host, stub, target=str(tgt))
    from auditor.model.host import HostContext

    text = draft_policy(str(tgt), listeners, host or HostContext(), views)
    parse_policy(text, "<draft>")  # the draft must itself be a valid policy
    _deliver(text, output, False, False)


@app.command()
def verify(
    policy: PolicyOpt,
    ruleset: Annotated[list[str], typer.Option("--ruleset", "-r", help="Candidate ruleset file (iptables-save or nft); repeatable, taken as loaded in the order given (at equal priority the chain loaded last runs first).")],
    interface: Annotated[list[str], typer.Option("--interface", help="NAME=ADDR/LEN of the host the ruleset is for; repeatable, at least one.")],
    fmt: ReportFormatOpt = ReportFormat.text,
    output: OutputOpt = None,
    fail_on: FailOnOpt = FailOn.high,
    forwarding: Annotated[bool, typer.Option("--forwarding/--no-forwarding", help="Whether the host forwards (DNAT to other hosts/containers).")] = False,
    against: Annotated[Optional[list[str]], typer.Option("--against", help="Older ruleset file(s): show what the candidate opens or closes compared to them.")] = None,
    against_target: Annotated[Optional[str], typer.Option("--against-target", help="Live target to compare the candidate with.")] = None,
    prove: Annotated[bool, typer.Option("--prove", help="Also load the candidate into a throwaway lab copy of the host (root) and probe it from every zone.")] = False,
) -> None:
    """Check candidate ruleset files against the policy before they ship: every declared
    service reachable from its zones, nothing undeclared reachable (no root needed)."""
    import time

    from auditor.collect.host import offline_host
    from auditor.collect.ruleset import read_ruleset_files
    from auditor.engine.audit import sort_findings
    from auditor.engine.policy import load_policy
    from auditor.engine.verify import diff_views, verify_findings
    from auditor.engine.zones import zone_exposures
    from auditor.model.finding import Severity
    from auditor.model.result import AuditResult

    started = time.time()
    pol = load_policy(policy)
    ifaces: dict[str, list[str]] = {}
    for spec in interface:
        name, sep, addr = spec.partition("=")
        if not sep or not name or "/" not in addr:
            raise typer.BadParameter(f"--interface {spec!r}: expected NAME=ADDR/LEN")
        ifaces.setdefault(name, []).append(addr)
    try:
        host = offline_host(ifaces, forwarding=forwarding)
    except ValueError as e:
        raise typer.BadParameter(f"--interface: {e}") from None
    rules = read_ruleset_files(list(ruleset))
    views = zone_exposures(rules, host, pol, target=rules.source)
    findings, checks = verify_findings(pol, views)
    notes: tuple[str, ...] = rules.notes
    if prove:
        from auditor.collect.target import require_root
        from auditor.probe.prove import prove as run_proof

        require_root("--prove (building a lab copy of the host)")
        proof_findings, proof_notes = run_proof(pol, list(ruleset), ifaces, views)
        findings += tuple(proof_findings)
        notes += tuple(proof_notes)
    extra = None
    if against or against_target:
        if against:
            old = read_ruleset_files(list(against))
            label = ", ".join(against)
        else:
            from auditor.collect.ruleset import collect_ruleset
            from auditor.collect.target import parse_target, run_in_target

            old = run_in_target(parse_target(against_target), collect_ruleset)
            label = against_target
        changes = diff_views(zone_exposures(old, host, pol, target=label), views)
        notes += tuple(
            f"vs {label}: zone {c.zone} {c.source} {c.protocol} "
            f"{c.ports[0] if c.ports[0] == c.ports[1] else f'{c.ports[0]}-{c.ports[1]}'}: {c.before} -> {c.after}"
            for c in changes
        ) or (f"vs {label}: no change in reachability",)
        extra = {"diff": [c.__dict__ for c in changes]}
    result = AuditResult(
        target=rules.source, policy=pol, listening=(), findings=sort_findings(findings), started_at=started,
        duration=time.time() - started, ruleset=rules, firewall=views, notes=notes, checks=checks,
    )
    failing = bool(result.at_or_above(Severity.parse(fail_on.value)))
    _deliver(_render_report(result, fmt, extra), output, False, failing)
    if failing:
        raise typer.Exit(1)


class Protocols(str, Enum):
    tcp = "tcp"
    udp = "udp"
    all = "all"


@app.command()
def scan(
    target: Annotated[str, typer.Option("--target", "-t", help="netns:NAME, pid:PID, container:NAME or host.")],
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="Source address to probe from; repeatable.")] = None,
    zone: Annotated[Optional[list[str]], typer.Option("--zone", "-z", help="Probe from a representative address of this policy zone; repeatable.")] = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", "-p", help="Policy file defining the zones.")] = None,
    ports: Annotated[str, typer.Option("--ports", help="Ports, e.g. 1-1024,8080.")] = "1-1024",
    protocol: Annotated[Protocols, typer.Option("--protocol", help="tcp, udp or all.")] = Protocols.tcp,
    destination: Annotated[Optional[str], typer.Option("--destination", "-d", help="Address to scan (default: the target's first address / the container's).")] = None,
    bridge: Annotated[Optional[str], typer.Option("--bridge", help="Attach to this bridge of the target instead of a dedicated veth.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Put the static verdict beside each scanned range and flag disagreements.")] = False,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Probe the target from a vantage-point namespace fwaudit creates (and removes): SYN scan
    for TCP (connect scan without raw sockets), payload probes for UDP."""
    from auditor.collect.target import parse_target
    from auditor.probe.scan import parse_ports, run_scan, zone_representatives
    from auditor.report.scan import scan_json, scan_text

    tgt = parse_target(target)
    sources = list(source or [])
    if zone:
        if policy is None:
            raise typer.BadParameter("--zone needs --policy FILE")
        from auditor.engine.policy import load_policy

        sources += list(zone_representatives(load_policy(policy), list(zone)).values())
    if not sources:
        raise typer.BadParameter("give --source or --zone")
    protos = ["tcp", "udp"] if protocol is Protocols.all else [protocol.value]
    results = run_scan(tgt, sources, parse_ports(ports), protos, destination=destination, bridge=bridge)
    notes = None
    if explain:
        from auditor.probe.scan import explain_results

        notes = explain_results(tgt, results)
    _emit(scan_json(results, notes) if fmt is OutputFormat.json else scan_text(results, notes))


@app.command()
def cleanup() -> None:
    """Remove what an interrupted scan or verify --prove left behind (fwa-probe-*/fwa-prove-*
    namespaces, journaled veths and routes) and nothing else; says only what it really removed."""
    from auditor.collect.target import require_root
    from auditor.probe.vantage import cleanup_leftovers

    require_root("cleaning up probe namespaces")
    removed, refused = cleanup_leftovers()
    _emit(escape("cleanup: " + (("removed " + ", ".join(removed)) if removed else "nothing left behind")))
    if refused:
        raise EnvironmentProblem("left alone (not written by fwaudit as it is now, or not private): "
                                 + "; ".join(refused))


@lab_app.command("up")
def lab_up() -> None:
    """Build the demo lab (replacing an existing one). Needs root."""
    from auditor.collect.target import require_root
    from auditor.probe.lab import lab_up as up

    require_root("building the demo lab")
    info = up()
    _emit(
        f"lab up: host namespace {info.host} (lan0 198.18.0.2/24, wan0 198.19.0.2/24), "
        f"clients {', '.join(info.namespaces[1:])}\n"
        f"audit it: fwaudit audit --policy policies/demo.yaml --target netns:{info.host}\n"
        "remove it: fwaudit lab down"
    )


@lab_app.command("down")
def lab_down() -> None:
    """Remove the demo lab and anything an interrupted run left behind."""
    from auditor.collect.target import require_root
    from auditor.probe.lab import lab_down as down

    require_root("removing the demo lab")
    gone = down()
    _emit(f"lab down: removed {', '.join(gone)}" if gone else "lab down: nothing to remove")


def main() -> None:
    """Console entry point: run the app, turning user-facing errors into messages and exit codes.

    Typer's standalone mode already maps usage errors to exit 2; our own errors carry their
    exit code (2 bad input, 3 environment). SIGTERM and SIGINT unwind the command (undoing
    what it changed) and exit 143 / 130 with one line saying so.
    """
    from auditor.interrupts import stop_signals_raise

    try:
        with stop_signals_raise():
            app()
    except FwauditError as e:
        sys.stderr.write(f"fwaudit: error: {escape(e.message)}\n")
        sys.exit(e.exit_code)
    except Terminated as e:
        how = "interrupted" if e.signum == signal.SIGINT else "terminated"
        sys.stderr.write(f"fwaudit: {how} ({signal.Signals(e.signum).name}); changes undone\n")
        sys.exit(e.exit_code)
    except PermissionError as e:
        sys.stderr.write(f"fwaudit: error: permission denied: {escape(str(e.filename or e))} (run as root)\n")
        sys.exit(3)
