"""Handshake validation (RFC 6455 section 4, RFC 7692 section 7): what a completed upgrade got wrong.

Contract: ``check_handshake(request, response) -> [(finding code, message, head)]`` where *head* is the request or
the response the problem is in; empty for a correct handshake.
"""
from __future__ import annotations

import base64
import binascii

from ..rfc6455 import accept_key
from .negotiation import parse_extensions
from .stream import Head

WINDOW_BITS = frozenset(str(n) for n in range(8, 16))
DEFLATE_PARAMS = frozenset({"server_no_context_takeover", "client_no_context_takeover",
                            "server_max_window_bits", "client_max_window_bits"})


def _key_ok(key: str) -> bool:
    try:
        return len(base64.b64decode(key.strip(), validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def check_deflate_response(params: list, offered: list[list]) -> str | None:
    """Why the server's permessage-deflate parameters are invalid (RFC 7692 7.1), or None."""
    seen = set()
    for k, v in params:
        if k not in DEFLATE_PARAMS:
            return f"unknown permessage-deflate parameter {k!r}"
        if k in seen:
            return f"permessage-deflate parameter {k!r} repeated"
        seen.add(k)
        if k.endswith("no_context_takeover") and v is not None:
            return f"{k} takes no value"
        if k.endswith("max_window_bits"):
            if v is None or v not in WINDOW_BITS:
                return f"{k}={v} is not a window size from 8 to 15"
    if "client_max_window_bits" in seen and offered and not any(
            any(k == "client_max_window_bits" for k, _ in o) for o in offered):
        return "client_max_window_bits accepted although the client did not offer it"
    return None


def check_handshake(req: Head, resp: Head) -> list[tuple[str, str, Head]]:
    problems: list[tuple[str, str, Head]] = []
    method, _uri, version = req.start
    if method != "GET" or version not in ("HTTP/1.1",) and not version.startswith("HTTP/1."):
        problems.append(("ws.handshake.method", f"upgrade request is {method} {version}", req))
    elif version == "HTTP/1.0":
        problems.append(("ws.handshake.method", "upgrade request uses HTTP/1.0 (1.1 or later required)", req))
    if req.get("host") is None:
        problems.append(("ws.handshake.host", "upgrade request has no Host header", req))
    if "websocket" not in req.tokens("upgrade") or "upgrade" not in req.tokens("connection"):
        problems.append(("ws.handshake.upgrade",
                         f"request has Upgrade: {req.get('upgrade')!r}, Connection: {req.get('connection')!r}", req))
    if "websocket" not in resp.tokens("upgrade") or "upgrade" not in resp.tokens("connection"):
        problems.append(("ws.handshake.upgrade",
                         f"101 response has Upgrade: {resp.get('upgrade')!r}, Connection: {resp.get('connection')!r}", resp))
    key = req.get("sec-websocket-key")
    if key is None:
        problems.append(("ws.handshake.key", "no Sec-WebSocket-Key", req))
    elif not _key_ok(key):
        problems.append(("ws.handshake.key", f"Sec-WebSocket-Key {key!r} ({len(key.strip())} characters) is not "
                                             "base64 of 16 bytes", req))
    accept = resp.get("sec-websocket-accept")
    if key is not None:
        expected = accept_key(key)
        if accept is None:
            problems.append(("ws.handshake.accept", "101 response has no Sec-WebSocket-Accept", resp))
        elif accept.strip() != expected:
            problems.append(("ws.handshake.accept", f"Sec-WebSocket-Accept {accept.strip()!r}, expected {expected!r}", resp))
    ver = req.get("sec-websocket-version")
    if ver is None or ver.strip() != "13":
        problems.append(("ws.handshake.version", f"Sec-WebSocket-Version {ver!r} (13 required)", req))
    offered_protocols = req.tokens("sec-websocket-protocol")
    chosen = resp.get("sec-websocket-protocol")
    if chosen is not None:
        c = chosen.strip()
        if "," in c or c.lower() not in offered_protocols:
            problems.append(("ws.handshake.subprotocol", f"server chose {c!r}; client offered "
                                                         f"{', '.join(offered_protocols) or 'none'}", resp))
    offered = parse_extensions(req.get("sec-websocket-extensions"))
    offered_names = {name for name, _ in offered}
    for name, params in parse_extensions(resp.get("sec-websocket-extensions")):
        if name not in offered_names:
            problems.append(("ws.handshake.extension", f"server accepted {name!r}, which the client did not offer", resp))
        elif name == "permessage-deflate":
            why = check_deflate_response(params, [p for n, p in offered if n == name])
            if why:
                problems.append(("ws.handshake.extension", why, resp))
    return problems
