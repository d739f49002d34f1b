"""The ``csv`` format: one row per message, the flat fields of the JSONL message record plus ``payload_b64`` and
``text``; RFC 4180 (comma separated, CRLF line ends, UTF-8, fields with free text always in double quotes with
inner quotes doubled), so pandas, Python's ``csv`` module and spreadsheets read it.

Every row has every column: booleans are ``true``/``false``, absent values (``close_code`` of a text message, the
``text`` of a binary one, ``note`` of a complete one) are empty.  ``file`` is the first column when the export has
more than one input.  Rows are not written with the ``csv`` module, which scans every character of every field
and is several times slower than the JSONL export: only the free-text fields (``text``, ``close_reason``,
``note``, ``file``) can hold a comma, quote or line break, and those are always quoted.  :func:`message_lines`
builds the lines column by column; its C twin ``speedups.csv_lines`` writes a whole batch (byte-identical).
"""
from __future__ import annotations

from binascii import b2a_base64
from itertools import repeat
from operator import attrgetter, methodcaller
from typing import Iterator

from ..events import CaptureEnd, CaptureStart, Message
from ..rfc6455 import opcode_name
from ..speedups import speedups
from .records import U64, app_text, message_columns, time_ns

COLUMNS = ("stream", "client", "server", "direction", "opcode", "complete", "close_code", "close_reason",
           "first_frame", "last_frame", "first_time", "last_time", "first_time_ns", "last_time_ns", "fragments",
           "compressed", "wire_length", "payload_length", "truncated", "note", "payload_b64", "text", "app")
_BOOL = {True: "true", False: "false"}.__getitem__
_OPCODE_NAMES = tuple(opcode_name(op) for op in range(16))
_OPCODE = _OPCODE_NAMES.__getitem__
BATCH = 4096  # messages turned into rows at once...
BATCH_BYTES = 4 << 20  # ...or fewer when their payloads add up to this
_PAYLOAD = attrgetter("payload")


def quote(value: str | None) -> str:
    """A free-text field: empty when absent, else in double quotes with inner quotes doubled (RFC 4180)."""
    return "" if value is None else f'"{value.replace(chr(34), chr(34) * 2)}"'


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _tail(payload: bytes, text: str | None, app: tuple | None) -> bytes:
    """``,payload_b64,text,app`` as UTF-8: a message's text is its payload decoded, so the payload bytes are quoted
    as they are (no decoding and encoding again); ``app`` is the units' JSON text, empty without units."""
    b64 = b2a_base64(payload, newline=False)
    units = b"," if app is None else b',"' + app_text(app).encode("utf-8").replace(b'"', b'""') + b'"'
    if text is None:
        return b"," + b64 + b"," + units
    return b"".join((b",", b64, b',"', payload.replace(b'"', b'""'), b'"', units))


def _nanoseconds(seconds: list) -> Iterator[str]:
    """``str(records.time_ns(t))`` for each time: ``round(t * 1e6)`` and three zeros, computed by ``map`` in C
    (batches with times below 1 ms or beyond ``time_ns``'s unclamped range go through it)."""
    if seconds and 0.001 <= min(seconds) and max(seconds) < 9.2e9:
        return map("{}000".format, map(round, map(_MICRO, seconds)))
    return map(str, map(time_ns, seconds))


_MICRO = (1e6).__mul__
_ENCODE = methodcaller("encode", "utf-8", "backslashreplace")  # file names may hold undecodable bytes


def message_lines(batch: list, prefix: str = "") -> Iterator[bytes]:
    """The CSV lines (UTF-8, without line ends) of a list of messages, in :data:`COLUMNS` order, each after
    *prefix*.  Built column by column: the per-message work is in C (:func:`records.message_columns`, ``map``,
    ``str.join``) but for :func:`_tail`."""
    (_conn, direction, opcode, payload, complete, first_frame, last_frame, first_ts, last_ts, fragments,
     compressed, wire_length, _frames, close_code, close_reason, text, truncated, note, _raw, app, index,
     client,
     server) = message_columns(batch)
    columns = [  # the flat columns, each a lazy map over the batch, in COLUMNS order up to the payload
        map(str, index), client, server, direction, map(_OPCODE, opcode), map(_BOOL, complete),
        map(_number, close_code), map(quote, close_reason), map(str, first_frame), map(str, last_frame),
        map(repr, first_ts), map(repr, last_ts), _nanoseconds(first_ts), _nanoseconds(last_ts),
        map(str, fragments), map(_BOOL, compressed), map(str, map(min, wire_length, repeat(U64))),
        map(str, map(len, payload)), map(_BOOL, truncated), map(quote, note)]
    heads = map(",".join, zip(*columns))
    if prefix:
        heads = map(prefix.__add__, heads)
    return map(bytes.__add__, map(_ENCODE, heads), map(_tail, payload, text, app))


def csv_block(batch: list, prefix: str = "") -> bytes:
    """:func:`message_lines` joined, each line ending in CRLF; the C twin (``speedups.csv_lines``) writes the
    ordinary batches (``tests/unit/test_export_formats.py`` checks they are byte-identical)."""
    if speedups is not None:
        block = speedups.csv_lines(batch, _ENCODE(prefix), _OPCODE_NAMES)
        if block is not None:
            return block
    return b"".join(map(b"%s\r\n".__mod__, message_lines(batch, prefix)))


class CsvWriter:
    def __init__(self, destination, settings):
        self.out = destination.stream()
        self.named = settings.named
        self.prefix = ""  # the quoted file name and a comma, with several inputs
        self.pending: list = []
        self.pending_bytes = 0
        self.out.write(",".join((("file",) if self.named else ()) + COLUMNS).encode("ascii") + b"\r\n")

    def events(self, evs: list) -> None:
        if self.named and evs:
            first = evs[0]
            if first.__class__ is CaptureStart or first.__class__ is CaptureEnd:
                self._flush()  # the pending rows are the previous file's
                self.prefix = quote(first.source) + ","
        messages = [ev for ev in evs if ev.__class__ is Message]
        if messages:
            self.pending += messages
            self.pending_bytes += sum(map(len, map(_PAYLOAD, messages)))
            if len(self.pending) >= BATCH or self.pending_bytes >= BATCH_BYTES:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            block = csv_block(self.pending, self.prefix)
            self.pending, self.pending_bytes = [], 0
            self.out.write(block)

    def close(self) -> None:
        self._flush()
        self.out.flush()
