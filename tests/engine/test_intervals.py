"""Interval-set algebra against Python sets of small integers (property-based)."""

from hypothesis import example, given
from hypothesis import strategies as st

from auditor.engine import intervals as iv

# a small universe, so that touching, one-apart and nested ranges come up often
ranges = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=6)


def points(s):
    return {x for lo, hi in s for x in range(lo, hi + 1)}


def norm(rs):
    return iv.normalize(rs)


@given(ranges, ranges)
@example([(1, 2), (4, 5)], [(3, 3)])  # one point apart: two ranges, not one
@example([(1, 2), (3, 5)], [(2, 3)])  # adjacent: one range
def test_operations_agree_with_sets(a, b):
    A, B = norm(a), norm(b)
    assert points(A) == points([r for r in a if r[0] <= r[1]])
    assert points(iv.intersect(A, B)) == points(A) & points(B)
    assert points(iv.subtract(A, B)) == points(A) - points(B)
    assert points(iv.union(A, B)) == points(A) | points(B)
    assert iv.contains(A, iv.intersect(A, B))
    assert iv.size(A) == len(points(A))
    for result in (iv.intersect(A, B), iv.subtract(A, B), iv.union(A, B)):
        assert result == iv.normalize(result)  # canonical: sorted, disjoint, non-adjacent


def test_normalize_merges_touching_ranges_only():
    assert iv.normalize([(4, 5), (1, 2)]) == ((1, 2), (4, 5))
    assert iv.normalize([(1, 2), (3, 5)]) == ((1, 5),)
    assert iv.normalize([(1, 5), (2, 5), (5, 4)]) == ((1, 5),)


def test_subtract_skips_every_range_below_the_next_one():
    """Both of b's ranges end below a's: the scan must move past each (a stuck index hangs)."""
    assert iv.subtract(((10, 12),), ((1, 2), (4, 5))) == ((10, 12),)
    assert iv.subtract(((1, 3), (10, 12)), ((1, 2), (4, 5), (11, 11))) == ((3, 3), (10, 10), (12, 12))


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), max_size=4), st.integers(0, 255),
       st.integers(0, 255))
@example([(0, 255)], 0b11110000, 0b10100000)  # a prefix: one range
@example([(3, 200)], 0b00001111, 0b00000101)  # a suffix: one address per block of 16
def test_masked_is_every_member_whose_masked_bits_equal_the_value(rs, mask, value):
    s = norm(rs)
    got = iv.masked(s, mask, value, 8, limit=1 << 10)
    assert got is not None and points(got) == {x for x in points(s) if x & mask == value}
    assert got == norm(got)


def test_masked_gives_up_rather_than_list_too_many_ranges():
    suffix = (1 << 64) - 1
    assert iv.masked(((0, (1 << 128) - 1),), suffix, 0xA, 128) is None  # one address per /64
    assert iv.masked(((1 << 64, (2 << 64) - 1),), suffix, 0xA, 128) == (((1 << 64) + 0xA,) * 2,)
