"""report/timeseries.py: self-sizing time buckets."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wsdissect.report.timeseries import MAX_BUCKETS, WIDTHS, BucketClock, width_label


def _count(clock: BucketClock, series, ts: float) -> int:
    i = clock.index(ts)
    series.data[i] = series.data.get(i, 0) + 1
    return i


def test_widths_merge_exactly() -> None:
    for a, b in zip(WIDTHS, WIDTHS[1:]):
        ratio = b / a
        assert abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 2


def test_short_capture_keeps_millisecond_buckets() -> None:
    clock = BucketClock()
    s = clock.new_series()
    clock.start(100.0)
    for ts in (100.0, 100.0005, 100.0015, 100.2):
        _count(clock, s, ts)
    assert clock.width == 0.001
    assert s.data == {0: 2, 1: 1, 200: 1}


def test_long_capture_coarsens_and_keeps_every_count() -> None:
    clock = BucketClock()
    s = clock.new_series()
    clock.start(0.0)
    for k in range(3600):  # one event a second for an hour
        _count(clock, s, float(k))
    assert clock.width == 10.0  # 3600 s / 600 buckets needs 6 s: the ladder's next width is 10 s
    assert sum(s.data.values()) == 3600
    assert s.data[0] == 10 and s.data[359] == 10 and max(s.data) == 359


def test_earlier_timestamp_moves_the_origin_back() -> None:
    clock = BucketClock()
    s = clock.new_series()
    clock.start(10.0)
    _count(clock, s, 10.0)
    i = _count(clock, s, 9.9995)
    assert i == 0 and clock.origin < 9.9995
    assert sum(s.data.values()) == 2 and s.data[max(s.data)] == 1


def test_width_labels() -> None:
    assert [width_label(w) for w in (0.001, 0.2, 2.0, 600.0, 21600.0, 172800.0)] == \
        ["1 ms", "200 ms", "2 s", "10 min", "6 h", "2 d"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e7, allow_nan=False), min_size=1, max_size=200))
def test_every_timestamp_lands_in_its_bucket(times: list[float]) -> None:
    """Whatever the order and spread, counts are kept, indexes stay in range, and each event's bucket (on the
    final grid) contains its time."""
    clock = BucketClock()
    s = clock.new_series()
    clock.start(times[0])
    for ts in times:
        _count(clock, s, ts)
    assert sum(s.data.values()) == len(times)
    assert all(0 <= i < MAX_BUCKETS for i in s.data)
    expected: dict[int, int] = {}
    for ts in times:
        i = int((ts - clock.anchor) * (1.0 / clock.width) + clock.before)  # counted from the anchor, as the clock does
        start = clock.origin + i * clock.width  # and that bucket holds the time (to float precision)
        slack = 1e-9 * max(1.0, abs(ts), abs(start))
        assert start - slack <= ts < start + clock.width + slack
        expected[i] = expected.get(i, 0) + 1
    assert expected == s.data
