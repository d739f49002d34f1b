"""Events -> Arrow record batches: the tables of the Parquet export and of ``Capture.to_arrow``.

Three tables, ``messages``, ``connections`` and ``expert``; column names are the JSONL field names (docs/export.md)
with three differences: the payload is the binary column ``payload`` (raw bytes, no base64), times are
``timestamp[ns, UTC]`` columns holding the JSONL ``*_ns`` values (so no separate ``*_ns`` columns), and every table
starts with ``file``, the input path as given.  Rows are collected up to :data:`ROWS` rows or :data:`BYTES` payload
bytes, then handed out as one record batch, so memory stays flat whatever the capture's size.
"""
from __future__ import annotations

from itertools import repeat
from operator import attrgetter, is_not
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..events import CaptureEnd, CaptureStart, ConnectionEnd, Finding, Message
from ..findings import Severity
from ..rfc6455 import opcode_name
from .records import (U64, app_text, connection_record, expert_record, is_exported_connection, json_bytes, message_columns,
                      time_ns)

ROWS = 1 << 15  # rows per record batch (a Parquet row group)
BYTES = 8 << 20  # payload bytes per record batch

TIME = pa.timestamp("ns", tz="UTC")
_HEADERS = pa.list_(pa.list_(pa.string()))

MESSAGES = pa.schema([
    ("file", pa.string()), ("stream", pa.int64()), ("client", pa.string()), ("server", pa.string()),
    ("direction", pa.string()), ("opcode", pa.string()), ("payload", pa.binary()), ("complete", pa.bool_()),
    ("close_code", pa.int32()), ("close_reason", pa.string()), ("first_frame", pa.int64()),
    ("last_frame", pa.int64()), ("first_time", TIME), ("last_time", TIME), ("fragments", pa.int64()),
    ("compressed", pa.bool_()), ("wire_length", pa.uint64()), ("payload_length", pa.int64()),
    ("text", pa.string()), ("truncated", pa.bool_()), ("note", pa.string()),
    ("app", pa.string()),  # the application units as JSON text (null: no application decoder read the message)
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

_PAYLOAD = attrgetter("payload")
SCHEMAS = {"messages": MESSAGES, "connections": CONNECTIONS, "expert": EXPERT}


_OPCODE_NAMES = pa.array([opcode_name(op) for op in range(16)])
def _times(seconds: tuple) -> pa.Array:
    """Float seconds -> ``timestamp[ns, UTC]``, the same values as :func:`records.time_ns` (vectorized)."""
    arr = pa.array(seconds, type=pa.float64())
    low, high = pc.min_max(arr).values()
    if low.as_py() is None or (low.as_py() > -9.2e9 and high.as_py() < 9.2e9):
        micros = pc.round(pc.multiply(arr, 1e6), round_mode="half_to_even").cast(pa.int64())
        return pc.multiply(micros, 1000).cast(TIME)
    return pa.array([time_ns(t) for t in seconds], type=TIME)


def _wire_lengths(values: tuple) -> pa.Array:
    try:
        return pa.array(values, type=pa.uint64())
    except OverflowError:  # declared lengths of hostile input; the JSONL caps them the same way
        return pa.array([min(v, U64) for v in values], type=pa.uint64())


_ZERO = pa.array([0], type=pa.int32())


def _binary(values: list) -> pa.Array:
    """A binary column from bytes objects: one join and the running lengths as offsets.  ``pa.array`` would grow a
    builder and keep several times the batch's bytes allocated; this holds the bytes once."""
    data = b"".join(values)
    if len(data) >= 1 << 31:  # pragma: no cover - a message near 2 GiB: offsets would not fit in int32
        return pa.array(values, type=pa.binary())
    ends = pc.cumulative_sum(pa.array(list(map(len, values)), type=pa.int32()))
    offsets = pa.concat_arrays([_ZERO, ends])
    return pa.Array.from_buffers(pa.binary(), len(values), [None, offsets.buffers()[1], pa.py_buffer(data)])


def _texts(payloads: pa.Array, text: list) -> pa.Array:
    """The ``text`` column without converting the strings: a message's ``text``, when set, is its payload decoded
    as UTF-8, so the payload column's buffers are the text column's, with the rows without text null."""
    valid = pa.array(list(map(is_not, text, repeat(None))), type=pa.bool_())
    if payloads.null_count or payloads.offset or isinstance(payloads, pa.ChunkedArray):  # pragma: no cover
        return pa.array(text, type=pa.string())
    return pa.StringArray.from_buffers(len(payloads), payloads.buffers()[1], payloads.buffers()[2],
                                       valid.buffers()[1])


def message_batch(file: str, batch: list) -> pa.RecordBatch:
    """The ``messages`` rows of a list of Message events."""
    (_conn, direction, opcode, payload, complete, first_frame, last_frame, first_ts, last_ts, fragments,
     compressed, wire_length, _frames, close_code, close_reason, text, truncated, note, app, index, client,
     server) = message_columns(batch)
    payloads = _binary(payload)
    columns = [
        pa.array([file] * len(batch), type=pa.string()), pa.array(index, type=pa.int64()),
        pa.array(client, type=pa.string()), pa.array(server, type=pa.string()),
        pa.array(direction, type=pa.string()), _OPCODE_NAMES.take(pa.array(opcode, type=pa.int8())), payloads,
        pa.array(complete, type=pa.bool_()), pa.array(close_code, type=pa.int32()),
        pa.array(close_reason, type=pa.string()), pa.array(first_frame, type=pa.int64()),
        pa.array(last_frame, type=pa.int64()), _times(first_ts), _times(last_ts),
        pa.array(fragments, type=pa.int64()), pa.array(compressed, type=pa.bool_()), _wire_lengths(wire_length),
        pc.binary_length(payloads).cast(pa.int64()), _texts(payloads, text),
        pa.array(truncated, type=pa.bool_()), pa.array(note, type=pa.string()),
        pa.array(list(map(app_text, app)), type=pa.string()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=MESSAGES)


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
        messages = [ev for ev in evs if ev.__class__ is Message]
        if len(messages) == len(evs):  # the common case: a packet's messages only (inline: it runs per packet)
            self.messages += messages
            self.payload_bytes += sum(map(len, map(_PAYLOAD, messages)))
            if len(self.messages) >= ROWS or self.payload_bytes >= BYTES:
                self._flush_messages()
            return
        for ev in evs:
            cls = ev.__class__
            if cls is Message:
                self._add_messages([ev])
            elif cls is ConnectionEnd:
                if is_exported_connection(ev):
                    self._add("connections", connection_row(self.file, ev))
            elif cls is Finding:
                if ev.severity >= self.min_severity:
                    self._add("expert", expert_row(self.file, ev))
            elif cls is CaptureStart:
                self._switch(ev.source)

    def _add_messages(self, messages: list) -> None:
        self.messages += messages
        self.payload_bytes += sum(map(len, map(_PAYLOAD, messages)))
        if len(self.messages) >= ROWS or self.payload_bytes >= BYTES:
            self._flush_messages()

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

