"""Per-direction TCP stream reassembly.

Contract (sans-IO): ``segment(seq, data, wire_len, syn, fin, frame, ts)`` returns a list of pieces in stream order,
each a :class:`Piece` (bytes) or a :class:`Gap` (bytes the capture lost); findings go to ``self.findings`` as
``(code, message, frame, ts)`` for the caller to drain.

Policy:
- Bytes are delivered once, in order.  Where segments overlap, the bytes seen first win (a retransmission never
  rewrites delivered data); an overlap whose bytes differ from what was seen is reported (``tcp.overlap_conflict``).
  A keep-alive (one byte just below the next expected one) is neither a retransmission nor an overlap.
- Out-of-order segments wait in a buffer.  A hole is declared lost (a gap: ``tcp.gap``) only with evidence:
  the peer acknowledged bytes beyond it and ``patience`` more packets of the connection went by without the hole
  being filled, or the buffer exceeds ``max_buffer`` bytes, or the stream is flushed (FIN/RST, end of capture).
  Bytes are never invented: a gap is passed on as a gap.
- A packet cut by the snapshot length delivers what was captured, then a gap for the rest.
- Without a SYN (capture started mid-connection) the first segment seen sets the stream's origin.
"""
from __future__ import annotations

from bisect import bisect_right, insort
from collections import deque
from typing import NamedTuple


class Piece(NamedTuple):
    """Stream bytes, delivered once and in order."""

    offset: int
    data: bytes
    frame: int  # the capture frame that carried them
    ts: float


class Gap(NamedTuple):
    """Bytes of the stream that the capture lost."""

    offset: int
    missing: int
    frame: int  # where the loss was noticed (the first segment after it, like Wireshark)
    ts: float

SEQ_MOD = 1 << 32
HALF = 1 << 31


