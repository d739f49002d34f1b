"""Engine.IO v3/v4 packets over WebSocket: one packet per WebSocket message (Engine.IO protocol 'Packet encoding').

Text: a type digit then the data, or ``b`` + base64 for binary data; binary: a ``message`` packet (v3 prefixes the raw
bytes with the type byte 0x04).
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Optional, Union

PROTOCOL = "engine.io"
PACKET_TYPES = ("open", "close", "ping", "pong", "message", "upgrade", "noop")


@dataclass(frozen=True, slots=True)
class EnginePacket:
    """``kind`` is a name of PACKET_TYPES, or None for an unknown type (``data`` then holds the whole payload)."""

    kind: Optional[str]
    data: Union[str, bytes]
    binary: bool = False


def parse_engine_packet(opcode: int, payload: bytes, version: int) -> EnginePacket:
    """The Engine.IO packet of one text (opcode 1) or binary (opcode 2) WebSocket message."""
    if opcode == 2:
        if version == 3:
            if payload[:1] == b"\x04":
                return EnginePacket("message", payload[1:], True)
            return EnginePacket(None, payload, True)
        return EnginePacket("message", payload, True)
    text = payload.decode("utf-8", "replace")
    if text[:1] == "b":  # binary data as base64 text (v3: "b4<base64>", v4: "b<base64>")
        encoded = text[2:] if version == 3 and text[1:2] == "4" else text[1:]
        try:
            return EnginePacket("message", base64.b64decode(encoded, validate=True), True)
        except (binascii.Error, ValueError):
            return EnginePacket(None, text)
    if text[:1] and text[0] in "0123456":
        return EnginePacket(PACKET_TYPES[int(text[0])], text[1:])
    return EnginePacket(None, text)
