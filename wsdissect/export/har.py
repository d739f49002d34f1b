"""The ``har`` format: HAR 1.2 with WebSocket connections written as Chrome DevTools writes them.

One entry per WebSocket connection (and per refused upgrade attempt): the upgrade ``request`` (``url``
``ws://host[:port]/path``, headers), the ``response`` (101 and headers), ``startedDateTime``, ``time`` and
``timings`` (the handshake: request to 101), ``_resourceType: "websocket"`` and ``_webSocketMessages``, each
``{"type": "send"|"receive", "time": epoch seconds, "opcode": n, "data": ...}`` where ``data`` is the text of a
text message and base64 for every other opcode (as Chrome's ``payloadData``).

An entry is complete only when its connection ends, and connections overlap, so each connection's messages are
collected as JSON fragments: in memory up to :data:`MEMORY` bytes over all connections, then moved to one
temporary spool file; when the connection ends its entry is written with its messages read back in order.
"""
from __future__ import annotations

import datetime
import tempfile
from binascii import b2a_base64
from urllib.parse import parse_qsl, urlsplit

from .. import __version__
from ..events import CaptureEnd, CaptureStart, ConnectionEnd, Message
from ..flow import CLIENT_TO_SERVER
from .records import connection_record, is_exported_connection, json_bytes

MEMORY = 32 << 20  # bytes of message fragments held in memory before they go to the spool file
_CHROME_TYPE = {CLIENT_TO_SERVER: "send"}  # everything else is "receive"


def iso_time(ts: float) -> str:
    """``2026-11-30T03:56:38.123Z``: HAR's ISO 8601 date, in UTC, to the millisecond."""
    try:
        when = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):  # a damaged capture's time beyond what a date holds
        when = datetime.datetime.fromtimestamp(0, tz=datetime.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_fragment(m: Message) -> bytes:
    """One ``_webSocketMessages`` item (JSON), with a leading comma."""
    item = {"type": _CHROME_TYPE.get(m.direction, "receive"), "time": m.last_ts, "opcode": m.opcode}
    if m.opcode == 1 and m.text is not None:
        item["data"] = m.text
    elif m.opcode == 1:  # not valid UTF-8, or cut: shown as text with U+FFFD, flagged
        item["data"] = m.payload.decode("utf-8", "replace")
    else:
        item["data"] = b2a_base64(m.payload, newline=False).decode("ascii")
    if not m.complete:
        item["_complete"] = False
        item["_note"] = m.note
    return b"," + json_bytes(item)


def _headers(headers: list) -> list[dict]:
    return [{"name": name, "value": value} for name, value in headers]


def _url(rec: dict) -> str:
    """``ws://host[:port]/path?query`` (``wss://`` over TLS) from the request's target and Host header (the server
    address without)."""
    scheme, default_port = ("wss", ":443") if rec.get("tls") else ("ws", ":80")
    req = rec["request"]
    uri = req["uri"] if req else "/"
    if "://" in uri:  # absolute form: keep its authority and path
        parts = urlsplit(uri)
        return f"{scheme}://{parts.netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
    host = next((v for n, v in req["headers"] if n.lower() == "host"), None) if req else None
    if not host:
        host = rec["server"][:-len(default_port)] if rec["server"].endswith(default_port) else rec["server"]
    return f"{scheme}://{host}{uri if uri.startswith('/') else '/' + uri}"


def _request(rec: dict, url: str) -> dict:
    req = rec["request"]
    return {"method": req["method"] if req else "GET", "url": url,
            "httpVersion": req["version"] if req else "HTTP/1.1",
            "headers": _headers(req["headers"]) if req else [],
            "queryString": [{"name": n, "value": v} for n, v in parse_qsl(urlsplit(url).query, True)],
            "cookies": [], "headersSize": -1, "bodySize": 0}


def _response(rec: dict) -> dict:
    resp = rec["response"]
    return {"status": resp["status"] if resp else 0, "statusText": resp["reason"] if resp else "",
            "httpVersion": resp["version"] if resp else "HTTP/1.1",
            "headers": _headers(resp["headers"]) if resp else [], "cookies": [],
            "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1, "bodySize": 0,
            "_transferSize": 0, "_error": None}


def har_entry(e: ConnectionEnd, file: str | None = None) -> dict:
    """The HAR entry of a connection, without ``_webSocketMessages`` (the writer adds them)."""
    rec = connection_record(e)
    req = rec["request"]
    wait = rec["handshake_ms"] if rec["handshake_ms"] is not None else 0.0
    entry = {
        "startedDateTime": iso_time(req["time"] if req else rec["start_time"]),
        "time": wait,
        "request": _request(rec, _url(rec)),
        "response": _response(rec),
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "ssl": -1, "connect": -1, "send": 0, "wait": wait, "receive": 0},
        "serverIPAddress": rec["server"].rsplit(":", 1)[0].strip("[]"),
        "connection": str(rec["stream"]),
        "_resourceType": "websocket",
        "_wsdissect": {"stream": rec["stream"], "status": rec["status"], "client": rec["client"],
                       "ended_by": rec["ended_by"], "first_frame": rec["first_frame"]},
    }
    if file is not None:
        entry["_wsdissect"]["file"] = file
    if req is None:
        entry["comment"] = "the WebSocket handshake is not in the capture: request and response are placeholders"
    return entry


