"""What a WebSocket handshake negotiated: subprotocol, extensions and permessage-deflate parameters."""
from __future__ import annotations

from .stream import Head

Param = tuple[str, "str | None"]


def _split_quoted(value: str, sep: str) -> list[str]:
    """Split on *sep* outside double quotes."""
    parts, cur, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_extensions(value: str | None) -> list[tuple[str, list[Param]]]:
    """Parse a Sec-WebSocket-Extensions value (RFC 6455 9.1) into ``[(name, [(param, value|None)])]``."""
    if not value:
        return []
    out = []
    for item in _split_quoted(value, ","):
        fields = [f.strip() for f in _split_quoted(item, ";")]
        if not fields or not fields[0]:
            continue
        params: list[Param] = []
        for f in fields[1:]:
            if not f:
                continue
            k, eq, v = f.partition("=")
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] == '"':
                v = v[1:-1]
            params.append((k.strip().lower(), v if eq else None))
        out.append((fields[0].lower(), params))
    return out


def deflate_params(params: list[Param]) -> dict:
    """permessage-deflate parameters (RFC 7692 7.1) as the server accepted them."""
    result = {"server_no_context_takeover": False, "client_no_context_takeover": False,
              "server_max_window_bits": None, "client_max_window_bits": None}
    for k, v in params:
        if k in ("server_no_context_takeover", "client_no_context_takeover"):
            result[k] = True
        elif k in ("server_max_window_bits", "client_max_window_bits"):
            result[k] = int(v) if v is not None and v in {str(n) for n in range(8, 16)} else (
                15 if v is None else None)
    return result


def negotiated(request: Head, response: Head) -> tuple[str | None, tuple[str, ...], dict | None]:
    """(subprotocol, accepted extensions as strings, permessage-deflate params or None)."""
    subprotocol = response.get("sec-websocket-protocol")
    ext_value = response.get("sec-websocket-extensions")
    extensions = tuple(e.strip() for e in _split_quoted(ext_value, ",") if e.strip()) if ext_value else ()
    deflate = None
    for name, params in parse_extensions(ext_value):
        if name == "permessage-deflate" and deflate is None:
            deflate = deflate_params(params)
    return (subprotocol.strip() if subprotocol else None), extensions, deflate
