#!/usr/bin/env python3
"""A round of the hostile-user attacks of issue 14, with figures (run as root, not a test).

    .venv/bin/python benchmarks/attacks.py policies [--count 500] [--seed N]
    .venv/bin/python benchmarks/attacks.py kills    [--count 20]  [--seed N]
    .venv/bin/python benchmarks/attacks.py names    [--count 40]  [--seed N]

* ``policies``: a fresh, seeded corpus of mutated policies (tests/engine/policy_mutations.py),
  each through ``fwaudit policy check`` as a user runs it: exit 0 or 2, no traceback, a message
  of at most 300 characters, no hang (10 s). Failing inputs are kept under ``--keep``.
* ``kills``: ``fwaudit scan`` (all ports, tcp+udp) of a lab namespace killed with SIGKILL or
  SIGTERM after a random delay; afterwards (``fwaudit cleanup`` after a SIGKILL) nothing may be
  left: no worker still running, no ``fwa-probe-*`` namespace of the run, no ``fwp`` veth or
  route in the target, no journal.
* ``names``: listeners named with random bytes (seeded), then ``listeners`` (text, json),
  ``audit`` (text, json, junit, sarif) and ``policy init``: no raw control character in text,
  JSON and XML that parse, a draft that reads back with the same names.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.probe.journal import PROBE_PREFIX  # noqa: E402
from auditor.probe.namespaces import Namespace  # noqa: E402
from tests.conftest import lab_host  # noqa: E402
from tests.engine.policy_mutations import SEEDS, mutate  # noqa: E402
from tests.test_cli_hostile_names import RAW_CONTROL  # noqa: E402

FWAUDIT = [sys.executable, "-m", "auditor"]


def policies(count: int, seed: int, keep: Path) -> None:
    r = random.Random(seed)
    stats = {"ok": 0, "input error": 0, "traceback": 0, "hang": 0, "long message": 0, "other exit": 0}
    slowest, longest = 0.0, 0
    with tempfile.TemporaryDirectory() as d:
        for i in range(count):
            text = mutate(r.choice(SEEDS), r)
            f = Path(d) / f"p{i}.yaml"
            f.write_text(text, errors="surrogatepass")
            started = time.monotonic()
            try:
                res = subprocess.run([*FWAUDIT, "policy", "check", str(f)], capture_output=True, text=True,
                                     errors="replace", cwd=ROOT, timeout=10)
            except subprocess.TimeoutExpired:
                stats["hang"] += 1
                _keep(keep, f, "hang")
                continue
            elapsed = time.monotonic() - started
            slowest = max(slowest, elapsed)
            msg = res.stderr.removeprefix(f"fwaudit: error: {f}:").strip()
            longest = max(longest, len(msg))
            if "Traceback" in res.stderr:
                stats["traceback"] += 1
                _keep(keep, f, "traceback")
            elif res.returncode not in (0, 2):
                stats["other exit"] += 1
                _keep(keep, f, f"exit{res.returncode}")
            elif len(msg) > 300:
                stats["long message"] += 1
                _keep(keep, f, "long")
            else:
                stats["ok" if res.returncode == 0 else "input error"] += 1
    print(f"policies: {count} mutated (seed {seed}): {stats}; slowest {slowest:.2f} s (CLI start included); "
          f"longest message {longest} chars")


def _keep(keep: Path, f: Path, why: str) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    (keep / f"{why}-{f.name}").write_bytes(f.read_bytes())


def kills(count: int, seed: int) -> None:
    from tests.probe.test_scan import RULES as SCAN_RULES
    from tests.probe.test_scan import _probe_state, kill_scan_at

    r = random.Random(seed)
    target = lab_host(Namespace(f"fwa-atk{os.getpid()}"), "198.18.80.1/24", nft=SCAN_RULES, tcp="22,80,443",
                      udp="53,123")
    results = {"SIGKILL": 0, "SIGTERM": 0}
    early = 0
    problems: list[str] = []
    try:
        for i in range(count):
            sig = r.choice([signal.SIGKILL, signal.SIGTERM])
            delay = r.uniform(0.0, 8.0)
            pid, code, stderr, left, running = kill_scan_at(target, sig, delay)
            what = f"#{i} {signal.Signals(sig).name} after {delay:.2f} s (exit {code})"
            if running:
                problems.append(f"{what}: worker still running {running}")
            if sig == signal.SIGTERM:
                if code == -signal.SIGTERM:  # before main() installed its handlers: nothing made yet
                    early += 1
                elif code not in (0, 143) or code == 143 and "terminated (SIGTERM); changes undone" not in stderr:
                    problems.append(f"{what}: {stderr.strip()[-200:]!r}")
                if any(left.values()):
                    problems.append(f"{what}: left without cleanup {left}")
            else:
                res = subprocess.run([*FWAUDIT, "cleanup"], capture_output=True, text=True, cwd=ROOT)
                if res.returncode != 0 or "Traceback" in res.stderr:
                    problems.append(f"{what}: cleanup exit {res.returncode}: {res.stderr[-200:]!r}")
                after = _probe_state(target)
                after["netns"] = {n for n in after["netns"] if n.startswith(f"{PROBE_PREFIX}{pid}-")}
                if any(after.values()):
                    problems.append(f"{what}: left after cleanup {after}")
            results[signal.Signals(sig).name] += 1
    finally:
        target.close()
    print(f"kills: {results} (seed {seed}, delays 0-8 s from the start); SIGTERM before fwaudit had started "
          f"(default action, nothing made): {early}; problems: {len(problems)}")
    for line in problems:
        print("  " + line)


def names(count: int, seed: int) -> None:
    r = random.Random(seed)
    chosen = ["".join(chr(b) if b < 0x80 else chr(0xDC00 + b) for b in r.randbytes(r.randint(1, 15)).replace(b"\0", b"x"))
              for _ in range(count)]
    ns = lab_host(Namespace(f"fwa-atkn{os.getpid()}"), "198.18.84.1/24")
    failures: list[str] = []
    checks = 0
    try:
        for i, name in enumerate(chosen):
            p = ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", str(7000 + i), f"--name={name}"],
                         stdout=subprocess.PIPE, text=True)
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory() as d:
            policy = Path(d) / "p.yaml"
            policy.write_text("version: 1\nname: t\nzones:\n  lan: [198.18.84.0/24]\n")
            runs = [(["listeners"], "text"), (["listeners", "--format", "json"], "json")]
            runs += [(["audit", "--policy", str(policy), "--format", f], f) for f in ("text", "json", "junit", "sarif")]
            runs += [(["policy", "init"], "yaml")]
            for args, kind in runs:
                checks += 1
                res = subprocess.run([*FWAUDIT, *args, "--target", f"netns:{ns.name}"], capture_output=True, cwd=ROOT)
                out = res.stdout.decode("utf-8", "replace")
                if "Traceback" in res.stderr.decode("utf-8", "replace") or res.returncode not in (0, 1):
                    failures.append(f"{args[0]} {kind}: exit {res.returncode} {res.stderr[-300:]!r}")
                elif kind in ("text", "yaml") and RAW_CONTROL.search(out):
                    failures.append(f"{args[0]} {kind}: raw control character in output")
                elif kind in ("json", "sarif"):
                    json.loads(out)
                elif kind == "junit":
                    from lxml import etree

                    etree.fromstring(res.stdout)
                if kind == "yaml":
                    from auditor.engine.policy import parse_policy

                    got = {s.ports[0]: s.processes[0] for s in parse_policy(out, "<draft>").services if s.processes}
                    want = {7000 + i: n.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                            for i, n in enumerate(chosen)}
                    if got != want:
                        failures.append(f"policy init: names differ {set(got.items()) ^ set(want.items())}")
    finally:
        ns.close()
    print(f"names: {count} random byte names (seed {seed}), {checks} outputs checked; failures: {len(failures)}")
    for line in failures:
        print("  " + line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("attack", choices=["policies", "kills", "names"])
    ap.add_argument("--count", type=int)
    ap.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    ap.add_argument("--keep", type=Path, default=Path("attack-failures"))
    args = ap.parse_args()
    # locks and journals of this round in a directory of its own, not in the machine's /run/fwaudit
    with tempfile.TemporaryDirectory(prefix="fwaudit-attacks-") as run:
        os.environ["FWAUDIT_RUN_DIR"] = run + "/run"
        if args.attack == "policies":
            policies(args.count or 500, args.seed, args.keep)
        elif args.attack == "kills":
            kills(args.count or 20, args.seed)
        else:
            names(args.count or 40, args.seed)


if __name__ == "__main__":
    main()
