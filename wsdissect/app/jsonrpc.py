"""JSON-RPC 2.0 over WebSocket: one unit per request, notification, response or error (batches element-wise)."""
from __future__ import annotations

from typing import Any

from .units import (EMPTY, NO_DATA, AppResult, AppUnit, Collector, MessageOriented, MessageRef, parse_json_text)

PROTOCOL = "json-rpc"


def _key(ident: Any) -> str:
    return repr((type(ident).__name__ if not isinstance(ident, (int, float)) else "num", ident))


class JsonRpcDecoder(MessageOriented):
    """One per connection; remembers the ids of requests awaiting a response, per requesting direction."""

    protocol = PROTOCOL

    def __init__(self) -> None:
        self._pending: dict[bool, set[str]] = {True: set(), False: set()}

    def message(self, from_client: bool, opcode: int, payload: bytes, frame: int, ts: float) -> AppResult:
        if opcode != 1:
            return EMPTY
        out = Collector(MessageRef(from_client, frame, ts))
        value = parse_json_text(payload)
        if value is NO_DATA or not isinstance(value, (dict, list)) or value == []:
            out.find("jsonrpc.invalid", "text message is not a JSON-RPC object or batch")
            return out.result()
        for item in value if isinstance(value, list) else [value]:
            self._object(item, out)
        return out.result()

    def _object(self, obj: Any, out: Collector) -> None:
        if not isinstance(obj, dict):
            out.find("jsonrpc.invalid", "batch element is not an object")
            return
        if obj.get("jsonrpc") != "2.0":
            out.find("jsonrpc.invalid", 'object without "jsonrpc": "2.0"')
        ident = obj.get("id")
        if "method" in obj:
            kind = "request" if "id" in obj else "notification"
            data = obj.get("params", NO_DATA)
            name = obj["method"] if isinstance(obj["method"], str) else None
        else:
            kind = "error" if "error" in obj else "response"
            data = obj.get("error", NO_DATA) if kind == "error" else obj.get("result", NO_DATA)
            name = None
        self._track(kind, obj, out)
        out.unit(AppUnit(PROTOCOL, kind, name, ident, None, data))

    def _track(self, kind: str, obj: dict[str, Any], out: Collector) -> None:
        """Request ids pending per direction (JSON-RPC 2.0 sections 4 and 5)."""
        if "id" not in obj or obj["id"] is None and kind != "request":
            return
        key = _key(obj["id"])
        mine = self._pending[out.at.from_client]
        theirs = self._pending[not out.at.from_client]
        if kind == "request":
            if key in mine:
                out.find("jsonrpc.duplicate_id", f"request id {obj['id']!r} reused while its response is pending")
            mine.add(key)
        elif key in theirs:
            theirs.discard(key)
        else:
            out.find("jsonrpc.response_unknown", f"{kind} for id {obj['id']!r} that no request is waiting for")
