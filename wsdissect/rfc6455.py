"""RFC 6455 constants: opcodes, close codes, the handshake GUID and the accept-key computation."""
from __future__ import annotations

import base64
import enum

#: RFC 6455 section 1.3: the GUID appended to Sec-WebSocket-Key before hashing.
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: RFC 6455 section 5.5: control frames carry at most 125 payload bytes.
MAX_CONTROL_PAYLOAD = 125


class Opcode(enum.IntEnum):
    """RFC 6455 section 5.2 / 11.8: frame opcodes."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


#: Names used in exports ("opcode" field) and, for reserved values, "reserved-0xN".
OPCODE_NAMES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

#: Labels Wireshark uses (packet-websocket.c) for the Opcode field and the Info column.
OPCODE_LABELS = {0: "Continuation", 1: "Text", 2: "Binary", 8: "Connection Close", 9: "Ping", 10: "Pong"}


def opcode_name(opcode: int) -> str:
    """Export name of *opcode* (``text``...), ``reserved-0x3`` for reserved values."""
    return OPCODE_NAMES.get(opcode) or f"reserved-0x{opcode:x}"


def opcode_label(opcode: int) -> str:
    """Wireshark's label for *opcode*."""
    label = OPCODE_LABELS.get(opcode)
    if label:
        return label
    kind = "Non-Control" if opcode < 8 else "Control"
    return f"Reserved {kind} Frame (0x{opcode:x})"


#: RFC 6455 section 5.5: opcodes with this (the high) bit set are control frames (``opcode & CONTROL_BIT``).
CONTROL_BIT = 0x8


def is_control(opcode: int) -> bool:
    """RFC 6455 section 5.5: opcodes with the high bit set are control frames."""
    return opcode >= CONTROL_BIT


def is_reserved(opcode: int) -> bool:
    """Opcodes 0x3-0x7 and 0xB-0xF are reserved (section 5.2)."""
    return opcode not in OPCODE_NAMES


class CloseCode(enum.IntEnum):
    """RFC 6455 section 7.4.1 and the IANA registry (section 11.7)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    RESERVED_1004 = 1004
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


#: Wireshark's close-code labels.
CLOSE_CODE_LABELS = {
    1000: "Normal Closure",
    1001: "Going Away",
    1002: "Protocol error",
    1003: "Unsupported Data",
    1004: "---Reserved----",
    1005: "No Status Rcvd",
    1006: "Abnormal Closure",
    1007: "Invalid frame payload data",
    1008: "Policy Violation",
    1009: "Message Too Big",
    1010: "Mandatory Ext.",
    1011: "Internal Server",
    1012: "Service Restart",
    1013: "Try Again Later",
    1014: "Bad Gateway",
    1015: "TLS handshake",
}

#: Close codes an endpoint must never put on the wire (section 7.4.1, 7.4.2).
FORBIDDEN_ON_WIRE = frozenset({CloseCode.RESERVED_1004, CloseCode.NO_STATUS_RCVD, CloseCode.ABNORMAL_CLOSURE,
                               CloseCode.TLS_HANDSHAKE})


def close_code_label(code: int) -> str:
    """Human name of a close code, with the ranges of section 7.4.2 for the rest."""
    if code in CLOSE_CODE_LABELS:
        return CLOSE_CODE_LABELS[code]
    if code < 1000:
        return "Unused (0-999)"
    if code < 3000:
        return "Reserved for the protocol (1016-2999)"
    if code < 4000:
        return "Registered (3000-3999)"
    if code < 5000:
        return "Private use (4000-4999)"
    return "Invalid"


def close_code_allowed(code: int) -> bool:
    """May an endpoint send *code* in a Close frame? (section 7.4)."""
    if code in FORBIDDEN_ON_WIRE:
        return False
    if 1000 <= code <= 1014:
        return True
    return 3000 <= code <= 4999


# CPython's own SHA-1 (the same digest): hashlib loads OpenSSL first, 12 M instructions of an export's start-up
try:
    from _sha1 import sha1 as _sha1
except ImportError:  # pragma: no cover - an interpreter without it
    from hashlib import sha1 as _sha1


def accept_key(key: str | bytes) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (section 4.2.2 item 5.4)."""
    if isinstance(key, str):
        key = key.encode("latin-1")
    return base64.b64encode(_sha1(key.strip() + GUID).digest()).decode("ascii")
