"""The ``csv`` format: one row per message, the flat fields of the JSONL message record plus ``payload_b64`` and
``text``; RFC 4180 (comma, double quotes doubled, CRLF line ends, UTF-8), so pandas and spreadsheets read it.

Every row has every column: booleans are ``true``/``false``, absent values (``close_code`` of a text message, the
``text`` of a binary one, ``note`` of a complete one) are empty.  ``file`` is the first column when the export has
more than one input.
"""
from __future__ import annotations

import csv
import io
from binascii import b2a_base64

from ..events import CaptureEnd, CaptureStart, Message
from ..rfc6455 import opcode_name
from .records import time_ns

COLUMNS = ("stream", "client", "server", "direction", "opcode", "complete", "close_code", "close_reason",
           "first_frame", "last_frame", "first_time", "last_time", "first_time_ns", "last_time_ns", "fragments",
           "compressed", "wire_length", "payload_length", "truncated", "note", "payload_b64", "text")
_BOOL = {True: "true", False: "false"}


def message_row(m: Message) -> list:
    """The CSV cells of a message, in :data:`COLUMNS` order."""
    conn = m.conn
    return [conn.index, conn.client, conn.server, m.direction, opcode_name(m.opcode), _BOOL[m.complete],
            m.close_code, m.close_reason, m.first_frame, m.last_frame, repr(m.first_ts), repr(m.last_ts),
            time_ns(m.first_ts), time_ns(m.last_ts), m.fragments, _BOOL[m.compressed], m.wire_length,
            len(m.payload), _BOOL[m.truncated], m.note, b2a_base64(m.payload, newline=False).decode("ascii"),
            m.text]


class CsvWriter:
    def __init__(self, destination, settings):
        self.text = io.TextIOWrapper(destination.stream(), encoding="utf-8", errors="backslashreplace",
                                     newline="", write_through=False)
        self.csv = csv.writer(self.text, lineterminator="\r\n")
        self.named = settings.named
        self.file = ""
        self.csv.writerow((("file",) if self.named else ()) + COLUMNS)

    def events(self, evs: list) -> None:
        if self.named and evs:
            first = evs[0]
            if first.__class__ is CaptureStart or first.__class__ is CaptureEnd:
                self.file = first.source
        rows = [message_row(ev) for ev in evs if ev.__class__ is Message]
        if rows:
            if self.named:
                rows = [[self.file] + row for row in rows]
            self.csv.writerows(rows)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()  # the destination closes the file itself
