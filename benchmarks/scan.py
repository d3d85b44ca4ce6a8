#!/usr/bin/env python3
"""Full 1-65535 TCP scan of a namespace target from 3 sources: fwaudit's SYN scan vs
``nmap -sS -T4 -p-`` from the same vantage point, in the same run (target: <= nmap's time,
same port sets). Run as root: ``.venv/bin/python benchmarks/scan.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.target.runner import run_in_namespace  # noqa: E402
from auditor.probe import synscan  # noqa: E402
from auditor.probe.namespaces import Namespace  # noqa: E402
from auditor.probe.vantage import VantagePoint  # noqa: E402

RULES = """table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 1000-1999 drop
    tcp dport 2000-2099 reject with icmpx admin-prohibited
    ip saddr 198.18.82.51 tcp dport 22 drop
  }
}
"""
SOURCES = ["198.18.82.50", "198.18.82.51", "198.18.82.52"]


def _expand(spec: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, spec.split(",")):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def main() -> None:
    ns = Namespace(f"fwa-bench-{os.getpid()}")
    try:
        ns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
        ns.exec(["ip", "addr", "add", "198.18.82.1/24", "dev", "eth0"])
        ns.exec(["ip", "link", "set", "eth0", "up"])
        ns.exec(["nft", "-f", "-"], input=RULES)
        p = ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", "22,80,443,8080,50000"],
                     stdout=subprocess.PIPE, text=True)
        p.stdout.readline()
        with VantagePoint(ns.path, SOURCES, destination="198.18.82.1") as vp:
            t = time.perf_counter()
            ours: dict = {}
            for src in SOURCES:
                rows, method = run_in_namespace(vp.ns.path, synscan.syn_scan, [src], "198.18.82.1", list(range(1, 65536)))
                ours[src] = {p: st for _, p, st, _ in rows if st != "closed"}
            t_ours = time.perf_counter() - t
            t = time.perf_counter()
            theirs: dict = {}
            for src in SOURCES:
                out = subprocess.run(["nsenter", f"--net={vp.ns.path}", "nmap", "-n", "-Pn", "-sS", "-T4", "-p-",
                                      "-S", src, "-e", "eth0", "-oX", "-", "198.18.82.1"],
                                     capture_output=True, text=True, check=True).stdout
                doc = ET.fromstring(out)
                theirs[src] = {int(x.get("portid")): x.find("state").get("state")
                               for x in doc.iter("port") if x.find("state").get("state") != "closed"}
                for extra in doc.iter("extraports"):  # ports nmap folds together, listed per reason
                    if extra.get("state") == "closed":
                        continue
                    for why in extra.iter("extrareasons"):
                        theirs[src].update({p: extra.get("state") for p in _expand(why.get("ports", ""))})
            t_nmap = time.perf_counter() - t
        same = all(ours[s] == theirs[s] for s in SOURCES)
        print(f"full TCP scan, 3 sources x 65535 ports ({method} scan)")
        print(f"fwaudit: {t_ours:.1f} s   nmap -sS -T4 -p-: {t_nmap:.1f} s   ratio {t_ours / t_nmap:.2f}")
        print(f"same non-closed port sets: {same} ({sum(len(v) for v in ours.values())} ports)")
        for s in SOURCES:
            diff = {p: (ours[s].get(p), theirs[s].get(p)) for p in set(ours[s]) | set(theirs[s])
                    if ours[s].get(p) != theirs[s].get(p)}
            if diff:
                print(f"  {s}: {len(diff)} differ, e.g. {sorted(diff.items())[:5]}")
    finally:
        ns.close()


if __name__ == "__main__":
    main()
