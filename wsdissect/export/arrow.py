"""Events -> Arrow record batches: the tables of the Parquet export and of ``Capture.to_arrow``.

Three tables, ``messages``, ``connections`` and ``expert``; column names are the JSONL field names (docs/export.md)
with three differences: the payload is the binary column ``payload`` (raw bytes, no base64), times are
``timestamp[ns, UTC]`` columns holding the JSONL ``*_ns`` values (so no separate ``*_ns`` columns), and every table
starts with ``file``, the input path as given.  Rows are collected up to :data:`ROWS` rows or :data:`BYTES` payload
bytes, then handed out as one record batch, so memory stays flat whatever the capture's size.
"""
from __future__ import annotations

from array import array
from itertools import accumulate, repeat
from operator import attrgetter, is_not
from typing import Callable, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from ..events import CaptureEnd, CaptureStart, ConnectionEnd, Finding, Message
from ..findings import Severity
from ..rfc6455 import opcode_name
from ..speedups import speedups
from .records import (U64, app_text, connection_record, expert_record, is_exported_connection, json_bytes, message_columns,
                      time_ns)

ROWS = 1 << 13  # rows per record batch: small enough that the messages are still in the CPU cache when built
BYTES = 2 << 20  # payload bytes per record batch

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
_TLS = pa.struct([("version", pa.string()), ("cipher_suite", pa.string()), ("sni", pa.string()),
                  ("alpn", pa.string()), ("decrypted", pa.bool_()), ("resumed", pa.bool_())])

CONNECTIONS = pa.schema([
    ("file", pa.string()), ("stream", pa.int64()), ("client", pa.string()), ("server", pa.string()),
    ("status", pa.string()), ("request", _REQUEST), ("response", _RESPONSE), ("subprotocol", pa.string()),
    ("extensions", pa.list_(pa.string())), ("permessage_deflate", pa.string()), ("first_frame", pa.int64()),
    ("last_frame", pa.int64()), ("start_time", TIME), ("end_time", TIME), ("duration", pa.float64()),
    ("handshake_ms", pa.float64()), ("ended_by", pa.string()), ("first_close", pa.string()),
    ("close", pa.string()), ("midstream", pa.bool_()), ("stats", pa.string()), ("ping_rtt", _RTT),
    ("tls", _TLS),
])
JSON_TEXT_COLUMNS = ("permessage_deflate", "close", "stats")  # nested objects with open key sets: JSON text

EXPERT = pa.schema([
    ("file", pa.string()), ("frame", pa.int64()), ("time", TIME), ("severity", pa.string()), ("code", pa.string()),
    ("message", pa.string()), ("stream", pa.int64()), ("client", pa.string()), ("server", pa.string()),
    ("direction", pa.string()),
])

_PAYLOAD = attrgetter("payload")
SCHEMAS = {"messages": MESSAGES, "connections": CONNECTIONS, "expert": EXPERT}

# Columns are built from buffers (``Array.from_buffers`` over ``array.array`` and joined bytes), never by
# ``pa.array``/``from_pylist``: those import pandas on first use (0.2-0.3 s and 40 MB for a CLI export) and convert
# value by value.  ``column`` takes the values ``pa.array`` would take and gives the same array.
_CODES = {pa.int8(): "b", pa.int32(): "i", pa.int64(): "q", pa.uint64(): "Q", pa.float64(): "d", TIME: "q"}


def _bools(values: list) -> pa.Array:
    as_bytes = pa.Array.from_buffers(pa.uint8(), len(values), [None, pa.py_buffer(array("B", values))])
    return pc.cast(as_bytes, pa.bool_())


def _filled(values: list, filler) -> list:
    return [filler if v is None else v for v in values]


def _strings(values: list, valid: pa.Buffer | None = None) -> pa.Array:
    """A string column from str values (no None): the UTF-8 of all joined, the running lengths as offsets."""
    data = "".join(values).encode("utf-8")
    lengths = list(map(len, values))
    if len(data) != sum(lengths):  # not all ASCII: lengths in bytes, value by value
        lengths = [len(v.encode("utf-8")) for v in values]
    if len(data) >= 1 << 31:  # pragma: no cover - over 2 GiB of text in one batch
        raise OverflowError("string column over 2 GiB")
    offsets = array("i", accumulate(lengths, initial=0))
    return pa.Array.from_buffers(pa.string(), len(values), [valid, pa.py_buffer(offsets), pa.py_buffer(data)])


