"""What a report shows, as plain frozen data: the contract between the aggregation and its renderers.

Times are seconds since the epoch (``float``) except bucket positions, which count buckets from
``TimeAxis.origin``.  Strings here come from the capture and are *not* escaped: every renderer escapes them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """The grid every time series shares: ``buckets`` buckets of ``width`` seconds from ``origin``."""

    origin: float
    width: float
    buckets: int
    anchor: float  # the clock's fixed reference: bucket(ts) is counted from here, as the aggregator counted it
    before: int  # buckets between origin and anchor

    def bucket(self, ts: float) -> int:
        """The bucket that holds *ts*."""
        return int((ts - self.anchor) * (1.0 / self.width) + self.before)


@dataclass(frozen=True, slots=True)
class Summary:
    sources: tuple[str, ...]
    start: float | None  # first packet
    end: float | None  # last event seen (packet of a message, finding, connection end)
    packets: int
    connections: int  # WebSocket connections and refused upgrade attempts (as ``stats``)
    websocket: int  # of which carried WebSocket
    messages: tuple[int, int]  # client->server, server->client
    bytes: tuple[int, int]  # message payload bytes (decompressed), per direction
    wire_bytes: tuple[int, int]  # message payload bytes as sent (compressed), per direction
    findings: dict  # severity label -> count
    damaged: bool  # a capture file was cut or damaged (its findings say where)


@dataclass(frozen=True, slots=True)
class ConnectionSeries:
    """One connection's traffic per bucket (the busiest connections keep one; the rest are summed in ``other``)."""

    stream: int
    client: str
    server: str
    messages: tuple[tuple[int, ...], tuple[int, ...]]  # per direction
    bytes: tuple[tuple[int, ...], tuple[int, ...]]

    @property
    def total_messages(self) -> int:
        return sum(self.messages[0]) + sum(self.messages[1])


@dataclass(frozen=True, slots=True)
class Traffic:
    """Messages and payload bytes per bucket and direction: all of them, and the busiest connections."""

    messages: tuple[tuple[int, ...], tuple[int, ...]]
    bytes: tuple[tuple[int, ...], tuple[int, ...]]
    connections: tuple[ConnectionSeries, ...]  # busiest first
    connections_total: int  # connections that carried messages (including those not kept here)


@dataclass(frozen=True, slots=True)
class RttBucket:
    """Ping round-trip times answered in one bucket, in seconds."""

    bucket: int
    count: int
    min: float
    avg: float
    max: float


@dataclass(frozen=True, slots=True)
class TimelineBar:
    """One connection from its start (TCP, or the first packet seen) through the handshake to its end."""

    stream: int
    client: str
    server: str
    start: float
    handshake: float | None  # time of the 101 response (or refusal)
    end: float
    ended_by: str
    status: str  # as the connection record: upgraded, refused, no handshake in capture, no response
    messages: int
    close: str  # e.g. "C 1000, S 1000"


@dataclass(frozen=True, slots=True)
class FindingGroup:
    code: str
    severity: str
    summary: str
    count: int
    frames: tuple[int, ...]  # the first few frames where it occurred
    example: str  # the first occurrence's message


@dataclass(frozen=True, slots=True)
class CloseCodeRow:
    code: int | None  # None: a Close frame without a status code
    label: str
    counts: tuple[int, int]  # Close frames per direction
    reasons: tuple[str, ...]  # a few distinct reasons, as sent


@dataclass(frozen=True, slots=True)
class ReportData:
    summary: Summary
    axis: TimeAxis
    traffic: Traffic
    sizes: dict  # opcode name -> counts per size class (index k: payloads of 2**(k-1) .. 2**k - 1 bytes; 0: empty)
    rtt: tuple[RttBucket, ...]
    timeline: tuple[TimelineBar, ...]
    timeline_omitted: int  # connections not drawn (beyond the limit)
    ended_by: dict  # how connections ended -> count (all connections)
    findings_series: dict  # severity label -> counts per bucket
    findings: tuple[FindingGroup, ...]  # most frequent first, most severe first
    findings_undated: int  # findings without a time (damage in the file itself)
    close_codes: tuple[CloseCodeRow, ...]
    connections: tuple[dict, ...]  # connection records (as ``stats -f json``), busiest first
    connections_omitted: int
