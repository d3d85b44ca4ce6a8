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


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="Policy file (YAML) to validate.")],
) -> None:
    """Validate a policy file and say what it declares; exit 2 with file:line on errors."""
    from auditor.engine.policy import load_policy

    pol = load_policy(file)
    _emit(
        f"{file}: valid policy {pol.name!r}: {len(pol.zones)} zone(s), "
        f"{len(pol.services)} service(s), default {pol.default}"
    )


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
