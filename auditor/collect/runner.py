"""Running the firewall tools (``nft``, ``iptables-save``, ``ipset`` …) with a deadline.

A tool that hangs — ``nft -f`` told to include a FIFO, a kernel lock held by a stuck process —
must not hang an audit started from cron. Every run gets a timeout; on expiry the tool's whole
process group is killed (``unshare … sh -c 'nft …'`` has grandchildren that a plain kill would
leave behind) and an :class:`EnvironmentProblem` says which tool did not finish.

Output goes to temporary files, not pipes: a 100k-rule dump through a pipe costs thousands of
polls, while a file is written by the tool at its own speed and read once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass

from auditor.errors import EnvironmentProblem

#: Seconds a firewall tool may take. Dumping 100,000 rules takes ~10 s on the CI machine.
TOOL_TIMEOUT = 120.0


@dataclass(frozen=True)
class ToolResult:
    returncode: int
    stdout: str
    stderr: str


def run_tool(cmd: list[str], *, timeout: float = TOOL_TIMEOUT, stdin: str | None = None,
             cwd: str | None = None) -> ToolResult:
    """Run ``cmd``; decode its output as UTF-8 (undecodable bytes replaced)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                    stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        except OSError as e:
            raise EnvironmentProblem(f"cannot run {cmd[0]}: {e.strerror or e}") from None
        try:
            proc.communicate(stdin.encode() if stdin is not None else None, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise EnvironmentProblem(f"{cmd[0]} did not finish within {timeout:g} s (stopped)") from None
        except BaseException:
            _kill_group(proc)
            raise
        out.seek(0)
        err.seek(0)
        return ToolResult(proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
