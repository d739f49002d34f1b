"""Small bounded tallies the report aggregation keeps: findings, ping round trips, close codes.

Each is fed events one at a time and answers with report data (``wsdissect/report/data.py``); memory depends on
the number of finding codes, open connections and distinct close codes, never on the number of events.
"""
from __future__ import annotations

from ..events import Finding, Message
from ..findings import KINDS, Severity
from ..flow import CLIENT_TO_SERVER
from ..rfc6455 import close_code_label
from ..ws.pings import PingBook
from .data import CloseCodeRow, FindingGroup, RttBucket
from .timeseries import BucketClock, add_lists

FRAMES_KEPT = 10  # frames listed per finding code
REASONS_KEPT = 3  # distinct close reasons listed per close code
PENDING_PINGS = 256  # unanswered pings remembered per connection
SEVERITIES = tuple(s.label for s in Severity)  # chat, note, warning, error


class FindingTally:
    """Findings by code (count, first frames, an example) and by severity over time."""

    def __init__(self, clock: BucketClock) -> None:
        self.clock = clock
        self.series = clock.new_series(lambda: [0, 0, 0, 0], add_lists)
        self.groups: dict[str, list] = {}  # code -> [count, frames, example, severity]
        self.by_severity = [0, 0, 0, 0]
        self.undated = 0

    def add(self, f: Finding) -> None:
        sev = int(f.severity) - 1
        self.by_severity[sev] += 1
        g = self.groups.get(f.code)
        if g is None:
            g = self.groups[f.code] = [0, [], f.message, f.severity]
        g[0] += 1
        if len(g[1]) < FRAMES_KEPT:
            g[1].append(f.frame)
        if f.ts == 0.0 and f.conn is None:  # the file's own damage carries no time
            self.undated += 1
            return
        i = self.clock.index(f.ts)
        b = self.series.data.get(i)
        if b is None:
            b = self.series.data[i] = [0, 0, 0, 0]
        b[sev] += 1

    def severity_counts(self) -> dict:
        return dict(zip(SEVERITIES, self.by_severity))

    def per_severity(self, buckets: int) -> dict:
        dense = self.series.dense(buckets)
        return {label: tuple(b[k] for b in dense) for k, label in enumerate(SEVERITIES)}

    def top(self) -> tuple[FindingGroup, ...]:
        groups = [FindingGroup(code, Severity(sev).label, KINDS[code].summary if code in KINDS else "", n,
                               tuple(frames), example)
                  for code, (n, frames, example, sev) in self.groups.items()]
        groups.sort(key=lambda g: (-SEVERITIES.index(g.severity), -g.count, g.code))
        return tuple(groups)


class PingTracker:
    """Pairs each Pong with the Ping it answers (same payload, other direction) and keeps the round trips per
    bucket: count, sum, min, max."""

    def __init__(self, clock: BucketClock) -> None:
        self.clock = clock
        self.series = clock.new_series(lambda: [0, 0.0, float("inf"), float("-inf")], self._merge)
        self.pending: dict[int, PingBook] = {}  # connection index -> its outstanding pings

    @staticmethod
    def _merge(a: list, b: list) -> list:
        return [a[0] + b[0], a[1] + b[1], min(a[2], b[2]), max(a[3], b[3])]

    def ping(self, m: Message) -> None:
        book = self.pending.get(m.conn.index)
        if book is None:
            book = self.pending[m.conn.index] = PingBook(PENDING_PINGS)
        book.ping(m.direction, m.payload, m.last_ts)

    def pong(self, m: Message) -> None:
        book = self.pending.get(m.conn.index)
        sent = None if book is None else book.pong(m.direction, m.payload)
        if sent is None:
            return
        rtt = m.last_ts - sent
        i = self.clock.index(m.last_ts)
        b = self.series.data.get(i)
        if b is None:
            self.series.data[i] = [1, rtt, rtt, rtt]
        else:
            b[0] += 1
            b[1] += rtt
            if rtt < b[2]:
                b[2] = rtt
            if rtt > b[3]:
                b[3] = rtt

    def connection_ended(self, index: int) -> None:
        self.pending.pop(index, None)

    def buckets(self) -> tuple[RttBucket, ...]:
        return tuple(RttBucket(i, n, lo, total / n, hi) for i, (n, total, lo, hi) in sorted(self.series.data.items()))


class CloseTally:
    """Close frames by status code and direction, with a few distinct reasons each."""

    def __init__(self) -> None:
        self.codes: dict = {}  # code -> [c2s count, s2c count, reasons]

    def add(self, m: Message) -> None:
        row = self.codes.get(m.close_code)
        if row is None:
            row = self.codes[m.close_code] = [0, 0, []]
        row[0 if m.direction == CLIENT_TO_SERVER else 1] += 1
        reason = m.close_reason
        if reason and len(row[2]) < REASONS_KEPT and reason not in row[2]:
            row[2].append(reason)

    def rows(self) -> tuple[CloseCodeRow, ...]:
        out = [CloseCodeRow(code, close_code_label(code) if code is not None else "no status code", (a, b),
                            tuple(reasons))
               for code, (a, b, reasons) in self.codes.items()]
        out.sort(key=lambda r: (-(r.counts[0] + r.counts[1]), -1 if r.code is None else r.code))
        return tuple(out)
