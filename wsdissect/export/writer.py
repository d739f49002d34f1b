"""JSON and JSONL writers over a binary file object, batching output by bytes.

JSONL: one record per line.  JSON: one array of the same records.  ``flush_each`` (live mode) flushes after every
record so ``tail -f`` works.  Output is always whole records: a batch is written with one ``write`` call.
"""
from __future__ import annotations

import enum
from typing import BinaryIO

from ..events import ConnectionEnd, Finding, Message
from ..findings import Severity
from .records import connection_record, expert_record, is_exported_connection, json_bytes, message_line


class ExportFormat(str, enum.Enum):
    JSON = "json"
    JSONL = "jsonl"


BATCH = 1 << 20


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
        self.parts: list[bytes] = []
        self.size = 0
        self.count = 0
        if self.fmt is ExportFormat.JSON:
            out.write(b"[")

    def event(self, ev) -> None:
        data = message_line(ev) if ev.__class__ is Message else encode_event(ev, self.min_severity)
        if data is not None:
            self.parts.append(data)
            self.size += len(data)
            if self.flush_each or self.size >= BATCH:
                self.flush()

    def flush(self) -> None:
        if self.parts:
            if self.fmt is ExportFormat.JSON:
                sep = b",\n" if self.count else b"\n"
                batch = sep + b",\n".join(self.parts)
            else:
                batch = b"\n".join(self.parts) + b"\n"
            self.count += 1
            self.out.write(batch)
            self.parts = []
            self.size = 0
        self.out.flush()

    def close(self) -> None:
        self.flush()
        if self.fmt is ExportFormat.JSON:
            self.out.write(b"\n]\n")
            self.out.flush()
