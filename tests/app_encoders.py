"""Small, independent encoders for the application protocols (built from the specifications, not from wsdissect),
so tests can encode units and check that the decoders give them back."""
from __future__ import annotations

import json
import struct
from typing import Any, Optional

import msgpack


# -- MQTT ------------------------------------------------------------------------------------------------------
def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">H", len(raw)) + raw


def packet(ptype: int, flags: int, body: bytes) -> bytes:
    return bytes([ptype << 4 | flags]) + varint(len(body)) + body


def props(*pairs: tuple[int, bytes]) -> bytes:
    body = b"".join(varint(i) + v for i, v in pairs)
    return varint(len(body)) + body


def connect(client_id: str = "c1", level: int = 4, keep_alive: int = 60) -> bytes:
    name = b"\x00\x06MQIsdp" if level == 3 else mstr("MQTT")
    body = name + bytes([level, 0x02]) + struct.pack(">H", keep_alive)
    if level >= 5:
        body += props((0x11, struct.pack(">I", 0)))
    return packet(1, 0, body + mstr(client_id))


def connack(level: int = 4, code: int = 0) -> bytes:
    return packet(2, 0, bytes([0, code]) + (props((0x22, b"\x00\x0a")) if level >= 5 else b""))


def publish(topic: str, payload: bytes, qos: int = 0, pid: Optional[int] = None, level: int = 4,
            retain: bool = False, dup: bool = False, properties: bytes = b"") -> bytes:
    body = mstr(topic) + (struct.pack(">H", pid) if qos else b"")
    if level >= 5:
        body += properties or props()
    return packet(3, (8 if dup else 0) | qos << 1 | int(retain), body + payload)


def ack(ptype: int, pid: int, level: int = 4, reason: Optional[int] = None) -> bytes:
    body = struct.pack(">H", pid)
    if level >= 5 and reason is not None:
        body += bytes([reason]) + props()
    return packet(ptype, 2 if ptype == 6 else 0, body)


def subscribe(pid: int, topics: list[str], level: int = 4) -> bytes:
    body = struct.pack(">H", pid) + (props() if level >= 5 else b"")
    return packet(8, 2, body + b"".join(mstr(t) + b"\x01" for t in topics))


def suback(pid: int, codes: list[int], level: int = 4) -> bytes:
    return packet(9, 0, struct.pack(">H", pid) + (props() if level >= 5 else b"") + bytes(codes))


def unsubscribe(pid: int, topics: list[str], level: int = 4) -> bytes:
    body = struct.pack(">H", pid) + (props() if level >= 5 else b"")
    return packet(10, 2, body + b"".join(mstr(t) for t in topics))


def unsuback(pid: int, level: int = 4) -> bytes:
    return packet(11, 0, struct.pack(">H", pid) + (props() + b"\x00" if level >= 5 else b""))


PINGREQ, PINGRESP, DISCONNECT = packet(12, 0, b""), packet(13, 0, b""), packet(14, 0, b"")


def auth(level: int = 5) -> bytes:
    return packet(15, 0, b"\x18" + props((0x15, mstr("SCRAM"))))


# -- STOMP -----------------------------------------------------------------------------------------------------
def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace(":", "\\c")


def stomp_frame(command: str, headers: list[tuple[str, str]], body: bytes = b"", length: bool = True,
                escapes: bool = True) -> bytes:
    lines = [command] + [f"{escape(k) if escapes else k}:{escape(v) if escapes else v}" for k, v in headers]
    if length and body:
        lines.append(f"content-length:{len(body)}")
    return ("\n".join(lines) + "\n\n").encode() + body + b"\0"


# -- Socket.IO -------------------------------------------------------------------------------------------------
def sio_text(ptype: int, nsp: str = "/", ack: Optional[int] = None, data: Any = None, attachments: int = 0,
             eio_message: bool = True) -> bytes:
    out = ("4" if eio_message else "") + str(ptype)
    if ptype in (5, 6):
        out += f"{attachments}-"
    if nsp != "/":
        out += nsp + ","
    if ack is not None:
        out += str(ack)
    if data is not None:
        out += json.dumps(data, ensure_ascii=False)
    return out.encode()


def sio_msgpack(ptype: int, nsp: str = "/", ack: Optional[int] = None, data: Any = None) -> bytes:
    packet_map: dict[str, Any] = {"type": ptype, "nsp": nsp}
    if data is not None:
        packet_map["data"] = data
    if ack is not None:
        packet_map["id"] = ack
    return msgpack.packb(packet_map, use_bin_type=True)
