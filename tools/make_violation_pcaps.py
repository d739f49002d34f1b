"""Captures of deliberately broken WebSocket conversations: one per finding code (issue 5, item 5).

Every case is a complete TCP conversation written with scapy (three-way handshake, HTTP upgrade, frames, closing
handshake, FIN exchange) that commits exactly one protocol violation.  Next to ``<case>.pcap`` the script writes
``<case>.expect.json``::

    {"code": "ws.frame.rsv", "frame": 8, "direction": "client_to_server", "severity": "error",
     "options": {...}, "description": "...", "also": {"other.code": "why it is an expected side effect"}}

``frame`` is the 1-based capture frame number of the packet in which the offending WebSocket frame or HTTP head
completes, and ``direction`` who sent it; ``options`` are keyword arguments for
:class:`wsdissect.options.Options`; ``also`` lists the (rare) other findings of warning or error severity the
violation legitimately causes as well.

Usage::

    python -m tools.make_violation_pcaps --out DIR [CASE ...]

or, from tests, ``build_case(name)`` / ``build_cases()`` and ``write_case(name, conv, expect, out_dir)``.
Everything is deterministic: fixed keys, masks, timestamps and compressor settings.
"""
from __future__ import annotations

import argparse
import base64
import json
import pathlib
import sys
import zlib
from dataclasses import dataclass, field
from typing import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
from tests.support import Conversation, accept_key, ws_frame
from wsdissect.findings import KINDS

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3's sample key
MASK = b"\x37\xfa\x21\x3d"  # RFC 6455 section 5.7's sample mask
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1, RSV2, RSV3 = 4, 2, 1
DEFLATE_OFFER = ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
DEFLATE_ACCEPT = ("Sec-WebSocket-Extensions", "permessage-deflate")


