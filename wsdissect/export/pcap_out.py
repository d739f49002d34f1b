"""``show -w FILE``: the selected packets written to a classic pcap file (one stream extracted, for example)."""
from __future__ import annotations

from typing import Iterable

from ..capture.pcapwriter import PcapWriter
from ..errors import UsageError
from ..events import Packet
from .output import Destination


class PacketFile:
    """A packet view that writes each selected packet's captured bytes instead of printing it.  The file is
    written under a temporary name and moved into place by :meth:`end` (never over an input)."""

    def __init__(self, path: str, inputs: Iterable[str]):
        self.dest = Destination(path, inputs)
        self.writer: PcapWriter | None = None
        self.linktype: int | None = None
        self.written = 0

    def group(self, pkt: Packet | None, events: list) -> None:
        if pkt is None:
            return
        if self.writer is None:
            self.linktype = pkt.linktype
            self.writer = PcapWriter(self.dest.stream(), pkt.linktype)
        elif pkt.linktype != self.linktype:
            raise UsageError(f"-w: frame {pkt.frame} has link type {pkt.linktype}, the file has {self.linktype}; "
                             "a pcap holds one link type (select packets of one capture)")
        self.writer.write(pkt.ts, pkt.data, pkt.wire_len)
        self.written += 1

    def end(self) -> None:
        if self.writer is None:  # nothing selected: still an empty, valid pcap
            self.writer = PcapWriter(self.dest.stream(), 1)
        self.dest.commit()

    def abort(self) -> None:
        self.dest.abort()
