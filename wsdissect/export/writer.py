"""JSON and JSONL writers over a binary file object, batching output by bytes.

JSONL: one record per line.  JSON: one array of the same records.  ``flush_each`` (live mode) flushes after every
record so ``tail -f`` works.  Output is always whole records: a batch is written with one ``write`` call.

Records are assembled in preallocated buffers (no per-record bytes objects to join).  With the C encoder
(``wsdissect/_speedups.c``), :meth:`RecordWriter.events` writes runs of ordinary message records into the buffer
directly and hands every other event to the Python encoder, in order.  Full buffers are written by a
:class:`Spooler` thread, so the ``write`` system calls (which release the GIL) overlap with decoding.
"""
from __future__ import annotations

import enum
import queue
import threading
from typing import BinaryIO

from ..events import CaptureEnd, CaptureStart, ConnectionEnd, Finding, Message
from ..findings import Severity
from ..speedups import speedups
from .records import (connection_record, expert_record, forget_heads, heads_for, is_exported_connection,
                      json_bytes, message_line, message_line_pieces)


class ExportFormat(str, enum.Enum):
    JSON = "json"
    JSONL = "jsonl"


BATCH = 1 << 20  # bytes of output collected before one write
STREAMED = 4 << 20  # a message payload larger than this is written in pieces (records.message_line_pieces)


def encode_event(ev, min_severity: int = Severity.NOTE, file: str | None = None) -> bytes | None:
    """The JSON record of an event (one line, no newline), or None for events that are not exported.  *file*: the
    input the event comes from, when records name their input."""
    cls = ev.__class__
    if cls is Message:
        return message_line(ev, file)
    if cls is ConnectionEnd:
        forget_heads(ev.conn)
        return json_bytes(connection_record(ev, file)) if is_exported_connection(ev) else None
    if cls is Finding:
        return json_bytes(expert_record(ev, file)) if ev.severity >= min_severity else None
    return None


class InputTracker:
    """Which input the events being written come from (for the ``file`` field), or None when records do not name
    their input (a single input).

    A file's events start with ``CaptureStart``; its damage findings arrive in the same list as its ``CaptureEnd``
    (also for a file without any packet, which has no ``CaptureStart``), so :meth:`see` looks at a list's last event.
    """

    __slots__ = ("named", "file")

    def __init__(self, named: bool):
        self.named = named
        self.file: str | None = None

    def see(self, evs: list) -> None:
        """Called with each list of events before they are written."""
        if self.named and evs:
            last = evs[-1]
            if last.__class__ is CaptureEnd:
                self.file = last.source
            elif evs[0].__class__ is CaptureStart:
                self.file = evs[0].source


