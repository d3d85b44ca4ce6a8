"""Fuzzing the command line where it is cheap: offline commands with hostile option values.

Each run goes through ``auditor.cli.main`` in-process, as the console script does, and must end
with exit 0, 1 (findings) or 2 (bad input) — never an exception (a traceback for the user).
Only commands that touch nothing are fuzzed (policy check, exposure and verify on files).
``FWAUDIT_FUZZ_SECONDS`` (default 10, at most 30) is the budget.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from tests.engine.policy_mutations import TOKENS

BUDGET = min(30.0, float(os.environ.get("FWAUDIT_FUZZ_SECONDS", "10")))
POLICY = """version: 1
name: t
zones:
  lan: [198.18.0.0/24]
  internet: [0.0.0.0/0, "::/0"]
services:
  - {name: ssh, protocol: tcp, port: 22, zones: [lan]}
"""
RULES = """table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    iifname "lo" accept
    ip saddr 198.18.0.0/24 tcp dport 22 accept
  }
}
"""
# what a command line can hold: any bytes but NUL, decoded as Python decodes argv (a lone high
# surrogate such as "\ud83d" cannot come from a command line, "\udcff" can)
argv_text = st.binary(max_size=40).map(lambda b: os.fsdecode(b.replace(b"\0", b"")))
values = st.one_of(argv_text, st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40),
                   st.sampled_from([t for t in TOKENS if "\0" not in t and not any(0xD800 <= ord(c) < 0xE000 for c in t)]),
                   st.sampled_from(["eth0", "198.18.0.2", "198.18.0.2/24", "eth0=198.18.0.2/24", "x=::1/64",
                                    "=", "eth0=", "=1.2.3.4/8", "fd00:db8::1", "0.0.0.0/0", "lan", "internet",
                                    "json", "text", "junit", "sarif", "prometheus", "high", "info"]))


def run_main(argv: list[str]) -> int:
    return run_cli(argv)[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("clifuzz")
    (d / "p.yaml").write_text(POLICY)
    (d / "r.nft").write_text(RULES)
    return d


def test_offline_commands_survive_hostile_option_values(files):
    policy, rules = str(files / "p.yaml"), str(files / "r.nft")

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.sampled_from(["check", "exposure", "verify"]), st.lists(values, min_size=1, max_size=6),
           st.lists(st.sampled_from(["--source", "--interface", "--zone", "--format", "-d", "-i",
                                     "--fail-on", "--forwarding", "--against"]), max_size=4))
    def one(command, vals, flags):
        if command == "check":
            argv = ["policy", "check", str(files / vals[0].replace("/", "_").replace("\x00", "")[:100])]
        elif command == "exposure":
            argv = ["exposure", "--ruleset", rules, "-i", vals[0], "-d", vals[-1], "--policy", policy]
        else:
            argv = ["verify", "--policy", policy, "--ruleset", rules, "--interface", vals[0]]
        for flag, val in zip(flags, vals[1:]):
            argv += [flag] if flag == "--forwarding" else [flag, val]
        assert run_main(argv) in (0, 1, 2)

    stop = time.monotonic() + BUDGET
    while time.monotonic() < stop:
        one()
