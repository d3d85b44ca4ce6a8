"""``verify --against``: which (zone, source, protocol, ports) a candidate ruleset changes, from two
firewall views of the same zones and addresses."""

from __future__ import annotations

from auditor.engine.diff import diff_views
from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.result import ReachabilityChange, ZoneExposure

A, B = "198.18.0.1", "198.18.9.1"


def view(zone: str, *entries: tuple[str, str, tuple[int, int], str], dest: str = A, iif: str = "eth0") -> ZoneExposure:
    return ZoneExposure(zone, Exposure("t", iif, dest, tuple(ExposureEntry(s, p, ports, v)  # type: ignore[arg-type]
                                                               for s, p, ports, v in entries)))


def change(zone: str, source: str, ports: tuple[int, int], before: str, after: str,
           proto: str = "tcp") -> ReachabilityChange:
    return ReachabilityChange(zone, source, proto, ports, before, after)  # type: ignore[arg-type]


def test_a_verdict_that_changes_is_reported_on_the_common_ports_and_the_narrower_source():
    before = [view("lan", ("198.18.0.0/24", "tcp", (1, 100), "drop"), ("198.18.0.0/24", "tcp", (101, 65535), "accept"))]
    after = [view("lan", ("198.18.0.0/25", "tcp", (20, 200), "accept"), ("198.18.0.128/25", "tcp", (1, 65535), "drop"))]
    assert diff_views(before, after) == (
        change("lan", "198.18.0.0/25", (20, 100), "drop", "accept"),
        change("lan", "198.18.0.128/25", (101, 65535), "accept", "drop"),
    )


def test_the_narrower_source_wins_whichever_side_it_is_on():
    before = [view("lan", ("198.18.0.64/26", "udp", (53, 53), "accept"), ("198.18.0.0/26", "udp", (53, 53), "reject"))]
    after = [view("lan", ("198.18.0.0/24", "udp", (1, 65535), "reject"))]
    assert diff_views(before, after) == (
        change("lan", "198.18.0.64/26", (53, 53), "accept", "reject", "udp"),
    )
    # and the other way round: the candidate narrows
    assert diff_views(after, before) == (
        change("lan", "198.18.0.64/26", (53, 53), "reject", "accept", "udp"),
    )


def test_a_single_address_is_named_without_prefix_length_but_a_pair_keeps_it():
    before = [view("lan", ("198.18.0.0/24", "tcp", (22, 22), "drop"))]
    after = [view("lan", ("198.18.0.5/32", "tcp", (22, 22), "accept"), ("198.18.0.6/31", "tcp", (22, 22), "accept"),
                  ("198.18.0.0/24", "tcp", (22, 22), "drop"))]
    assert diff_views(before, after) == (
        change("lan", "198.18.0.5", (22, 22), "drop", "accept"),
        change("lan", "198.18.0.6/31", (22, 22), "drop", "accept"),
    )


def test_unchanged_verdicts_other_protocols_disjoint_sources_and_ports_are_no_change():
    before = [view("lan",
                   ("198.18.0.0/25", "tcp", (22, 22), "accept"),    # same verdict
                   ("198.18.0.0/25", "udp", (22, 22), "drop"),      # other protocol
                   ("198.18.0.128/25", "tcp", (22, 22), "drop"),    # disjoint source
                   ("198.18.0.0/25", "tcp", (23, 30), "drop"),      # disjoint ports
                   ("198.18.0.0/25", "tcp", (1, 22), "drop"))]      # the one that changes
    after = [view("lan", ("198.18.0.0/25", "tcp", (22, 22), "accept"))]
    assert diff_views(before, after) == (change("lan", "198.18.0.0/25", (22, 22), "drop", "accept"),)


def test_only_views_of_the_same_zone_interface_and_address_are_compared():
    before = [view("lan", ("198.18.0.0/24", "tcp", (22, 22), "drop"))]
    after = [view("dmz", ("198.18.0.0/24", "tcp", (22, 22), "accept")),
             view("lan", ("198.18.0.0/24", "tcp", (22, 22), "accept"), iif="eth1"),
             view("lan", ("198.18.0.0/24", "tcp", (22, 22), "accept"), dest=B),
             view("lan", ("198.18.0.0/24", "tcp", (22, 22), "accept"))]
    assert diff_views(before, after) == (change("lan", "198.18.0.0/24", (22, 22), "drop", "accept"),)
    assert diff_views(before, after[:3]) == ()


def test_changes_of_several_addresses_merge_into_ranges_per_zone_source_and_verdicts():
    before = [view("lan", ("198.18.0.0/24", "tcp", (1, 65535), "drop")),
              view("lan", ("198.18.0.0/24", "tcp", (1, 65535), "drop"), dest=B),
              view("dmz", ("198.18.0.0/24", "tcp", (1, 65535), "drop"))]
    after = [view("lan", ("198.18.0.0/24", "tcp", (20, 30), "accept"), ("198.18.0.0/24", "tcp", (40, 50), "accept"),
                  ("198.18.0.0/24", "tcp", (52, 60), "accept"), ("198.18.0.0/24", "tcp", (62, 70), "reject")),
             view("lan", ("198.18.0.0/24", "tcp", (25, 28), "accept"), ("198.18.0.0/24", "tcp", (31, 39), "accept"),
                  ("198.18.0.0/24", "tcp", (61, 61), "accept"), dest=B),
             view("dmz", ("198.18.0.0/24", "tcp", (10, 10), "accept"))]
    assert diff_views(before, after) == (
        change("dmz", "198.18.0.0/24", (10, 10), "drop", "accept"),
        change("lan", "198.18.0.0/24", (20, 50), "drop", "accept"),   # 20-30, 25-28 inside, 31-39, 40-50 adjacent
        change("lan", "198.18.0.0/24", (52, 61), "drop", "accept"),   # 51 is a gap; 61 adjacent to 52-60
        change("lan", "198.18.0.0/24", (62, 70), "drop", "reject"),   # adjacent, but another verdict
    )
