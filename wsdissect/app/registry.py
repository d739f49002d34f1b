"""Which application decoder a WebSocket connection gets, and the per-connection object that feeds it.

Order of decision (issue 18): a forced protocol (``--app PROTO``); a negotiated ``Sec-WebSocket-Protocol`` naming a
known protocol picks its decoder, an unknown one means no application decoding at all; with no subprotocol the
handshake URI decides (``/socket.io/?EIO=4&transport=websocket``); then strict content heuristics on the messages
(JSON-RPC 2.0 objects, an Engine.IO open packet or probe, an MQTT CONNECT, a STOMP CONNECT) on the first
SNIFF_MESSAGES data messages, also when the handshake is missing.  No decoder, no units: nothing is ever guessed from a message that does not pass a test.
"""
from __future__ import annotations

import importlib
from typing import Callable, NamedTuple, Optional, Protocol
from urllib.parse import parse_qs, urlsplit

from typing import TYPE_CHECKING

from .limits import SNIFF_MESSAGES
from .sniff import sniff

if TYPE_CHECKING:  # pragma: no cover
    from .units import AppResult

TRANSPORT_WS = "graphql-transport-ws"  # the two GraphQL over WebSocket subprotocols
LEGACY_WS = "graphql-ws"


class AppDecoder(Protocol):
    """What every decoder offers (sans-IO, one object per connection)."""

    protocol: str

    def message(self, from_client: bool, opcode: int, payload: bytes, frame: int, ts: float) -> AppResult: ...

    def reset(self, from_client: bool) -> None: ...

    def unfinished(self, from_client: bool) -> str: ...


def _decoder(module: str, name: str, *args) -> Callable[[], AppDecoder]:
    """A factory that imports the decoder's module on first use (most captures never need one)."""

    def make() -> AppDecoder:
        return getattr(importlib.import_module(f".{module}", __package__), name)(*args)

    return make


# Names accepted by --app, mapped to decoder factories.
PROTOCOLS: dict[str, Callable[[], AppDecoder]] = {
    "socket.io": _decoder("socketio", "SocketIODecoder", 4),
    "socket.io-eio3": _decoder("socketio", "SocketIODecoder", 3),
    "mqtt": _decoder("mqtt", "MqttDecoder"),
    "stomp": _decoder("stomp", "StompDecoder"),
    TRANSPORT_WS: _decoder("graphql", "GraphQLDecoder", TRANSPORT_WS),
    LEGACY_WS: _decoder("graphql", "GraphQLDecoder", LEGACY_WS),
    "json-rpc": _decoder("jsonrpc", "JsonRpcDecoder"),
}
# Negotiated subprotocol (lower case) -> protocol.
SUBPROTOCOLS = {
    "mqtt": "mqtt", "mqttv3.1": "mqtt", "mqttv3.1.1": "mqtt", "mqttv5": "mqtt",
    "v10.stomp": "stomp", "v11.stomp": "stomp", "v12.stomp": "stomp", "stomp": "stomp",
    "graphql-transport-ws": TRANSPORT_WS, "graphql-ws": LEGACY_WS,
    "jsonrpc": "json-rpc", "json-rpc": "json-rpc", "jsonrpc2": "json-rpc", "jsonrpc-2.0": "json-rpc",
    "json-rpc-2.0": "json-rpc", "jsonrpc2.0": "json-rpc",
}


class Choice(NamedTuple):
    """The decision for one connection: a protocol of PROTOCOLS or None, and why.

    ``reason``: ``forced``, ``subprotocol``, ``uri``, ``unknown subprotocol`` (never decode), ``sniff`` (decide
    from the first messages that pass a strict content test)."""

    protocol: Optional[str]
    reason: str


def choose(subprotocol: Optional[str], uri: Optional[str], forced: Optional[str] = None) -> Choice:
    """Decide from what the handshake says (*subprotocol* None when none was negotiated or no handshake was seen)."""
    if forced is not None:
        if forced not in PROTOCOLS:
            raise ValueError(f"unknown application protocol {forced!r} (known: {', '.join(sorted(PROTOCOLS))})")
        return Choice(forced, "forced")
    if subprotocol:
        known = SUBPROTOCOLS.get(subprotocol.strip().lower())
        return Choice(known, "subprotocol") if known else Choice(None, "unknown subprotocol")
    eio = _engineio_version(uri)
    if eio:
        return Choice("socket.io-eio3" if eio == 3 else "socket.io", "uri")
    return Choice(None, "sniff")


def _engineio_version(uri: Optional[str]) -> int:
    """3 or 4 for an Engine.IO WebSocket URI (``...?EIO=4&transport=websocket``), else 0."""
    if not uri or "EIO=" not in uri:
        return 0
    query = parse_qs(urlsplit(uri).query)
    version = (query.get("EIO") or [""])[0]
    if query.get("transport", ["websocket"])[0] != "websocket" or version not in ("3", "4"):
        return 0
    return int(version)


class AppDissector:
    """Application decoding of one connection: the chosen decoder, or sniffing until a message decides."""

    def __init__(self, choice: Choice) -> None:
        self.choice = choice
        self.decoder: Optional[AppDecoder] = PROTOCOLS[choice.protocol]() if choice.protocol else None
        self._sniff_left = SNIFF_MESSAGES if choice.reason == "sniff" else 0

    @property
    def sniffing(self) -> bool:
        """Still testing messages for a protocol (no decoder yet)."""
        return self.decoder is None and self._sniff_left > 0

    @property
    def protocol(self) -> Optional[str]:
        return self.decoder.protocol if self.decoder else None

    def sniffed(self, opcode: int, payload: bytes, complete: bool = True) -> bool:
        """The sniffing step of one message: True when it proves a protocol (the decoder is chosen then)."""
        if self._sniff_left and complete and opcode in (1, 2):
            self._sniff_left -= 1
            found = sniff(opcode, payload)
            if found:
                self.decoder = PROTOCOLS[found]()
                self._sniff_left = 0
                return True
        return False

    def message(self, from_client: bool, opcode: int, payload: bytes, frame: int, ts: float,
                complete: bool = True) -> AppResult:
        """Units and findings of one WebSocket message (control messages give none)."""
        from .units import EMPTY, Collector, MessageRef  # (loaded with the first decoded message)

        self.sniffed(opcode, payload, complete)
        if self.decoder is None or opcode not in (1, 2):
            return EMPTY
        if not complete:
            waiting = self.decoder.unfinished(from_client)
            self.decoder.reset(from_client)
            out = Collector(MessageRef(from_client, frame, ts))
            out.find("app.incomplete", f"incomplete message not decoded as {self.decoder.protocol}"
                     + (f"; {waiting} dropped" if waiting else ""))
            return out.result()
        return self.decoder.message(from_client, opcode, payload, frame, ts)

    def end(self, frame: int, ts: float) -> AppResult:
        """Call once when the connection ends: reports what each direction left unfinished (``app.unfinished``)."""
        from .units import EMPTY, AppResult, Collector, MessageRef

        findings = []
        for from_client in (True, False):
            waiting = self.decoder.unfinished(from_client) if self.decoder else ""
            if waiting:
                out = Collector(MessageRef(from_client, frame, ts))
                out.find("app.unfinished", f"connection ended with {waiting}")
                findings += out.findings
        return AppResult((), tuple(findings)) if findings else EMPTY


def new_dissector(subprotocol: Optional[str], uri: Optional[str], forced: Optional[str] = None) -> AppDissector:
    """The entry point: one AppDissector per WebSocket connection."""
    return AppDissector(choose(subprotocol, uri, forced))