# -- bytes -------------------------------------------------------------------------------------------------------
def http_head(start_line: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    return ("\r\n".join([start_line] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n").encode("latin-1") + body


def request_headers(key: str = KEY, version: str = "13", extra: list[tuple[str, str]] = ()) -> list:
    return [("Host", "example.test"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version), *extra]


def request(key: str = KEY, extra: list[tuple[str, str]] = (), version: str = "13") -> bytes:
    return http_head("GET /chat HTTP/1.1", request_headers(key, version, extra))


def response(key: str = KEY, extra: list[tuple[str, str]] = (), accept: str | None = None) -> bytes:
    return http_head("HTTP/1.1 101 Switching Protocols",
                     [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                      ("Sec-WebSocket-Accept", accept if accept is not None else accept_key(key)), *extra])


def cf(opcode: int, payload: bytes = b"", **kw) -> bytes:
    """A client frame (masked with :data:`MASK` unless ``mask=None`` is given)."""
    kw.setdefault("mask", MASK)
    return ws_frame(opcode, payload, **kw)


def sf(opcode: int, payload: bytes = b"", **kw) -> bytes:
    """A server frame (unmasked unless a ``mask`` is given)."""
    return ws_frame(opcode, payload, **kw)


def close_payload(code: int | None = 1000, reason: bytes = b"") -> bytes:
    return b"" if code is None else code.to_bytes(2, "big") + reason


class Deflater:
    """permessage-deflate with context takeover (RFC 7692 7.2.1): raw deflate, sync flush, tail removed."""

    def __init__(self, level: int = 6):
        self.c = zlib.compressobj(level, zlib.DEFLATED, -15)

    def __call__(self, data: bytes) -> bytes:
        out = self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]


# -- a conversation that knows its frame numbers -----------------------------------------------------------------
class Script:
    """A :class:`tests.support.Conversation` plus frame-number bookkeeping: every send returns the capture frame
    number of the packet that completes it, and ``mark=True`` records it as the frame of the violation."""

    def __init__(self, client_port: int = 50000, t0: float = 1_700_000_000.0, mss: int = 1400):
        self.conv = Conversation(client=("10.0.0.1", client_port), t0=t0, mss=mss)
        self.marked: int | None = None
        self.marked_direction: str | None = None  # who sent the marked packet: the finding's direction

    @property
    def packets(self) -> list:
        return self.conv.packets

    def _frame_of(self, pkt) -> int:
        return next(i for i, p in enumerate(self.conv.packets) if p is pkt) + 1

    def _mark(self, frame: int, mark: bool, from_client: bool) -> int:
        if mark:
            assert self.marked is None, "a case marks one frame"
            self.marked = frame
            self.marked_direction = "client_to_server" if from_client else "server_to_client"
        return frame

    def send(self, from_client: bool, data: bytes, mark: bool = False, split: int | None = None) -> int:
        """Send *data* (in two back-to-back segments cut at *split* if given); frame number of the last one."""
        if split is not None:
            self.conv.send(from_client, data[:split], ack=False)
            data = data[split:]
        sent = self.conv.send(from_client, data)
        return self._mark(self._frame_of(sent[-1]), mark, from_client)

    def c(self, data: bytes, mark: bool = False, split: int | None = None) -> int:
        return self.send(True, data, mark, split)

    def s(self, data: bytes, mark: bool = False, split: int | None = None) -> int:
        return self.send(False, data, mark, split)

    def raw(self, from_client: bool, flags: str, data: bytes = b"", mark: bool = False, seq: int | None = None
            ) -> int:
        """One hand-made segment (``Conversation._pkt``): at the next sequence number, or at *seq* (which then
        does not advance the sender's sequence number), acknowledging all the peer sent."""
        pkt = self.conv._pkt(from_client, flags, data, seq=seq)
        return self._mark(self._frame_of(pkt), mark, from_client)

    def next_seq(self, from_client: bool) -> int:
        return self.conv.seq[from_client]

    def open(self, req: bytes | None = None, resp: bytes | None = None, mark_request: bool = False,
             mark_response: bool = False) -> None:
        self.c(req if req is not None else request(), mark=mark_request)
        self.s(resp if resp is not None else response(), mark=mark_response)

    def open_deflate(self) -> None:
        self.open(request(extra=[DEFLATE_OFFER]), response(extra=[DEFLATE_ACCEPT]))

    def bye(self, client: bool = True, server: bool = True) -> None:
        """The closing handshake (the sides that still have to send their Close), then the FIN exchange."""
        if client:
            self.c(cf(CLOSE, close_payload(1000)))
        if server:
            self.s(sf(CLOSE, close_payload(1000)))
        self.conv.close()

    def write(self, path: str) -> str:
        return self.conv.write(path)


# -- the cases ---------------------------------------------------------------------------------------------------
@dataclass
class CaseDef:
    name: str
    code: str
    description: str
    build: Callable[[Script], None]
    options: dict = field(default_factory=dict)
    also: dict = field(default_factory=dict)  # other warning/error codes this violation causes, with why


CASES: dict[str, CaseDef] = {}


def case(name: str, code: str, description: str, options: dict | None = None, also: dict | None = None):
    assert code in KINDS, code

    def register(fn: Callable[[Script], None]):
        assert name not in CASES, name
        CASES[name] = CaseDef(name, code, description, fn, dict(options or {}), dict(also or {}))
        return fn
    return register


def _hello(sc: Script) -> None:
    """One good exchange, so that the violation is not the first thing on the connection."""
    sc.c(cf(TEXT, b"hello"))
    sc.s(sf(TEXT, b"hello back"))


# HTTP upgrade handshake -------------------------------------------------------------------------------------------
def _bad_key_case(name: str, key: str, what: str) -> None:
    @case(name, "ws.handshake.key", f"Sec-WebSocket-Key {key!r}: {what}")
    def build(sc: Script) -> None:
        sc.open(request(key=key), response(key=key), mark_request=True)
        _hello(sc)
        sc.bye()


_bad_key_case("handshake_key_23_chars", "KgpykRcE0GQxFa7QEeXAA==",
              "the key from the user's notes (23 characters, not a multiple of 4: not base64)")
_bad_key_case("handshake_key_25_chars", KEY + "=", "25 characters: a valid key with one '=' too many")
_bad_key_case("handshake_key_15_bytes", base64.b64encode(bytes(range(1, 16))).decode(),
              "valid base64, but of 15 bytes instead of 16")


@case("handshake_accept_wrong", "ws.handshake.accept", "Sec-WebSocket-Accept computed from another key")
def _(sc: Script) -> None:
    sc.open(resp=response(accept=accept_key("x3JJHMbDL1EzLkh9GBhXDw==")), mark_response=True)
    _hello(sc)
    sc.bye()


@case("handshake_version_8", "ws.handshake.version", "Sec-WebSocket-Version: 8 (hybi-08) instead of 13")
def _(sc: Script) -> None:
    sc.open(request(version="8"), mark_request=True)
    _hello(sc)
    sc.bye()


@case("handshake_upgrade_response_headers_missing", "ws.handshake.upgrade",
      "101 Switching Protocols without the Upgrade and Connection headers")
def _(sc: Script) -> None:
    sc.open(resp=http_head("HTTP/1.1 101 Switching Protocols", [("Sec-WebSocket-Accept", accept_key(KEY))]),
            mark_response=True)
    _hello(sc)
    sc.bye()


@case("handshake_upgrade_request_keepalive", "ws.handshake.upgrade",
      "request with Connection: keep-alive and no Upgrade header, but a Sec-WebSocket-Key")
def _(sc: Script) -> None:
    req = http_head("GET /chat HTTP/1.1", [("Host", "example.test"), ("Connection", "keep-alive"),
                                           ("Sec-WebSocket-Key", KEY), ("Sec-WebSocket-Version", "13")])
    sc.open(req, mark_request=True)
    _hello(sc)
    sc.bye()


@case("handshake_method_post", "ws.handshake.method", "upgrade request with POST instead of GET")
def _(sc: Script) -> None:
    sc.open(http_head("POST /chat HTTP/1.1", request_headers()), mark_request=True)
    _hello(sc)
    sc.bye()


@case("handshake_host_missing", "ws.handshake.host", "upgrade request without a Host header")
def _(sc: Script) -> None:
    sc.open(http_head("GET /chat HTTP/1.1", request_headers()[1:]), mark_request=True)
    _hello(sc)
    sc.bye()


@case("handshake_subprotocol_not_offered", "ws.handshake.subprotocol",
      "client offers chat, superchat; the server picks v2.chat (unknown to the application decoders, so the text "
      "messages are not decoded as an application protocol)")
def _(sc: Script) -> None:
    sc.open(request(extra=[("Sec-WebSocket-Protocol", "chat, superchat")]),
            response(extra=[("Sec-WebSocket-Protocol", "v2.chat")]), mark_response=True)
    _hello(sc)
    sc.bye()


@case("handshake_extension_not_offered", "ws.handshake.extension",
      "client offers no extension; the server accepts x-webkit-deflate-frame")
def _(sc: Script) -> None:
    sc.open(resp=response(extra=[("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")]), mark_response=True)
    _hello(sc)
    sc.bye()


@case("handshake_extension_window_bits_20", "ws.handshake.extension",
      "permessage-deflate accepted with server_max_window_bits=20 (RFC 7692 allows 8 to 15)")
def _(sc: Script) -> None:
    sc.open(request(extra=[DEFLATE_OFFER]),
            response(extra=[("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=20")]),
            mark_response=True)
    _hello(sc)
    sc.bye()


def _refused_case(status: str, headers: list[tuple[str, str]], body: bytes = b"") -> None:
    code = status.split()[0]

    @case(f"handshake_refused_{code}", "ws.handshake.refused", f"upgrade answered with {status}")
    def build(sc: Script) -> None:
        sc.open(resp=http_head(f"HTTP/1.1 {status}", headers + [("Content-Length", str(len(body)))], body),
                mark_response=True)
        sc.conv.close()


_refused_case("403 Forbidden", [("Content-Type", "text/plain")], b"go away\n")
_refused_case("400 Bad Request", [])
_refused_case("426 Upgrade Required", [("Sec-WebSocket-Version", "13"), ("Upgrade", "websocket"),
                                       ("Connection", "Upgrade")])


@case("handshake_no_101", "ws.handshake.no_101",
      "the server answers the upgrade request with WebSocket frames instead of 101 Switching Protocols")
def _(sc: Script) -> None:
    sc.c(request())
    sc.s(ws_frame(TEXT, b"no handshake"), mark=True)
    sc.s(ws_frame(TEXT, b"still none"))
    sc.c(cf(TEXT, b"hi"))
    sc.conv.close()


# frame headers ----------------------------------------------------------------------------------------------------
@case("frame_unmasked_client", "ws.frame.unmasked_client", "client text frame without a mask")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(TEXT, b"no mask", mask=None), mark=True)
    sc.s(sf(TEXT, b"ok"))
    sc.bye()


@case("frame_masked_server", "ws.frame.masked_server", "server text frame with a mask")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(TEXT, b"hello"))
    sc.s(sf(TEXT, b"masked reply", mask=b"\x01\x02\x03\x04"), mark=True)
    sc.bye()


