"""Event -> JSON-ready record (a dict), following shared/corpus/FORMAT.md and docs/export.md.

One function per record type; every exporter (JSON, JSONL, CSV, Parquet, HAR, live, the Python API) uses these, so
the field names live in one place.  ``file`` (the input path as given) is the second field of every record when the
export has more than one input; the ``*_ns`` fields are :func:`time_ns` of the float seconds beside them.
"""
from __future__ import annotations

from binascii import b2a_base64
from operator import attrgetter
from typing import Iterator

from ..events import ConnectionEnd, Finding, HttpRequest, HttpResponse, Message
from ..findings import Severity
from ..flow import DIRECTIONS
from ..rfc6455 import opcode_name
from ..speedups import speedups


U64 = (1 << 64) - 1
I64 = 1 << 63


def _u64(n: int) -> int:
    """Counts built from declared lengths can exceed what JSON numbers carry; cap them (only hostile input does)."""
    return n if n <= U64 else U64


def time_ns(ts: float) -> int:
    """Integer nanoseconds since the epoch for a float timestamp, rounded to the microsecond.

    The pipeline carries float seconds, whose spacing at today's epoch is about 0.24 us: microsecond timestamps
    (classic pcap, pcapng's default resolution) come out exact, finer ones keep their microseconds only.  The C
    encoder computes the same value (``time_ns`` in ``_speedups.c``).  Times beyond what a signed 64-bit count
    of nanoseconds holds (year 2262; only damaged or hostile captures) are clamped to its range.
    """
    if -9.2e9 < ts < 9.2e9:
        return round(ts * 1e6) * 1000
    return I64 - 1 if ts > 0 else -I64


def _message_tail(m: Message) -> dict:
    """The fields of a message record after ``close_reason`` (shared by the dict and the byte-level forms)."""
    tail = {"first_frame": m.first_frame, "last_frame": m.last_frame, "first_time": m.first_ts,
            "last_time": m.last_ts, "first_time_ns": time_ns(m.first_ts), "last_time_ns": time_ns(m.last_ts),
            "fragments": m.fragments, "compressed": m.compressed,
            "wire_length": _u64(m.wire_length), "payload_length": len(m.payload)}
    if m.text is not None:
        tail["text"] = m.text
    if m.truncated:
        tail["truncated"] = True
    if m.note:
        tail["note"] = m.note
    if m.raw is not None:
        tail["raw_b64"] = b2a_base64(m.raw, newline=False).decode("ascii")
    if m.app is not None:
        tail["app"] = app_units(m.app)
    return tail


def app_units(units: tuple) -> list:
    """A message's application units in their export form (``shared/corpus-app/FORMAT.md``)."""
    return [u.to_dict() for u in units]


def app_text(units: tuple | None) -> str | None:
    """The ``app`` column of the column-wise formats (CSV, Parquet): the units as JSON text, None without."""
    return None if units is None else json_bytes(app_units(units)).decode("utf-8")


def _opening(kind: str, file: str | None) -> dict:
    """``{"type": kind}``, plus ``file`` when the export names its inputs."""
    return {"type": kind} if file is None else {"type": kind, "file": file}


def message_record(m: Message, file: str | None = None) -> dict:
    conn = m.conn
    rec = _opening("message", file)
    rec.update({
        "stream": conn.index,
        "client": conn.client,
        "server": conn.server,
        "direction": m.direction,
        "opcode": opcode_name(m.opcode),
        "payload_b64": b2a_base64(m.payload, newline=False).decode("ascii"),
        "complete": m.complete,
        "close_code": m.close_code,
        "close_reason": m.close_reason,
    })
    rec.update(_message_tail(m))
    return rec


try:
    from orjson import dumps as json_bytes
except ImportError:  # pragma: no cover
    import json as _stdjson

    def json_bytes(obj) -> bytes:
        """Compact UTF-8 JSON (orjson's output, without orjson)."""
        return _stdjson.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

_OPCODE_JSON = {op: json_bytes(opcode_name(op)) for op in range(16)}
_HEADS: dict[tuple, tuple] = {}  # (id(conn), direction) -> (conn, head); see _remember_head
_FILE_HEADS: dict[tuple, tuple] = {}  # the same for exports whose records carry ``file``


