"""Where a vantage point may take its addresses from: the lab ranges only, checked before anything
is created (so no root is needed to be refused)."""

from __future__ import annotations

import pytest

from auditor.errors import InputError
from auditor.probe.vantage import VantagePoint


@pytest.mark.parametrize("source", ["2001:db8::5", "203.0.113.9", "198.20.0.1", "fe80::1", "::ffff:198.18.0.1"])
def test_a_source_outside_the_lab_ranges_is_refused_before_anything_is_made(source, tmp_path):
    with pytest.raises(InputError) as e:
        VantagePoint(str(tmp_path / "no-such-namespace"), ["198.18.0.9", source], destination="198.18.0.1")
    assert e.value.message == f"source {source} is outside the lab ranges 198.18.0.0/15 and fd00::/8"
    assert list(tmp_path.iterdir()) == []