@case("frame_rsv2", "ws.frame.rsv", "text frame with RSV2 set; no extension negotiated")
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    sc.c(cf(TEXT, b"rsv2", rsv=RSV2), mark=True)
    sc.bye()


@case("frame_rsv3_server", "ws.frame.rsv", "server text frame with RSV3 set; no extension negotiated")
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    sc.s(sf(TEXT, b"rsv3", rsv=RSV3), mark=True)
    sc.bye()


@case("frame_rsv2_with_deflate", "ws.frame.rsv", "RSV2 set; only permessage-deflate (RSV1) is negotiated")
def _(sc: Script) -> None:
    sc.open_deflate()
    sc.c(cf(TEXT, b"rsv2", rsv=RSV2), mark=True)
    sc.bye()


@case("frame_rsv1_without_deflate", "ws.frame.rsv", "RSV1 set on a text frame; permessage-deflate not negotiated")
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    sc.c(cf(TEXT, b"rsv1", rsv=RSV1), mark=True)
    sc.bye()


@case("frame_rsv1_continuation", "ws.frame.rsv1_continuation",
      "permessage-deflate negotiated; RSV1 set on the continuation of a compressed message")
def _(sc: Script) -> None:
    sc.open_deflate()
    data = Deflater()(b"a compressed message in two fragments")
    sc.c(cf(TEXT, data[:8], rsv=RSV1, fin=False))
    sc.c(cf(CONT, data[8:], rsv=RSV1), mark=True)
    sc.s(sf(TEXT, b"ok"))
    sc.bye()


