"""How the kernel judge scores one point."""

from __future__ import annotations

from benchmarks.judge.verdicts import Verdict, judge


def test_definite_verdicts_must_match_what_the_client_saw():
    assert judge("open", Verdict("accept", "", "")) == "right"
    assert judge("refused", Verdict("reject", "", "")) == "right"
    assert judge("silent", Verdict("drop", "", "")) == "right"
    assert judge("silent", Verdict("reject", "", "")) == "wrong"
    assert judge("open", None) == "wrong"


def test_an_unknowable_chain_order_must_name_the_kernels_outcome():
    order = "depends on the order of … : one order gives {}, another {}"
    assert judge("refused", Verdict("indeterminate", order.format("reject", "drop"), "")) == "indeterminate"
    assert judge("open", Verdict("indeterminate", order.format("reject", "drop"), "")) == "wrong"
    assert judge("refused", Verdict("indeterminate", order.format("indeterminate", "drop"), "")) == "indeterminate"
    assert judge("open", Verdict("indeterminate", "unsupported match", "")) == "indeterminate"
