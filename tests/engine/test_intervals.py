"""Interval-set algebra against Python sets of small integers (property-based)."""

from hypothesis import given
from hypothesis import strategies as st

from auditor.engine import intervals as iv

ranges = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=6)


def points(s):
    return {x for lo, hi in s for x in range(lo, hi + 1)}


def norm(rs):
    return iv.normalize(rs)


@given(ranges, ranges)
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