@case("frame_rsv1_control", "ws.frame.rsv1_continuation", "permessage-deflate negotiated; RSV1 set on a ping")
def _(sc: Script) -> None:
    sc.open_deflate()
    sc.c(cf(PING, b"p", rsv=RSV1), mark=True)
    sc.s(sf(PONG, b"p"))
    sc.bye()


@case("frame_reserved_opcode_0x3", "ws.frame.reserved_opcode", "client frame with the reserved data opcode 0x3")
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    sc.c(cf(0x3, b"three"), mark=True)
    sc.bye()


@case("frame_reserved_opcode_0xb", "ws.frame.reserved_opcode", "server frame with the reserved control opcode 0xB")
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    sc.s(sf(0xB, b"eleven"), mark=True)
    sc.bye()


@case("frame_control_length_126", "ws.frame.control_length", "ping with a 126-byte payload (limit 125)")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(PING, bytes(range(126))), mark=True)
    sc.bye()


@case("frame_control_fragmented", "ws.frame.control_fragmented", "ping with FIN=0")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(PING, b"frag", fin=False), mark=True)
    sc.s(sf(PONG, b"frag"))
    sc.bye()


@case("frame_length_16bit_for_5", "ws.frame.length_encoding", "5-byte payload sent with the 16-bit length form")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(TEXT, b"hello", length_form=16), mark=True)
    sc.bye()