def heads_for(file: str | None) -> dict:
    """The head cache for records without (None) or with a ``file`` field (a connection belongs to one file)."""
    return _HEADS if file is None else _FILE_HEADS


def _message_head(m: Message, file: str | None) -> bytes:
    """The record's opening, up to ``"opcode":``: the same for every message of a connection and direction."""
    conn = m.conn
    rec = _opening("message", file)
    rec.update({"stream": conn.index, "client": conn.client, "server": conn.server, "direction": m.direction})
    return json_bytes(rec)[:-1] + b',"opcode":'


def message_line_py(m: Message, file: str | None = None) -> bytes:
    """``message_record(m)`` serialized as compact JSON, built directly as bytes: the export's hot path.

    The connection's part is serialized once per connection and direction, the payload's base64 is spliced in
    as is, and the rest goes through the JSON encoder as one small object.  ``tests/unit/
    test_export_records.py`` checks it parses to exactly ``message_record(m)``.
    """
    before, after = _line_around_payload(m, file)
    return b"".join((before, b2a_base64(m.payload, newline=False), after))


B64_PIECE = 3 << 20  # payload bytes base64-encoded at a time by message_line_pieces (a multiple of 3)


def message_line_pieces(m: Message, file: str | None = None) -> Iterator[bytes]:
    """:func:`message_line_py` in pieces, the payload's base64 a few MiB at a time: a large payload is written
    without its whole base64 (4/3 of its size) and the joined line in memory at once."""
    before, after = _line_around_payload(m, file)
    yield before
    payload = m.payload
    with memoryview(payload) as view:
        for start in range(0, len(payload), B64_PIECE):
            yield b2a_base64(view[start:start + B64_PIECE], newline=False)
    yield after


def _line_around_payload(m: Message, file: str | None) -> tuple[bytes, bytes]:
    """The JSONL message line up to the payload's base64 and after it."""
    conn = m.conn
    key = (id(conn), m.direction)
    entry = heads_for(file).get(key)
    if entry is None or entry[0] is not conn:
        entry = _remember_head(m, file)
    if m.close_code is None and m.close_reason is None:
        close = b'"close_code":null,"close_reason":null,'
    else:
        close = b'"close_code":%s,"close_reason":%s,' % (json_bytes(m.close_code), json_bytes(m.close_reason))
    return (entry[1] + _OPCODE_JSON[m.opcode] + b',"payload_b64":"',
            b"".join((b'","complete":true,' if m.complete else b'","complete":false,', close,
                      json_bytes(_message_tail(m))[1:])))


def _remember_head(m: Message, file: str | None = None) -> tuple:
    """Cache the head of *m*'s connection and direction, keyed by ``(id(conn), direction)``; the entry holds the
    ``Conn`` itself, so the id cannot be reused by another connection while the entry exists."""
    heads = heads_for(file)
    if len(heads) > 8192:
        heads.clear()
    entry = heads[(id(m.conn), m.direction)] = (m.conn, _message_head(m, file))
    return entry


def forget_heads(conn) -> None:
    """A connection ended: drop its cached heads (memory follows the open connections, not all seen)."""
    for direction in DIRECTIONS:
        _HEADS.pop((id(conn), direction), None)
        _FILE_HEADS.pop((id(conn), direction), None)


def _message_line_c(m: Message, file: str | None = None) -> bytes:
    """:func:`message_line_py` with the common record built by the C encoder (byte-identical for realistic
    timestamps; ``tests/equivalence/test_record_encoder.py``)."""
    heads = heads_for(file)
    line = _c_line(m, heads)
    if line is None:
        entry = heads.get((id(m.conn), m.direction))
        if entry is None or entry[0] is not m.conn:  # a new connection: cache its head and try again
            _remember_head(m, file)
            line = _c_line(m, heads)
        if line is None:  # not the common kind of record
            line = message_line_py(m, file)
    return line


if speedups is not None:
    _c_line = speedups.message_line
    message_line = _message_line_c
else:  # pragma: no cover - without the C code
    message_line = message_line_py


# the Message slots in the order speedups.message_columns returns them, then the connection's fields
SLOTS = ("conn", "direction", "opcode", "payload", "complete", "first_frame", "last_frame", "first_ts", "last_ts",
         "fragments", "compressed", "wire_length", "frames", "close_code", "close_reason", "text", "truncated",
         "note", "raw", "app", "conn.index", "conn.client", "conn.server")


