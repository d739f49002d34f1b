"""The TLS record layer (RFC 8446 5.1, RFC 5246 6.2) over one direction's reassembled byte stream.

:class:`RecordStream` is fed the stream in arbitrary chunks (``feed(data, frame, ts)``) and returns each complete
record as a :class:`RawRecord`, attributed to the capture frame that carried its last byte (``frame``) and the one
that carried its first (``first_frame``).  Bytes lost from the capture (``gap``) drop the record in progress; the
stream then resynchronises on the next two consecutive plausible record headers and marks the first record after
the gap with an upper bound on how many records may have been lost (``lost_before``: the decrypter needs the
sequence number).  A header that is not TLS, or a record longer than the protocol allows, stops the stream.
Problems are returned as :class:`StreamProblem` values, never raised.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Union

from ..record import frozen_record

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT = 20, 21, 22, 23, 24
CONTENT_TYPES = {CHANGE_CIPHER_SPEC: "Change Cipher Spec", ALERT: "Alert", HANDSHAKE: "Handshake",
                 APPLICATION_DATA: "Application Data", HEARTBEAT: "Heartbeat"}
VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
HEADER = 5
MAX_FRAGMENT = (1 << 14) + 2048  # the largest TLSCiphertext.length any version allows (RFC 5246 6.2.3)
MIN_LOST_RECORD = HEADER + 8  # smallest protected record: bounds how many records a gap can have swallowed
_PLAUSIBLE = re.compile(rb"[\x14-\x18]\x03[\x00-\x04]")
RESYNC_WINDOW = 4 * (HEADER + MAX_FRAGMENT)  # bytes searched for a record boundary before older ones are dropped


class RawRecord(NamedTuple):
    """One TLS record as sent (``fragment`` is still protected when the epoch is encrypted)."""

    content_type: int
    version: int
    fragment: bytes
    first_frame: int
    frame: int
    ts: float
    lost_before: int = 0  # after a gap: at most this many records were lost just before this one


@frozen_record
class StreamProblem:
    """Something wrong with the record stream: ``code`` is a registered finding code."""

    code: str
    message: str
    frame: int
    ts: float


RecordOutput = Union[RawRecord, StreamProblem]


def looks_like_tls(first_bytes: bytes) -> bool:
    """True when a stream starts like TLS: a handshake record header (any version) holding a ClientHello or
    ServerHello.  Cheap, for classifying a connection from its first payload bytes."""
    if len(first_bytes) < 6:
        return False
    return (first_bytes[0] == HANDSHAKE and first_bytes[1] == 3 and first_bytes[2] <= 4
            and 0 < ((first_bytes[3] << 8) | first_bytes[4]) <= MAX_FRAGMENT and first_bytes[5] in (1, 2))


def _header_ok(buf: Union[bytes, bytearray], pos: int) -> bool:
    length = (buf[pos + 3] << 8) | buf[pos + 4]
    return 20 <= buf[pos] <= 24 and buf[pos + 1] == 3 and buf[pos + 2] <= 4 and length <= MAX_FRAGMENT


class RecordStream:
    """Splits one direction's byte stream into TLS records."""

    __slots__ = ("_buf", "_first_frame", "_need", "_resync", "_lost_bytes", "_stopped")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._first_frame = 0
        self._need = HEADER
        self._resync = False
        self._lost_bytes = 0
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes, frame: int, ts: float) -> list[RecordOutput]:
        """Add the next bytes of the stream (carried by capture *frame*); returns the records they complete."""
        if self._stopped or not data:
            return []
        buf = self._buf
        if not buf:
            self._first_frame = frame
        buf += data
        if len(buf) < self._need:
            return []
        out: list[RecordOutput] = []
        if self._resync and not self._find_boundary(frame, ts, out):
            return out
        pos = self._split(out, frame, ts)
        if self._stopped:
            return out
        del buf[:pos]
        if pos:
            self._first_frame = frame
        return out

    def _split(self, out: list[RecordOutput], frame: int, ts: float) -> int:
        """Append the complete records at the start of the buffer; returns the bytes they used."""
        buf = self._buf
        pos, end = 0, len(buf)
        first_frame = self._first_frame
        with memoryview(buf) as view:
            while end - pos >= HEADER:
                length = (buf[pos + 3] << 8) | buf[pos + 4]
                if not (20 <= buf[pos] <= 24 and buf[pos + 1] == 3 and buf[pos + 2] <= 4 and length <= MAX_FRAGMENT):
                    break
                stop = pos + HEADER + length
                if stop > end:
                    self._need = stop - pos
                    return pos
                out.append(RawRecord(buf[pos], (buf[pos + 1] << 8) | buf[pos + 2], bytes(view[pos + HEADER:stop]),
                                     first_frame, frame, ts, self._lost_records()))
                first_frame = frame
                pos = stop
            else:
                self._need = HEADER
                return pos
        self._stop(out, "tls.malformed", "bytes that are not a TLS record header; the rest of this direction is "
                   "not decoded", frame, ts)
        return pos

    def _lost_records(self) -> int:
        if not self._lost_bytes:
            return 0
        lost = self._lost_bytes // MIN_LOST_RECORD + 1
        self._lost_bytes = 0
        return lost

    def gap(self, nbytes: int, frame: int, ts: float) -> list[RecordOutput]:
        """*nbytes* of the stream are missing from the capture: drop the record in progress and resynchronise."""
        if self._stopped or nbytes <= 0:
            return []
        self._lost_bytes += nbytes + len(self._buf)
        self._buf.clear()
        self._need = HEADER
        self._resync = True
        return [StreamProblem("tls.gap", f"{nbytes} bytes missing from the TLS stream; the record they belong to "
                              "is lost", frame, ts)]

    def end(self, frame: int, ts: float) -> list[RecordOutput]:
        """The stream ended: report a record left incomplete."""
        if self._stopped or not self._buf:
            return []
        n = len(self._buf)
        self._buf.clear()
        return [StreamProblem("tls.truncated", f"TLS stream ends inside a record ({n} bytes of it captured)",
                              frame, ts)]

    def _stop(self, out: list[RecordOutput], code: str, message: str, frame: int, ts: float) -> None:
        self._stopped = True
        self._buf.clear()
        out.append(StreamProblem(code, message, frame, ts))

    def _find_boundary(self, frame: int, ts: float, out: list[RecordOutput]) -> bool:
        """After a gap: skip to a record header confirmed by the header that follows it; False to wait."""
        buf = self._buf
        pos = 0
        while True:
            match = _PLAUSIBLE.search(buf, pos)
            if match is None:
                break
            pos = match.start()
            del match  # releases the buffer, which is resized below
            if pos + HEADER > len(buf):
                break
            if not _header_ok(buf, pos):
                pos += 1
                continue
            nxt = pos + HEADER + ((buf[pos + 3] << 8) | buf[pos + 4])
            if nxt + 3 > len(buf):
                break  # wait for the next header to confirm this one
            if 20 <= buf[nxt] <= 24 and buf[nxt + 1] == 3 and buf[nxt + 2] <= 4:
                self._lost_bytes += pos
                del buf[:pos]
                self._resync = False
                self._need = HEADER
                self._first_frame = frame
                return True
            pos += 1
        self._keep_window()
        self._need = len(self._buf) + 1
        return False

    def _keep_window(self) -> None:
        excess = len(self._buf) - RESYNC_WINDOW
        if excess > 0:
            self._lost_bytes += excess
            del self._buf[:excess]