@case("frame_length_64bit_for_200", "ws.frame.length_encoding",
      "200-byte payload sent with the 64-bit length form, header and payload in two TCP segments")
def _(sc: Script) -> None:
    sc.open()
    sc.s(sf(BINARY, bytes(200), length_form=64), split=10, mark=True)
    sc.bye()


@case("frame_length_msb", "ws.frame.length_msb",
      "64-bit payload length with its most significant bit set (the frame can never complete)",
      # the connection ends long before 2**63 bytes arrive: the unfinished frame is reported at the end
      also={"ws.frame.incomplete": "the frame is still unfinished when the connection ends"})
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    head = bytes([0x82, 0x80 | 127]) + (1 << 63 | 5).to_bytes(8, "big") + MASK
    sc.c(head + b"12345", mark=True)
    sc.s(sf(CLOSE, close_payload(1002)))
    sc.conv.close()


@case("frame_after_close", "ws.frame.after_close", "client text frame after the client's own Close")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(CLOSE, close_payload(1000)))
    sc.c(cf(TEXT, b"one more thing"), mark=True)
    sc.bye(client=False)


# messages ---------------------------------------------------------------------------------------------------------
@case("message_continuation_without_start", "ws.message.continuation",
      "continuation frame (FIN=1) with no fragmented message in progress")
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    sc.c(cf(CONT, b"orphan"), mark=True)
    sc.bye()


@case("message_interleaved", "ws.message.interleaved",
      "new text frame while a fragmented text message is unfinished")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(TEXT, b"first half", fin=False))
    sc.c(cf(TEXT, b"another message"), mark=True)
    sc.bye()


@case("message_utf8_invalid", "ws.message.utf8", "text message with invalid UTF-8 (0xff 0xfe)")
def _(sc: Script) -> None:
    sc.open()
    sc.s(sf(TEXT, b"bad \xff\xfe bytes"), mark=True)
    sc.bye()


@case("message_utf8_invalid_fragmented", "ws.message.utf8",
      "fragmented text message whose fragments join into invalid UTF-8 (truncated 3-byte sequence)")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(TEXT, b"euro \xe2\x82", fin=False))
    sc.c(cf(CONT, b" missing byte"), mark=True)
    sc.bye()


@case("message_too_large_single_frame", "ws.message.too_large",
      "one 100-byte text frame; max_message=64", options={"max_message": 64})
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(TEXT, b"x" * 100), mark=True)
    sc.bye()


@case("message_too_large_fragmented", "ws.message.too_large",
      "text message of three 40-byte fragments; max_message=64 (passed by the second fragment)",
      options={"max_message": 64})
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(TEXT, b"a" * 40, fin=False))
    sc.c(cf(CONT, b"b" * 40, fin=False), mark=True)
    sc.c(cf(CONT, b"c" * 40))
    sc.bye()


@case("deflate_error", "ws.deflate.error", "RSV1 text frame whose payload is not raw deflate data")
def _(sc: Script) -> None:
    sc.open_deflate()
    sc.c(cf(TEXT, b"\xff\xff\xff\xff garbage", rsv=RSV1), mark=True)
    sc.bye()


@case("deflate_limit", "ws.deflate.limit", "deflate bomb: 10 MiB of zeros in ~10 KB; max_inflated=1 MiB",
      options={"max_inflated": 1 << 20})
def _(sc: Script) -> None:
    sc.open_deflate()
    bomb = Deflater(9)(bytes(10 << 20))
    sc.c(cf(BINARY, bomb, rsv=RSV1), mark=True)
    sc.bye()


# close frames -----------------------------------------------------------------------------------------------------
@case("close_length_1", "ws.close.length", "close frame with a 1-byte payload")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(CLOSE, b"\x03"), mark=True)
    sc.bye(client=False)


def _close_code_case(code: int, why: str) -> None:
    @case(f"close_code_{code}", "ws.close.code", f"close code {code}: {why}")
    def build(sc: Script) -> None:
        sc.open()
        _hello(sc)
        sc.c(cf(CLOSE, close_payload(code, b"bye")), mark=True)
        sc.bye(client=False)


