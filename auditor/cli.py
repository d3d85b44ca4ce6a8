"""The ``fwaudit`` command line: options in, a use case (:mod:`auditor.app`) called, its result
rendered (:mod:`auditor.report.formats`) and delivered, errors mapped to exit codes.

Wiring only. Heavy modules are imported inside the commands so that ``fwaudit listeners`` on
20,000 sockets does not pay for pydantic, docker or python-iptables.
"""

from __future__ import annotations

import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EnvironmentProblem, FwauditError, InternalError, Terminated
from auditor.untrusted import escape, excerpt

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


# Choices of options, as typer wants them: the renderers' format names
# (auditor.report.formats; a test holds them equal), the severities, the protocols.
class OutputFormat(StrEnum):
    text = "text"
    json = "json"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    sarif = "sarif"
    prometheus = "prometheus"
    html = "html"


class VerifyFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    sarif = "sarif"


class FleetFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"
    junit = "junit"
    prometheus = "prometheus"


class FailOn(StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Protocols(StrEnum):
    tcp = "tcp"
    udp = "udp"
    all = "all"


TargetOpt = Annotated[
    str | None,
    typer.Option("--target", "-t", help="Where to look: host (root network namespace, the default), netns:NAME, "
                                        "pid:PID, container:NAME."),
]
SnapshotOpt = Annotated[
    str | None,
    typer.Option("--snapshot", help="A snapshot file ('fwaudit snapshot') instead of a live target: no root needed."),
]
RulesetsOpt = Annotated[
    list[str] | None,
    typer.Option("--ruleset", "-r", help="Ruleset file (iptables-save, nft or ipset save); repeatable. Prefix "
                                         "iptables:/ip6tables:/nft:/ipset: to force the format. Files are taken as loaded "
                                         "in the order given (at equal priority the chain loaded last runs first)."),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
PolicyOpt = Annotated[Path, typer.Option("--policy", "-p", help="Policy file (YAML).")]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write the report to this regular file (atomically, keeping its mode) instead of stdout; - is "
                           "stdout.")]
FailOnOpt = Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 if a finding has at least this severity.")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print nothing unless there are findings at or above --fail-on (for cron).")]


def _emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _deliver(text: str, output: Path | None, *, quiet: bool = False, failing: bool = False) -> None:
    """To ``--output`` (atomically), else to stdout unless ``--quiet`` and nothing fails."""
    if output is not None:
        from auditor.report.output import write_output

        write_output(output, text)
    elif not quiet or failing:
        _emit(text)


def _render(kind: str, fmt: StrEnum, *args: object) -> str:
    from auditor.report.formats import render

    return render(kind, fmt.value, *args)


@app.command()
def listeners(target: TargetOpt = None, fmt: FormatOpt = OutputFormat.text) -> None:
    """List listening TCP and bound UDP sockets (IPv4 and IPv6) with their processes."""
    from auditor.app.listeners import listeners as run

    _emit(run(target or "host", fmt.value))


