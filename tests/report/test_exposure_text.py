"""The exposure table: one row per outcome, its source prefixes merged back into ranges."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.ruleset import Origin
from auditor.report.exposure import exposure_text, merged_sources

WEB = Origin("nftables", "inet", "filter", "input", 4, "tcp dport { 80, 443 } accept", "nft")


def internet_minus_lan() -> list[str]:
    """What the evaluator hands over for 0.0.0.0/0 minus 198.18.0.0/24: 24 prefixes."""
    return [str(n) for n in ipaddress.ip_network("0.0.0.0/0").address_exclude(ipaddress.ip_network("198.18.0.0/24"))]


@pytest.mark.parametrize(("sources", "expected"), [
    (internet_minus_lan(), ["0.0.0.0-198.17.255.255", "198.18.1.0-255.255.255.255"]),
    (["198.18.0.0/25", "198.18.0.128/25"], ["198.18.0.0/24"]),
    (["198.18.0.0/25", "198.18.1.0/25"], ["198.18.0.0/25", "198.18.1.0/25"]),
    (["fd00:db8::/33", "198.18.0.0/24", "fd00:db8:8000::/33"], ["198.18.0.0/24", "fd00:db8::/32"]),
])
def test_sources_merge_into_the_fewest_exact_ranges(sources, expected):
    assert merged_sources(sources) == expected


def test_rows_group_identical_outcomes_and_keep_different_ones_apart():
    entries = [ExposureEntry(src, "tcp", (80, 80), "accept", (WEB,)) for src in internet_minus_lan()]
    entries += [ExposureEntry(src, "tcp", (22, 22), "drop") for src in internet_minus_lan()]
    entries += [ExposureEntry("198.18.0.0/24", "tcp", (80, 80), "indeterminate", reason="limit")]
    text = exposure_text([("internet", Exposure("netns:x", "eth0", "198.18.0.2", tuple(entries)))])
    rows = [line for line in text.splitlines() if "│ 0.0.0.0" in line or "│ 198.18" in line]
    assert len(rows) == 2, text  # one accept row for both merged ranges, one indeterminate; drops hidden
    assert "0.0.0.0-198.17.255.255, 198.18.1.0-255.255.255.255" in rows[0] and "accept" in rows[0]
    assert "198.18.0.0/24" in rows[1] and "indeterminate" in rows[1] and "(limit)" in rows[1]