for _code, _why in [(999, "below 1000, never used"), (1004, "reserved"),
                    (1005, "'no status received' must not be sent"), (1006, "'abnormal closure' must not be sent"),
                    (1015, "'TLS handshake failure' must not be sent"), (1016, "reserved for the protocol"),
                    (2000, "reserved for the protocol (1016-2999)"), (2999, "reserved for the protocol"),
                    (5000, "above 4999")]:
    _close_code_case(_code, _why)


@case("close_reason_utf8", "ws.close.reason_utf8", "close 1000 with a reason that is not UTF-8")
def _(sc: Script) -> None:
    sc.open()
    sc.s(sf(CLOSE, close_payload(1000, b"caf\xe9")), mark=True)
    sc.c(cf(CLOSE, close_payload(1000)))
    sc.conv.close(first_client=False)


@case("pong_unsolicited", "ws.pong.unsolicited", "server pong whose payload matches no ping")
def _(sc: Script) -> None:
    sc.open()
    sc.c(cf(PING, b"ping-1"))
    sc.s(sf(PONG, b"ping-1"))
    sc.s(sf(PONG, b"heartbeat"), mark=True)
    sc.bye()


# TCP ----------------------------------------------------------------------------------------------------------------
@case("tcp_data_after_fin", "tcp.data_after_fin",
      "client sends FIN after its Close, then a text frame in a segment beyond the FIN",
      # the late text frame also follows the client's own Close frame
      also={"ws.frame.after_close": "the text frame sent after the FIN also comes after the client's Close"})
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    sc.c(cf(CLOSE, close_payload(1000)))
    sc.s(sf(CLOSE, close_payload(1000)))
    sc.raw(True, "FA")
    sc.raw(False, "A")
    sc.raw(True, "PA", cf(TEXT, b"late"), mark=True)
    sc.raw(False, "FA")
    sc.raw(True, "A")


@case("tcp_data_after_fin_same_seq", "tcp.data_after_fin",
      "client sends a bare FIN, then a segment with a text frame at the FIN's own sequence number")
def _(sc: Script) -> None:
    sc.open()
    _hello(sc)
    fin_seq = sc.next_seq(True)
    sc.raw(True, "FA")
    sc.raw(False, "A")
    sc.raw(True, "PA", cf(CLOSE, close_payload(1000)), seq=fin_seq, mark=True)
    sc.raw(False, "PA", sf(CLOSE, close_payload(1000)))
    sc.raw(False, "FA")
    sc.raw(True, "A")


# Application protocols over WebSocket (wsdissect/app, docs/app.md) ---------------------------------------------
def _app_open(sc: Script, subprotocol: str | None = None, path: str = "/chat") -> None:
    """The upgrade with a negotiated subprotocol (or none) and a request path (Engine.IO: its URI)."""
    sub = [("Sec-WebSocket-Protocol", subprotocol)] if subprotocol else []
    req = http_head(f"GET {path} HTTP/1.1", request_headers(extra=sub))
    sc.open(req, response(extra=sub))


MQTT_CONNECT = b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02id"
MQTT_CONNACK = b"\x20\x02\x00\x00"
EIO_OPEN = b'0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
STOMP_CONNECT = b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00"
STOMP_CONNECTED = b"CONNECTED\nversion:1.2\n\n\x00"


def _mqtt_case(name: str, code: str, description: str, packet: bytes, opcode: int = BINARY,
               before: tuple[bytes, ...] = ()) -> None:
    @case(name, code, description)
    def build(sc: Script) -> None:
        _app_open(sc, "mqtt", "/mqtt")
        sc.c(cf(BINARY, MQTT_CONNECT))
        sc.s(sf(BINARY, MQTT_CONNACK))
        for earlier in before:
            sc.c(cf(BINARY, earlier))
        sc.c(cf(opcode, packet), mark=True)
        sc.bye()