class Background:
    """Calls ``fn(item)`` in a background thread for each item :meth:`put`, in order, at most *depth* items behind
    (0: unbounded).  The first exception is raised in the producer at the next :meth:`put` or at :meth:`close`."""

    def __init__(self, fn, name: str, depth: int = 0):
        self.fn = fn
        self.todo: queue.Queue = queue.Queue(depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.todo.get()
            if item is None:
                return
            try:
                self.fn(item)
            except BaseException as e:  # noqa: BLE001 - handed to the producer thread
                if self.error is None:
                    self.error = e

    def check(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def put(self, item) -> None:
        self.check()
        self.todo.put(item)

    def close(self) -> None:
        """Wait until every item is done."""
        self.todo.put(None)
        self.thread.join()
        self.check()


class Spooler:
    """Writes buffers to *out* in a background thread, in order, recycling a fixed set of buffers (so memory is
    bounded and the producer waits when the disk is slower).  A write error is raised in the producer at the next
    :meth:`take` or at :meth:`close`."""

    def __init__(self, out: BinaryIO, size: int, count: int = 3):
        self.out = out
        self.free: queue.Queue = queue.Queue()
        for _ in range(count):
            self.free.put(bytearray(size))
        self.background = Background(self._write, "wsdissect-writer")

    def _write(self, item: tuple) -> None:
        buf, n = item
        try:
            if n is None:
                self.out.write(buf)
            else:
                with memoryview(buf) as view:
                    self.out.write(view[:n])
        finally:
            if n is not None:
                self.free.put(buf)

    def take(self) -> bytearray:
        """A free buffer (waits while all are being written)."""
        self.background.check()
        return self.free.get()

    def write(self, buf, n: int | None = None) -> None:
        """Queue ``buf[:n]`` (a buffer from :meth:`take`, recycled afterwards) or a bytes object (*n* None)."""
        self.background.todo.put((buf, n))

    def close(self) -> None:
        """Wait until everything queued is written."""
        self.background.close()


class RecordWriter:
    def __init__(self, out: BinaryIO, fmt: ExportFormat = ExportFormat.JSONL, min_severity: int = Severity.NOTE,
                 flush_each: bool = False, named: bool = False):
        self.out = out
        self.input = InputTracker(named)
        self.fmt = ExportFormat(fmt)
        self.min_severity = min_severity
        self.flush_each = flush_each
        size = BATCH + (64 << 10)
        self.spooler = None if flush_each else Spooler(out, size)
        self.buf = self.spooler.take() if self.spooler is not None else bytearray(size)
        self.pos = 0
        self.records = 0
        self._encode_run = (speedups.encode_messages if speedups is not None and self.fmt is ExportFormat.JSONL
                            and not flush_each else None)
        self._heads = heads_for(None)
        if self.fmt is ExportFormat.JSON:
            self._write(b"[")

    def _write(self, data: bytes) -> None:
        if self.spooler is not None:
            self.spooler.write(data)
        else:
            self.out.write(data)

    def event(self, ev) -> None:
        file = self.input.file
        if ev.__class__ is Message and len(ev.payload) > STREAMED:
            self._put_pieces(message_line_pieces(ev, file))
            return
        data = message_line(ev, file) if ev.__class__ is Message else encode_event(ev, self.min_severity, file)
        if data is not None:
            self._put(data)

    def events(self, evs: list) -> None:
        """Write the records of a list of events (one packet's worth), in order."""
        run = self._encode_run
        if self.input.named:
            self.input.see(evs)
            heads = heads_for(self.input.file)
        else:
            heads = self._heads  # (the per-packet path of a single-input export: no per-call lookup)
        if run is None:
            for ev in evs:
                self.event(ev)
            return
        i, n = 0, len(evs)
        while i < n:
            i, self.pos = run(evs, i, heads, self.buf, self.pos)
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
                self._write(data)
                return
        self.buf[self.pos:self.pos + n] = data
        self.pos += n
        if self.flush_each or self.pos >= BATCH:
            self.flush()

    def _put_pieces(self, pieces) -> None:
        """One record given in pieces, copied through the (recycled) buffers: memory stays bounded."""
        if self.fmt is ExportFormat.JSON:
            self._copy(b",\n" if self.records else b"\n")
        for piece in pieces:
            self._copy(piece)
        if self.fmt is not ExportFormat.JSON:
            self._copy(b"\n")
        self.records += 1
        if self.flush_each:
            self.flush()

    def _copy(self, data: bytes) -> None:
        with memoryview(data) as view:
            while len(view):
                n = min(len(view), len(self.buf) - self.pos)
                self.buf[self.pos:self.pos + n] = view[:n]
                self.pos += n
                view = view[n:]
                if self.pos >= BATCH:
                    self.flush()

    def flush(self) -> None:
        """Hand the collected records to the file (in the background unless ``flush_each``)."""
        if self.spooler is not None:
            if self.pos:
                self.spooler.write(self.buf, self.pos)
                self.buf = self.spooler.take()
                self.pos = 0
            return
        if self.pos:
            with memoryview(self.buf) as view:
                self.out.write(view[:self.pos])
            self.pos = 0
        self.out.flush()

    def close(self) -> None:
        """Write everything and wait for it (a write error is raised here at the latest)."""
        self.flush()
        if self.fmt is ExportFormat.JSON:
            self._write(b"\n]\n")
        if self.spooler is not None:
            self.spooler.close()
        self.out.flush()


def jsonl_writer(destination, settings) -> RecordWriter:
    """The ``jsonl`` format (see :mod:`wsdissect.export.formats`)."""
    return RecordWriter(destination.stream(), ExportFormat.JSONL, settings.min_severity, named=settings.named)


def json_writer(destination, settings) -> RecordWriter:
    """The ``json`` format: the same records as one array."""
    return RecordWriter(destination.stream(), ExportFormat.JSON, settings.min_severity, named=settings.named)
