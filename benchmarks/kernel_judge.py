#!/usr/bin/env python3
"""Judge ``fwaudit exposure`` by the kernel on rulesets we did not write.

For every ruleset of a corpus directory (see benchmarks/judge/rulesets.py for the layout) this
rewrites every address into lab space (benchmarks/judge/addresses.py), builds a throwaway lab
with the interfaces the rules name (benchmarks/judge/lab.py), loads the files with the real
tools in order, starts greeting listeners on the target and behind DNAT targets, probes whole
conversations from one source per address region, IPv4 and IPv6, through every interface, and
compares with ``fwaudit exposure`` run live (``--target netns:…``) and offline (``--ruleset`` the
same rewritten files, ``--interface`` for every lab interface, ``--forwarding`` as in the lab).
A point where fwaudit and the kernel disagree is probed once more (a lost packet is not a
finding).

Prints per ruleset and in total: points, right, wrong, indeterminate, % definite, live and
offline; every wrong point (ruleset, interface, source with the original region it stands for,
destination, port, kernel outcome, fwaudit's verdict, reason and rules); the reasons behind
indeterminate verdicts, ranked.

Run as root: ``.venv/bin/python benchmarks/kernel_judge.py DIR [--jobs 2] [--only NAME …]
[--json OUT] [--keep DIR]``. ``--keep`` leaves the rewritten files of every ruleset there (to
reproduce a point by hand).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.probe.connect import Point  # noqa: E402
from benchmarks.judge.addresses import build_map  # noqa: E402
from benchmarks.judge.lab import Lab, remove_leftovers  # noqa: E402
from benchmarks.judge.plan import Plan, make_plan  # noqa: E402
from benchmarks.judge.rulesets import Ruleset, RulesetFile, discover, lab_facts  # noqa: E402
from benchmarks.judge.verdicts import Query, judge, lookup, run_exposure  # noqa: E402

PROTOCOLS = ("tcp", "udp")
MAX_PACED, PACED_BATCH = 400, 10  # rate-limit checks: at most this many points, this many a second
_SPEC = {"iptables-legacy": "iptables", "iptables-nft": "iptables", "ip6tables-legacy": "ip6tables",
         "ip6tables-nft": "ip6tables", "nft": "nft"}


def judge_ruleset(rs: Ruleset, keep: Path | None, seed: int, max_interfaces: int) -> dict:  # type: ignore[type-arg]
    started = time.monotonic()
    result: dict = {"name": rs.name, "loaders": [[f.path.name, f.loader] for f in rs.files]}  # type: ignore[type-arg]
    workdir = Path(tempfile.mkdtemp(prefix="kj-")) if keep is None else keep / rs.name
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        amap = build_map(f.text for f in rs.files)
        files = []
        for i, f in enumerate(rs.files):
            path = workdir / f"{i:02d}-{f.path.name}"
            path.write_text(amap.rewrite(f.text))
            files.append((RulesetFile(path, f.loader, path.read_text()), path))
        facts = lab_facts([f for f, _ in files])
        plan = make_plan(facts, amap, seed, max_interfaces)
        result["plan"] = _describe(plan)
        lab = Lab(plan)
        try:
            try:
                lab.load(files)
            except RuntimeError as e:
                result["unloadable"] = str(e)
                return result
            lab.start_listeners()
            _compare(lab, plan, files, amap, result)
        finally:
            lab.close()
    except Exception:  # one broken ruleset must not end the run
        result["error"] = traceback.format_exc(limit=4)
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _offline_args(plan: Plan, files: list[tuple[RulesetFile, Path]]) -> list[str]:
    args = []
    for f, path in files:
        if f.loader in _SPEC:
            args += ["--ruleset", f"{_SPEC[f.loader]}:{path}"]
    for iface in plan.all_interfaces():
        for decl in plan.declared[iface]:
            args += ["--interface", f"{iface}={decl}"]
    for version, addrs in plan.local.items():
        args += [a for addr in addrs for a in ("--interface", f"lo={addr}/{32 if version == 4 else 128}")]
    # the lab makes an interface a bridge when it holds a client and a backend (judge/lab.py);
    # br_netfilter's switches are on in a new namespace whenever the module is loaded
    if os.path.isdir("/proc/sys/net/bridge"):
        args += [a for iface in plan.interfaces if iface in plan.backends and plan.declared.get(iface)
                 for a in ("--bridge", iface)]
    return args + ["--forwarding" if plan.forwarding else "--no-forwarding"]


def _compare(lab: Lab, plan: Plan, files: list[tuple[RulesetFile, Path]], amap, result: dict) -> None:  # type: ignore[no-untyped-def, type-arg]
    real = {str(r.lab): (str(r.real), r.inside) for v in (4, 6) for r in amap.regions[v]}
    queries = {iface: [Query(iface, d, plan.sources_on(iface, v)) for v in plan.families
                       for d in plan.destinations(iface, v) if plan.sources_on(iface, v)]
               for iface in plan.interfaces}
    offline_args = _offline_args(plan, files)
    live_args = ["--target", f"netns:{lab.target.name}"]
    tally = {m: collections.Counter() for m in ("live", "offline")}  # type: ignore[var-annotated]
    wrong: list[dict] = []  # type: ignore[type-arg]
    reasons = {m: collections.Counter() for m in ("live", "offline")}  # type: ignore[var-annotated]
    errors: list[str] = []
    flaky = 0
    unjudged: set[Point] = set()
    outcomes: collections.Counter = collections.Counter()  # type: ignore[type-arg]
    verdicts = {m: collections.Counter() for m in ("live", "offline")}  # type: ignore[var-annotated]
    timing = collections.Counter()  # type: ignore[var-annotated]
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        offline = {(q.iface, q.destination): pool.submit(run_exposure, offline_args, q)
                   for qs in queries.values() for q in qs}
        for iface, qs in queries.items():
            if not qs:
                continue
            t0 = time.monotonic()
            lab.route_round(iface)
            # UDP only to the target's address on the interface: a wildcard UDP listener answers
            # from the address the route picks, not from an extra local address asked
            points = [Point(s, q.destination, proto, port) for q in qs for s in q.sources
                      for proto in PROTOCOLS for port in plan.ports
                      if proto == "tcp" or q.destination == plan.address[iface][_version(q.destination)]]  # type: ignore[arg-type]
            kernel = lab.probe(iface, points)
            t1 = time.monotonic()
            live = {(q.iface, q.destination): pool.submit(run_exposure, live_args, q) for q in qs}
            views = {"live": {k: f.result() for k, f in live.items()},
                     "offline": {k: offline[k].result() for k in live}}
            t2 = time.monotonic()
            timing["probe"] += t1 - t0
            timing["fwaudit_wait"] += t2 - t1
            for mode, per_query in views.items():
                for key, entries in per_query.items():
                    if isinstance(entries, str):
                        errors.append(f"{mode} {key[0]} {key[1]}: {entries}")
            disputed = [p for p in points if any(
                not isinstance(views[m][(iface, p.destination)], str)
                and judge(kernel[p], lookup(views[m][(iface, p.destination)], p.source, p.protocol, p.port)) == "wrong"
                for m in views)]
            if disputed:
                # A verdict "assuming one new client" (rate limits) is checked at a rate a single
                # client would send: a few connections a second, not the lab's burst.
                limited = [p for p in disputed if any(_rate_limited(views[m][(iface, p.destination)], p) for m in views)]
                others = [p for p in disputed if p not in set(limited)]
                again = lab.probe(iface, others) if others else {}
                slow = limited[:MAX_PACED]
                for i in range(0, len(slow), PACED_BATCH):
                    time.sleep(1.0)
                    again.update(lab.probe(iface, slow[i:i + PACED_BATCH]))
                unjudged |= set(limited[MAX_PACED:])
                flaky += sum(1 for p in again if again[p] != kernel[p])
                kernel.update(again)
                timing["reprobe"] += time.monotonic() - t2
            outcomes.update(kernel[p] for p in points)
            for p in points:
                if p in unjudged:
                    for mode in views:
                        tally[mode]["rate-limited, not re-probed"] += 1
                    continue
                for mode, per_query in views.items():
                    entries = per_query[(iface, p.destination)]
                    if isinstance(entries, str):
                        tally[mode]["unanswered"] += 1
                        continue
                    v = lookup(entries, p.source, p.protocol, p.port)
                    outcome = judge(kernel[p], v)
                    verdicts[mode][v.verdict if v else "missing"] += 1
                    tally[mode][outcome] += 1
                    if outcome == "indeterminate" and v is not None:
                        reasons[mode][_construct(v.reason)] += 1
                    if outcome == "wrong":
                        wrong.append({"mode": mode, "iface": iface, "source": p.source,
                                      "real_source": real.get(p.source, ("?", ""))[0],
                                      "region": real.get(p.source, ("?", ""))[1], "destination": p.destination,
                                      "protocol": p.protocol, "port": p.port, "kernel": kernel[p],
                                      "verdict": v.verdict if v else "missing", "reason": v.reason if v else "",
                                      "rules": v.rules if v else ""})
    result["points"] = sum(tally["live"].values())
    result["tally"] = {m: dict(c) for m, c in tally.items()}
    result["wrong"] = wrong
    result["reasons"] = {m: dict(c) for m, c in reasons.items()}
    result["errors"] = errors
    result["reprobed_changed"] = flaky
    result["kernel_outcomes"] = dict(outcomes)
    result["verdicts"] = {m: dict(c) for m, c in verdicts.items()}
    result["timing"] = {k: round(v, 1) for k, v in timing.items()}


def _version(addr: str) -> int:
    return 6 if ":" in addr else 4


def _rate_limited(entries, p: Point) -> bool:  # type: ignore[no-untyped-def]
    if isinstance(entries, str):
        return False
    v = lookup(entries, p.source, p.protocol, p.port)
    return v is not None and "assuming one new client" in v.reason


_NUM = re.compile(r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*::[0-9a-f:]*|\d+)(?:/\d+)?\b")


def _construct(reason: str) -> str:
    """The construct an indeterminate reason names, without the numbers that vary."""
    return _NUM.sub("N", reason)[:160]


def _describe(plan: Plan) -> dict:  # type: ignore[type-arg]
    return {"interfaces": plan.interfaces, "backends": plan.backends, "local": plan.local,
            "sources": {v: [str(r.lab) for r in rs] for v, rs in plan.sources.items()},
            "ports": len(plan.ports), "forwarding": plan.forwarding, "families": plan.families}


# -- reporting ------------------------------------------------------------------------------

def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:5.1f}%" if d else "   - "


def _line(name: str, tally: dict) -> str:  # type: ignore[type-arg]
    parts = []
    for mode in ("live", "offline"):
        c = tally.get(mode, {})
        total = sum(c.values()) - c.get("rate-limited, not re-probed", 0)  # what the lab could judge
        parts.append(f"{mode}: {c.get('right', 0):6d} right {c.get('wrong', 0):4d} wrong "
                     f"{c.get('indeterminate', 0):5d} indet {_pct(c.get('right', 0) + c.get('wrong', 0), total)} definite")
    points = sum(tally.get("live", {}).values())
    return f"{name[:38]:38s} {points:6d} pts  " + "  |  ".join(parts)


def report(results: list[dict], out=sys.stdout) -> dict:  # type: ignore[no-untyped-def, type-arg]
    total = {m: collections.Counter() for m in ("live", "offline")}  # type: ignore[var-annotated]
    reasons = {m: collections.Counter() for m in ("live", "offline")}  # type: ignore[var-annotated]
    print(f"{'ruleset':38s} {'points':>10s}", file=out)
    for r in sorted(results, key=lambda r: r["name"]):
        if "unloadable" in r or "error" in r:
            print(f"{r['name'][:38]:38s}   NOT JUDGED: {(r.get('unloadable') or r['error']).strip().splitlines()[-1][:200]}",
                  file=out)
            continue
        print(_line(r["name"], r["tally"]), file=out)
        for m in total:
            total[m].update(r["tally"].get(m, {}))
            reasons[m].update(r["reasons"].get(m, {}))
        for e in r.get("errors", [])[:3]:
            print(f"    fwaudit error: {e}", file=out)
    print("-" * 120, file=out)
    print(_line(f"TOTAL ({sum(1 for r in results if 'tally' in r)} rulesets)", total), file=out)
    for m in ("live", "offline"):
        c = total[m]
        n = sum(c.values()) - c["rate-limited, not re-probed"]
        print(f"  {m:8s} judged points {n}: right {_pct(c['right'], n)}, wrong {_pct(c['wrong'], n)}, "
              f"indeterminate {_pct(c['indeterminate'], n)}, unanswered {c['unanswered']}, "
              f"rate-limited and not re-probed {c['rate-limited, not re-probed']}", file=out)
    wrong = [(r["name"], w) for r in results for w in r.get("wrong", [])]
    if wrong:
        print(f"\nWRONG VERDICTS ({len(wrong)}):", file=out)
        for name, w in wrong:
            print(f"  [{w['mode']}] {name} via {w['iface']}: {w['source']} (real {w['real_source']}"
                  f"{' in ' + w['region'] if w['region'] else ''}) -> {w['destination']} {w['protocol']}/{w['port']}: "
                  f"kernel {w['kernel']}, fwaudit {w['verdict']} — {w['reason']} [{w['rules'][:160]}]", file=out)
    for m in ("live", "offline"):
        if reasons[m]:
            print(f"\nINDETERMINATE ({m}), by reason:", file=out)
            for reason, n in reasons[m].most_common(15):
                print(f"  {n:6d}  {reason}", file=out)
    return {"total": {m: dict(c) for m, c in total.items()}, "results": results}


def _worker_init(run_prefix: str) -> None:
    from benchmarks.judge import lab

    lab.RUN_PREFIX = run_prefix  # the parent removes whatever a killed worker leaves
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the labs' finally blocks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--jobs", type=int, default=2, help="rulesets judged at once (default 2)")
    ap.add_argument("--only", nargs="*", help="only these rulesets (names)")
    ap.add_argument("--json", type=Path, help="write every result here")
    ap.add_argument("--keep", type=Path, help="keep the rewritten files here")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-interfaces", type=int, default=6,
                    help="interfaces probed per ruleset, 'any other interface' included (default 6)")
    args = ap.parse_args(argv)
    rulesets = discover(args.corpus)
    if args.only:
        rulesets = [r for r in rulesets if r.name in args.only]
    started = time.monotonic()
    results: list[dict] = []  # type: ignore[type-arg]
    from benchmarks.judge import lab

    # spawn, not fork: pyroute2's namespace handling misbehaves in forked pool workers
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(args.jobs, initializer=_worker_init, initargs=(lab.RUN_PREFIX,), maxtasksperchild=8)
    try:
        jobs = [pool.apply_async(judge_ruleset, (r, args.keep, args.seed, args.max_interfaces)) for r in rulesets]
        for r, job in zip(rulesets, jobs):
            res = job.get()
            results.append(res)
            tally = res.get("tally")
            status = _line(res["name"], tally) if tally else f"{res['name']}: not judged"
            print(f"[{len(results)}/{len(rulesets)} {res.get('seconds', 0):5.1f}s] {status}", file=sys.stderr, flush=True)
        pool.close()
    except KeyboardInterrupt:
        pool.terminate()
        raise
    finally:
        pool.join()
        left = remove_leftovers()
        if left:
            print(f"removed {len(left)} leftover namespaces", file=sys.stderr)
    summary = report(results)
    print(f"\n{len(rulesets)} rulesets in {time.monotonic() - started:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
