"""STOMP 1.0-1.2 over WebSocket (subprotocols ``v10.stomp``, ``v11.stomp``, ``v12.stomp``).

A WebSocket message carries one or more frames (or only EOLs: a heart-beat).  A frame is a command line, header
lines, a blank line, a body (``content-length`` bytes when that header is present) and a NUL.  A frame split over
several messages is joined; its unit is on the message holding its NUL.  A frame still without its NUL when the next
message starts a new frame is reported (``stomp.missing_nul``) and decoded as far as it goes.
"""
from __future__ import annotations

import re
from typing import Any

from .limits import MAX_PACKET
from .units import EMPTY, NO_DATA, AppResult, AppUnit, Collector, MessageRef, escape_text, parse_json_text

PROTOCOL = "stomp"
_ID_HEADER = {"SUBSCRIBE": "id", "UNSUBSCRIBE": "id", "ACK": "id", "NACK": "id", "MESSAGE": "message-id",
              "RECEIPT": "receipt-id", "ERROR": "receipt-id"}
_NO_ID = {"CONNECT", "STOMP", "CONNECTED"}
_COMMANDS = (b"SEND|SUBSCRIBE|UNSUBSCRIBE|BEGIN|COMMIT|ABORT|ACK|NACK|DISCONNECT|CONNECT|STOMP|CONNECTED|MESSAGE|"
             b"RECEIPT|ERROR")
_FRAME_START = re.compile(rb"[\r\n]*(?:" + _COMMANDS + rb")\r?\n")
_CONTENT_LENGTH = re.compile(rb"\ncontent-length:([^\r\n]*)")
_ESCAPES = {"\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\c": ":"}


class StompDecoder:
    """One per connection: the negotiated version (for escapes) and, per direction, the bytes of a frame whose NUL
    has not arrived yet (a frame may be split over messages; a new frame starting ends it as unterminated)."""

    protocol = PROTOCOL

    def __init__(self) -> None:
        self.version = "1.2"
        self._pending = {True: b"", False: b""}

    def reset(self, from_client: bool) -> None:
        """Forget the unfinished frame of a direction (bytes were lost)."""
        self._pending[from_client] = b""

    def unfinished(self, from_client: bool) -> str:
        size = len(self._pending[from_client])
        return f"{size} bytes of a STOMP frame without its NUL" if size else ""

    def message(self, from_client: bool, opcode: int, payload: bytes, frame: int, ts: float) -> AppResult:
        if opcode not in (1, 2):
            return EMPTY
        out = Collector(MessageRef(from_client, frame, ts))
        if payload and not payload.strip(b"\r\n"):
            out.unit(AppUnit(PROTOCOL, "HEARTBEAT"))
            return out.result()
        buf = self._pending[from_client]
        self._pending[from_client] = b""
        if buf and _FRAME_START.match(payload):
            self._frame(buf, _skip_eols(buf, 0), out)  # the previous frame never got its NUL
            buf = b""
        buf += payload
        pos = _skip_eols(buf, 0)
        while pos < len(buf):
            if not _complete(buf, pos):
                self._keep(buf[pos:], out)
                break
            pos = _skip_eols(buf, self._frame(buf, pos, out))
        return out.result()

    def _keep(self, rest: bytes, out: Collector) -> None:
        if len(rest) > MAX_PACKET:
            out.find("app.buffer_limit", f"unfinished STOMP frame of {len(rest)} bytes exceeds the buffering "
                     "limit; dropped")
        else:
            self._pending[out.at.from_client] = rest

    def _frame(self, buf: bytes, pos: int, out: Collector) -> int:
        """Decode the frame at *pos*; return where the next one starts."""
        head_end, sep = _head_end(buf, pos)
        if head_end < 0:
            out.find("stomp.malformed", "frame without the blank line that ends its headers: "
                     + escape_text(buf[pos:pos + 60].decode("utf-8", "replace")))
            return len(buf)
        lines = buf[pos:head_end].decode("utf-8", "replace").split("\n")
        command = lines[0].rstrip("\r")
        headers = self._headers(command, lines[1:], out)
        body, nxt = _body(buf, head_end + sep, headers, escape_text(command, 24), out)
        if command == "CONNECTED" and "version" in headers:
            self.version = headers["version"]
        out.unit(_unit(command, headers, body))
        return nxt

    def _headers(self, command: str, lines: list[str], out: Collector) -> dict[str, str]:
        headers: dict[str, str] = {}
        unescape = command not in ("CONNECT", "CONNECTED", "STOMP") and self.version != "1.0"
        for line in lines:
            line = line[:-1] if line.endswith("\r") else line
            name, colon, value = line.partition(":")
            if not colon:
                out.find("stomp.malformed", f"{escape_text(command, 24)} header line without a colon: "
                         + escape_text(line))
                continue
            if unescape:
                name, value = _unescape(name, out), _unescape(value, out)
            headers.setdefault(name, value)  # a repeated header counts with its first value (STOMP 1.2)
        return headers


