#!/usr/bin/env python3
"""``fwaudit listeners`` vs ``ss -tulpn`` with 20,000 listening sockets in one namespace.

Run as root: ``.venv/bin/python benchmarks/listeners.py [N [RUNS]]``. Starts 5 processes holding
N sockets in total (TCP and UDP, IPv4 and IPv6; one process cannot hold 20,000 fds here), times
both commands alternately (wall clock, including interpreter start for fwaudit), prints best and
median of each and the ratios, and removes the namespace.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.probe.namespaces import Namespace  # noqa: E402

FWAUDIT = str(Path(sys.executable).with_name("fwaudit"))
HOLDER = r"""
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
start, count = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(count):
    port = start + i
    kind = (socket.SOCK_STREAM, socket.SOCK_DGRAM)[i % 2]
    fam = (socket.AF_INET, socket.AF_INET6)[(i // 2) % 2]
    s = socket.socket(fam, kind)
    s.bind(("0.0.0.0" if fam == socket.AF_INET else "::", port))
    if kind == socket.SOCK_STREAM:
        s.listen(1)
    socks.append(s)
print("ready", flush=True)
time.sleep(3600)
"""


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def interleaved(a: list[str], b: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Alternate the two commands so a noisy neighbour on the VM slows both alike."""
    ta, tb = [], []
    for _ in range(runs):
        ta.append(timed(a))
        tb.append(timed(b))
    return ta, tb


def main() -> None:
    # Byte-compile first, as an installed package is (PYTHONDONTWRITEBYTECODE may be set here).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "auditor")],
                   check=True)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 11
    ns = Namespace(f"fwa-bench-{os.getpid()}")
    try:
        per = -(-n // 5)
        for k in range(5):
            count = min(per, n - k * per)
            p = ns.spawn([sys.executable, "-c", HOLDER, str(10000 + k * per), str(count)],
                         stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
        lines = ns.exec(["ss", "-tulnH"]).stdout.count("\n")
        ss, ours = interleaved(ns.command(["ss", "-tulpn"]),
                               [FWAUDIT, "listeners", "--target", f"netns:{ns.name}", "--format", "json"], runs)
        print(f"sockets: {lines}; {runs} interleaved runs each, best / median")
        print(f"ss -tulpn:                       {min(ss):.3f} s / {statistics.median(ss):.3f} s")
        print(f"fwaudit listeners --format json: {min(ours):.3f} s / {statistics.median(ours):.3f} s")
        print(f"ratio: {min(ours) / min(ss):.2f} best, {statistics.median(ours) / statistics.median(ss):.2f} median"
              " (target <= 1.5)")
    finally:
        ns.close()


if __name__ == "__main__":
    main()
