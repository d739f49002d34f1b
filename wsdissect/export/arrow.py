"""Events -> Arrow record batches: the tables of the Parquet export and of ``Capture.to_arrow``.

Three tables, ``messages``, ``connections`` and ``expert``; column names are the JSONL field names (docs/export.md)
with three differences: the payload is the binary column ``payload`` (raw bytes, no base64), times are
``timestamp[ns, UTC]`` columns holding the JSONL ``*_ns`` values (so no separate ``*_ns`` columns), and every table
starts with ``file``, the input path as given.  Rows are collected up to :data:`ROWS` rows or :data:`BYTES` payload
bytes, then handed out as one record batch, so memory stays flat whatever the capture's size.
"""
from __future__ import annotations

from typing import Callable

import pyarrow as pa

from ..events import CaptureEnd, CaptureStart, ConnectionEnd, Finding, Message
from ..findings import Severity
from ..rfc6455 import opcode_name
from .records import connection_record, expert_record, is_exported_connection, json_bytes, time_ns

ROWS = 1 << 16  # rows per record batch (a Parquet row group)
BYTES = 64 << 20  # payload bytes per record batch

TIME = pa.timestamp("ns", tz="UTC")
_HEADERS = pa.list_(pa.list_(pa.string()))

MESSAGES = pa.schema([
    ("file", pa.string()), ("stream", pa.int64()), ("client", pa.string()), ("server", pa.string()),
    ("direction", pa.string()), ("opcode", pa.string()), ("payload", pa.binary()), ("complete", pa.bool_()),
    ("close_code", pa.int32()), ("close_reason", pa.string()), ("first_frame", pa.int64()),
    ("last_frame", pa.int64()), ("first_time", TIME), ("last_time", TIME), ("fragments", pa.int64()),
    ("compressed", pa.bool_()), ("wire_length", pa.uint64()), ("payload_length", pa.int64()),
    ("text", pa.string()), ("truncated", pa.bool_()), ("note", pa.string()),
])

_REQUEST = pa.struct([("method", pa.string()), ("uri", pa.string()), ("version", pa.string()),
                      ("headers", _HEADERS), ("frame", pa.int64()), ("time", TIME)])
_RESPONSE = pa.struct([("version", pa.string()), ("status", pa.int32()), ("reason", pa.string()),
                       ("headers", _HEADERS), ("frame", pa.int64()), ("time", TIME)])
_RTT = pa.struct([("count", pa.int64()), ("min", pa.float64()), ("avg", pa.float64()), ("max", pa.float64())])

CONNECTIONS = pa.schema([
    ("file", pa.string()), ("stream", pa.int64()), ("client", pa.string()), ("server", pa.string()),
    ("status", pa.string()), ("request", _REQUEST), ("response", _RESPONSE), ("subprotocol", pa.string()),
    ("extensions", pa.list_(pa.string())), ("permessage_deflate", pa.string()), ("first_frame", pa.int64()),
    ("last_frame", pa.int64()), ("start_time", TIME), ("end_time", TIME), ("duration", pa.float64()),
    ("handshake_ms", pa.float64()), ("ended_by", pa.string()), ("first_close", pa.string()),
    ("close", pa.string()), ("midstream", pa.bool_()), ("stats", pa.string()), ("ping_rtt", _RTT),
])
JSON_TEXT_COLUMNS = ("permessage_deflate", "close", "stats")  # nested objects with open key sets: JSON text

EXPERT = pa.schema([
    ("file", pa.string()), ("frame", pa.int64()), ("time", TIME), ("severity", pa.string()), ("code", pa.string()),
    ("message", pa.string()), ("stream", pa.int64()), ("client", pa.string()), ("server", pa.string()),
    ("direction", pa.string()),
])

SCHEMAS = {"messages": MESSAGES, "connections": CONNECTIONS, "expert": EXPERT}


