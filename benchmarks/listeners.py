#!/usr/bin/env python3
"""``fwaudit listeners`` vs ``ss -tulpn`` with 20,000 listening sockets in one namespace.

Run as root: ``.venv/bin/python benchmarks/listeners.py [N]``. Starts 5 processes holding N
sockets in total (TCP and UDP, IPv4 and IPv6; one process cannot hold 20,000 fds here), times
both commands (best of 5, wall clock, including interpreter start for fwaudit), prints both and
the ratio, and removes the namespace.
"""

from __future__ import annotations

import os
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


def best(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    ns = Namespace(f"fwa-bench-{os.getpid()}")
    try:
        per = -(-n // 5)
        for k in range(5):
            count = min(per, n - k * per)
            p = ns.spawn([sys.executable, "-c", HOLDER, str(10000 + k * per), str(count)],
                         stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
        lines = ns.exec(["ss", "-tulnH"]).stdout.count("\n")
        ss = best(ns.command(["ss", "-tulpn"]))
        ours = best([FWAUDIT, "listeners", "--target", f"netns:{ns.name}", "--format", "json"])
        print(f"sockets: {lines}")
        print(f"ss -tulpn:                     {ss:.3f} s")
        print(f"fwaudit listeners --format json: {ours:.3f} s")
        print(f"ratio: {ours / ss:.2f} (target <= 1.5)")
    finally:
        ns.close()


if __name__ == "__main__":
    main()
