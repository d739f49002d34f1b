"""Socket.IO packet encodings: the default text parser and socket.io-msgpack-parser (sans-IO, one packet each)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .binary import UNDEFINED, display_tree, json_value, unpack_msgpack
from .units import NO_DATA, parse_json_text

PACKET_TYPES = ("CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK")
BINARY_TYPES = {"BINARY_EVENT", "BINARY_ACK"}


@dataclass(frozen=True, slots=True)
class SocketPacket:
    """A decoded Socket.IO packet; ``payload`` is the JSON value after namespace and id (NO_DATA when absent)."""

    kind: str
    namespace: str
    id: Optional[int]
    payload: Any
    attachments: int = 0
    has_binary: bool = False  # msgpack packets carrying binary values (their payload is then not JSON)


class PacketError(ValueError):
    """The message is not a Socket.IO packet: *code* is the finding to report, the text says why."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


def parse_text_packet(text: str) -> SocketPacket:
    """Default parser: ``<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`` (socket.io-protocol v5)."""
    if not text or text[0] not in "0123456":
        raise PacketError("socketio.packet_type", f"unknown Socket.IO packet type {text[:1]!r}")
    kind, pos, attachments = PACKET_TYPES[int(text[0])], 1, 0
    if kind in BINARY_TYPES:
        dash = text.find("-", pos)
        if dash < 0 or not _ascii_digits(text[pos:dash]):
            raise PacketError("socketio.malformed", f"{kind} without its attachment count")
        attachments, pos = int(text[pos:dash]), dash + 1
    namespace = "/"
    if text[pos:pos + 1] == "/":
        comma = text.find(",", pos)
        end = comma if comma >= 0 else len(text)
        namespace, pos = text[pos:end], end + 1
    digits = pos
    while digits < len(text) and text[digits] in _DIGITS:
        digits += 1
    ident = int(text[pos:digits]) if digits > pos else None
    payload = NO_DATA
    if digits < len(text):
        payload = parse_json_text(text[digits:])
        if payload is NO_DATA:
            raise PacketError("socketio.malformed", f"{kind} payload is not JSON")
    return _checked(SocketPacket(kind, namespace, ident, payload, attachments))


def _checked(packet: SocketPacket) -> SocketPacket:
    """The payload rules of socket.io-protocol v5 ('Packet format'): events carry a non-empty argument list
    headed by the event name, acknowledgements a list."""
    payload = packet.payload
    if packet.kind in ("EVENT", "BINARY_EVENT"):
        if not (isinstance(payload, list) and payload and isinstance(payload[0], (str, int, float))):
            raise PacketError("socketio.malformed", f"{packet.kind} payload is not a list headed by an event name")
    elif packet.kind in ("ACK", "BINARY_ACK") and not isinstance(payload, list):
        raise PacketError("socketio.malformed", f"{packet.kind} payload is not a list")
    return packet


_DIGITS = frozenset("0123456789")


def _ascii_digits(text: str) -> bool:
    return bool(text) and all(c in _DIGITS for c in text)


def parse_msgpack_packet(payload: bytes) -> SocketPacket:
    """socket.io-msgpack-parser: a msgpack map ``{type, data, nsp, id}`` per packet."""
    value = unpack_msgpack(payload)
    if not isinstance(value, dict) or not isinstance(value.get("type"), int) or not isinstance(value.get("nsp"),
                                                                                                 str):
        raise PacketError("socketio.attachment_unexpected",
                          "binary message is neither an expected attachment nor a msgpack Socket.IO packet")
    ptype = value["type"]
    if not 0 <= ptype < len(PACKET_TYPES):
        raise PacketError("socketio.packet_type", f"unknown Socket.IO packet type {ptype}")
    raw = value.get("data", NO_DATA)
    data = json_value(raw) if raw is not NO_DATA else NO_DATA
    ident = value.get("id")
    ident = ident if isinstance(ident, int) and not isinstance(ident, bool) else None
    if data is NO_DATA and raw is not NO_DATA and raw is not UNDEFINED:  # binary values: shown, not JSON data
        return _checked(SocketPacket(PACKET_TYPES[ptype], value["nsp"], ident, display_tree(raw), has_binary=True))
    return _checked(SocketPacket(PACKET_TYPES[ptype], value["nsp"], ident, data))
