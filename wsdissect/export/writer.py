"""JSON and JSONL writers over a binary file object, batching output by bytes.

JSONL: one record per line.  JSON: one array of the same records.  ``flush_each`` (live mode) flushes after every
record so ``tail -f`` works.  Output is always whole records: a batch is written with one ``write`` call.

Records are assembled in one preallocated buffer (no per-record bytes objects to join).  With the C encoder
(``wsdissect/_speedups.c``), :meth:`RecordWriter.events` writes runs of ordinary message records into that buffer
directly and hands every other event to the Python encoder, in order.
"""
from __future__ import annotations

import enum
from typing import BinaryIO

from ..events import ConnectionEnd, Finding, Message
from ..findings import Severity
from ..speedups import speedups
from .records import _HEADS, connection_record, expert_record, is_exported_connection, json_bytes, message_line


class ExportFormat(str, enum.Enum):
    JSON = "json"
    JSONL = "jsonl"


BATCH = 1 << 20  # bytes of output collected before one write


def encode_event(ev, min_severity: int = Severity.NOTE) -> bytes | None:
    """The JSON record of an event (one line, no newline), or None for events that are not exported."""
    cls = ev.__class__
    if cls is Message:
        return message_line(ev)
    if cls is ConnectionEnd:
        return json_bytes(connection_record(ev)) if is_exported_connection(ev) else None
    if cls is Finding:
        return json_bytes(expert_record(ev)) if ev.severity >= min_severity else None
    return None


class RecordWriter:
    def __init__(self, out: BinaryIO, fmt: ExportFormat = ExportFormat.JSONL, min_severity: int = Severity.NOTE,
                 flush_each: bool = False):
        self.out = out
        self.fmt = ExportFormat(fmt)
        self.min_severity = min_severity
        self.flush_each = flush_each
        self.buf = bytearray(BATCH + (64 << 10))
        self.pos = 0
        self.records = 0
        self._encode_run = (speedups.encode_messages if speedups is not None and self.fmt is ExportFormat.JSONL
                            and not flush_each else None)
        if self.fmt is ExportFormat.JSON:
            out.write(b"[")

    def event(self, ev) -> None:
        data = message_line(ev) if ev.__class__ is Message else encode_event(ev, self.min_severity)
        if data is not None:
            self._put(data)

    def events(self, evs: list) -> None:
        """Write the records of a list of events (one packet's worth), in order."""
        run = self._encode_run
        if run is None:
            for ev in evs:
                self.event(ev)
            return
        i, n = 0, len(evs)
        while i < n:
            i, self.pos = run(evs, i, _HEADS, self.buf, self.pos)
            if i < n:  # an event the C encoder leaves to Python (or a full buffer)
                self.event(evs[i])
                i += 1
            if self.pos >= BATCH:
                self.flush()

    def _put(self, data: bytes) -> None:
        if self.fmt is ExportFormat.JSON:
            data = (b",\n" if self.records else b"\n") + data
        else:
            data += b"\n"
        self.records += 1
        n = len(data)
        if self.pos + n > len(self.buf):
            self.flush()
            if n > len(self.buf):
                self.out.write(data)
                return
        self.buf[self.pos:self.pos + n] = data
        self.pos += n
        if self.flush_each or self.pos >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pos:
            with memoryview(self.buf) as view:
                self.out.write(view[:self.pos])
            self.pos = 0
        self.out.flush()

    def close(self) -> None:
        self.flush()
        if self.fmt is ExportFormat.JSON:
            self.out.write(b"\n]\n")
            self.out.flush()
