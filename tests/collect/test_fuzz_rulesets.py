"""Differential strictness fuzzing: mutants of valid ruleset files go to the real tool (loaded
for real in a throwaway namespace, so what the kernel refuses on commit counts too) and to
fwaudit's reader. Refused by the tool ⇒ fwaudit raises a located input error (exit 2 with
file:line); loaded by the tool ⇒ fwaudit reads it — and for iptables reads the same model as
from what iptables-save prints after loading it. Never a crash.

Reproducible: ``FWAUDIT_FUZZ_SEED=<n>`` replays a run (``random`` picks a fresh seed, printed on
failure); ``FWAUDIT_FUZZ_MUTANTS`` changes how many (iptables; nft a third of it) and
``FWAUDIT_FUZZ_BUDGET_S`` the time budget. Every mutant that once disagreed is kept in
``tests/data/fuzz`` and replayed on every run.
"""

from __future__ import annotations

import os
import random
import time
import traceback
from pathlib import Path

import pytest

from auditor.collect.iptsave import parse_iptables_save
from auditor.collect.nft import read_nft_file
from auditor.errors import InputError, LocatedInputError
from tests.collect.mutate import IPTABLES_WORDS, NFT_WORDS, mutate
from tests.collect.restore_tool import run_in_private_netns
from tests.collect.test_iptsave_vs_restore import judge_verdict

pytestmark = pytest.mark.root

DATA = Path(__file__).resolve().parents[1] / "data"
FUZZ = DATA / "fuzz"
# both fuzzers together stay within a minute on the 2-core CI machine; a longer round (the
# "second round of attacks") lifts it with FWAUDIT_FUZZ_BUDGET_S
BUDGET_S = float(os.environ.get("FWAUDIT_FUZZ_BUDGET_S", "50"))
IPTABLES_SEEDS = [(DATA / "corpus" / "docker-iptables-nft.rules", 4), (DATA / "corpus" / "ufw.rules", 4),
                  (DATA / "fuzz-seeds" / "server.v4.rules", 4), (DATA / "fuzz-seeds" / "server.v6.rules", 6)]
NFT_SEEDS = [DATA / "nft-constructs.nft", DATA / "corpus" / "firewalld.nft"]


def _seed() -> int:
    raw = os.environ.get("FWAUDIT_FUZZ_SEED", "20251201")
    return random.randrange(1 << 32) if raw == "random" else int(raw)


def _iptables_problem(text: str, version: int) -> tuple[str, bool]:
    try:
        return judge_verdict(text, version)
    except Exception:  # noqa: BLE001 - a crash is what this test is for; report it with the mutant
        return "crash: " + traceback.format_exc(limit=4), False


@pytest.mark.parametrize("path", sorted(FUZZ.glob("*.rules")), ids=lambda p: p.name)
def test_kept_mutants_still_agree_with_the_tool(path):
    version = 6 if ".v6." in path.name else 4
    assert _iptables_problem(path.read_text(), version)[0] == ""


def test_iptables_mutants_agree_with_iptables_restore():
    seed = _seed()
    rng = random.Random(seed)
    seeds = [(p.read_text(), v) for p, v in IPTABLES_SEEDS]
    count, start = int(os.environ.get("FWAUDIT_FUZZ_MUTANTS", "300")), time.monotonic()
    tried = loaded = 0
    for tried in range(1, count + 1):
        text, version = rng.choice(seeds)
        mutant, edit = mutate(text, rng, IPTABLES_WORDS)
        problem, accepted = _iptables_problem(mutant, version)
        assert problem == "", f"seed {seed}, mutant {tried} ({edit}, IPv{version}): {problem}\n---\n{mutant}"
        loaded += accepted
        if time.monotonic() - start > BUDGET_S * 0.6:
            break
    print(f"\niptables fuzz: seed {seed}, {tried} mutants agreed ({loaded} loaded, {tried - loaded} refused by both) "
          f"in {time.monotonic() - start:.1f} s")


def test_nft_mutants_agree_with_nft(tmp_path):
    seed = _seed()
    rng = random.Random(seed)
    seeds = [p.read_text() for p in NFT_SEEDS]
    count, start = int(os.environ.get("FWAUDIT_FUZZ_MUTANTS", "300")) // 3, time.monotonic()
    path = tmp_path / "mutant.nft"
    tried = accepted = 0
    for tried in range(1, count + 1):
        mutant, edit = mutate(rng.choice(seeds), rng, NFT_WORDS)
        path.write_text(mutant)
        loaded = run_in_private_netns(["nft", "-f", str(path)]).returncode == 0
        try:
            read_nft_file(path)
            error = None
        except LocatedInputError as e:
            error = e
        except InputError as e:
            pytest.fail(f"seed {seed}, mutant {tried} ({edit}): error without a line: {e.message}")
        except Exception:  # noqa: BLE001
            pytest.fail(f"seed {seed}, mutant {tried} ({edit}): crash\n{traceback.format_exc(limit=4)}\n---\n{mutant}")
        assert loaded == (error is None), (f"seed {seed}, mutant {tried} ({edit}): nft "
                                           f"{'loads' if loaded else 'refuses'} it, fwaudit: {error}\n---\n{mutant}")
        accepted += loaded
        if time.monotonic() - start > BUDGET_S * 0.4:
            break
    print(f"\nnft fuzz: seed {seed}, {tried} mutants agreed ({accepted} loaded) in {time.monotonic() - start:.1f} s")
