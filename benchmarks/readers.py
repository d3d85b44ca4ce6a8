#!/usr/bin/env python3
"""Time and peak memory of each firewall reader vs the kernel tools' own dump, on generated
rulesets of 1k, 10k and 100k rules (target: <= 2x the tools).

Run as root: ``.venv/bin/python benchmarks/readers.py [SIZES…]``. Each measurement runs in a
fresh process inside the namespace ``fwa-bench-<pid>`` (removed at the end).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from exposure import legacy_ruleset, nft_ruleset  # noqa: E402

from auditor.probe.namespaces import Namespace  # noqa: E402

READER = r"""
import resource, sys, time
kind = sys.argv[1]
t = time.perf_counter()
if kind == "legacy":
    from auditor.collect.xtables import read_iptables_legacy as f; n = sum(len(c.rules) for t_ in f() for c in t_.chains)
elif kind == "legacy-binding":
    from auditor.collect.xtables import read_iptables_legacy as f; n = sum(len(c.rules) for t_ in f(use_binding=True) for c in t_.chains)
elif kind == "iptables-nft":
    from auditor.collect.xtables import read_iptables_nft as f; n = sum(len(c.rules) for t_ in f()[0] for c in t_.chains)
else:
    from auditor.collect.nft import read_nftables as f; n = sum(len(c.rules) for t_ in f()[0] for c in t_.chains)
print(f"{time.perf_counter() - t:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} {n}")
"""


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 100000]
    ns = Namespace(f"fwa-bench-{os.getpid()}")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    print(f"{'backend':>15} {'rules':>7} {'tool s':>7} {'reader s':>9} {'ratio':>6} {'peak MiB':>9}")
    try:
        for n in sizes:
            for backend, load, tool in (
                ("legacy", lambda n: ns.exec(["iptables-legacy-restore"], input=legacy_ruleset(n, random.Random(n)), timeout=900),
                 ["iptables-legacy-save"]),
                ("iptables-nft", lambda n: ns.exec(["iptables-nft-restore"], input=legacy_ruleset(n, random.Random(n)), timeout=900),
                 ["iptables-nft-save"]),
                ("nft", lambda n: ns.exec(["nft", "-f", "-"], input=nft_ruleset(n, random.Random(n)), timeout=900),
                 ["nft", "-j", "list", "ruleset"]),
            ):
                ns.exec(["nft", "flush", "ruleset"])
                ns.exec(["iptables-legacy-restore"], input="*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
                load(n)
                tool_s = min(timed(ns.command(tool)) for _ in range(3))
                kinds = [backend] + (["legacy-binding"] if backend == "legacy" and n <= 10000 else [])
                for kind in kinds:
                    out = subprocess.run(ns.command([sys.executable, "-c", READER, kind]), capture_output=True,
                                         text=True, env=env, check=True).stdout.split()
                    secs, mib, count = float(out[0]), int(out[1]), int(out[2])
                    print(f"{kind:>15} {count:>7} {tool_s:>7.3f} {secs:>9.3f} {secs / tool_s:>6.1f} {mib:>9}", flush=True)
    finally:
        ns.close()


if __name__ == "__main__":
    main()
