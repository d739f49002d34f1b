"""GraphQL over WebSocket: ``graphql-transport-ws`` (graphql-ws) and the legacy ``graphql-ws``
(subscriptions-transport-ws).  One JSON message, one unit."""
from __future__ import annotations

from .registry import LEGACY_WS, TRANSPORT_WS  # (the subprotocol names live in the registry's table)
from .units import (EMPTY, NO_DATA, AppResult, AppUnit,
                    Collector, MessageOriented, MessageRef, escape_text, parse_json_text)

# Messages allowed before the server's connection_ack (graphql-transport-ws PROTOCOL.md 'ConnectionInit': a
# subscribe before it is closed with 4401).  The legacy protocol has no such rule: its client sends start messages
# right after connection_init.
_BEFORE_ACK = {"connection_init", "ping", "pong"}
KNOWN_TYPES = {
    TRANSPORT_WS: {"connection_init", "connection_ack", "ping", "pong", "subscribe", "next", "error", "complete"},
    LEGACY_WS: {"connection_init", "connection_ack", "connection_error", "connection_terminate", "ka", "start",
                "data", "error", "complete", "stop"},
}


class GraphQLDecoder(MessageOriented):
    """One per connection; *protocol* is ``graphql-transport-ws`` or ``graphql-ws``."""

    def __init__(self, protocol: str = TRANSPORT_WS) -> None:
        self.protocol = protocol
        self._acked = False

    def message(self, from_client: bool, opcode: int, payload: bytes, frame: int, ts: float) -> AppResult:
        if opcode not in (1, 2):
            return EMPTY
        out = Collector(MessageRef(from_client, frame, ts))
        msg = parse_json_text(payload)
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            out.find("graphql.invalid", "message is not a JSON object with a string \"type\"")
            return out.result()
        kind = msg["type"]
        if kind not in KNOWN_TYPES[self.protocol]:
            out.find("graphql.invalid", f"unknown {self.protocol} message type {escape_text(kind)!s}")
        if kind == "connection_ack" and not from_client:
            self._acked = True
        elif self.protocol == TRANSPORT_WS and not self._acked and kind not in _BEFORE_ACK:
            out.find("graphql.before_ack", f"{escape_text(kind, 24)} before the server's connection_ack")
        payload_value = msg.get("payload", NO_DATA)
        name = payload_value.get("operationName") if isinstance(payload_value, dict) else None
        ident = msg.get("id")
        out.unit(AppUnit(self.protocol, kind, name if isinstance(name, str) else None, ident, None, payload_value))
        return out.result()
