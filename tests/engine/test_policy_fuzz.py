"""Continuous fuzzing of the policy loader, within a time budget, plus the corpus of past crashers.

Every input must end as a user would want from ``fwaudit policy check``: a policy (exit 0) or an
:class:`InputError` (exit 2) with a message of at most 300 characters, within 5 seconds — never
another exception (a traceback), never a hang. Inputs are mutated policies
(:mod:`tests.engine.policy_mutations`), generated documents of hostile values, and raw text.
The run spends ``FWAUDIT_FUZZ_SECONDS`` (default 20, at most 30) on them. Anything that fails is
printed by hypothesis; save it under ``tests/data/fuzz/policy/`` (replayed by
:func:`test_corpus_replays`) and fix the loader.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.app.loaders import load_policy
from auditor.engine.policy import parse_policy
from auditor.errors import EXIT_INPUT, InputError
from tests.engine.policy_mutations import SEEDS, TOKENS, mutate

CORPUS = Path(__file__).resolve().parents[1] / "data" / "fuzz" / "policy"
BUDGET = min(30.0, float(os.environ.get("FWAUDIT_FUZZ_SECONDS", "20")))
MAX_MESSAGE = 300
MAX_SECONDS = 5.0


def outcome(load) -> str:
    """Run ``load()``; "ok" or "input error", asserting the contract (module docstring)."""
    started = time.monotonic()
    try:
        load()
        result = "ok"
    except InputError as e:
        assert e.exit_code == EXIT_INPUT
        assert len(e.message) <= MAX_MESSAGE, (len(e.message), e.message[:200])
        result = "input error"
    elapsed = time.monotonic() - started
    assert elapsed <= MAX_SECONDS, f"took {elapsed:.1f} s"
    return result


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.text(max_size=30),
                    st.sampled_from(TOKENS))
junk = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=12)
service = st.fixed_dictionaries(
    {"name": st.text(max_size=12) | junk, "protocol": st.sampled_from(["tcp", "udp", ["tcp", "udp"], []]) | junk},
    optional={"port": st.integers(-5, 70000) | junk, "ports": junk, "zones": st.lists(st.sampled_from(["lan", "x"])) | junk,
              "process": junk, "processes": junk, "bind": st.sampled_from(["any", "loopback", ["::1"], []]) | junk,
              "optional": junk, "extra": junk})
document = st.fixed_dictionaries({
    "version": st.just(1) | junk, "name": st.text(max_size=12) | junk,
    "zones": st.dictionaries(st.sampled_from(["lan", "x", ""]) | st.text(max_size=5),
                             st.lists(st.sampled_from(["198.18.0.0/24", "::/0", "1.2.3.4/8", "x"]), max_size=3) | junk,
                             max_size=3) | junk,
    "services": st.lists(service, max_size=4) | junk,
}, optional={"default": junk, "ignore_processes": junk, "require_explicit_rules": junk})

inputs = st.one_of(
    st.builds(mutate, st.sampled_from(SEEDS), st.randoms(use_true_random=False)),
    document.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.text(max_size=400),
)


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(inputs)
def _fuzz_round(text: str) -> None:
    outcome(lambda: parse_policy(text, "p.yaml"))


def test_policy_loader_fuzz_within_its_time_budget():
    stop = time.monotonic() + BUDGET
    rounds = 0
    while time.monotonic() < stop:
        _fuzz_round()
        rounds += 1
    assert rounds > 0


@pytest.mark.parametrize("path", sorted(CORPUS.iterdir()), ids=lambda p: p.name)
def test_corpus_replays(path):
    assert outcome(lambda: load_policy(path)) in ("ok", "input error")
