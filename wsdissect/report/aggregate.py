"""The report's aggregation: the event stream in, :class:`~wsdissect.report.data.ReportData` out, in bounded memory.

Feed it the events of a run, a list at a time (:meth:`ReportAggregator.feed`, the shape ``run.Driver.feed``
hands out) or one at a time (:meth:`ReportAggregator.event`), then call
:meth:`ReportAggregator.result`.  Only ``Message``, ``Finding``, ``ConnectionEnd``, ``CaptureStart`` and
``CaptureEnd`` events are used, so the pipeline need not build packets or frames.  Memory depends on the time
buckets (at most ``timeseries.MAX_BUCKETS``), the connections open at once and fixed limits, never on the number
of messages.  Message payloads are measured, never kept (except the payloads of unanswered pings).

Message time is ``last_ts`` (when the message completed, as the filters use), its size ``len(payload)``
(decompressed, as ``stats`` counts bytes).
"""
from __future__ import annotations

from ..events import CaptureEnd, CaptureStart, ConnectionEnd, Finding, Message
from ..flow import CLIENT_TO_SERVER
from ..rfc6455 import opcode_name
from .connections import ConnectionBook, ConnectionTraffic
from .data import ReportData, Summary, TimeAxis, Traffic
from .tallies import CloseTally, FindingTally, PingTracker
from .timeseries import MAX_BUCKETS, BucketClock, add_lists

SIZE_CLASSES = 65  # payload sizes by bit length: 0 (empty), 1, 2-3, 4-7, ..., up to 2**64 - 1


