"""``wsdissect stats``' application tables: per protocol the top events/topics/destinations/methods with counts
and bytes, and request -> response latency per protocol (wsdissect.app.LatencyTracker, one per connection).

Memory grows with the distinct (protocol, kind, name) keys and the open requests, never with messages.  ``bytes``
of a unit is its own payload size when the decoder reports one (MQTT ``payload_length``, STOMP ``body_length``),
else the WebSocket message's payload size shared evenly among the message's units.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from ..app import LatencyTracker
from ..events import Message
from ..flow import CLIENT_TO_SERVER, Conn
from .app_view import NAME_LABELS, protocol_label
from .text import safe, size

TOP = 10  # rows per protocol table


@dataclass(slots=True)
class Tally:
    count: int = 0
    bytes: int = 0


class AppStats:
    """Application units seen by ``stats``: name tallies per protocol and latency per request id."""

    def __init__(self) -> None:
        self.tallies: dict[str, dict[tuple[str, str | None], Tally]] = {}
        self.open: dict[int, LatencyTracker] = {}  # per connection index, until it ends
        self.latency = LatencyTracker()

    def message(self, m: Message) -> None:
        share = len(m.payload) // len(m.app)
        tracker = self.open.setdefault(m.conn.index, LatencyTracker())
        from_client = m.direction == CLIENT_TO_SERVER
        for u in m.app:
            own = u.detail("payload_length", u.detail("body_length"))
            tally = self.tallies.setdefault(u.protocol, {}).setdefault((u.kind, u.name), Tally())
            tally.count += 1
            tally.bytes += own if isinstance(own, int) else share
            tracker.observe(u, from_client, m.last_ts)

    def end(self, conn: Conn) -> None:
        """A connection ended: its requests still open count as unanswered."""
        tracker = self.open.pop(conn.index, None)
        if tracker is not None:
            self.latency.merge(tracker)

    def finish(self) -> None:
        """The capture ended: connections without an end (filtered out) are merged too."""
        for tracker in self.open.values():
            self.latency.merge(tracker)
        self.open.clear()

    def top(self, protocol: str) -> list[tuple[str, str | None, Tally]]:
        rows = [(kind, name, t) for (kind, name), t in self.tallies[protocol].items()]
        rows.sort(key=lambda r: (-r[2].count, -r[2].bytes, r[0], str(r[1])))
        return rows[:TOP]

    def to_json(self) -> dict:
        self.finish()
        protocols = {p: [{"kind": k, "name": n, "count": t.count, "bytes": t.bytes} for k, n, t in self.top(p)]
                     for p in sorted(self.tallies)}
        return {"protocols": protocols,
                "latency": [{"protocol": s.protocol, "count": s.count, "p50": s.p50, "p95": s.p95, "max": s.max,
                             "unanswered": s.unanswered} for s in self.latency.summaries()]}


def render_app_stats(console: Console, stats: AppStats) -> None:
    """The per-protocol tables and the latency table (nothing when no unit was decoded)."""
    stats.finish()
    for protocol in sorted(stats.tallies):
        table = Table(title=f"{protocol_label(protocol)} ({safe(protocol)}): top {TOP}")
        for col, kw in (("Kind", {}), (NAME_LABELS.get(protocol, "Name"), {"overflow": "fold"}),
                        ("Count", {"justify": "right"}), ("Bytes", {"justify": "right"})):
            table.add_column(col, **kw)
        for kind, name, t in stats.top(protocol):
            table.add_row(safe(kind, 100), "-" if name is None else safe(str(name), 300), str(t.count), size(t.bytes))
        console.print(table)
    summaries = stats.latency.summaries()
    if summaries:
        table = Table(title="Latency per request id (request -> response)")
        for col in ("Protocol", "Count", "p50 ms", "p95 ms", "max ms", "Unanswered"):
            table.add_column(col, justify="left" if col == "Protocol" else "right")
        for s in summaries:
            table.add_row(safe(s.protocol), str(s.count), f"{s.p50 * 1e3:.3f}", f"{s.p95 * 1e3:.3f}",
                          f"{s.max * 1e3:.3f}", str(s.unanswered))
        console.print(table)
