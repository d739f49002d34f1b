"""A minimal classic-pcap writer (microsecond timestamps) for ``live -w`` and test data."""
from __future__ import annotations

import struct
from typing import BinaryIO

_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


class PcapWriter:
    def __init__(self, f: BinaryIO, linktype: int, snaplen: int = 262144):
        self.f = f
        self.snaplen = snaplen
        f.write(_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts: float, data: bytes, wire_len: int | None = None) -> None:
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        data = data[: self.snaplen]
        self.f.write(_RECORD.pack(sec, usec, len(data), wire_len if wire_len is not None else len(data)) + data)

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        self.f.close()