@app.command()
def exposure(
    in_interface: Annotated[str, typer.Option("--in-interface", "-i", help="Interface the connections arrive on.")],
    target: Annotated[str | None, typer.Option(
        "--target", "-t", help="Read the live rules of host, netns:NAME, pid:PID or container:NAME.")] = None,
    ruleset: RulesetsOpt = None,
    snapshot: SnapshotOpt = None,
    destination: Annotated[str | None, typer.Option(
        "--destination", "-d", help="Destination address (default: the interface's primary address; required "
                                    "with --ruleset).")] = None,
    source: Annotated[list[str] | None, typer.Option(
        "--source", "-s", help="Source address or CIDR; repeatable (default: everything).")] = None,
    zone: Annotated[list[str] | None, typer.Option(
        "--zone", "-z", help="Policy zone to use as sources; repeatable (needs --policy).")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", "-p", help="Policy file defining the zones.")] = None,
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", help="Offline only: NAME=ADDR/LEN of the host, repeatable (for DNAT/addrtype decisions).")] = None,
    forwarding: Annotated[bool | None, typer.Option(
        "--forwarding/--no-forwarding", help="Offline only: whether the host forwards (DNAT to other "
                                             "hosts/containers); unknown if not given.")] = None,
    bridge: Annotated[list[str] | None, typer.Option(
        "--bridge", help="Offline only: NAME is a bridge with ports and br_netfilter on "
                         "(bridge-nf-call-iptables=1), so a REJECT's TCP reset leaves by the port directly; "
                         "repeatable.")] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """What the firewall does with every new inbound TCP/UDP connection, per source and port
    range, and which rule decided it (live from a target, from a snapshot, or offline from
    ruleset files)."""
    from auditor.app.exposure import exposure as run

    parts = run(in_interface=in_interface, target=target, rulesets=ruleset or [], snapshot=snapshot,
                destination=destination, sources=source or [], zones=zone or [], policy=policy,
                interfaces=interface or [], forwarding=forwarding, bridges=bridge or [])
    _emit(_render("exposure", fmt, parts))


@app.command()
def rules(
    target: Annotated[str | None, typer.Option("--target", "-t", help="host, netns:NAME, pid:PID or container:NAME.")] = None,
    ruleset: RulesetsOpt = None,
    snapshot: SnapshotOpt = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Show the firewall as fwaudit reads it: every table, chain and rule of every backend, with
    the parts it does not understand marked."""
    from auditor.app.rules import rules as run

    _emit(_render("rules", fmt, run(target=target, rulesets=ruleset or [], snapshot=snapshot)))


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="Policy file (YAML) to validate.")],
) -> None:
    """Validate a policy file and say what it declares; exit 2 with file:line on errors."""
    from auditor.app.policy import check

    _emit(check(file))


@policy_app.command("init")
def policy_init(target: TargetOpt = None, snapshot: SnapshotOpt = None, output: OutputOpt = None) -> None:
    """Draft a policy from what the target (or a snapshot of it) exposes now: listeners, and
    zones the firewall admits them from, for a human to review."""
    from auditor.app.policy import init

    _deliver(init(target=target, snapshot=snapshot), output)


@app.command()
def audit(
    policy: PolicyOpt,
    target: TargetOpt = None,
    snapshot: SnapshotOpt = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.text,
    output: OutputOpt = None,
    fail_on: FailOnOpt = FailOn.high,
    quiet: QuietOpt = False,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", help="Report only findings that are new since this accepted JSON report (drift).")] = None,
    no_firewall: Annotated[bool, typer.Option(
        "--no-firewall", help="Skip the firewall view (declared vs listening only).")] = False,
    scan: Annotated[bool, typer.Option(
        "--scan", help="Also probe the target from each zone (a representative address per zone) and flag "
                       "model/probe disagreements (FWA107).")] = False,
) -> None:
    """Reconcile declared, listening and firewall views into findings; exit 1 on findings at or
    above --fail-on. One audit per target runs at a time (a second one exits with a message)."""
    from auditor.app.audit import audit as run
    from auditor.app.options import parse_severity

    result = run(policy, target=target, snapshot=snapshot, firewall=not no_firewall, scan=scan,
                 baseline=str(baseline) if baseline is not None else None)
    failing = bool(result.at_or_above(parse_severity(fail_on.value)))
    _deliver(_render("audit", fmt, result), output, quiet=quiet, failing=failing)
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


@baseline_app.command("accept")
def baseline_accept(
    policy: PolicyOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to store the baseline (JSON report).")],
    target: TargetOpt = None,
) -> None:
    """Audit now and store the result as the accepted baseline for later --baseline runs."""
    from auditor.app.audit import audit as run
    from auditor.report.formats import render
    from auditor.report.output import write_output

    result = run(policy, target=target)
    write_output(output, render("audit", "json", result))
    _emit(escape(f"baseline accepted: {len(result.findings)} finding(s) of {result.target} recorded in {output}"))


@fleet_app.command("report")
def fleet_report(
    paths: Annotated[list[Path], typer.Argument(
        metavar="PATH...", help="Host reports: audit JSON files or {host, status, error} records, or directories of them "
                                "(*.json).")],
    fmt: Annotated[FleetFormat, typer.Option("--format", "-f", help="Report format.")] = FleetFormat.text,
    output: OutputOpt = None,
    fail_on: FailOnOpt = FailOn.high,
    keep_going: Annotated[bool, typer.Option(
        "--keep-going", help="Report the other hosts even if some files are not host reports (exit 2 all the same).")] = False,
) -> None:
    """Merge per-host audit reports into one fleet report: per host status, counts and worst
    finding; per finding and port the hosts that have it. Exit 1 when a host has a finding at
    or above --fail-on or could not be audited; 2 when a file is not a host report."""
    from auditor.app.fleet import fleet
    from auditor.app.options import parse_severity
    from auditor.errors import InputError

    # evidence and deciding rules are shown only by the HTML report
    merged = fleet([str(p) for p in paths], details=fmt.value == "html")
    for p in merged.problems:
        sys.stderr.write(f"fwaudit: error: {p.message}\n")
    if merged.problems and not keep_going:
        sys.stderr.write("fwaudit: no fleet report written (--keep-going reports the other hosts)\n")
        raise typer.Exit(EXIT_INPUT)
    if not merged.hosts:
        raise InputError("no host reports to merge")
    failing = bool(merged.failing(parse_severity(fail_on.value)))
    _deliver(_render("fleet", fmt, merged), output, failing=failing)
    if merged.problems:
        raise typer.Exit(EXIT_INPUT)
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def verify(
    policy: PolicyOpt,
    ruleset: Annotated[list[str], typer.Option(
        "--ruleset", "-r", help="Candidate ruleset file (iptables-save or nft); repeatable, taken as loaded in the order "
                                "given (at equal priority the chain loaded last runs first).")],
    interface: Annotated[list[str], typer.Option(
        "--interface", help="NAME=ADDR/LEN of the host the ruleset is for; repeatable, at least one.")],
    fmt: Annotated[VerifyFormat, typer.Option("--format", "-f", help="Report format.")] = VerifyFormat.text,
    output: OutputOpt = None,
    fail_on: FailOnOpt = FailOn.high,
    forwarding: Annotated[bool, typer.Option(
        "--forwarding/--no-forwarding", help="Whether the host forwards (DNAT to other hosts/containers).")] = False,
    against: Annotated[list[str] | None, typer.Option(
        "--against", help="Older ruleset file(s): show what the candidate opens or closes compared to them.")] = None,
    against_target: Annotated[str | None, typer.Option(
        "--against-target", help="Live target to compare the candidate with.")] = None,
    prove: Annotated[bool, typer.Option(
        "--prove", help="Also load the candidate into a throwaway lab copy of the host (root) and probe it from every"
                        " zone.")] = False,
) -> None:
    """Check candidate ruleset files against the policy before they ship: every declared
    service reachable from its zones, nothing undeclared reachable (no root needed)."""
    from auditor.app.options import parse_severity
    from auditor.app.verify import verify as run

    result = run(policy, ruleset, interface, forwarding=forwarding, against=against or [],
                 against_target=against_target, prove=prove)
    failing = bool(result.at_or_above(parse_severity(fail_on.value)))
    _deliver(_render("audit", fmt, result), output, failing=failing)
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def scan(
    target: Annotated[str, typer.Option("--target", "-t", help="netns:NAME, pid:PID, container:NAME or host.")],
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Source address to probe from; repeatable.")] = None,
    zone: Annotated[list[str] | None, typer.Option(
        "--zone", "-z", help="Probe from a representative address of this policy zone; repeatable.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", "-p", help="Policy file defining the zones.")] = None,
    ports: Annotated[str, typer.Option("--ports", help="Ports, e.g. 1-1024,8080.")] = "1-1024",
    protocol: Annotated[Protocols, typer.Option("--protocol", help="tcp, udp or all.")] = Protocols.tcp,
    destination: Annotated[str | None, typer.Option(
        "--destination", "-d", help="Address to scan (default: the target's first address / the container's).")] = None,
    bridge: Annotated[str | None, typer.Option(
        "--bridge", help="Attach to this bridge of the target instead of a dedicated veth.")] = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Put the static verdict beside each scanned range and flag disagreements.")] = False,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """Probe the target from a vantage-point namespace fwaudit creates (and removes): SYN scan
    for TCP (connect scan without raw sockets), payload probes for UDP."""
    from auditor.app.scan import scan as run

    result, comparisons = run(target, sources=source or [], zones=zone or [], policy=policy, ports=ports,
                              protocol=protocol.value, destination=destination, bridge=bridge, with_explain=explain)
    _emit(_render("scan", fmt, result, comparisons))


@app.command()
def snapshot(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the snapshot (JSON); - is stdout.")],
    target: TargetOpt = None,
) -> None:
    """Record the target once — listeners, every backend's ruleset, interfaces and routes — for
    audit/exposure/rules/policy init --snapshot elsewhere, without root (read-only; needs root)."""
    from auditor.app.snapshot import snapshot as run
    from auditor.report.output import STDOUT_NAMES, write_output

    snap, text = run(target)
    write_output(output, text)
    if str(output) not in STDOUT_NAMES:
        rules = f"{len(snap.ruleset.rules)} rules in {len(snap.ruleset.tables)} tables" if snap.ruleset else "no firewall view"
        _emit(escape(f"snapshot of {snap.target}: {len(snap.listeners)} listening sockets, {rules}; written to {output}"))


@app.command()
def checks(fmt: FormatOpt = OutputFormat.text) -> None:
    """List every check fwaudit runs: id, title and severity (for --fail-on and baselines)."""
    from auditor.app.checks import checks as run

    _emit(_render("checks", fmt, run()))


@app.command()
def cleanup() -> None:
    """Remove what an interrupted scan or verify --prove left behind (fwa-probe-*/fwa-prove-*
    namespaces, journaled veths and routes) and nothing else; says only what it really removed."""
    from auditor.app.lab import cleanup as run

    removed, refused = run()
    _emit(escape("cleanup: " + (("removed " + ", ".join(removed)) if removed else "nothing left behind")))
    if refused:
        raise EnvironmentProblem("left alone (not written by fwaudit as it is now, or not private): "
                                 + "; ".join(refused))


LabPrefixOpt = Annotated[str, typer.Option(
    "--prefix", help="Name prefix of the lab's namespaces (fwa-…), to keep several labs apart.")]


@lab_app.command("up")
def lab_up(prefix: LabPrefixOpt = "fwa-lab-") -> None:
    """Build the demo lab (replacing an existing one with the same prefix). Needs root."""
    from auditor.app.lab import lab_up as up

    info = up(prefix)
    down = "fwaudit lab down" + ("" if prefix == "fwa-lab-" else f" --prefix {prefix}")
    _emit(
        f"lab up: host namespace {info.host} (lan0 198.18.0.2/24, wan0 198.19.0.2/24), "
        f"clients {', '.join(info.namespaces[1:])}\n"
        f"audit it: fwaudit audit --policy policies/demo.yaml --target netns:{info.host}\n"
        f"remove it: {down}"
    )


@lab_app.command("down")
def lab_down(prefix: LabPrefixOpt = "fwa-lab-") -> None:
    """Remove the demo lab (the namespaces with the prefix and what runs in them)."""
    from auditor.app.lab import lab_down as down

    gone = down(prefix)
    _emit(f"lab down: removed {', '.join(gone)}" if gone else "lab down: nothing to remove")


def main() -> None:
    """Console entry point: run the app, turning user-facing errors into messages and exit codes.

    Typer's standalone mode already maps usage errors to exit 2; our own errors carry their
    exit code (2 bad input, 3 environment, 70 a bug). SIGTERM and SIGINT unwind the command
    (undoing what it changed) and exit 143 / 130 with one line saying so. Anything else that
    escapes is a bug: one line naming it, exit 70 — never a traceback, and never exit 1, which
    means "findings" to cron (``FWAUDIT_DEBUG=1`` shows the traceback).
    """
    import os

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
        sys.exit(EnvironmentProblem.exit_code)
    except Exception as e:
        if os.environ.get("FWAUDIT_DEBUG"):
            raise
        sys.stderr.write(f"fwaudit: internal error: {type(e).__name__}: {excerpt(str(e), 200)} "
                         "(a bug in fwaudit; FWAUDIT_DEBUG=1 shows where)\n")
        sys.exit(InternalError.exit_code)
