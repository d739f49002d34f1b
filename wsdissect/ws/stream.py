"""One direction of a WebSocket connection: frame parser -> message assembler (+ permessage-deflate), with the C
fast lane when it is there.

Contract (sans-IO): ``feed(data, offset, frame, ts, out)``, ``gap(n, frame, ts, out)`` and ``end(frame, ts, out)``
append the direction's events to *out* in order: each frame's findings, its ``WsFrame`` (when frames are wanted),
the message it completes and that message's findings.  Findings and control messages go to the stream's *owner*
(the connection, see :class:`Owner`): the one sink, so the order is the same however the bytes were cut into
segments, and with or without the C lane.
"""
from __future__ import annotations

from typing import Protocol

from ..app.stage import AppStage
from ..events import Message, Upgrade, new_frame
from ..flow import Conn
from ..rfc6455 import CONTROL_BIT, Opcode, opcode_name
from .deflate import Inflater
from .frames import LOST, FrameParser, check_frame
from .lane import FastLane, lane_for
from .messages import MessageAssembler

RSV1 = 0x40  # permessage-deflate's "compressed" bit in the first header byte
# first header bytes (FIN aside) that need no check_frame: plain data frames, and compressed ones where
# permessage-deflate may be in use
FAST_PLAIN = frozenset((int(Opcode.CONTINUATION), int(Opcode.TEXT), int(Opcode.BINARY)))
FAST_INFLATING = FAST_PLAIN | {RSV1 | Opcode.TEXT, RSV1 | Opcode.BINARY}
# first header bytes of a Close, Ping or Pong with FIN set and no RSV bit: with the mask bit this direction must
# send and a 7-bit length, check_frame finds nothing in them
GOOD_CONTROL = frozenset((0x80 | Opcode.CLOSE, 0x80 | Opcode.PING, 0x80 | Opcode.PONG))


class Owner(Protocol):
    """What a stream reports to: its connection."""

    def report(self, out: list, code: str, message: str, frame: int, ts: float, direction: str | None) -> None: ...

    def report_all(self, out: list, items: list, direction: str | None) -> None: ...

    def control(self, stream: "WsStream", m: Message, out: list) -> None: ...