class StreamReassembler:
    __slots__ = ("base", "next", "fin_off", "ooo", "starts", "buffered", "findings", "max_buffer", "patience",
                 "hole_seen_at", "recent", "midstream", "closed", "delivered", "lost")

    def __init__(self, max_buffer: int = 8 << 20, patience: int = 16):
        self.base: int | None = None  # absolute sequence number of stream offset 0
        self.next = 0  # next expected stream offset
        self.fin_off: int | None = None
        self.ooo: dict[int, tuple] = {}  # offset -> (data, wire_len, frame, ts)
        self.starts: list[int] = []  # sorted offsets of buffered segments, which never overlap each other
        self.buffered = 0
        self.findings: list[tuple] = []
        self.max_buffer = max_buffer
        self.patience = patience
        self.hole_seen_at: int | None = None  # packet count when the peer first acknowledged past a hole
        self.recent: deque[tuple[int, bytes]] = deque(maxlen=8)  # last delivered pieces, to check overlaps
        self.midstream = False
        self.closed = False
        self.delivered = 0
        self.lost = 0

    def offset(self, seq: int) -> int:
        """Stream offset of absolute sequence number *seq* (32-bit wrap handled around ``next``)."""
        diff = (seq - self.base - self.next) % SEQ_MOD
        if diff >= HALF:
            diff -= SEQ_MOD
        return self.next + diff

    def segment(self, seq: int, data: bytes, wire_len: int, syn: bool, fin: bool, frame: int, ts: float) -> list:
        out: list = []
        if syn:
            if self.base is None:
                self.base = (seq + 1) % SEQ_MOD
            seq = (seq + 1) % SEQ_MOD
        if self.base is None:
            if not wire_len and not fin:
                return out
            self.base = seq
            self.midstream = True
        off = self.offset(seq)
        if self.fin_off is not None and off > self.fin_off:
            off -= 1  # the FIN used one sequence number; data sent after it follows the FIN's data directly
        if fin:
            end = off + wire_len
            if self.fin_off is None:
                self.fin_off = end
        elif self.fin_off is not None and wire_len and off + wire_len > self.fin_off:
            self.findings.append(("tcp.data_after_fin", "data beyond the FIN's sequence number", frame, ts))
        if not wire_len:
            return out
        nxt = self.next
        end = off + wire_len
        if end <= nxt:
            if wire_len == 1 and end == nxt and not fin:  # a keep-alive: one old byte, garbage by design
                return out
            self._check_overlap(off, data, frame, ts)
            self.findings.append(("tcp.retransmission", f"retransmission of {wire_len} bytes at offset {off}",
                                  frame, ts))
            return out
        if off > nxt:
            self._buffer(off, data, wire_len, frame, ts, out)
            return out
        if off < nxt:
            self._check_overlap(off, data, frame, ts)
            self.findings.append(("tcp.overlap", f"segment overlaps {nxt - off} already delivered bytes",
                                  frame, ts))
            cut = nxt - off
            data, wire_len, off = data[cut:], wire_len - cut, nxt
        if self.ooo:
            self.findings.append(("tcp.out_of_order", f"segment at offset {off} arrived after later data", frame, ts))
            self._deliver(off, data, wire_len, frame, ts, out)
            self._drain(out)
        else:
            self._deliver(off, data, wire_len, frame, ts, out)
        return out

    @property
    def complete(self) -> bool:
        """Everything up to the FIN was delivered (nothing waits behind a hole)."""
        return not self.starts and self.fin_off is not None and self.next >= self.fin_off

    def take_findings(self) -> list[tuple]:
        """The findings so far as ``(code, message, frame, ts)``, handed over once."""
        items, self.findings = self.findings, []
        return items

    def release(self) -> None:
        """The connection is over: drop the buffers (the sequence base stays, to number late packets)."""
        self.recent = deque(maxlen=8)
        self.ooo = {}
        self.starts = []

    def in_order(self, seq: int, data: bytes) -> int:
        """The common case, decided cheaply: *data* (all of the segment, no SYN/FIN) starts exactly at ``next``
        and nothing is buffered or pending.  Returns its stream offset after taking it (the caller passes the
        bytes on), or -1 when :meth:`segment` must handle it."""
        if self.ooo or self.base is None or self.fin_off is not None or (seq - self.base - self.next) & 0xFFFFFFFF:
            return -1
        off = self.next
        self.recent.append((off, data))
        self.next = off + len(data)
        self.delivered += len(data)
        self.hole_seen_at = None
        return off

    def _deliver(self, off: int, data: bytes, wire_len: int, frame: int, ts: float, out: list) -> None:
        n = len(data)
        if n:
            out.append(Piece(off, data, frame, ts))
            self.recent.append((off, data))
        if n < wire_len:
            out.append(Gap(off + n, wire_len - n, frame, ts))
            self.lost += wire_len - n
        self.next = off + wire_len
        self.delivered += n
        self.hole_seen_at = None

    def _buffer(self, off: int, data: bytes, wire_len: int, frame: int, ts: float, out: list) -> None:
        """Keep the parts of a segment beyond ``next`` that no buffered segment covers yet (first seen wins)."""
        end = off + wire_len
        starts, ooo = self.starts, self.ooo
        parts = []
        pos = off
        j = max(bisect_right(starts, off) - 1, 0)
        while j < len(starts) and starts[j] < end and pos < end:
            s0 = starts[j]
            old = ooo[s0]
            s1 = s0 + old[1]
            if s1 > pos:
                if s0 > pos:
                    parts.append((pos, s0))
                self._compare(s0, old[0], off, data, frame, ts)
                pos = s1
            j += 1
        if pos < end:
            parts.append((pos, end))
        if not parts:
            self.findings.append(("tcp.retransmission", f"retransmission of {wire_len} bytes at offset {off}",
                                  frame, ts))
            return
        for a, b in parts:
            piece = data[a - off:b - off]
            ooo[a] = (piece, b - a, frame, ts)
            insort(starts, a)
            self.buffered += len(piece)
        if self.buffered > self.max_buffer:
            self.findings.append(("tcp.buffer_limit", f"{self.buffered} bytes waiting behind a hole", frame, ts))
            self._skip_hole(frame, ts, starts[0], out)

    def _compare(self, a_off: int, a: bytes, b_off: int, b: bytes, frame: int, ts: float) -> None:
        """Report bytes of *b* that differ from the *a* seen first where both were captured."""
        lo, hi = max(a_off, b_off), min(a_off + len(a), b_off + len(b))
        if lo < hi and a[lo - a_off:hi - a_off] != b[lo - b_off:hi - b_off]:
            self.findings.append(("tcp.overlap_conflict",
                                  f"re-sent bytes at offset {lo} differ from those seen first; first kept", frame, ts))

    def _drain(self, out: list) -> None:
        starts, ooo = self.starts, self.ooo
        while starts and starts[0] <= self.next:
            off = starts.pop(0)
            data, wire_len, frame, ts = ooo.pop(off)
            self.buffered -= len(data)
            end = off + wire_len
            if end <= self.next:
                self._check_overlap(off, data, frame, ts)
                continue
            if off < self.next:
                self._check_overlap(off, data, frame, ts)
                cut = self.next - off
                data, wire_len, off = data[cut:], wire_len - cut, self.next
            self._deliver(off, data, wire_len, frame, ts, out)

    def _skip_hole(self, frame: int, ts: float, upto: int, out: list | None) -> list:
        """Declare the bytes from ``next`` to *upto* lost and deliver what follows."""
        out = [] if out is None else out
        n = upto - self.next
        later = self.ooo.get(upto)
        if later is not None:  # report the gap where Wireshark does: at the first segment after it
            frame, ts = later[2], later[3]
        if n > 0:
            out.append(Gap(self.next, n, frame, ts))
            self.findings.append(("tcp.gap", f"{n} bytes missing from the capture at stream offset {self.next}",
                                  frame, ts))
            self.lost += n
            self.next = upto
        self._drain(out)
        return out

    def peer_ack(self, ack: int, frame: int, ts: float, packets: int) -> list:
        """The other direction acknowledged *ack* when the connection had seen *packets* packets: evidence for
        declaring a hole lost once ``patience`` more packets pass without it being filled.  Returns pieces."""
        if self.base is None:
            return []
        ack_off = self.offset(ack)
        if self.fin_off is not None and ack_off > self.fin_off:
            ack_off = self.fin_off  # the FIN's own sequence number
        if ack_off <= self.next:
            self.hole_seen_at = None
            return []
        if self.hole_seen_at is None:
            self.hole_seen_at = packets
            return []
        if packets - self.hole_seen_at < self.patience:
            return []
        return self._skip_hole(frame, ts, min(self.starts[0], ack_off) if self.starts else ack_off, None)

    def flush(self, frame: int, ts: float) -> list:
        """End of stream (FIN/RST or end of capture): deliver all buffered data, declaring holes lost."""
        out: list = []
        while self.starts:
            self._skip_hole(frame, ts, self.starts[0], out)
        return out

    def _check_overlap(self, off: int, data: bytes, frame: int, ts: float) -> None:
        """Compare re-sent bytes with the recently delivered ones they cover."""
        before = len(self.findings)
        for r_off, r_data in self.recent:
            self._compare(r_off, r_data, off, data, frame, ts)
            if len(self.findings) > before:
                return