def message_columns_py(batch: list) -> tuple:
    """The messages' attributes column by column (:data:`SLOTS`), for the column-wise formats (CSV, Arrow);
    ``speedups.message_columns`` is its C twin."""
    return tuple(list(map(attrgetter(name), batch)) for name in SLOTS)


message_columns = speedups.message_columns if speedups is not None else message_columns_py


def _request(r: HttpRequest | None) -> dict | None:
    if r is None:
        return None
    return {"method": r.method, "uri": r.uri, "version": r.version, "headers": [list(h) for h in r.headers],
            "frame": r.frame, "time": r.ts, "time_ns": time_ns(r.ts)}


def _response(r: HttpResponse | None) -> dict | None:
    if r is None:
        return None
    return {"version": r.version, "status": r.status, "reason": r.reason, "headers": [list(h) for h in r.headers],
            "frame": r.frame, "time": r.ts, "time_ns": time_ns(r.ts)}


def is_exported_connection(e: ConnectionEnd) -> bool:
    """WebSocket connections, refused upgrade attempts and TLS connections (decrypted or not: a wss:// connection
    without keys is still listed) get a connection record."""
    return e.websocket or e.tls is not None or any(r.is_upgrade for r in e.requests)


def tls_record(info) -> dict | None:
    """The TLS facts of a wss:// connection (never key material); None for plain TCP."""
    if info is None:
        return None
    return {"version": info.version, "cipher_suite": info.cipher_suite, "sni": info.sni, "alpn": info.alpn,
            "decrypted": info.decrypted, "resumed": info.resumed}


def connection_record(e: ConnectionEnd, file: str | None = None) -> dict:
    conn = e.conn
    up = e.upgrade
    upgrade_req = up.request if up else next((r for r in e.requests if r.is_upgrade), None)
    upgrade_resp = up.response if up else next(
        (r for r in e.responses if r.request is not None and r.request is upgrade_req), None)
    if up is not None:
        status = "upgraded"
    elif e.websocket:
        status = "no handshake in capture"
    elif upgrade_resp is not None:
        status = "refused"
    elif e.tls is not None and not e.tls.decrypted:
        status = "not decrypted"
    else:
        status = "no response"
    rtt = e.ping_rtt
    rec = _opening("connection", file)
    rec.update({
        "stream": conn.index,
        "client": conn.client,
        "server": conn.server,
        "status": status,
        "request": _request(upgrade_req),
        "response": _response(upgrade_resp),
        "subprotocol": up.subprotocol if up else None,
        "extensions": list(up.extensions) if up else [],
        "permessage_deflate": up.deflate if up else None,
        "first_frame": e.first_frame,
        "last_frame": e.last_frame,
        "start_time": e.start_ts,
        "end_time": e.end_ts,
        "start_time_ns": time_ns(e.start_ts),
        "end_time_ns": time_ns(e.end_ts),
        "duration": round(e.end_ts - e.start_ts, 6),  # differences of float epoch times: exact to the microsecond
        "handshake_ms": None if e.handshake_ms is None else round(e.handshake_ms, 3),
        "ended_by": e.ended_by,
        "first_close": e.first_close,
        "close": {d: {"code": c, "reason": r} for d, (c, r) in e.close_codes.items()},
        "midstream": e.midstream,
        "stats": {d: {k: (_u64(v) if isinstance(v, int) else v) for k, v in st.items()} for d, st in e.stats.items()},
        "ping_rtt": ({"count": rtt[0], "min": round(rtt[1], 6), "avg": round(rtt[2], 6), "max": round(rtt[3], 6)}
                     if rtt else None),
        "tls": tls_record(e.tls),
    })
    return rec


def expert_record(f: Finding, file: str | None = None) -> dict:
    conn = f.conn
    rec = _opening("expert", file)
    rec.update({
        "frame": f.frame,
        "time": f.ts,
        "time_ns": time_ns(f.ts),
        "severity": Severity(f.severity).label,
        "code": f.code,
        "message": f.message,
        "stream": conn.index if conn else None,
        "client": conn.client if conn else None,
        "server": conn.server if conn else None,
        "direction": f.direction,
    })
    return rec