_mqtt_case("mqtt_remaining_length_5_bytes", "mqtt.remaining_length",
           "PUBLISH whose Remaining Length runs over 4 bytes", b"\x30\xff\xff\xff\xff\x01")
_mqtt_case("mqtt_in_text_message", "mqtt.text_message", "a QoS 0 PUBLISH sent in a text message",
           b"\x30\x03\x00\x01a", TEXT)
_mqtt_case("mqtt_topic_past_end", "mqtt.malformed", "PUBLISH whose topic length runs past the packet",
           b"\x30\x03\x00\x10a")
_mqtt_case("mqtt_publish_qos_3", "mqtt.flags", "PUBLISH with QoS 3", b"\x36\x05\x00\x01a\x00\x01")
_mqtt_case("mqtt_packet_id_zero", "mqtt.packet_id_zero", "QoS 1 PUBLISH with packet identifier 0",
           b"\x32\x05\x00\x01a\x00\x00")
_mqtt_case("mqtt_packet_id_reuse", "mqtt.packet_id_reuse", "second QoS 1 PUBLISH id 7 before the first's PUBACK",
           b"\x32\x05\x00\x01a\x00\x07", before=(b"\x32\x05\x00\x01a\x00\x07",))


def _socketio_case(name: str, code: str, description: str, server: bool, message: bytes, opcode: int = TEXT,
                   after: bytes | None = None) -> None:
    @case(name, code, description)
    def build(sc: Script) -> None:
        _app_open(sc, None, "/socket.io/?EIO=4&transport=websocket")
        sc.s(sf(TEXT, EIO_OPEN))
        sc.c(cf(TEXT, b"40"))
        sc.s(sf(TEXT, b'40{"sid":"n1"}'))
        send = sc.s if server else sc.c
        frame = sf if server else cf
        if after is None:
            send(frame(opcode, message), mark=True)
        else:
            send(frame(opcode, message))
            send(frame(TEXT, after), mark=True)
        sc.bye()


_socketio_case("socketio_packet_type_9", "socketio.packet_type", "Socket.IO packet type 9", False, b"49")
_socketio_case("engineio_packet_type_9", "engineio.packet_type", "Engine.IO packet type 9", False, b"9")
_socketio_case("socketio_event_bad_json", "socketio.malformed", "EVENT whose arguments are not JSON", False,
               b'42["chat",')
_socketio_case("socketio_ack_without_event", "socketio.ack_unknown", "ACK id 5 that answers no event", True,
               b"435[1]")
_socketio_case("socketio_binary_without_packet", "socketio.attachment_unexpected",
               "binary message while no BINARY_EVENT waits for an attachment", True, b"\x01\x02\x03", BINARY)
_socketio_case("socketio_attachment_missing", "socketio.attachments_missing",
               "BINARY_EVENT with one attachment followed by a text packet", False,
               b'451-["up",{"_placeholder":true,"num":0}]', after=b'42["next"]')


def _stomp_case(name: str, code: str, description: str, frame: bytes, after: bytes | None = None) -> None:
    @case(name, code, description)
    def build(sc: Script) -> None:
        _app_open(sc, "v12.stomp", "/stomp")
        sc.c(cf(TEXT, STOMP_CONNECT))
        sc.s(sf(TEXT, STOMP_CONNECTED))
        sc.c(cf(TEXT, frame), mark=after is None)
        if after is not None:
            sc.c(cf(TEXT, after), mark=True)
        sc.bye()


_stomp_case("stomp_missing_nul", "stomp.missing_nul", "SEND without its NUL, then the next frame",
            b"SEND\ndestination:/q\n\nbody", after=b"SEND\ndestination:/q\n\nx\x00")
_stomp_case("stomp_content_length_mismatch", "stomp.content_length", "content-length 1 for a 3-byte body",
            b"SEND\ndestination:/q\ncontent-length:1\n\nabc\x00")
_stomp_case("stomp_header_without_colon", "stomp.malformed", "a header line without a colon",
            b"SEND\ndestination /q\n\nabc\x00")
_stomp_case("stomp_undefined_escape", "stomp.escape", "header value with the undefined escape \\t",
            b"SEND\ndestination:/q\\t\n\nabc\x00")


