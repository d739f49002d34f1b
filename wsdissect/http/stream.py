"""One direction of an HTTP/1.x connection: finds message heads and skips bodies.

Contract (sans-IO): ``feed(data, frame, ts)`` buffers bytes; ``next_head()`` returns the next :class:`Head`, or
None when more data is needed; after a head the caller says how its body is delimited with ``expect_body()``.
``take_rest()`` hands back the bytes not consumed (with their frame numbers) when the connection changes protocol.
Problems set ``self.broken`` to a reason; the stream then stops parsing.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..record import frozen_record

MAX_HEAD = 64 * 1024
_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() also accepts '¹' and '٣'
_METHOD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ-_")


@frozen_record
class Head:
    """An HTTP request or response head."""

    start: tuple[str, str, str]  # (method, uri, version) or (version, status, reason)
    headers: tuple[tuple[str, str], ...]
    raw: bytes
    first_frame: int
    frame: int
    ts: float

    def get(self, name: str) -> str | None:
        """All values of header *name* joined with ", " (RFC 9110 5.3), None when absent."""
        name = name.lower()
        values = [v for k, v in self.headers if k.lower() == name]
        return ", ".join(values) if values else None

    def tokens(self, name: str) -> list[str]:
        """Comma-separated, lower-cased tokens of header *name*."""
        value = self.get(name)
        return [t.strip().lower() for t in value.split(",") if t.strip()] if value else []


def looks_like_request(data: bytes) -> bool:
    """Does *data* begin like an HTTP/1.x request line (``GET /... HTTP/1.1``)?"""
    sp = data.find(b" ", 0, 24)
    if sp < 3:
        return False
    if not all(c in _METHOD_CHARS for c in data[:sp]):
        return False
    line_end = data.find(b"\r\n")
    if line_end < 0:
        line_end = data.find(b"\n")
    if line_end < 0:
        return len(data) < MAX_HEAD and b"\x00" not in data[:64]
    return data[:line_end].rstrip(b"\r").endswith((b"HTTP/1.1", b"HTTP/1.0"))


def looks_like_response(data: bytes) -> bool:
    """Does *data* begin like an HTTP/1.x status line?"""
    return data[:5] == b"HTTP/"


class Held(NamedTuple):
    """Bytes a stream held that belong to what follows HTTP (WebSocket frames after the upgrade)."""

    data: bytes
    frame: int
    ts: float


class HttpStream:
    """Parses heads and skips bodies in one direction."""

    def __init__(self, is_request: bool, max_head: int = MAX_HEAD):
        self.is_request = is_request
        self.max_head = max_head
        self.buf = bytearray()
        self.marks: list[tuple[int, int, float]] = []  # (buffer offset, frame, ts) where each chunk starts
        self.body: str | None = None  # None, "length", "chunked", "close"
        self.body_left = 0
        self.broken: str | None = None  # why parsing stopped
        self.broken_code: str | None = None  # and the finding code that reports it

    def _fail(self, code: str, reason: str) -> None:
        """Stop parsing: the stream cannot be followed further (*code* is the finding that reports it)."""
        self.broken = reason
        self.broken_code = code

    def feed(self, data: bytes, frame: int, ts: float) -> None:
        if self.broken:
            return
        if self.body == "close":
            return  # the body runs to the end of the connection
        self.marks.append((len(self.buf), frame, ts))
        self.buf += data

    def gap(self, n: int) -> None:
        """Bytes lost from the capture: survivable inside a body of known length, otherwise fatal."""
        if self.body == "length" and not self.buf and n <= self.body_left:
            self.body_left -= n
            if not self.body_left:
                self.body = None
            return
        if self.body != "close":
            self._fail("http.gap", "bytes missing from the capture")

    def _consume(self, n: int) -> None:
        del self.buf[:n]
        marks: list[tuple[int, int, float]] = []
        covering = None  # the chunk that now holds offset 0
        for o, f, t in self.marks:
            if o <= n:
                covering = (0, f, t)
            else:
                marks.append((o - n, f, t))
        if covering and self.buf and (not marks or marks[0][0] > 0):
            marks.insert(0, covering)
        self.marks = marks

    def _frame_at(self, offset: int) -> tuple[int, float]:
        frame, ts = 0, 0.0
        for o, f, t in self.marks:
            if o > offset:
                break
            frame, ts = f, t
        return frame, ts

    def expect_body(self, kind: str | None, length: int = 0) -> None:
        """Say how the body after the last head is delimited: None, "length", "chunked", "close" or "invalid"
        (a framing error: the stream cannot be followed further)."""
        if kind == "invalid":
            self._fail("http.malformed", "invalid Content-Length")
            return
        self.body = kind if (kind != "length" or length > 0) else None
        self.body_left = length
        if kind == "close":
            self.buf.clear()
            self.marks.clear()

    def _skip_body(self) -> bool:
        """Consume body bytes; True when the body is done."""
        while self.body:
            if self.body == "close":
                return False
            if self.body == "length":
                take = min(self.body_left, len(self.buf))
                self._consume(take)
                self.body_left -= take
                if self.body_left:
                    return False
                self.body = None
                return True
            # chunked: body_left > 0 means chunk data (+CRLF) to skip; 0 means a size line is next;
            # -1 means trailers.
            if self.body_left > 0:
                take = min(self.body_left, len(self.buf))
                self._consume(take)
                self.body_left -= take
                if self.body_left:
                    return False
                continue
            eol = self.buf.find(b"\n")
            if eol < 0:
                if len(self.buf) > self.max_head:
                    self._fail("http.malformed", "chunk size line too long")
                return False
            line = bytes(self.buf[:eol]).strip()
            self._consume(eol + 1)
            if self.body_left == -1:
                if not line:
                    self.body = None
                    return True
                continue
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                self._fail("http.malformed", "bad chunk size")
                return False
            if size == 0:
                self.body_left = -1
            else:
                self.body_left = size + 2
        return True

    def next_head(self) -> Head | None:
        if self.broken or not self._skip_body():
            return None
        buf = self.buf
        if not buf:
            return None
        end, sep = buf.find(b"\r\n\r\n"), 4
        lf = buf.find(b"\n\n", 0, end if end >= 0 else len(buf))
        if lf >= 0:  # a head ended by bare line feeds comes first
            end, sep = lf, 2
        if end < 0:
            if len(buf) > self.max_head:
                self._fail("http.header_too_large", f"header block larger than {self.max_head} bytes")
            return None
        raw = bytes(buf[:end + sep])
        first_frame, _ = self._frame_at(0)
        frame, ts = self._frame_at(end + sep - 1)
        self._consume(end + sep)
        head = self._parse(raw, first_frame, frame, ts)
        return head

    def _parse(self, raw: bytes, first_frame: int, frame: int, ts: float) -> Head | None:
        text = raw.decode("latin-1")
        lines = text.replace("\r\n", "\n").split("\n")
        parts = lines[0].split(" ", 2)
        if self.is_request:
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                self._fail("http.malformed", f"malformed request line {lines[0][:60]!r}")
                return None
            start = (parts[0], parts[1], parts[2])
        else:
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not _DIGITS.fullmatch(parts[1]):
                self._fail("http.malformed", f"malformed status line {lines[0][:60]!r}")
                return None
            start = (parts[0], parts[1], parts[2] if len(parts) > 2 else "")
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            if line[0] in " \t" and headers:  # obsolete line folding
                k, v = headers[-1]
                headers[-1] = (k, v + " " + line.strip())
                continue
            k, colon, v = line.partition(":")
            if not colon:
                self._fail("http.malformed", f"malformed header line {line[:60]!r}")
                return None
            headers.append((k.strip(), v.strip()))
        return Head(start, tuple(headers), raw, first_frame, frame, ts)

    @property
    def pending(self) -> int:
        """Bytes fed and not yet parsed."""
        return len(self.buf)

    def peek(self, n: int) -> bytes:
        """The first *n* unparsed bytes."""
        return bytes(self.buf[:n])

    def unparsed(self) -> bytes:
        """All the unparsed bytes (left in place)."""
        return bytes(self.buf)

    def take_rest(self) -> list[Held]:
        """The unconsumed bytes as pieces, emptying the stream."""
        out = []
        marks = self.marks or [(0, 0, 0.0)]
        for i, (o, f, t) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(self.buf)
            if end > o:
                out.append(Held(bytes(self.buf[o:end]), f, t))
        self.buf = bytearray()
        self.marks = []
        return out


def body_kind(head: Head, response: bool, request_method: str | None = None) -> tuple[str | None, int]:
    """How the body following a request or *response* head is delimited (RFC 9112 6.3)."""
    if response:
        status = int(head.start[1])  # digits only: checked when the status line was parsed
        if request_method == "HEAD" or status < 200 or status in (204, 304):
            return None, 0
    te = head.tokens("transfer-encoding")
    if te and te[-1] == "chunked":
        return "chunked", 0
    cl = head.get("content-length")
    if cl is not None:
        values = {v.strip() for v in cl.split(",")}
        if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
            return "invalid", 0  # RFC 9112 6.3: an unparsable or conflicting length is a framing error
        n = int(next(iter(values)))
        return ("length", n) if n > 0 else (None, 0)
    if response:
        return "close", 0
    return None, 0
