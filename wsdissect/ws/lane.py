"""The only Python that drives the C fast lane (``speedups.scan_messages``, see ``wsdissect/_speedups.c``).

The lane decodes runs of frames that need no judgement (complete, unfragmented text/binary frames, plain or one-frame
permessage-deflate; plain Pings and Pongs, told to the connection's lifecycle as the Python path tells it) straight
into Message events (each preceded by its WsFrame event when the stream reports frames: the packet views), exactly
as :class:`~wsdissect.ws.frames.FrameParser` + :class:`~wsdissect.ws.messages.MessageAssembler` would.
:class:`FastLane` alternates between the lane and the Python stages of its :class:`~wsdissect.ws.stream.WsStream`
(everything else, one frame at a time), so every finding still comes from the Python stages.  Without the C module
there is no lane (:func:`lane_for` is None).
"""
from __future__ import annotations

from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING

from ..speedups import speedups

if TYPE_CHECKING:
    from .stream import WsStream

CARRY_MAX = 16 << 10  # the largest cut frame the lane holds back for the next segment (larger: the parser)
_DATA = itemgetter(0)  # the bytes of a held-back piece (data, offset, frame, ts)


def lane_for(stream: "WsStream", max_payload: int) -> "FastLane | None":
    """A lane for *stream*, or None without the C code."""
    if speedups is None:
        return None
    return FastLane(stream.asm.lane_context(stream.mask_bit, max_payload, partial(stream.owner.control, stream)))


class FastLane:
    """The C lane for one WebSocket direction.

    A frame the lane would take but that a segment end cuts is held back (``carry``: the segments as
    ``(data, offset, frame, ts)``, their byte count and the frame's length as far as known, up to CARRY_MAX bytes)
    and scanned again with the next segment, instead of going through the parser's buffering."""

    __slots__ = ("context", "carry", "clean")

    def __init__(self, context: tuple):
        self.context = context  # scan_messages' constant arguments (MessageAssembler.lane_context)
        self.carry: list | None = None
        # the lane last left the Python stages at a frame boundary with no message open (or Close seen), and no
        # bytes reached them since: every other way to them (WsStream.feed unsynced, gap, end) flushes first
        self.clean = False

    def flush(self, stream: "WsStream", out: list) -> None:
        """Give the parser the bytes held back, segment by segment as they came: from then on its state is exactly
        what feeding them at once would have made it."""
        self.clean = False
        if self.carry:
            pieces, self.carry = self.carry[0], None
            for data, off, frame, ts in pieces:
                stream.python(data, off, frame, ts, out)

    def feed(self, stream: "WsStream", data: bytes, off: int, frame: int, ts: float, out: list) -> None:
        """One segment's bytes: runs of plain frames through the lane, the rest through the Python stages; after
        the lane twice takes nothing, the Python stages get the rest of the segment."""
        parser, asm = stream.parser, stream.asm
        carry = self.carry
        if carry is not None:
            if carry[1] + len(data) < carry[2]:  # the held-back frame is still cut: hold this segment too
                carry[0].append((data, off, frame, ts))
                carry[1] += len(data)
                return
            resumed = self._resume(stream, data, off, frame, ts, out)
            if resumed is None:
                return
            data, off, pos = resumed
            ready = pos > 0 or None  # it took the held-back frame: a carry is made only when the lane is ready
        elif self.clean:
            pos, ready = 0, True
        elif parser.at_boundary:
            pos, ready = 0, asm.idle
        elif parser.frame_end(data, 0) < 0:  # the parser's frame in progress goes on past this segment
            stream.python(data, off, frame, ts, out)
            return
        else:
            pos, ready = self._pending(stream, data, off, frame, ts, out), None
        self.clean = False
        lane, scan = self.context, speedups.scan_messages
        at = off if stream.frames else None  # (the stream offset of data[0]: WsFrame events wanted)
        n = len(data)
        misses = 0
        while pos < n and not asm.closed:
            if ready is None:  # (None: the Python stages ran, they may have moved either)
                ready = parser.at_boundary and asm.idle
            if ready:
                p, tail = scan(data, pos, frame, frame, ts, out, lane, at)
                if asm.findings:  # a compressed message the lane finished with a problem
                    stream.report_assembler(out)
                if p == n:  # (the parser never saw these bytes: it is at a boundary, no message open)
                    self.clean = True
                    return
                if tail and tail <= CARRY_MAX:
                    self.carry = [[(data[p:], off + p, frame, ts)], n - p, tail]
                    return
                if p == pos:
                    misses += 1
                    if misses == 2:  # e.g. a compressed stream: the lane is not helping here
                        break
                else:
                    misses = 0
                    pos = p
            end = parser.frame_end(data, pos)  # one frame (or the rest of one) through the Python stages
            if end < 0:
                break
            stream.python(data[pos:end], off + pos, frame, ts, out)
            pos = end
            ready = None
        if pos < n:
            stream.python(data[pos:] if pos else data, off + pos, frame, ts, out)

    def _resume(self, stream: "WsStream", data: bytes, off: int, frame: int, ts: float, out: list):
        """A frame was held back and this segment completes it as far as its known length goes: try it again
        (and the frames after it).  Returns ``(data, offset, position)`` to go on from, or None when the segment
        is done: all of it taken, or a frame held back again."""
        carry = self.carry
        pieces = carry[0]
        self.carry = None
        joined = (pieces[0][0] if len(pieces) == 1 else b"".join(map(_DATA, pieces))) + data
        at = pieces[0][1] if stream.frames else None
        p, tail = speedups.scan_messages(joined, 0, pieces[0][2], frame, ts, out, self.context, at)
        if stream.asm.findings:
            stream.report_assembler(out)
        if p == len(joined):  # (as in feed: the parser never saw these bytes)
            self.clean = True
            return None
        if p:  # the held-back frame is complete (and maybe more): go on from there
            if tail and tail <= CARRY_MAX:  # up to a frame cut at the end: hold that one back
                self.carry = [[(joined[p:], pieces[0][1] + p, frame, ts)], len(joined) - p, tail]
                return None
            return joined, pieces[0][1], p
        if tail and tail <= CARRY_MAX:  # still cut (its header was)
            pieces.append((data, off, frame, ts))
            self.carry = [pieces, len(joined), tail]
            return None
        self.carry = carry  # not for the lane after all: the parser takes that frame, bytes as they came
        self.flush(stream, out)
        return data, off, 0

    def _pending(self, stream: "WsStream", data: bytes, off: int, frame: int, ts: float, out: list) -> int:
        """A frame begun in an earlier segment, in the parser: when it ends in *data* and the lane takes it whole,
        the parser forgets it.  Returns where in *data* the lane goes on."""
        parser, asm = stream.parser, stream.asm
        if not asm.idle:
            return 0
        pending = parser.pending_frame(data)
        if pending is None:
            return 0
        whole, first, end = pending
        at = off + end - len(whole) if stream.frames else None  # (whole ends where data[end] is)
        if speedups.scan_messages(whole, 0, first, frame, ts, out, self.context, at)[0] != len(whole):
            return 0
        parser.drop_pending()
        stream.report_assembler(out)
        return end
