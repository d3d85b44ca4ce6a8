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
    from auditor.collect.target import parse_target, run_in_target

    tgt = parse_target(target)
    # Rendered where it is collected: 20,000 sockets cross the namespace boundary as one string.
    _emit(run_in_target(tgt, _listeners_report, str(tgt), fmt.value))


def _listeners_report(label: str, fmt: str) -> str:
    from auditor.collect.sockets import collect_listeners
    from auditor.report.listeners import listeners_json, listeners_text

    found = collect_listeners()
    return listeners_json(label, found) if fmt == "json" else listeners_text(label, found)


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
