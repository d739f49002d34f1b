"""TLS alert messages (RFC 8446 6, RFC 5246 7.2): names as Wireshark shows them."""
from __future__ import annotations

from typing import NamedTuple, Optional

CLOSE_NOTIFY = 0
LEVELS = {1: "Warning", 2: "Fatal"}
DESCRIPTIONS = {
    0: "Close Notify", 10: "Unexpected Message", 20: "Bad Record MAC", 21: "Decryption Failed",
    22: "Record Overflow", 30: "Decompression Failure", 40: "Handshake Failure", 41: "No Certificate",
    42: "Bad Certificate", 43: "Unsupported Certificate", 44: "Certificate Revoked", 45: "Certificate Expired",
    46: "Certificate Unknown", 47: "Illegal Parameter", 48: "Unknown CA", 49: "Access Denied", 50: "Decode Error",
    51: "Decrypt Error", 60: "Export Restriction", 70: "Protocol Version", 71: "Insufficient Security",
    80: "Internal Error", 86: "Inappropriate Fallback", 90: "User Canceled", 100: "No Renegotiation",
    109: "Missing Extension", 110: "Unsupported Extension", 111: "Certificate Unobtainable",
    112: "Unrecognized Name", 113: "Bad Certificate Status Response", 114: "Bad Certificate Hash Value",
    115: "Unknown PSK Identity", 116: "Certificate Required", 120: "No Application Protocol",
}


class Alert(NamedTuple):
    level: int
    description: int

    @property
    def name(self) -> str:
        return DESCRIPTIONS.get(self.description, f"Unknown ({self.description})")

    @property
    def level_name(self) -> str:
        return LEVELS.get(self.level, f"Unknown ({self.level})")


def parse_alert(data: bytes) -> Optional[Alert]:
    """The first alert in an alert record's plaintext, None if it is shorter than an alert."""
    return Alert(data[0], data[1]) if len(data) >= 2 else None
