"""MQTT 3.1.1 and 5.0 over WebSocket (subprotocol ``mqtt``): a byte stream per direction cut into control packets.

A packet may span several WebSocket messages and a message may hold several packets; a packet's unit is reported
on the message that holds its last byte.  Sans-IO: fed message payloads, returns units and findings.
"""
from __future__ import annotations

from .limits import MAX_PACKET
from .mqtt_fields import PACKET_TYPES, REQUIRED_FLAGS, BadProperty, Fields, parse_body
from .units import AppResult, AppUnit, Collector, MessageRef, EMPTY
from .wire import Reader, Short, decode_varint

PROTOCOL = "mqtt"
_NEEDS_ID = {3, 8, 10}  # packets that open a flow with a packet identifier (PUBLISH only with QoS > 0)
_CLOSES = {4: 3, 7: 3, 9: 8, 11: 10}  # acknowledgement type -> the type whose flow it ends


class _Direction:
    """Per-direction stream state: bytes waiting for the rest of their packet, bytes to skip, ids in flight."""

    __slots__ = ("buffer", "skip", "in_flight")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.skip = 0
        self.in_flight: dict[int, int] = {}  # packet id -> packet type that opened the flow


class MqttDecoder:
    """One per connection; the protocol version comes from CONNECT (or a v5-sized CONNACK), 3.1.1 until then."""

    protocol = PROTOCOL

    def __init__(self, version: int = 4) -> None:
        self.version = version
        self._dirs = {True: _Direction(), False: _Direction()}

    def reset(self, from_client: bool) -> None:
        """Forget a direction's partial packet (bytes were lost); decoding restarts at the next message."""
        side = self._dirs[from_client]
        side.buffer.clear()
        side.skip = 0

    def unfinished(self, from_client: bool) -> str:
        """What a direction holds that no complete packet has used yet ("" if nothing)."""
        side = self._dirs[from_client]
        if side.skip:
            return f"{side.skip} bytes of an oversized MQTT packet still to skip"
        return f"{len(side.buffer)} bytes of an unfinished MQTT packet" if side.buffer else ""

    def message(self, from_client: bool, opcode: int, payload: bytes, frame: int, ts: float) -> AppResult:
        if opcode != 2 and opcode != 1:
            return EMPTY
        out = Collector(MessageRef(from_client, frame, ts))
        if opcode == 1:
            out.find("mqtt.text_message", "MQTT control packet bytes in a text message")
        side = self._dirs[from_client]
        data = memoryview(payload)
        if side.skip:
            dropped = min(side.skip, len(data))
            side.skip -= dropped
            data = data[dropped:]
        side.buffer += data
        self._drain(side, out)
        return out.result()

    def _drain(self, side: _Direction, out: Collector) -> None:
        buf = side.buffer
        pos = 0
        while pos < len(buf):
            length = decode_varint(buf, pos + 1)
            if length is None:
                break
            if length is False:
                out.find("mqtt.remaining_length", "malformed Remaining Length (more than 4 bytes); "
                         f"{len(buf) - pos} buffered bytes of this direction dropped")
                pos = len(buf)
                break
            size, used = length
            start = pos + 1 + used
            if size > MAX_PACKET:
                out.find("app.buffer_limit", f"MQTT packet of {size} bytes exceeds the buffering limit; skipped")
                side.skip = max(0, start + size - len(buf))
                pos = min(len(buf), start + size)
                continue
            if start + size > len(buf):
                break
            self._packet(buf[pos], bytes(buf[start:start + size]), out)
            pos = start + size
        del buf[:pos]

    def _packet(self, first: int, body: bytes, out: Collector) -> None:
        ptype, flags = first >> 4, first & 0x0F
        if ptype == 0:
            out.find("mqtt.malformed", "reserved control packet type 0")
            return
        kind = PACKET_TYPES[ptype]
        if ptype != 3 and flags != REQUIRED_FLAGS.get(ptype, 0) or ptype == 3 and (flags >> 1) & 3 == 3:
            out.find("mqtt.flags", f"{kind} with invalid fixed header flags 0x{flags:x}")
        if ptype == 2 and self.version < 5 and len(body) > 2:
            self.version = 5  # a CONNACK with properties: the session speaks MQTT 5
        try:
            fields = parse_body(ptype, flags, Reader(body), self.version)
            malformed = ""
        except (Short, BadProperty) as exc:
            fields, malformed = Fields(), str(exc)
        if malformed:
            out.find("mqtt.malformed", f"{kind}: {malformed}")
            fields.details["malformed"] = True
        if ptype == 1 and "protocol_level" in fields.details:
            self.version = fields.details["protocol_level"]
        self._track(ptype, fields, out)
        out.unit(AppUnit(PROTOCOL, kind, fields.name, fields.id, None, fields.data,
                         tuple(fields.details.items())))

    def _track(self, ptype: int, fields: Fields, out: Collector) -> None:
        """Packet identifier rules (MQTT 3.1.1 2.3.1, 5.0 2.2.1): non-zero, not reused while its flow is open."""
        if fields.id is None:
            return
        kind = PACKET_TYPES[ptype]
        if fields.id == 0:
            out.find("mqtt.packet_id_zero", f"{kind} with packet identifier 0")
        sender = self._dirs[out.at.from_client]
        peer = self._dirs[not out.at.from_client]
        if ptype in _NEEDS_ID:
            if fields.id in sender.in_flight and not fields.details.get("dup"):
                out.find("mqtt.packet_id_reuse", f"{kind} reuses packet identifier {fields.id} while a "
                         f"{PACKET_TYPES[sender.in_flight[fields.id]]} with it is unacknowledged")
            sender.in_flight[fields.id] = ptype
        elif ptype in _CLOSES and peer.in_flight.get(fields.id) == _CLOSES[ptype]:
            del peer.in_flight[fields.id]
        elif ptype == 5 and fields.details.get("reason_code", 0) >= 0x80:
            peer.in_flight.pop(fields.id, None)
