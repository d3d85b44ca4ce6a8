"""The real ``iptables-restore`` / ``ip6tables-restore`` as a judge, in a throwaway namespace.

Used by the strictness tests and the differential fuzzer: a file is loaded for real (not with
``--test``, which skips what the kernel checks on commit: missing chains, insert positions,
targets outside their table or hook) into a fresh network namespace that ``unshare`` creates
and the kernel removes when the command ends; the saved tables come back for comparison.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class ToolVerdict:
    accepted: bool
    saved: str  # iptables-save output after loading (empty when rejected)
    message: str


def run_in_private_netns(cmd: list[str], *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``cmd`` in a network namespace of its own, gone when the command ends."""
    return subprocess.run(["unshare", "--net", *cmd], capture_output=True, text=True, timeout=timeout,
                          errors="replace")


def load_with_tool(text: str, version: int, *, timeout: float = 20) -> ToolVerdict:
    prefix = "iptables" if version == 4 else "ip6tables"
    with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        res = subprocess.run(["unshare", "--net", "sh", "-c", f'{prefix}-restore "$1" && {prefix}-save', "sh", path],
                             capture_output=True, text=True, timeout=timeout, errors="replace")
    finally:
        os.unlink(path)
    # -h/-V make iptables-restore print and exit 0 without loading anything: not an acceptance
    printed_help = "Usage:" in res.stdout or res.stdout.startswith(prefix)
    accepted = res.returncode == 0 and not printed_help
    return ToolVerdict(accepted, res.stdout if accepted else "", res.stderr.strip())
