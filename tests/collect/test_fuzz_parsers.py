"""Continuous fuzzing of the two parsers that take text or JSON from outside (hypothesis, a
time budget per run): whatever they get, the result is a ruleset or a user-facing error — exit
0 or 2, never a traceback — with a short message, within 5 s per input."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.collect.iptsave import parse_iptables_save
from auditor.collect.nftjson import tables_from_nft_json
from auditor.errors import FwauditError, LocatedInputError
from tests.collect.mutate import IPTABLES_WORDS, NFT_WORDS, NUMBERS

FAST = settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])

word = st.one_of(st.sampled_from(IPTABLES_WORDS + NUMBERS), st.text(max_size=12))
rule = st.builds(lambda chain, words: " ".join(["-A", chain, *words]),
                 st.sampled_from(["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "svc"]), st.lists(word, max_size=14))
line = st.one_of(rule, st.sampled_from(["*filter", "*nat", "*raw", ":INPUT DROP [0:0]", ":svc - [0:0]", "-N svc",
                                        "COMMIT", "# comment", ""]), st.text(max_size=40))
restore_file = st.lists(line, max_size=25).map(lambda ls: "\n".join(["*filter", *ls, "COMMIT", ""]))


@FAST
@given(restore_file, st.sampled_from([4, 6]))
def test_iptables_save_parser_returns_a_ruleset_or_a_located_error(text, version):
    start = time.monotonic()
    try:
        parse_iptables_save(text, version=version, backend="file", source="f.rules")
    except LocatedInputError as e:
        assert len(e.message) <= 300 and e.line is not None
    assert time.monotonic() - start < 5


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 33), 1 << 33), st.sampled_from(NFT_WORDS),
                      st.text(max_size=8))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["match", "op", "left", "right", "payload", "protocol", "field", "meta", "key",
                                     "ct", "set", "map", "vmap", "data", "concat", "range", "prefix", "addr", "len",
                                     "accept", "drop", "jump", "target", "dnat", "port", "family", "mangle", "value",
                                     "limit", "inv", "reject", "type", "expr", "fib", "flags", "result", "&", "|",
                                     "elem", "val", "stmt", "base", "offset", "ct count", "meter", "numgen"]),
                    inner, max_size=4)), max_leaves=20)
chain_item = st.fixed_dictionaries({"chain": st.fixed_dictionaries(
    {"family": st.just("inet"), "table": st.just("t"), "name": st.sampled_from(["input", "c"]), "handle": st.integers(1, 9)},
    optional={"hook": st.sampled_from(["input", "prerouting"]), "prio": st.one_of(st.integers(-400, 400), st.text(max_size=6)),
              "policy": st.sampled_from(["accept", "drop"]), "type": st.sampled_from(["filter", "nat"])})})
rule_item = st.fixed_dictionaries({"rule": st.fixed_dictionaries(
    {"family": st.just("inet"), "table": st.just("t"), "chain": st.sampled_from(["input", "c"]),
     "handle": st.integers(1, 99), "expr": st.lists(json_value, max_size=5)})})
set_item = st.fixed_dictionaries({"set": st.fixed_dictionaries(
    {"family": st.just("inet"), "table": st.just("t"), "name": st.sampled_from(["s", "m"]), "type": json_value,
     "elem": st.lists(json_value, max_size=4)})})
nft_doc = st.lists(st.one_of(chain_item, rule_item, set_item, json_value), max_size=12).map(
    lambda items: {"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}}, *items]})


@FAST
@given(nft_doc)
def test_nft_json_converter_returns_a_ruleset_or_a_user_facing_error(doc):
    start = time.monotonic()
    json.dumps(doc)  # the converter gets what nft prints: JSON
    try:
        tables_from_nft_json(doc)
    except FwauditError as e:
        assert len(e.message) <= 300
    assert time.monotonic() - start < 5