class _Messages:
    """One connection's message fragments: spilled chunks (offset, length) in the spool, then what is in memory."""

    __slots__ = ("conn", "chunks", "buf")

    def __init__(self, conn):
        self.conn = conn  # held so that id(conn), the key, is not reused while the connection is open
        self.chunks: list[tuple[int, int]] = []
        self.buf = bytearray()


class HarWriter:
    def __init__(self, destination, settings):
        self.out = destination.stream()
        self.named = settings.named
        self.file: str | None = None
        self.open: dict[int, _Messages] = {}
        self.held = 0
        self.spool = None
        self.entries = 0
        creator = json_bytes({"name": "wsdissect", "version": __version__})
        self.out.write(b'{"log":{"version":"1.2","creator":' + creator + b',"pages":[],"entries":[')

    def events(self, evs: list) -> None:
        for ev in evs:
            cls = ev.__class__
            if cls is Message:
                conn = ev.conn
                msgs = self.open.get(id(conn))
                if msgs is None:
                    msgs = self.open[id(conn)] = _Messages(conn)
                frag = message_fragment(ev)
                msgs.buf += frag
                self.held += len(frag)
                if self.held > MEMORY:
                    self._spill()
            elif cls is ConnectionEnd:
                self._end(ev)
            elif self.named and (cls is CaptureStart or cls is CaptureEnd):
                self.file = ev.source

    def _spill(self) -> None:
        """Move every connection's in-memory fragments to the spool file."""
        if self.spool is None:
            self.spool = tempfile.TemporaryFile(prefix="wsdissect-har-")
        for msgs in self.open.values():
            if msgs.buf:
                msgs.chunks.append((self.spool.seek(0, 2), len(msgs.buf)))
                self.spool.write(msgs.buf)
                msgs.buf = bytearray()
        self.held = 0

    def _end(self, e: ConnectionEnd) -> None:
        msgs = self.open.pop(id(e.conn), None)
        if msgs is not None:
            self.held -= len(msgs.buf)
        if not is_exported_connection(e):
            return
        head = json_bytes(har_entry(e, self.file if self.named else None))
        self.out.write((b"," if self.entries else b"") + head[:-1] + b',"_webSocketMessages":[')
        self.entries += 1
        first = True
        for piece in self._pieces(msgs):
            self.out.write(piece[1:] if first else piece)  # drop the first fragment's leading comma
            first = False
        self.out.write(b"]}")

    def _pieces(self, msgs: _Messages | None):
        if msgs is None:
            return
        for offset, length in msgs.chunks:
            self.spool.seek(offset)
            yield self.spool.read(length)
        if msgs.buf:
            yield bytes(msgs.buf)

    def close(self) -> None:
        self.out.write(b"]}}\n")
        self.out.flush()
        if self.spool is not None:
            self.spool.close()