class ReportAggregator:
    """Consumes events; :meth:`result` summarises them.  See the module docstring."""

    def __init__(self) -> None:
        self.clock = BucketClock()
        # per bucket: [msgs c2s, msgs s2c, bytes c2s, bytes s2c, wire c2s, wire s2c]
        self.traffic = self.clock.new_series(lambda: [0] * 6, add_lists)
        self.sizes: dict[int, list[int]] = {}  # opcode -> counts per size class
        self.conns = ConnectionTraffic(self.clock)
        self.book = ConnectionBook()
        self.findings = FindingTally(self.clock)
        self.pings = PingTracker(self.clock)
        self.closes = CloseTally()
        self.sources: list[str] = []
        self.packets = 0
        self.damaged = False
        self.first_ts: float | None = None
        self.last_ts: float | None = None

    def event(self, ev) -> None:
        """One event (for drivers that hand out events singly)."""
        self.feed((ev,))

    def feed(self, events) -> None:
        """A batch of events (one packet's worth, typically).  The per-message work is inlined here: it is the
        hot path on captures of many small messages."""
        clock = self.clock
        nan = float("nan")  # no origin yet: every comparison fails and the clock decides
        anchor, inv, before = nan if clock.anchor is None else clock.anchor, clock.inv, clock.before
        traffic = self.traffic.data
        sizes = self.sizes
        by_index = self.conns.by_index
        last = self.last_ts if self.last_ts is not None else float("-inf")
        for ev in events:
            if ev.__class__ is not Message:
                self._other(ev)
                anchor, inv, before = nan if clock.anchor is None else clock.anchor, clock.inv, clock.before
                continue
            ts = ev.last_ts
            if ts > last:
                last = ts
            x = (ts - anchor) * inv + before
            if 0 <= x < MAX_BUCKETS:
                i = int(x)
            else:
                i = clock.index(ts)
                anchor, inv, before = clock.anchor, clock.inv, clock.before
            n = len(ev.payload)
            d = 0 if ev.direction == CLIENT_TO_SERVER else 1
            b = traffic.get(i)
            if b is None:
                b = traffic[i] = [0, 0, 0, 0, 0, 0]
            b[d] += 1
            b[d + 2] += n
            b[d + 4] += ev.wire_length
            per_conn = by_index.get(ev.conn.index)
            if per_conn is None:
                per_conn = self.conns.start(ev.conn)
            b = per_conn.get(i)
            if b is None:
                b = per_conn[i] = [0, 0, 0, 0]
            b[d] += 1
            b[d + 2] += n
            op = ev.opcode
            hist = sizes.get(op)
            if hist is None:
                hist = sizes[op] = [0] * SIZE_CLASSES
            hist[n.bit_length()] += 1
            if op >= 8:
                self._control(ev)
        if last != float("-inf") and (self.last_ts is None or last > self.last_ts):
            self.last_ts = last

    def _control(self, m: Message) -> None:
        op = m.opcode
        if op == 8:
            self.closes.add(m)
        elif op == 9:
            self.pings.ping(m)
        elif op == 10:
            self.pings.pong(m)

    def _other(self, ev) -> None:
        cls = ev.__class__
        if cls is Finding:
            self.findings.add(ev)
            if not (ev.ts == 0.0 and ev.conn is None):
                self._seen(ev.ts)
        elif cls is ConnectionEnd:
            self.book.end(ev)
            self.conns.end(ev.conn.index)
            self.pings.connection_ended(ev.conn.index)
            self._seen(ev.end_ts)
        elif cls is CaptureStart:
            self.sources.append(ev.source)
            self.clock.start(ev.ts)
            if self.first_ts is None or ev.ts < self.first_ts:
                self.first_ts = ev.ts
        elif cls is CaptureEnd:
            self.packets += ev.packets
            self.damaged |= ev.truncated
            self.conns.end_all()
            self.pings.pending.clear()

    def _seen(self, ts: float) -> None:
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts

    # -- the result --------------------------------------------------------------------------------------------
    def result(self) -> ReportData:
        clock = self.clock
        if clock.origin is None:
            clock.start(self.first_ts if self.first_ts is not None else 0.0)
        end = clock.index(self.last_ts) + 1 if self.last_ts is not None else 1  # the axis reaches the end
        n = max(clock.extent(), end)
        dense = self.traffic.dense(n)
        cols = [tuple(b[k] for b in dense) for k in range(6)]
        totals = [sum(c) for c in cols]
        summary = Summary(sources=tuple(self.sources), start=self.first_ts, end=self.last_ts, packets=self.packets,
                          connections=self.book.total, websocket=self.book.websocket,
                          messages=(totals[0], totals[1]), bytes=(totals[2], totals[3]),
                          wire_bytes=(totals[4], totals[5]), findings=self.findings.severity_counts(),
                          damaged=self.damaged)
        traffic = Traffic((cols[0], cols[1]), (cols[2], cols[3]), self.conns.busiest(n), self.conns.seen)
        sizes = {opcode_name(op): tuple(hist) for op, hist in sorted(self.sizes.items())}
        return ReportData(summary=summary, axis=TimeAxis(clock.origin, clock.width, n, clock.anchor, clock.before), traffic=traffic, sizes=sizes,
                          rtt=self.pings.buckets(), timeline=self.book.bars(), timeline_omitted=self.book.omitted,
                          ended_by=dict(self.book.ended_by), findings_series=self.findings.per_severity(n),
                          findings=self.findings.top(), findings_undated=self.findings.undated,
                          close_codes=self.closes.rows(), connections=self.book.records(),
                          connections_omitted=self.book.omitted)


def tee(*sinks):
    """One sink that hands each event to every one of *sinks* (``stats --plot``: the table and the plot)."""

    def each(ev) -> None:
        for sink in sinks:
            sink(ev)

    return each


def plot_json(data: ReportData) -> dict:
    """The per-connection message counts behind ``stats --plot``, for ``-f json``."""
    return {"origin": data.axis.origin, "bucket_seconds": data.axis.width, "buckets": data.axis.buckets,
            "messages": [a + b for a, b in zip(*data.traffic.messages)],
            "connections": [{"stream": c.stream, "client": c.client, "server": c.server,
                             "messages": [a + b for a, b in zip(*c.messages)]} for c in data.traffic.connections]}
