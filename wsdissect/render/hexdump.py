"""A packet's bytes as tshark ``-x`` prints them: offset, 16 hex bytes, their ASCII (``.`` for the rest)."""
from __future__ import annotations

_ASCII = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))


def hex_dump(data: bytes) -> str:
    """The dump of *data*, one line per 16 bytes, each line ended by a newline."""
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        lines.append(f"{off:04x}  {hexes:<47}   {chunk.translate(_ASCII).decode('ascii')}\n")
    return "".join(lines)