class WsStream:
    __slots__ = ("name", "from_client", "mask_bit", "rsv_allowed", "fast_b0", "parser", "asm", "lane", "frames",
                 "owner", "app")

    def __init__(self, owner: Owner, conn: Conn, name: str, from_client: bool, upgrade: Upgrade | None, options,
                 synced: bool):
        """*upgrade*: the handshake, None when it is not in the capture (RSV1 frames are then inflated if they
        come); *synced*: the stream starts at a frame boundary (False: the parser must find one)."""
        self.owner = owner
        self.name = name
        self.from_client = from_client
        self.mask_bit = 0x80 if from_client else 0
        deflate = upgrade.deflate if upgrade is not None else None  # the negotiated permessage-deflate parameters
        inflating = deflate is not None or upgrade is None
        self.rsv_allowed = 4 if inflating else 0
        self.frames = options.frames  # WsFrame events wanted (views)
        self.parser = FrameParser(options.max_message, client=from_client, rsv_allowed=self.rsv_allowed,
                                  synced=synced)
        inflater = None
        if inflating:
            side = "client" if from_client else "server"
            inflater = Inflater(bool(deflate and deflate[f"{side}_no_context_takeover"]), options.max_inflated,
                                options.max_ratio, history_known=synced, max_keep=options.max_message)
        negotiated = None if upgrade is None else deflate is not None  # None: unknown (no handshake)
        self.asm = MessageAssembler(conn, name, inflater, negotiated, options.max_message)
        self.fast_b0 = FAST_INFLATING if self.rsv_allowed else FAST_PLAIN
        self.lane: FastLane | None = None if options.frames else lane_for(self, options.max_message)
        self.app: AppStage | None = None  # the connection's application stage (set by the connection), if any

    # -- bytes in ---------------------------------------------------------------------------------------------
    def feed(self, data: bytes, off: int, frame: int, ts: float, out: list) -> None:
        start = len(out)
        if self.lane is not None and self.parser.synced:  # (resynchronising after a gap is the parser's job)
            self.lane.feed(self, data, off, frame, ts, out)
        else:
            if self.lane is not None:
                self.lane.flush(self, out)
            self.python(data, off, frame, ts, out)
        if self.app is not None and len(out) > start:  # (a segment inside a long frame adds nothing to read)
            self.units(out, start)

    def held_from(self) -> int | None:
        """The capture frame of the first byte held while no frame boundary is proven (None: nothing held)."""
        return None if self.parser.synced else self.parser.resync.first_frame()

    def units(self, out: list, start: int) -> None:
        """The application stage reads the messages appended since *start* (dropped once it never will decode)."""
        if not self.app.read(out, start):
            self.app = None

    def python(self, data: bytes, off: int, frame: int, ts: float, out: list) -> None:
        """Bytes through the Python stages (the lane hands them what it does not take)."""
        items = self.parser.feed(data, off, frame, ts)
        if items:
            self.frames_in(items, frame, ts, out)
        elif self.parser.findings:
            self.report_parser(out)

    def gap(self, n: int, frame: int, ts: float, out: list) -> None:
        """*n* bytes of this direction are missing from the capture."""
        start = len(out)
        if self.lane is not None:
            self.lane.flush(self, out)
        self.frames_in(self.parser.gap(n, frame, ts), frame, ts, out)
        if self.app is not None:
            self.units(out, start)

    def report_frames(self, out: list) -> None:
        """From now on, report every frame (views after ``show --frame``'s skim): the C lane, which does not, is
        left; the bytes it held back go to the parser, their events into *out*."""
        if self.lane is not None:
            self.lane.flush(self, out)
            self.lane = None
        self.frames = True

    def end(self, frame: int, ts: float, out: list) -> None:
        """The connection is over: a frame or fragmented message in progress is emitted incomplete."""
        start = len(out)
        if self.lane is not None:
            self.lane.flush(self, out)
        self.frames_in(self.parser.end(), frame, ts, out)
        self.asm.finish(frame, ts, out)
        self.report_assembler(out)
        if self.app is not None:
            self.units(out, start)

    # -- frames -> messages -----------------------------------------------------------------------------------
    def frames_in(self, items: list, frame: int, ts: float, out: list) -> None:
        """Frames in, messages out; each frame's findings and lifecycle notes follow its message directly."""
        asm, fast_b0, mask_bit = self.asm, self.fast_b0, self.mask_bit
        for f in items:
            if f is LOST:
                asm.lost(frame, ts, out)
                continue
            b0, b1 = f.b0, f.b1
            if ((b0 & 0x7F) not in fast_b0 and b0 not in GOOD_CONTROL) or (b1 & 0x80) != mask_bit \
                    or (b1 & 0x7F) >= 126 or not f.complete or f.truncated:  # (the common frame needs no check)
                self._check(f, out)
            if self.frames:
                out.append(new_frame(conn=self.asm.conn, direction=self.name, first_frame=f.first_frame,
                                     frame=f.frame, ts=f.ts, fin=bool(b0 & 0x80), rsv=(b0 >> 4) & 7,
                                     opcode=b0 & 0x0F, masked=f.mask_key is not None, mask_key=f.mask_key,
                                     length_code=b1 & 0x7F, payload_len=f.payload_len, header=f.header,
                                     payload=f.payload, complete=f.complete, stream_offset=f.offset))
            start = len(out)
            asm.add(f, out)
            if asm.findings:
                self.report_assembler(out)
            if b0 & CONTROL_BIT:  # (the opcode is the low nibble)
                for i in range(start, len(out)):  # lifecycle bookkeeping for the control messages just emitted
                    m = out[i]
                    if m.__class__ is Message and m.opcode & CONTROL_BIT:
                        self.owner.control(self, m, out)
        if self.parser.findings:
            self.report_parser(out)
        if asm.findings:
            self.report_assembler(out)

    def _check(self, f, out: list) -> None:
        """The findings about one frame itself (header rules, bytes missing), before its message; a payload the
        parser cut at the size limit is reported by the assembler (the one place for that limit)."""
        b0, b1, plen = f.b0, f.b1, f.payload_len
        lc = b1 & 0x7F
        report = self.owner.report
        if (b0 & 0x7F) not in self.fast_b0 or (b1 & 0x80) != self.mask_bit or lc == 127 or (lc == 126 and plen < 126):
            for code, message in check_frame(b0, b1, plen, self.from_client, self.rsv_allowed):
                report(out, code, message, f.frame, f.ts, self.name)
        if not f.complete:
            report(out, "ws.frame.incomplete", "frame has bytes missing from the capture", f.frame, f.ts, self.name)
        elif f.truncated:
            self.asm.frame_too_large(f)
            self.report_assembler(out)

    def report_parser(self, out: list) -> None:
        if self.parser.findings:
            self.owner.report_all(out, self.parser.take_findings(), self.name)

    def report_assembler(self, out: list) -> None:
        if self.asm.findings:
            self.owner.report_all(out, self.asm.take_findings(), self.name)

    def stats(self) -> dict:
        """Counters as exported: messages, bytes, wire bytes, largest, and per opcode [count, bytes]."""
        a = self.asm
        return {"messages": sum(a.count), "bytes": sum(a.nbytes), "wire_bytes": a.wire, "largest": a.largest,
                "opcodes": {opcode_name(op): [n, a.nbytes[op]] for op, n in enumerate(a.count) if n}}
