"""Close frame payloads (RFC 6455 5.5.1, 7.4): code and reason, and what is wrong with them."""
from __future__ import annotations

from ..rfc6455 import close_code_allowed


def parse_close(payload: bytes) -> tuple[int | None, str | None, list[tuple[str, str]]]:
    """``(code, reason, problems)`` for a Close payload; ``problems`` lists ``(finding code, message)``."""
    problems: list[tuple[str, str]] = []
    if not payload:
        return None, None, problems
    if len(payload) == 1:
        problems.append(("ws.close.length", "close payload of 1 byte (a code needs 2)"))
        return None, None, problems
    code = int.from_bytes(payload[:2], "big")
    if not close_code_allowed(code):
        problems.append(("ws.close.code", f"close code {code} must not be sent"))
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        problems.append(("ws.close.reason_utf8", "close reason is not valid UTF-8"))
        reason = payload[2:].decode("utf-8", "replace")
    return code, reason, problems
