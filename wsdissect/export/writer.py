"""JSON and JSONL writers over a binary file object, batching output by bytes.

JSONL: one record per line.  JSON: one array of the same records.  ``flush_each`` (live mode) flushes after every
record so ``tail -f`` works.  Output is always whole records: a batch is written with one ``write`` call.
"""
from __future__ import annotations

import enum
from typing import BinaryIO, Callable

from ..events import ConnectionEnd, Finding, Message
from ..findings import Severity
from .records import connection_record, expert_record, is_exported_connection, message_line, message_record

try:
    from orjson import dumps as _dumps
except ImportError:  # pragma: no cover
    import json

    def _dumps(obj: dict) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ExportFormat(str, enum.Enum):
    JSON = "json"
    JSONL = "jsonl"


BATCH = 1 << 20


class RecordWriter:
    def __init__(self, out: BinaryIO, fmt: ExportFormat = ExportFormat.JSONL, min_severity: int = Severity.NOTE,
                 flush_each: bool = False, record_filter: Callable[[dict], bool] | None = None):
        self.out = out
        self.fmt = ExportFormat(fmt)
        self.min_severity = min_severity
        self.flush_each = flush_each
        self.record_filter = record_filter
        self.parts: list[bytes] = []
        self.size = 0
        self.count = 0
        self.counts = {"message": 0, "connection": 0, "expert": 0}
        if self.fmt is ExportFormat.JSON:
            out.write(b"[")

    def event(self, ev) -> None:
        cls = ev.__class__
        if cls is Message and self.record_filter is None:  # the hot path: one line per message
            data = message_line(ev)
            self.counts["message"] += 1
            self.parts.append(data)
            self.size += len(data)
            if self.flush_each or self.size >= BATCH:
                self.flush()
            return
        if cls is Message:
            rec = message_record(ev)
        elif cls is ConnectionEnd:
            if not is_exported_connection(ev):
                return
            rec = connection_record(ev)
        elif cls is Finding:
            if ev.severity < self.min_severity:
                return
            rec = expert_record(ev)
        else:
            return
        self.record(rec)

    def record(self, rec: dict) -> None:
        if self.record_filter is not None and not self.record_filter(rec):
            return
        self.counts[rec["type"]] = self.counts.get(rec["type"], 0) + 1
        self._append(_dumps(rec))

    def _append(self, data: bytes) -> None:
        """Queue one serialized record; write a batch when it is large enough (or at once in live mode)."""
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
            self.count += len(self.parts)
            self.out.write(batch)
            self.parts = []
            self.size = 0
        self.out.flush()

    def close(self) -> None:
        self.flush()
        if self.fmt is ExportFormat.JSON:
            self.out.write(b"\n]\n")
            self.out.flush()
