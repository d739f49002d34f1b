"""The strict content tests: which application protocol a WebSocket message proves by its content alone.

Light on purpose (no decoder is imported): every connection without a subprotocol or an Engine.IO URI runs its first
data messages through :func:`sniff` (``registry.AppDissector``), and most of them never find a protocol.
"""
from __future__ import annotations

from typing import Optional

STOMP_CONNECTS = (b"CONNECT\n", b"STOMP\n", b"CONNECT\r\n", b"STOMP\r\n")
ENGINEIO_STARTS = (b"0{", b"2probe", b"3probe")  # an open packet, an upgrade probe
# the first bytes of those starts: one set lookup turns most messages away before the prefix tests
STOMP_FIRST = frozenset(s[0] for s in STOMP_CONNECTS)
ENGINEIO_FIRST = frozenset(s[0] for s in ENGINEIO_STARTS)
MQTT_CONNECT = 0x10  # an MQTT CONNECT's first byte
# a JSON object or array (what looks_like_jsonrpc accepts) starts and ends with these bytes (JSON's whitespace aside)
JSON_FIRST = frozenset(b"{[ \t\n\r")
JSON_LAST = frozenset(b"}] \t\n\r")
# CONTAINS_NOTE: on this per-message path ``bytes.find(b) >= 0`` stands for ``b in bytes``, which first tries the
# needle as an integer and raises and clears a TypeError (with its formatted message) every time


def sniff(opcode: int, payload: bytes) -> Optional[str]:
    """The protocol a message proves by its content alone (a name of ``registry.PROTOCOLS``), or None.  (Each test
    runs behind a cheap condition it needs: most messages are tested on every connection that has no protocol.)"""
    if not payload:
        return None
    first = payload[0]
    if opcode == 1:
        if first in ENGINEIO_FIRST and payload.startswith(ENGINEIO_STARTS) and looks_like_engineio(opcode, payload):
            return "socket.io"
        if first in JSON_FIRST and payload[-1] in JSON_LAST and payload.find(b'"jsonrpc"') >= 0 \
                and looks_like_jsonrpc(payload):  # (find: see CONTAINS_NOTE)
            return "json-rpc"
    elif opcode == 2 and first == MQTT_CONNECT and looks_like_mqtt_connect(payload):
        return "mqtt"
    if first in STOMP_FIRST and payload.startswith(STOMP_CONNECTS) and b"accept-version:" in payload:
        return "stomp"
    return None


def looks_like_engineio(opcode: int, payload: bytes) -> bool:
    """Strict content test: an Engine.IO open packet (``0{"sid":..., "pingInterval":...}``) or an upgrade probe."""
    if opcode != 1:
        return False
    if payload in (b"2probe", b"3probe"):
        return True
    return payload[:2] == b'0{' and b'"sid"' in payload and b'"pingInterval"' in payload


def looks_like_jsonrpc(payload: bytes) -> bool:
    """Strict content test: a JSON object (or a non-empty array of objects) each with ``"jsonrpc": "2.0"``."""
    stripped = payload.lstrip()
    if not stripped[:1] in (b"{", b"[") or b'"jsonrpc"' not in payload:
        return False
    import orjson  # here, not at the top: most runs never get here, and importing orjson is start-up cost

    try:  # (strict JSON text, as units.parse_json_text reads it)
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(isinstance(i, dict) and i.get("jsonrpc") == "2.0" for i in items)


def looks_like_mqtt_connect(payload: bytes) -> bool:
    """An MQTT CONNECT's start: type 1, remaining length, then protocol name MQTT (level 4/5) or MQIsdp (3)."""
    if payload[:1] != b"\x10":
        return False
    i = 1
    while i < 5 and i < len(payload) and payload[i] & 0x80:
        i += 1
    rest = payload[i + 1:]
    return rest[:6] == b"\x00\x04MQTT" and rest[6:7] in (b"\x04", b"\x05") or rest[:8] == b"\x00\x06MQIsdp"