def _nested(values: list, type: pa.DataType, valid: pa.Buffer | None) -> pa.Array:
    mask = None if valid is None else pc.invert(pa.Array.from_buffers(pa.bool_(), len(values), [None, valid]))
    if pa.types.is_struct(type):
        children = [column([None if v is None else v.get(f.name) for v in values], f.type) for f in type]
        return pa.StructArray.from_arrays(children, fields=list(type), mask=mask)
    fill = _filled(values, ()) if valid is not None else values
    offsets = pa.Array.from_buffers(pa.int32(), len(values) + 1,
                                    [None, pa.py_buffer(array("i", accumulate(map(len, fill), initial=0)))])
    flat = column([x for v in fill for x in v], type.value_type)
    return pa.ListArray.from_arrays(offsets, flat, type=type, mask=mask)


def column(values: list, type: pa.DataType) -> pa.Array:
    """The Arrow array of *values* (Python values, None for null) of *type*, as ``pa.array(values, type)``."""
    nulls = values.count(None)
    if nulls and nulls == len(values):
        return pa.nulls(len(values), type)
    valid = _bitmap(_bools(list(map(is_not, values, repeat(None))))) if nulls else None
    if pa.types.is_string(type):
        return _strings(_filled(values, "") if nulls else values, valid)
    if pa.types.is_struct(type) or pa.types.is_list(type):
        return _nested(values, type, valid)
    if pa.types.is_boolean(type):
        bits = _bools(_filled(values, False) if nulls else values).buffers()[1]
        return pa.Array.from_buffers(type, len(values), [valid, bits])
    data = array(_CODES[type], _filled(values, 0) if nulls else values)
    return pa.Array.from_buffers(type, len(values), [valid, pa.py_buffer(data)])


def table_batch(rows: list, schema: pa.Schema) -> pa.RecordBatch:
    """The record batch of dict rows, as ``pa.RecordBatch.from_pylist(rows, schema=schema)``."""
    return pa.RecordBatch.from_arrays([column([r.get(f.name) for r in rows], f.type) for f in schema],
                                      schema=schema)


_OPCODE_NAMES = column([opcode_name(op) for op in range(16)], pa.string())
_message_buffers = getattr(speedups, "message_buffers", None)
_MILLION = column([1e6], pa.float64())[0]  # scalars for pyarrow.compute (a Python number would go by pa.scalar)
_THOUSAND = column([1000], pa.int64())[0]


def _times_of(seconds: pa.Array) -> pa.Array:
    """Float seconds (all within +-9.2e9) -> ``timestamp[ns, UTC]``, as :func:`records.time_ns` (vectorized)."""
    micros = pc.round(pc.multiply(seconds, _MILLION), round_mode="half_to_even").cast(pa.int64())
    return pc.multiply(micros, _THOUSAND).cast(TIME)


def _times(seconds: list) -> pa.Array:
    """Float seconds -> ``timestamp[ns, UTC]``, the same values as :func:`records.time_ns`."""
    arr = column(seconds, pa.float64())
    low, high = pc.min_max(arr).values()
    if low.as_py() is None or (low.as_py() > -9.2e9 and high.as_py() < 9.2e9):
        return _times_of(arr)
    return column([time_ns(t) for t in seconds], TIME)


def _repeat(value: str, n: int) -> pa.Array:
    return pa.repeat(column([value], pa.string())[0], n)


def _wire_lengths(values: list) -> pa.Array:
    try:
        return column(values, pa.uint64())
    except OverflowError:  # declared lengths of hostile input; the JSONL caps them the same way
        return column([min(v, U64) for v in values], pa.uint64())


