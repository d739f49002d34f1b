"""Socket.IO v4/v5 over Engine.IO v3/v4 on one WebSocket connection (handshake ``/socket.io/?EIO=4``).

A message carrying an Engine.IO ``message`` packet gives one ``socket.io`` unit; any other Engine.IO packet gives one
``engine.io`` unit.  Binary attachments follow their BINARY_EVENT/BINARY_ACK as binary messages and are joined to
it: each gets an ``attachment`` unit, and the last one carries the packet's arguments with the placeholders
replaced.  With socket.io-msgpack-parser every Socket.IO packet is one binary message holding a msgpack map.
"""
from __future__ import annotations

from typing import Any

from . import engineio
from .socketio_packets import BINARY_TYPES, PacketError, SocketPacket, parse_msgpack_packet, parse_text_packet
from .units import NO_DATA, AppResult, AppUnit, Collector, MessageRef, EMPTY, escape_text, parse_json_text

PROTOCOL = "socket.io"
_REQUESTS = {"EVENT", "BINARY_EVENT"}
_ACKS = {"ACK", "BINARY_ACK"}


class _Pending:
    """A binary packet waiting for its attachments."""

    __slots__ = ("packet", "received")

    def __init__(self, packet: SocketPacket) -> None:
        self.packet = packet
        self.received: list[bytes] = []


class SocketIODecoder:
    """One per connection; *eio* is the Engine.IO protocol version from the handshake URI (4 if unknown)."""

    protocol = PROTOCOL

    def __init__(self, eio: int = 4) -> None:
        self.eio = eio
        self.msgpack = False  # set once a binary message decodes as a msgpack Socket.IO packet
        self._pending: dict[bool, _Pending | None] = {True: None, False: None}
        self._acks: dict[bool, set[tuple[str, int]]] = {True: set(), False: set()}

    def reset(self, from_client: bool) -> None:
        """A message was lost: a binary packet waiting for attachments cannot be completed."""
        self._pending[from_client] = None

    def unfinished(self, from_client: bool) -> str:
        """A binary packet still waiting for attachments ("" if none)."""
        pending = self._pending[from_client]
        if pending is None:
            return ""
        return (f"{pending.packet.kind} with {len(pending.received)} of its {pending.packet.attachments} "
                "attachments")

    def message(self, from_client: bool, opcode: int, payload: bytes, frame: int, ts: float) -> AppResult:
        if opcode not in (1, 2):
            return EMPTY
        out = Collector(MessageRef(from_client, frame, ts))
        packet = engineio.parse_engine_packet(opcode, payload, self.eio)
        if packet.kind is None:
            out.find("engineio.packet_type", "unknown Engine.IO packet type: "
                     + escape_text(str(packet.data[:1] if packet.binary else packet.data[:20])))
        elif packet.kind != "message":
            out.unit(_engine_unit(packet))
        elif packet.binary:
            self._binary(bytes(packet.data), out)  # type: ignore[arg-type]
        else:
            self._text(str(packet.data), out)
        return out.result()

    def _text(self, text: str, out: Collector) -> None:
        self._abandon(out)
        try:
            packet = parse_text_packet(text)
        except PacketError as exc:
            out.find(exc.code, f"{exc}: {escape_text(text, 40)}")
            return
        out.unit(self._unit(packet, out))
        if packet.kind in BINARY_TYPES and packet.attachments:
            self._pending[out.at.from_client] = _Pending(packet)

    def _binary(self, data: bytes, out: Collector) -> None:
        pending = self._pending[out.at.from_client]
        if pending is not None and not self.msgpack:
            pending.received.append(data)
            details: dict[str, Any] = {"packet": pending.packet.kind, "num": len(pending.received) - 1,
                                       "of": pending.packet.attachments, "length": len(data)}
            if len(pending.received) == pending.packet.attachments:
                details["args"] = _substitute(pending.packet.payload, pending.received)
                self._pending[out.at.from_client] = None
            out.unit(AppUnit(PROTOCOL, "attachment", details=tuple(details.items())))
            return
        try:
            packet = parse_msgpack_packet(data)
        except PacketError as exc:
            out.find(exc.code, str(exc))
            return
        self.msgpack = True
        out.unit(self._unit(packet, out))

    def _abandon(self, out: Collector) -> None:
        waiting = self.unfinished(out.at.from_client)
        if waiting:
            out.find("socketio.attachments_missing", f"next packet arrived while a {waiting} waits")
            self._pending[out.at.from_client] = None

    def _unit(self, packet: SocketPacket, out: Collector) -> AppUnit:
        kind, payload = packet.kind, packet.payload
        name, data = None, NO_DATA
        if kind in ("EVENT", "BINARY_EVENT"):
            name = payload[0] if isinstance(payload[0], str) else None
            data = payload[1:] if kind == "EVENT" else NO_DATA
        elif kind in ("ACK", "CONNECT", "CONNECT_ERROR"):
            data = payload
        if packet.has_binary:
            data = NO_DATA
        self._track(packet, out)
        details: dict[str, Any] = {}
        if packet.attachments:
            details["attachments"] = packet.attachments
        if packet.has_binary:
            details["binary"] = True
        if (kind in BINARY_TYPES or packet.has_binary) and payload is not NO_DATA:
            details["args"] = payload
        return AppUnit(PROTOCOL, kind, name, packet.id, packet.namespace, data, tuple(details.items()))

    def _track(self, packet: SocketPacket, out: Collector) -> None:
        """Acks answer an event with the same namespace and id from the other side (socket.io-protocol v5)."""
        if packet.id is None:
            return
        key = (packet.namespace, packet.id)
        if packet.kind in _REQUESTS:
            self._acks[out.at.from_client].add(key)
        elif packet.kind in _ACKS:
            waiting = self._acks[not out.at.from_client]
            if key in waiting:
                waiting.discard(key)
            else:
                out.find("socketio.ack_unknown", f"{packet.kind} {packet.id} on {escape_text(packet.namespace)} "
                         "answers no event that asked for an acknowledgement")


def _engine_unit(packet: engineio.EnginePacket) -> AppUnit:
    data = NO_DATA
    details: tuple[tuple[str, Any], ...] = ()
    if packet.kind == "open":
        data = parse_json_text(packet.data)
    elif packet.data:
        details = (("data", packet.data),)
    if packet.data == "probe":
        details = (("probe", True),)
    return AppUnit(engineio.PROTOCOL, str(packet.kind), data=data, details=details)


def _substitute(args: Any, attachments: list[bytes]) -> Any:
    """The packet's arguments with each ``{"_placeholder": true, "num": n}`` replaced by a binary summary."""
    if isinstance(args, list):
        return [_substitute(a, attachments) for a in args]
    if isinstance(args, dict):
        num = args.get("num")
        if args.get("_placeholder") is True and isinstance(num, int) and 0 <= num < len(attachments):
            return {"$binary": attachments[num][:32].hex(), "length": len(attachments[num])}
        return {k: _substitute(v, attachments) for k, v in args.items()}
    return args
