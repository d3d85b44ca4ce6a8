"""Sets of integers as sorted, disjoint, non-adjacent inclusive ranges.

The evaluator's header space is a product of such sets (source addresses × destination
ports), so every operation here is linear in the number of ranges, never in the number of
integers: 0.0.0.0/0 is one range, not four billion points.
"""

from __future__ import annotations

from collections.abc import Iterable

Range = tuple[int, int]
IntervalSet = tuple[Range, ...]

EMPTY: IntervalSet = ()


def normalize(ranges: Iterable[Range]) -> IntervalSet:
    """Sort and merge overlapping or adjacent ranges; drop reversed ones."""
    items = sorted((lo, hi) for lo, hi in ranges if lo <= hi)
    out: list[Range] = []
    for lo, hi in items:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def intersect(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    out: list[Range] = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            if cur > hi:
                break
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def union(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    return normalize(a + b)


def contains(outer: IntervalSet, inner: IntervalSet) -> bool:
    return not subtract(inner, outer)


def contains_point(s: IntervalSet, x: int) -> bool:
    return any(lo <= x <= hi for lo, hi in s)


def size(s: IntervalSet) -> int:
    return sum(hi - lo + 1 for lo, hi in s)


def boundaries(sets: Iterable[IntervalSet]) -> list[int]:
    """Sorted start points of the elementary intervals that refine all ``sets``."""
    pts: set[int] = set()
    for s in sets:
        for lo, hi in s:
            pts.add(lo)
            pts.add(hi + 1)
    return sorted(pts)
