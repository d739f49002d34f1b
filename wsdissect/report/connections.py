"""Per-connection parts of the report: records for the table and timeline, and traffic series per connection.

Both keep the busiest connections only (by messages), so memory stays bounded on captures with very many
connections; what is left out is counted and said in the report.
"""
from __future__ import annotations

import heapq
from itertools import count

from ..events import ConnectionEnd
from ..export.records import connection_record, is_exported_connection
from ..flow import Conn
from .data import ConnectionSeries, TimelineBar
from .timeseries import BucketClock, Series, add_lists

RECORDS_KEPT = 2000  # connections kept for the timeline (and the table's busiest rows)
SERIES_KEPT = 64  # finished connections whose traffic series are kept (open ones always are)


def _close_text(rec: dict) -> str:
    return ", ".join(f"{'C' if d == 'client_to_server' else 'S'} {c['code'] if c['code'] is not None else '-'}"
                     for d, c in rec["close"].items())


class ConnectionBook:
    """Connection records (as ``stats -f json``) of the busiest :data:`RECORDS_KEPT` connections, and how every
    connection ended."""

    def __init__(self, keep: int = RECORDS_KEPT) -> None:
        self.keep = keep
        self.heap: list = []  # (messages, tie-breaker, record, bar): the smallest is dropped first
        self.tie = count()
        self.total = 0
        self.websocket = 0
        self.ended_by: dict[str, int] = {}

    def end(self, e: ConnectionEnd) -> None:
        if not is_exported_connection(e):
            return
        self.total += 1
        self.websocket += e.websocket
        self.ended_by[e.ended_by] = self.ended_by.get(e.ended_by, 0) + 1
        rec = connection_record(e)
        for part in ("request", "response"):  # the headers are not shown; keep the record small
            if rec[part] is not None:
                rec[part] = {k: v for k, v in rec[part].items() if k != "headers"}
        messages = sum(st["messages"] for st in rec["stats"].values())
        up = e.upgrade
        handshake = up.response.ts if up is not None else (rec["response"]["time"] if rec["response"] else None)
        bar = TimelineBar(e.conn.index, e.conn.client, e.conn.server, e.start_ts, handshake, e.end_ts, e.ended_by,
                          rec["status"], messages, _close_text(rec))
        item = (messages, next(self.tie), rec, bar)
        if len(self.heap) < self.keep:
            heapq.heappush(self.heap, item)
        else:
            heapq.heappushpop(self.heap, item)

    @property
    def omitted(self) -> int:
        return self.total - len(self.heap)

    def records(self) -> tuple[dict, ...]:
        """Busiest first."""
        return tuple(rec for _m, _t, rec, _b in sorted(self.heap, key=lambda x: (-x[0], x[2]["stream"])))

    def bars(self) -> tuple[TimelineBar, ...]:
        """In order of start."""
        return tuple(sorted((b for _m, _t, _r, b in self.heap), key=lambda b: (b.start, b.stream)))


class ConnectionTraffic:
    """Messages and bytes per bucket and direction for each connection: ``[msgs c2s, msgs s2c, bytes c2s,
    bytes s2c]`` per bucket.  Open connections keep theirs; of the finished ones, the :data:`SERIES_KEPT`
    busiest do.  The aggregation's hot path writes ``by_index[conn.index]`` directly."""

    def __init__(self, clock: BucketClock, keep: int = SERIES_KEPT) -> None:
        self.clock = clock
        self.keep = keep
        self.by_index: dict[int, dict] = {}  # connection index -> bucket -> [m0, m1, b0, b1] (open connections)
        self.open: dict[int, tuple[Conn, Series]] = {}
        self.finished: list = []  # heap of (messages, tie-breaker, conn, series)
        self.tie = count()
        self.seen = 0  # connections that carried messages

    def start(self, conn: Conn) -> dict:
        """A connection's first message: its series (the dict the hot path writes)."""
        s = self.clock.new_series(lambda: [0, 0, 0, 0], add_lists)
        self.open[conn.index] = (conn, s)
        self.by_index[conn.index] = s.data
        self.seen += 1
        return s.data

    def end(self, index: int) -> None:
        entry = self.open.pop(index, None)
        if entry is None:
            return
        del self.by_index[index]
        conn, s = entry
        total = sum(b[0] + b[1] for b in s.data.values())
        heapq.heappush(self.finished, (total, next(self.tie), conn, s))
        if len(self.finished) > self.keep:
            self.clock.drop_series(heapq.heappop(self.finished)[3])

    def end_all(self) -> None:
        """The end of a capture file: connection numbers start again in the next one."""
        for index in list(self.open):
            self.end(index)

    def busiest(self, buckets: int) -> tuple[ConnectionSeries, ...]:
        entries = [(conn, s) for _t, _i, conn, s in self.finished] + list(self.open.values())
        out = []
        for conn, s in entries:
            dense = s.dense(buckets)
            out.append(ConnectionSeries(conn.index, conn.client, conn.server,
                                        (tuple(b[0] for b in dense), tuple(b[1] for b in dense)),
                                        (tuple(b[2] for b in dense), tuple(b[3] for b in dense))))
        out.sort(key=lambda c: (-c.total_messages, c.stream))
        return tuple(out)