def _unit(command: str, headers: dict[str, str], body: bytes) -> AppUnit:
    if command in _NO_ID:
        ident = None
    elif command in _ID_HEADER:
        ident = headers.get(_ID_HEADER[command])
    else:
        ident = headers.get("receipt")
    data: Any = parse_json_text(body) if body else NO_DATA
    details = (("headers", headers), ("body_length", len(body)))
    return AppUnit(PROTOCOL, command, headers.get("destination"), ident, None, data, details)


def _body(buf: bytes, start: int, headers: dict[str, str], command: str, out: Collector) -> tuple[bytes, int]:
    """The body and the position after its NUL (STOMP 1.2 'Header content-length', 'Augmented BNF')."""
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            out.find("stomp.content_length", f"{command} content-length is not a number: {escape_text(length)}")
        else:
            end = start + int(length)
            if end < len(buf) and buf[end] == 0:
                return buf[start:end], end + 1
            nul = buf.find(b"\0", start)
            out.find("stomp.content_length", f"{command} content-length {length} does not match its body "
                     f"({(nul if nul >= 0 else len(buf)) - start} bytes before the NUL)")
    nul = buf.find(b"\0", start)
    if nul < 0:
        out.find("stomp.missing_nul", f"{command} frame does not end with a NUL octet")
        return buf[start:], len(buf)
    return buf[start:nul], nul + 1


def _complete(buf: bytes, pos: int) -> bool:
    """Whether the frame at *pos* has all its bytes: headers, body (content-length) and a NUL after it."""
    head_end, sep = _head_end(buf, pos)
    if head_end < 0:
        return False
    body_start = head_end + sep
    declared = _CONTENT_LENGTH.search(buf, pos, head_end + 1)
    if declared and declared.group(1).isdigit():
        end = body_start + int(declared.group(1))
        if end >= len(buf):
            return False  # the body (which may hold NULs) and its NUL are still to come
        if buf[end] == 0:
            return True
    return buf.find(b"\0", body_start) >= 0


def _head_end(buf: bytes, pos: int) -> tuple[int, int]:
    """Index of the blank line ending the headers and the length of that EOL pair, or (-1, 0)."""
    lf = buf.find(b"\n\n", pos)
    crlf = buf.find(b"\n\r\n", pos)
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, 3
    return (lf, 2) if lf >= 0 else (-1, 0)


def _skip_eols(buf: bytes, pos: int) -> int:
    while pos < len(buf) and buf[pos] in (0x0A, 0x0D):
        pos += 1
    return pos


def _unescape(text: str, out: Collector) -> str:
    if "\\" not in text:
        return text
    parts, i = [], 0
    while i < len(text):
        pair = text[i:i + 2]
        if text[i] == "\\":
            if pair not in _ESCAPES:
                out.find("stomp.escape", f"undefined escape sequence {escape_text(pair)} in a header")
                parts.append(pair)
            else:
                parts.append(_ESCAPES[pair])
            i += 2
        else:
            parts.append(text[i])
            i += 1
    return "".join(parts)
