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


def masked(s: IntervalSet, mask: int, value: int, bits: int, limit: int = 256) -> IntervalSet | None:
    """The members ``x`` of ``s`` with ``x & mask == value``, for any mask (``ip6 saddr &
    ::ffff:ffff:ffff:ffff == ::1``); ``None`` when that takes more than ``limit`` ranges.

    ``s`` is cut into aligned blocks (as into CIDR prefixes); in a block the mask's bits above
    it are fixed, and the bits it leaves free below the lowest masked bit of the block make
    runs, one per choice of the free bits above them.
    """
    if value & ~mask:
        return EMPTY
    out: list[Range] = []
    for lo, hi in s:
        for base, host in _blocks(lo, hi, bits):
            inside = (1 << host) - 1
            if (base & mask & ~inside) != (value & ~inside):
                continue
            m, v = mask & inside, value & inside
            free = inside & ~m
            run = (m & -m) - 1 if m else inside  # free bits below the block's lowest masked bit
            high = free & ~run
            if len(out) + (1 << bin(high).count("1")) > limit:
                return None
            sub = high
            while True:
                start = base | v | sub
                out.append((start, start + run))
                if sub == 0:
                    break
                sub = (sub - 1) & high
    return normalize(out)


def _blocks(lo: int, hi: int, bits: int) -> Iterable[tuple[int, int]]:
    """``[lo, hi]`` as aligned blocks ``(base, host bits)``, largest first from ``lo``."""
    while lo <= hi:
        host = (lo & -lo).bit_length() - 1 if lo else bits
        while host > 0 and lo + (1 << host) - 1 > hi:
            host -= 1
        yield lo, host
        lo += 1 << host
