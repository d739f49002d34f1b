"""A bounds-checked reader over one binary application packet (MQTT's integer and string encodings)."""
from __future__ import annotations


class Short(Exception):
    """A field runs past the end of its packet (caught by the decoder and reported as a finding)."""


class Reader:
    """Reads big-endian integers, MQTT variable byte integers and length-prefixed strings from ``buf[pos:end]``."""

    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf: bytes, pos: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    @property
    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise Short(f"needs {n} bytes, {self.left} left")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return bytes(out)

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def varint(self) -> int:
        """MQTT variable byte integer (at most 4 bytes)."""
        value = 0
        for i in range(4):
            byte = self.u8()
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                return value
        raise Short("variable byte integer longer than 4 bytes")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self) -> str:
        return self.binary().decode("utf-8", "replace")

    def rest(self) -> bytes:
        return self.take(self.left)


def decode_varint(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None | bool:
    """MQTT remaining length at *pos*: ``(value, bytes used)``; None if more bytes are needed; False if malformed
    (a fourth byte with the continuation bit set)."""
    value = 0
    for i in range(4):
        if pos + i >= len(buf):
            return None
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, i + 1
    return False
