#!/usr/bin/env python3
"""``fwaudit fleet report`` over 5,000 host reports: time, memory, and the HTML's size and load time.

Run as root: ``.venv/bin/python benchmarks/fleet.py [N]``. Builds the demo lab host in a
namespace, audits it with two policies (``policies/demo.yaml``, ``policies/web-server.yaml``:
real audit documents of 150 and 240 KB), removes the namespace, and writes N variations of them
(host names, findings dropped, PIDs, timestamps, some with drift; 2% unreachable and 1% failed
records) to a temporary directory. Then it times ``fleet report --format json`` and
``--format html`` (wall clock, a fresh process each, peak memory summed over the process and its
workers, sampled every 20 ms) and loads the HTML in headless Chromium when it is installed.
Without root, ``--from FILE …`` takes existing audit documents as the base instead.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FWAUDIT = str(Path(sys.executable).with_name("fwaudit"))
SEVERITIES = ("info", "low", "medium", "high", "critical")


def real_documents() -> list[dict[str, Any]]:
    """Audit the demo lab host with two policies and return both documents."""
    from auditor.probe.lab import RULESET, SERVICES
    from auditor.probe.namespaces import Namespace
    from tests.conftest import lab_host

    ns = Namespace(f"fwa-bench{os.getpid()}")
    try:
        lab_host(ns, "198.18.0.2/24", nft=RULESET)
        for name, tcp, udp, bind in SERVICES:
            p = ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", tcp, "--udp", udp,
                          "--bind", bind, "--name", name], stdout=subprocess.PIPE, text=True)
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        docs = []
        for policy in ("demo", "web-server"):
            r = subprocess.run([FWAUDIT, "audit", "--policy", str(ROOT / f"policies/{policy}.yaml"),
                                "--target", f"netns:{ns.name}", "--format", "json"], capture_output=True, text=True)
            assert r.returncode in (0, 1), r.stderr
            docs.append(json.loads(r.stdout))
        return docs
    finally:
        ns.close()


def variation(base: dict[str, Any], i: int, rng: random.Random) -> dict[str, Any]:
    doc = json.loads(json.dumps(base))
    doc["host"] = f"host{i:05}.example.net"
    doc["findings"] = [f for f in doc["findings"] if rng.random() > 0.3]
    counts = {s: sum(1 for f in doc["findings"] if f["severity"] == s) for s in SEVERITIES}
    doc["summary"].update(findings=len(doc["findings"]), by_severity=counts,
                          worst=next((s for s in reversed(SEVERITIES) if counts[s]), None))
    for sock in doc["views"]["listening"]:
        for proc in sock["processes"]:
            proc["pid"] = rng.randrange(300, 4_000_000)
    doc["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_700_000_000 + i * 7))
    doc["duration_seconds"] = round(rng.uniform(0.3, 2.5), 3)
    if i % 10 == 0:
        doc["drift"] = {"baseline": "/var/lib/fwaudit/baseline.json", "new": len(doc["findings"]) // 3,
                        "unchanged": len(doc["findings"]), "resolved": ["FWA002:tcp/443"] if i % 20 == 0 else []}
    return doc


def write_fleet(bases: list[dict[str, Any]], n: int, directory: Path) -> int:
    rng = random.Random(16)
    total = 0
    for i in range(n):
        if i % 50 == 7:
            doc: dict[str, Any] = {"host": f"host{i:05}.example.net", "status": "unreachable",
                                   "error": "Failed to connect to the host via ssh: Connection timed out"}
        elif i % 100 == 13:
            doc = {"host": f"host{i:05}.example.net", "status": "failed",
                   "error": "Deploy the policy: failed to validate: unknown zone 'dmz'"}
        else:
            doc = variation(bases[i % len(bases)], i, rng)
        text = json.dumps(doc, indent=2)
        (directory / f"host{i:05}.json").write_text(text)
        total += len(text)
    return total


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run(cmd: list[str]) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (process and workers), peak memory of the process tree, exit code.

    On a shared machine wall time depends on the neighbours; CPU time much less so."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    rc = proc.wait()
    elapsed = time.perf_counter() - t
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed, cpu, peak, rc


def load_in_browser(page: Path) -> float | None:
    if shutil.which("chromium") is None:
        return None
    from tests.report.headless import Browser

    with Browser() as b:
        t = time.perf_counter()
        b.open(page)
        rows = b.evaluate("document.querySelectorAll('#hosts tbody tr').length")
        elapsed = time.perf_counter() - t
        assert rows > 0 and b.problems() == [], b.problems()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hosts", nargs="?", type=int, default=5000)
    ap.add_argument("--from", dest="sources", nargs="+", type=Path, help="audit documents to vary (no root needed)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    bases = [json.loads(p.read_text()) for p in args.sources] if args.sources else real_documents()
    print(f"base documents: {', '.join(f'{len(json.dumps(b, indent=2)) / 1024:.0f} KB' for b in bases)}")
    with tempfile.TemporaryDirectory(prefix="fwa-fleet-bench-") as tmp:
        results = Path(tmp) / "results"
        results.mkdir()
        size = write_fleet(bases, args.hosts, results)
        print(f"{args.hosts} host reports, {size / 2**20:.0f} MiB")
        for fmt in ("json", "html"):
            out = Path(tmp) / f"fleet.{fmt}"
            best = min((run([FWAUDIT, "fleet", "report", str(results), "--format", fmt, "--output", str(out)])
                        for _ in range(args.runs)), key=lambda r: r[0])
            assert best[3] == 1, f"fleet report exited {best[3]}"  # the generated fleet has findings
            print(f"fleet report --format {fmt}: best of {args.runs} {best[0]:.2f} s wall, {best[1]:.2f} s CPU, "
                  f"peak {best[2] / 2**20:.0f} MiB (process and workers), output {out.stat().st_size / 2**20:.1f} MiB "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        loaded = load_in_browser(Path(tmp) / "fleet.html")
        if loaded is not None:
            print(f"HTML loaded in headless Chromium in {loaded:.2f} s")


if __name__ == "__main__":
    main()
