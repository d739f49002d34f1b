"""Time buckets that size themselves: a capture of any length ends up as at most :data:`MAX_BUCKETS` buckets.

A :class:`BucketClock` maps a timestamp to a bucket index.  It starts with 1 ms buckets; when a timestamp falls
past the last bucket, the width steps up the :data:`WIDTHS` ladder (each width a whole multiple of the one
before, so old buckets merge exactly into new ones) and every registered :class:`Series` is merged to the new
width.  A timestamp before the origin moves the origin back by whole buckets (counted from a fixed anchor, so
no bucket drifts by rounding).  Merging happens a few dozen times
per capture at most, so the per-event cost is one subtraction, one multiplication and a bounds check.

Nothing here knows about WebSocket: series hold numbers (or small lists of numbers) per bucket.
"""
from __future__ import annotations

from typing import Callable

MAX_BUCKETS = 600

# bucket widths in seconds; each is an integer multiple of the previous one (exact merging), and all read well
# on an axis ("per 200 ms", "per 10 min")
_BASE = (0.001, 0.002, 0.01, 0.02, 0.1, 0.2, 1.0, 2.0, 10.0, 20.0, 60.0, 120.0, 600.0, 1200.0, 3600.0, 7200.0,
         21600.0, 86400.0)
WIDTHS = _BASE + tuple(86400.0 * 2 ** k for k in range(1, 40))


def width_label(width: float) -> str:
    """``"1 ms"``, ``"200 ms"``, ``"2 s"``, ``"10 min"``, ``"6 h"``, ``"4 d"``."""
    if width < 1:
        return f"{width * 1000:g} ms"
    if width < 60:
        return f"{width:g} s"
    if width < 3600:
        return f"{width / 60:g} min"
    if width < 86400:
        return f"{width / 3600:g} h"
    return f"{width / 86400:g} d"


def add_lists(a: list, b: list) -> list:
    """Merge for buckets that hold several counters: *b* added into *a* element-wise."""
    for k, v in enumerate(b):
        a[k] += v
    return a


class Series:
    """Per-bucket values, merged when the clock coarsens.

    *zero* makes an empty bucket (``int`` for counts, ``lambda: [0, 0.0, inf, -inf]`` for a statistic);
    *merge(a, b)* combines two buckets' values (``None``: addition).  Buckets live in a dict, so sparse series
    (one connection's messages) cost nothing where they are empty.
    """

    __slots__ = ("zero", "merge", "data")

    def __init__(self, zero: Callable = int, merge: Callable | None = None):
        self.zero = zero
        self.merge = merge
        self.data: dict[int, object] = {}

    def regrid(self, new_index: Callable[[int], int]) -> None:
        """Move every bucket to its index on the new grid, merging buckets that land together."""
        merged: dict[int, object] = {}
        combine = self.merge
        for i, v in self.data.items():
            j = new_index(i)
            if j in merged:
                merged[j] = merged[j] + v if combine is None else combine(merged[j], v)
            else:
                merged[j] = v
        self.data.clear()  # in place: callers may hold a reference to ``data``
        self.data.update(merged)

    def dense(self, n: int) -> list:
        """Values for buckets 0..n-1, empty buckets as ``zero()``."""
        get = self.data.get
        return [get(i) if i in self.data else self.zero() for i in range(n)]


class BucketClock:
    """Turns timestamps into bucket indexes and keeps every registered :class:`Series` on the same grid.

    Positions are measured from a fixed *anchor* (the first timestamp); the origin lies a whole number of buckets
    (*before*) earlier.  Moving the origin back or coarsening changes that integer, never a float, so a timestamp
    maps to the same bucket before and after (no rounding drift between old buckets and new events)."""

    __slots__ = ("anchor", "before", "level", "width", "inv", "series")

    def __init__(self) -> None:
        self.anchor: float | None = None
        self.before = 0  # buckets between the origin and the anchor
        self.level = 0
        self.width = WIDTHS[0]
        self.inv = 1.0 / self.width
        self.series: list[Series] = []

    @property
    def origin(self) -> float | None:
        """The start of bucket 0."""
        return None if self.anchor is None else self.anchor - self.before * self.width

    def new_series(self, zero: Callable = int, merge: Callable | None = None) -> Series:
        s = Series(zero, merge)
        self.series.append(s)
        return s

    def drop_series(self, s: Series) -> None:
        self.series.remove(s)

    def start(self, ts: float) -> None:
        """The capture's first timestamp is the origin (only the first call counts)."""
        if self.anchor is None:
            self.anchor = ts

    def index(self, ts: float) -> int:
        """The bucket of *ts*, coarsening or moving the origin as needed; always ``0 <= i < MAX_BUCKETS``."""
        if self.anchor is None:
            self.anchor = ts
        x = (ts - self.anchor) * self.inv + self.before
        return int(x) if 0 <= x < MAX_BUCKETS else self._fit(ts)

    def extent(self) -> int:
        """One past the highest bucket any series uses."""
        return max((max(s.data) + 1 for s in self.series if s.data), default=0)

    def _fit(self, ts: float) -> int:
        while True:
            x = (ts - self.anchor) * self.inv + self.before
            if x < 0:
                shift = int(-x) + 1
                if self.extent() + shift <= MAX_BUCKETS:
                    self.before += shift
                    self._regrid(lambda i: i + shift)
                    continue
            elif x < MAX_BUCKETS:
                return int(x)
            self._coarsen()

    def _coarsen(self) -> None:
        old = self.width
        self.level += 1
        self.width = WIDTHS[self.level]
        self.inv = 1.0 / self.width
        ratio = round(self.width / old)
        extra = -self.before % ratio  # the origin moves back this many old buckets to stay on the new grid
        self.before = (self.before + extra) // ratio
        self._regrid(lambda i: (i + extra) // ratio)

    def _regrid(self, new_index: Callable[[int], int]) -> None:
        for s in self.series:
            s.regrid(new_index)

    def time_of(self, i: int) -> float:
        """Seconds from the origin to the start of bucket *i*."""
        return i * self.width