def _binary(values: list) -> pa.Array:
    """A binary column from bytes objects: one join and the running lengths as offsets.  ``pa.array`` would grow a
    builder and keep several times the batch's bytes allocated; this holds the bytes once."""
    data = b"".join(values)
    offsets = array("i", accumulate(map(len, values), initial=0))  # OverflowError past 2 GiB (one huge message)
    return pa.Array.from_buffers(pa.binary(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _bitmap(present: pa.Array) -> pa.Buffer | None:
    """The validity bitmap a boolean array (fresh, offset 0) is: None when every row is valid."""
    return None if present.false_count == 0 else present.buffers()[1]


def _texts(payloads: pa.Array, valid: pa.Array) -> pa.Array:
    """The ``text`` column without converting the strings: a message's ``text``, when set, is its payload decoded
    as UTF-8, so the payload column's buffers are the text column's, with the rows without text (*valid* false)
    null."""
    if not valid.true_count:
        return pa.nulls(len(payloads), pa.string())
    return pa.StringArray.from_buffers(len(payloads), payloads.buffers()[1], payloads.buffers()[2], _bitmap(valid))


class MessageBuffers(NamedTuple):
    """``speedups.message_buffers``' answer: the messages table's buffers, each a bytes object."""

    ints: bytes  # int64 columns one after the other: connection index, first_frame, last_frame, fragments, wire_length
    floats: bytes  # float64: first_ts, then last_ts
    flags: bytes  # a byte per row each: opcode, complete, compressed, truncated, then text, close_code,
    #               close_reason and note being set
    close_codes: bytes  # int32 (0 where there is none)
    payload: bytes
    payload_offsets: bytes  # int32, one more than rows
    client: bytes
    client_offsets: bytes
    server: bytes
    server_offsets: bytes
    direction: bytes
    direction_offsets: bytes
    close_reason: bytes
    close_reason_offsets: bytes
    note: bytes
    note_offsets: bytes


def _message_columns_py(file: str, batch: list) -> list:
    """The ``messages`` columns value by value (any values ``pa.array`` takes)."""
    (_conn, direction, opcode, payload, complete, first_frame, last_frame, first_ts, last_ts, fragments,
     compressed, wire_length, _frames, close_code, close_reason, text, truncated, note, _raw, _app, index,
     client, server) = message_columns(batch)
    payloads = _binary(payload)
    return [
        _repeat(file, len(batch)), column(index, pa.int64()),
        column(client, pa.string()), column(server, pa.string()), column(direction, pa.string()),
        _OPCODE_NAMES.take(column(opcode, pa.int8())), payloads, column(complete, pa.bool_()),
        column(close_code, pa.int32()), column(close_reason, pa.string()), column(first_frame, pa.int64()),
        column(last_frame, pa.int64()), _times(first_ts), _times(last_ts), column(fragments, pa.int64()),
        column(compressed, pa.bool_()), _wire_lengths(wire_length), pc.binary_length(payloads).cast(pa.int64()),
        _texts(payloads, _bools(list(map(is_not, text, repeat(None))))), column(truncated, pa.bool_()),
        column(note, pa.string()),
    ]


def _message_columns_c(file: str, n: int, b: MessageBuffers) -> list:
    """The same columns from :class:`MessageBuffers` (the C builder's), by ``from_buffers`` only."""
    ints, floats, flags = pa.py_buffer(b.ints), pa.py_buffer(b.floats), pa.py_buffer(b.flags)
    fixed = [pa.Array.from_buffers(pa.int64(), n, [None, ints.slice(8 * n * k, 8 * n)]) for k in range(5)]
    times = [pa.Array.from_buffers(pa.float64(), n, [None, floats.slice(8 * n * k, 8 * n)]) for k in range(2)]
    opcode, complete, compressed, truncated, *valid = [
        pa.Array.from_buffers(pa.uint8(), n, [None, flags.slice(n * k, n)]) for k in range(8)]
    has_text, has_code, has_reason, has_note = (pc.cast(v, pa.bool_()) for v in valid)

    def strings(data: bytes, offsets: bytes, present: pa.Array | None = None) -> pa.Array:
        if present is not None and not present.true_count:
            return pa.nulls(n, pa.string())
        bitmap = None if present is None else _bitmap(present)
        return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)])

    codes = pa.Array.from_buffers(pa.int32(), n, [_bitmap(has_code), pa.py_buffer(b.close_codes)])
    payloads = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(b.payload_offsets), pa.py_buffer(b.payload)])
    return [
        _repeat(file, n), fixed[0], strings(b.client, b.client_offsets), strings(b.server, b.server_offsets),
        strings(b.direction, b.direction_offsets), _OPCODE_NAMES.take(opcode), payloads,
        pc.cast(complete, pa.bool_()), codes if has_code.true_count else pa.nulls(n, pa.int32()),
        strings(b.close_reason, b.close_reason_offsets, has_reason), fixed[1], fixed[2], _times_of(times[0]),
        _times_of(times[1]), fixed[3], pc.cast(compressed, pa.bool_()), fixed[4].cast(pa.uint64()),
        pc.binary_length(payloads).cast(pa.int64()), _texts(payloads, has_text), pc.cast(truncated, pa.bool_()),
        strings(b.note, b.note_offsets, has_note),
    ]


def _app_column(batch: list) -> pa.Array:
    """The ``app`` column: each message's units as JSON text, null without (all null in one pass when none has)."""
    units = list(map(_APP, batch))
    if units.count(None) == len(units):
        return pa.nulls(len(batch), pa.string())
    return column(list(map(app_text, units)), pa.string())


_APP = attrgetter("app")


def message_batch(file: str, batch: list) -> pa.RecordBatch:
    """The ``messages`` rows of a list of Message events."""
    buffers = _message_buffers(batch) if _message_buffers is not None else None
    if buffers is None:
        columns = _message_columns_py(file, batch)
    else:
        columns = _message_columns_c(file, len(batch), MessageBuffers._make(buffers))
    columns.append(_app_column(batch))
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
            self.emit(table, table_batch(rows, SCHEMAS[table]))

    def close(self) -> None:
        self._flush_messages()
        for table in self.rows:
            self._flush_rows(table)