@case("graphql_subscribe_before_ack", "graphql.before_ack", "subscribe before the server's connection_ack")
def _(sc: Script) -> None:
    _app_open(sc, "graphql-transport-ws", "/graphql")
    sc.c(cf(TEXT, b'{"type":"connection_init"}'))
    sc.c(cf(TEXT, b'{"type":"subscribe","id":"1","payload":{"query":"{a}"}}'), mark=True)
    sc.s(sf(TEXT, b'{"type":"connection_ack"}'))
    sc.bye()


@case("graphql_unknown_type", "graphql.invalid", "a message whose type graphql-transport-ws does not define")
def _(sc: Script) -> None:
    _app_open(sc, "graphql-transport-ws", "/graphql")
    sc.c(cf(TEXT, b'{"type":"connection_init"}'))
    sc.s(sf(TEXT, b'{"type":"connection_ack"}'))
    sc.c(cf(TEXT, b'{"type":"bogus"}'), mark=True)
    sc.bye()


def _jsonrpc_case(name: str, code: str, description: str, server: bool, message: bytes) -> None:
    @case(name, code, description)
    def build(sc: Script) -> None:
        _app_open(sc, None, "/rpc")  # no subprotocol: the first message proves JSON-RPC by its content
        sc.c(cf(TEXT, b'{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1}'))
        (sc.s if server else sc.c)((sf if server else cf)(TEXT, message), mark=True)
        sc.bye()


_jsonrpc_case("jsonrpc_not_jsonrpc", "jsonrpc.invalid", "an object without \"jsonrpc\": \"2.0\"", False,
              b'{"method":"sum","id":2}')
_jsonrpc_case("jsonrpc_duplicate_id", "jsonrpc.duplicate_id", "request id 1 again before its response", False,
              b'{"jsonrpc":"2.0","method":"sum","params":[3],"id":1}')
_jsonrpc_case("jsonrpc_response_without_request", "jsonrpc.response_unknown", "a response for id 99", True,
              b'{"jsonrpc":"2.0","result":3,"id":99}')


# -- building and writing ----------------------------------------------------------------------------------------------
def case_names() -> list[str]:
    return list(CASES)


def build_case(name: str) -> tuple[Script, dict]:
    """The conversation (a :class:`Script`; ``.packets`` are its scapy packets) and the expectation of *name*."""
    d = CASES[name]
    sc = Script()
    d.build(sc)
    assert sc.marked is not None, f"case {name} marks no frame"
    expect = {"code": d.code, "frame": sc.marked, "direction": sc.marked_direction,
              "severity": KINDS[d.code].severity.label, "options": d.options, "description": d.description,
              "also": d.also}
    return sc, expect


def build_cases() -> dict[str, tuple[Script, dict]]:
    return {name: build_case(name) for name in CASES}


def write_case(name: str, conv: Script | Conversation | list, expect: dict, out_dir: str | pathlib.Path
               ) -> pathlib.Path:
    """Write ``<out_dir>/<name>.pcap`` and ``<name>.expect.json``; returns the pcap's path."""
    from scapy.utils import wrpcap

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pcap = out / f"{name}.pcap"
    wrpcap(str(pcap), conv if isinstance(conv, list) else conv.packets)
    (out / f"{name}.expect.json").write_text(json.dumps(expect, indent=2, sort_keys=True) + "\n")
    return pcap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="directory for <case>.pcap and <case>.expect.json")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("cases", nargs="*", help="only these cases (default: all)")
    args = ap.parse_args(argv)
    if args.list:
        for name, d in CASES.items():
            print(f"{name:45} {d.code:28} {d.description}")
        return 0
    if not args.out:
        ap.error("--out DIR is required")
    unknown = [n for n in args.cases if n not in CASES]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    for name in args.cases or CASES:
        sc, expect = build_case(name)
        pcap = write_case(name, sc, expect, args.out)
        print(f"{pcap}  {expect['code']} @ frame {expect['frame']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
