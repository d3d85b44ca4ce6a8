"""The kernel is the oracle: random rulesets, loaded for real, probed for real (whole
conversations, IPv4 and IPv6), compared with the evaluator's verdicts read live from the namespace
and offline from the same files.

``FWAUDIT_ORACLE_RULESETS`` sets how many rulesets (default 130), ``FWAUDIT_ORACLE_SEED`` the
base seed (default: random, printed on failure). A failure prints the seed of the ruleset, its
text and every disagreement; rerun just that one with FWAUDIT_ORACLE_SEED=<seed>
FWAUDIT_ORACLE_RULESETS=1.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.engine import rulegen
from tests.engine.oracle_lab import disagreements, order_dependent, predicted

pytestmark = [pytest.mark.root, pytest.mark.oracle]

BACKENDS = ("iptables-legacy", "iptables-nft", "nftables", "mixed", "nft-two-tables", "legacy-beside-nft")


def _iptables(tool: str, rs: rulegen.AbstractRuleset) -> list[tuple[str, str, str]]:
    """(loader, text, file spec prefix) for both families of an iptables ruleset."""
    six = tool.replace("iptables", "ip6tables")
    return [(tool, rulegen.to_iptables(rs, 4), "iptables"), (six, rulegen.to_iptables(rs, 6), "ip6tables")]


def _loads(backend: str, rng: random.Random) -> list[tuple[str, str, str]]:
    """What to load, with which tool, in which order (the order matters at equal priority);
    sometimes with a netdev ingress chain on eth0 in front of everything."""
    loads = _tables(backend, rng)
    if rng.random() < 0.15:
        loads.append(("nftables", rulegen.to_nft_ingress(rulegen.random_ingress(rng)), "nft"))
    return loads


def _tables(backend: str, rng: random.Random) -> list[tuple[str, str, str]]:
    a = rulegen.random_ruleset(rng, "U")
    if backend in ("iptables-legacy", "iptables-nft"):
        return _iptables(backend, a)
    if backend == "nftables":
        return [("nftables", rulegen.to_nft(a, family=rng.choice(("inet", "inet", "ip", "ip6"))), "nft")]
    b = rulegen.random_ruleset(rng, "V")
    b.redirect = None if a.redirect else b.redirect
    if backend == "mixed":
        ipt = _iptables(rng.choice(("iptables-legacy", "iptables-nft")), a)
        nft = [("nftables", rulegen.to_nft(b, priority=rng.choice((-10, 10))), "nft")]
        return ipt + nft if rng.random() < 0.5 else nft + ipt
    if backend == "legacy-beside-nft":
        # equal priority: the kernel's order of x_tables and nf_tables chains cannot be read
        ipt = _iptables("iptables-legacy", a)
        nft = [("nftables", rulegen.to_nft(b, priority=0), "nft")]
        return ipt + nft if rng.random() < 0.5 else nft + ipt
    b.redirect = None
    prio_a, prio_b = rng.choice(((-5, 5), (0, 5), (0, 0), (0, 0)))
    one = rulegen.to_nft(a, table="one", priority=prio_a)
    two = rulegen.to_nft(b, table="two", family=rng.choice(("ip", "inet")), priority=prio_b)
    return [("nftables", one + two if rng.random() < 0.5 else two + one, "nft")]


def _files(tmp_path, loads: list[tuple[str, str, str]]) -> list[str]:
    """The same rulesets as files, in the order the kernel registered them: the lab's legacy
    tables exist before any nf_tables table (see OracleLab), whatever the load order."""
    specs = []
    ordered = sorted(loads, key=lambda load: "legacy" not in load[0])
    for i, (_, text, kind) in enumerate(ordered):
        f = tmp_path / (f"r{i}.nft" if kind == "nft" else f"r{i}.rules")
        f.write_text(text)
        specs.append(f"{kind}:{f}")
    return specs


def test_random_rulesets_agree_with_the_kernel(lab, tmp_path):
    n = int(os.environ.get("FWAUDIT_ORACLE_RULESETS", "130"))
    base = int(os.environ.get("FWAUDIT_ORACLE_SEED", random.randrange(1 << 30)))
    failures: list[str] = []
    points = len(lab.points())
    judged = left_open = 0
    for i in range(n):
        seed = base + i
        rng = random.Random(seed)
        backend = BACKENDS[seed % len(BACKENDS)]
        loads = _loads(backend, rng)
        files = _files(tmp_path, loads)
        lab.reset()
        for tool, text, _ in loads:
            lab.load(tool, text)
        kernel = lab.kernel()
        assert len(kernel) == points, f"seed {seed}: the probe lost points"
        views = (("live", predicted(*lab.live_view())), ("offline", predicted(*lab.offline_view(files))))
        again = None
        if any(disagreements(kernel, model) for _, model in views):
            # a probe lost under load is a measurement error, a real disagreement repeats:
            # probe again and report only points that disagree both times
            again = lab.kernel()
        for view_name, model in views:
            assert set(model) == set(kernel), f"seed {seed} ({view_name}): the model skipped points"
            judged += len(model)
            left_open += order_dependent(model)
            diff = disagreements(kernel, model)
            if again is not None:
                repeated = {d.split(": kernel")[0] for d in disagreements(again, model)}
                diff = [d for d in diff if d.split(": kernel")[0] in repeated]
            if diff:
                texts = "\n".join(f"--- {tool}\n{text}" for tool, text, _ in loads)
                failures.append(
                    f"seed {seed} ({backend}, {view_name}): {len(diff)} disagreement(s)\n"
                    + "\n".join(diff[:8]) + f"\n{texts}"
                )
        if len(failures) >= 3:
            break
    assert not failures, f"base seed {base}\n" + "\n\n".join(failures)
    # the unknowable-order escape hatch stays an exception, not a way to pass
    assert left_open <= judged * 0.05, f"{left_open} of {judged} verdicts left open by order"
