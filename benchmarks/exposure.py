#!/usr/bin/env python3
"""Time and peak memory of ``fwaudit exposure`` (all ports, tcp+udp, 5 sources) on generated
rulesets of 1k, 10k and 100k rules, next to the time the kernel's own tools need just to dump
the same rules (``iptables-save`` + ``nft -j list ruleset``).

It also prints what the whole conversation costs: the evaluation alone (rules already read), once
for every leg (SYN, SYN-ACK, ACK, data; UDP datagram and reply) and once for the client's first
packet only, as fwaudit judged before it followed conversations.

Run as root: ``.venv/bin/python benchmarks/exposure.py [SIZES…] [--backend nft|legacy]``.
Creates one namespace ``fwa-bench-<pid>`` and removes it at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.probe.namespaces import Namespace  # noqa: E402

FWAUDIT = str(Path(sys.executable).with_name("fwaudit"))
SOURCES = ["198.18.3.7", "198.18.200.0/24", "198.19.0.0/16", "198.18.77.77", "198.18.0.0/15"]


def nft_ruleset(n: int, rng: random.Random) -> str:
    per_chain = 500
    chains = max(1, n // per_chain)
    lines = ["table inet bench {", "  chain input {",
             "    type filter hook input priority 0; policy drop;",
             "    ct state established,related accept"]
    lines += [f"    ip saddr 198.{18 + (i & 1)}.{i % 256}.0/24 jump c{i}" for i in range(chains)]
    lines.append("  }")
    for c in range(chains):
        lines.append(f"  chain c{c} {{")
        for _ in range(per_chain):
            a = f"198.{18 + rng.randint(0, 1)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            port = rng.randint(1, 65535)
            verdict = rng.choice(("accept", "drop", "reject"))
            proto = rng.choice(("tcp", "udp"))
            lines.append(f"    ip saddr {a} {proto} dport {port} {verdict}")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def legacy_ruleset(n: int, rng: random.Random) -> str:
    per_chain = 500
    chains = max(1, n // per_chain)
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":C{c} - [0:0]" for c in range(chains)]
    lines.append("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")
    lines += [f"-A INPUT -s 198.{18 + (i & 1)}.{i % 256}.0/24 -j C{i}" for i in range(chains)]
    for c in range(chains):
        for _ in range(per_chain):
            a = f"198.{18 + rng.randint(0, 1)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            proto = rng.choice(("tcp", "udp"))
            lines.append(f"-A C{c} -s {a}/32 -p {proto} -m {proto} --dport {rng.randint(1, 65535)} "
                         f"-j {rng.choice(('ACCEPT', 'DROP', 'REJECT'))}")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of this child alone (wait4), stdout."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert p.stdout is not None
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {p.returncode}")
    return wall, usage.ru_maxrss, out


def evaluation_cost(ns: Namespace) -> tuple[float, float]:
    """Seconds to evaluate the rules already read: every leg vs the first packet only."""
    from auditor.target.runner import run_in_namespace
    from auditor.collect.ruleset import collect_firewall_view
    from auditor.engine import evaluate as ev
    from auditor.engine.conversation import Conversation

    class FirstPacket(Conversation):
        def run(self, region):  # type: ignore[no-untyped-def]
            for r in self._request([region], "request"):
                self._record(r, "accept", (), None, ())
            return self.results

    rules, host = run_in_namespace(ns.path, collect_firewall_view)
    query = ev.ExposureQuery("eth0", "198.18.0.1", tuple(SOURCES))
    out = []
    for conversation in (Conversation, FirstPacket):
        ev.Conversation = conversation  # type: ignore[misc]
        t0 = time.perf_counter()
        ev.evaluate_exposure(rules, host, query)
        out.append(time.perf_counter() - t0)
    ev.Conversation = Conversation  # type: ignore[misc]
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 100000])
    ap.add_argument("--backend", choices=("nft", "legacy"), default="nft")
    args = ap.parse_args()
    ns = Namespace(f"fwa-bench-{os.getpid()}")
    try:
        ns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
        ns.exec(["ip", "addr", "add", "198.18.0.1/24", "dev", "eth0"])
        ns.exec(["ip", "link", "set", "eth0", "up"])
        print(f"{'rules':>8} {'dump s':>8} {'exposure s':>11} {'ratio':>6} {'peak MiB':>9} {'entries':>8}"
              f" {'eval all legs s':>16} {'eval 1st packet s':>18}")
        for n in sorted(args.sizes):
            rng = random.Random(n)
            ns.exec(["nft", "flush", "ruleset"])
            if args.backend == "nft":
                ns.exec(["nft", "-f", "-"], input=nft_ruleset(n, rng), timeout=600)
            else:
                ns.exec(["iptables-legacy-restore"], input=legacy_ruleset(n, rng), timeout=600)
            dump = min(
                timed(ns.command(["sh", "-c", "iptables-save >/dev/null; iptables-legacy-save >/dev/null; "
                                               "nft -j list ruleset >/dev/null"]))[0]
                for _ in range(3)
            )
            cmd = [FWAUDIT, "exposure", "--target", f"netns:{ns.name}", "--in-interface", "eth0", "--format", "json"]
            for s in SOURCES:
                cmd += ["--source", s]
            wall, rss, out = timed(cmd)
            entries = out.count('"verdict"')
            legs, first = evaluation_cost(ns)
            print(f"{n:>8} {dump:>8.3f} {wall:>11.3f} {wall / dump:>6.1f} {rss / 1024:>9.1f} {entries:>8}"
                  f" {legs:>16.3f} {first:>18.3f}", flush=True)
            if args.backend == "legacy":
                ns.exec(["iptables-legacy", "-F"])
                ns.exec(["iptables-legacy", "-X"])
    finally:
        ns.close()


if __name__ == "__main__":
    main()
