"""The ``fwaudit`` command line: parse options, call the layers, render, map errors to exit codes.

No logic lives here. Heavy modules are imported inside the commands so that ``fwaudit
listeners`` on 20,000 sockets does not pay for pydantic, docker or python-iptables.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from auditor.errors import FwauditError

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


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


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
    from auditor.collect.sockets import collect_listeners
    from auditor.collect.target import parse_target, run_in_target

    tgt = parse_target(target)
    found = run_in_target(tgt, collect_listeners)
    if fmt is OutputFormat.json:
        from auditor.report.listeners import listeners_json

        _emit(listeners_json(str(tgt), found))
    else:
        from auditor.report.listeners import listeners_text

        _emit(listeners_text(str(tgt), found))


@app.command()
def exposure(
    target: Annotated[Optional[str], typer.Option("--target", "-t", help="Read the live rules of host, netns:NAME, pid:PID or container:NAME.")] = None,
    ruleset: Annotated[Optional[list[str]], typer.Option("--ruleset", "-r", help="Ruleset file (iptables-save or nft); repeatable. Prefix iptables:/ip6tables:/nft: to force the format.")] = None,
    in_interface: Annotated[str, typer.Option("--in-interface", "-i", help="Interface the connections arrive on.")] = ...,  # type: ignore[assignment]
    destination: Annotated[Optional[str], typer.Option("--destination", "-d", help="Destination address (default: the interface's primary address; required with --ruleset).")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="Source address or CIDR; repeatable (default: everything).")] = None,
    zone: Annotated[Optional[list[str]], typer.Option("--zone", "-z", help="Policy zone to use as sources; repeatable (needs --policy).")] = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", "-p", help="Policy file defining the zones.")] = None,
    interface: Annotated[Optional[list[str]], typer.Option("--interface", help="Offline only: NAME=ADDR/LEN of the host, repeatable (for DNAT/addrtype decisions).")] = None,
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
        host = offline_host(_interfaces(in_interface, destination, interface or []))
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
    ruleset: Annotated[Optional[list[str]], typer.Option("--ruleset", "-r", help="Ruleset file; repeatable.")] = None,
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
    _emit(
        f"{file}: valid policy {pol.name!r}: {len(pol.zones)} zone(s), "
        f"{len(names)} service(s) ({len(pol.services)} protocol/port entries), default {pol.default}"
    )


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
    exit code (2 bad input, 3 environment).
    """
    try:
        app()
    except FwauditError as e:
        sys.stderr.write(f"fwaudit: error: {e.message}\n")
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("fwaudit: interrupted\n")
        sys.exit(130)