def message_batch(file: str, batch: list) -> pa.RecordBatch:
    """The ``messages`` rows of a list of Message events."""
    conns = [m.conn for m in batch]
    columns = [
        [file] * len(batch), [c.index for c in conns], [c.client for c in conns], [c.server for c in conns],
        [m.direction for m in batch], [opcode_name(m.opcode) for m in batch], [m.payload for m in batch],
        [m.complete for m in batch], [m.close_code for m in batch], [m.close_reason for m in batch],
        [m.first_frame for m in batch], [m.last_frame for m in batch], [time_ns(m.first_ts) for m in batch],
        [time_ns(m.last_ts) for m in batch], [m.fragments for m in batch], [m.compressed for m in batch],
        [min(m.wire_length, (1 << 64) - 1) for m in batch], [len(m.payload) for m in batch],
        [m.text for m in batch], [m.truncated for m in batch], [m.note for m in batch],
    ]
    return pa.RecordBatch.from_arrays([pa.array(col, type=f.type) for col, f in zip(columns, MESSAGES)],
                                      schema=MESSAGES)


def _timed(part: dict | None) -> dict | None:
    """A request or response record with its time as integer nanoseconds (what a timestamp column takes)."""
    return None if part is None else dict(part, time=part["time_ns"])


def connection_row(file: str, e: ConnectionEnd) -> dict:
    rec = connection_record(e)
    rec.update(file=file, request=_timed(rec["request"]), response=_timed(rec["response"]),
               start_time=rec["start_time_ns"], end_time=rec["end_time_ns"])
    for name in JSON_TEXT_COLUMNS:
        if rec[name] is not None:
            rec[name] = json_bytes(rec[name]).decode("utf-8")
    return rec


def expert_row(file: str, f: Finding) -> dict:
    rec = expert_record(f)
    rec.update(file=file, time=rec["time_ns"])
    return rec


class ArrowTables:
    """Collects events into the three tables and hands each full batch to ``emit(table_name, batch)``."""

    def __init__(self, emit: Callable[[str, pa.RecordBatch], None], min_severity: int = Severity.NOTE,
                 file: str | None = None):
        self.emit = emit
        self.min_severity = min_severity
        self.fixed = file is not None  # one source with a name of its own (the API): inputs' names are not used
        self.file = file or ""
        self.messages: list = []
        self.payload_bytes = 0
        self.rows: dict[str, list] = {"connections": [], "expert": []}

    def events(self, evs: list) -> None:
        if evs and evs[-1].__class__ is CaptureEnd:  # a file's damage findings come just before its end
            self._switch(evs[-1].source)
        for ev in evs:
            cls = ev.__class__
            if cls is Message:
                self.messages.append(ev)
                self.payload_bytes += len(ev.payload)
                if len(self.messages) >= ROWS or self.payload_bytes >= BYTES:
                    self._flush_messages()
            elif cls is ConnectionEnd:
                if is_exported_connection(ev):
                    self._add("connections", connection_row(self.file, ev))
            elif cls is Finding:
                if ev.severity >= self.min_severity:
                    self._add("expert", expert_row(self.file, ev))
            elif cls is CaptureStart:
                self._switch(ev.source)

    def _switch(self, source: str) -> None:
        """A new input begins (or a file without packets ends): its rows carry its name."""
        if source != self.file and not self.fixed:
            self._flush_messages()  # a message batch has one file
            self.file = source

    def _add(self, table: str, row: dict) -> None:
        rows = self.rows[table]
        rows.append(row)
        if len(rows) >= ROWS:
            self._flush_rows(table)

    def _flush_messages(self) -> None:
        if self.messages:
            batch, self.messages, self.payload_bytes = self.messages, [], 0
            self.emit("messages", message_batch(self.file, batch))

    def _flush_rows(self, table: str) -> None:
        rows = self.rows[table]
        if rows:
            self.rows[table] = []
            self.emit(table, pa.RecordBatch.from_pylist(rows, schema=SCHEMAS[table]))

    def close(self) -> None:
        self._flush_messages()
        for table in self.rows:
            self._flush_rows(table)

