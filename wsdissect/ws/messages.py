"""Message assembly for one direction: fragments joined, control frames passed through, deflate undone.

Contract (sans-IO): ``add(frame, out)`` (a :class:`~wsdissect.ws.frames.Frame`) appends finished
:class:`~wsdissect.events.Message` events to *out*; ``lost(frame, ts, out)`` says sync was lost (the message in
progress is emitted incomplete, deflate history is forgotten).  Findings go to ``self.findings`` as ``(code,
message, frame, ts)``.

Theory of operation (the fragmentation state, RFC 6455 5.4):

=================  ==========================  =====================================================
state              frame                        result
=================  ==========================  =====================================================
idle               text/binary, FIN=1           one message
idle               text/binary, FIN=0           start a fragmented message
idle               continuation                 ``ws.message.continuation``; frame dropped
fragmenting        continuation, FIN=0/1        append; FIN=1 finishes the message
fragmenting        text/binary                  ``ws.message.interleaved``; the unfinished message is
                                                emitted incomplete and a new one starts
any                control (FIN=1)              one control message, state unchanged
=================  ==========================  =====================================================
"""
from __future__ import annotations

from typing import NamedTuple

from ..events import new_message
from ..flow import Conn
from ..rfc6455 import CONTROL_BIT, Opcode
from ..speedups import speedups
from .close import parse_close
from .deflate import CUT_CODES, InflateProblem, Inflater
from .frames import Frame

class Span(NamedTuple):
    """Where a message lies in the capture."""

    first: int  # capture frame of its first fragment
    last: int  # and of its last
    first_ts: float
    last_ts: float
    frames: tuple  # capture frames where each fragment completed


class Outcome(NamedTuple):
    """How a data message came out: why it is incomplete (None: it is not), whether a size limit cut it, and its
    payload as it was on the wire when the application payload could not be made (``raw``)."""

    note: str | None
    truncated: bool = False
    raw: bytes | None = None


INFLATE_NOTES = {"ws.deflate.limit": "decompressed size limit reached",
                 "ws.message.too_large": "decompressed message longer than --max-message",
                 "ws.deflate.no_context": "compressed with history not in the capture"}


class MessageAssembler:
    __slots__ = ("conn", "direction", "inflater", "deflate_negotiated", "max_message", "findings", "cur",
                 "closed", "count", "nbytes", "sums")

    def __init__(self, conn: Conn, direction: str, inflater: Inflater | None, deflate_negotiated: bool | None,
                 max_message: int = 64 << 20):
        self.conn = conn
        self.direction = direction
        self.inflater = inflater  # None when RSV1 frames cannot be inflated
        self.deflate_negotiated = deflate_negotiated  # None: unknown (no handshake seen)
        self.max_message = max_message
        self.findings: list[tuple] = []
        self.cur: list | None = None  # [opcode, first, first_ts, compressed, chunks, size, wire, frames, ok, trunc]
        self.closed = False
        self.count = [0] * 16  # messages emitted, per opcode
        self.nbytes = [0] * 16  # their payload bytes, per opcode
        self.sums = [0, 0]  # payload bytes on the wire (before decompression), largest payload

    @property
    def idle(self) -> bool:
        """At a message boundary and open: no fragmented message in progress, no Close seen."""
        return self.cur is None and not self.closed

    def fragments_so_far(self) -> list[tuple[int, int]] | None:
        """(capture frame, payload length) of each fragment of the message in progress ([] when none); None when a
        fragment was cut or the joined payload truncated (the lengths are then not those of the frames)."""
        cur = self.cur
        if cur is None:
            return []
        frames, chunks = cur[7], cur[4]
        if not cur[8] or cur[9] or len(chunks) != len(frames):
            return None
        return [(frame, len(chunk)) for frame, chunk in zip(frames, chunks)]

    def take_findings(self) -> list[tuple]:
        """The findings so far as ``(code, message, frame, ts)``, handed over once."""
        items, self.findings = self.findings, []
        return items

    @property
    def wire(self) -> int:
        return self.sums[0]

    @property
    def largest(self) -> int:
        return self.sums[1]

    def add(self, f: Frame, out: list) -> None:
        b0 = f.b0
        if (b0 == 0x81 or b0 == 0x82) and self.cur is None and f.complete and not f.truncated and not self.closed:
            # the common case: one unfragmented, uncompressed, complete text or binary frame
            first, frame, ts, payload = f.first_frame, f.frame, f.ts, f.payload
            text = None
            if b0 == 0x81:
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:
                    self.findings.append(("ws.message.utf8", "text message is not valid UTF-8", frame, ts))
            op, n = b0 & 0x0F, len(payload)
            out.append(new_message(conn=self.conn, direction=self.direction, opcode=op, payload=payload, complete=True,
                                   first_frame=first, last_frame=frame, first_ts=ts, last_ts=ts, fragments=1,
                                   compressed=False, wire_length=f.payload_len, frames=(frame,), text=text))
            self.count[op] += 1
            self.nbytes[op] += n
            sums = self.sums
            sums[0] += f.payload_len
            if n > sums[1]:
                sums[1] = n
            return
        first, frame, ts, b0, _b1, _key, plen, payload, complete, _off, _hdr, truncated = f
        opcode = b0 & 0x0F
        if self.closed:
            self.findings.append(("ws.frame.after_close", "frame sent after this side's Close frame", frame, ts))
        if opcode & CONTROL_BIT:
            self._control(f, opcode, out)
            return
        cur = self.cur
        if opcode == 0:
            if cur is None:
                self.findings.append(("ws.message.continuation", "continuation frame with no message in progress",
                                      frame, ts))
                return
            cur[4].append(payload)
            cur[5] += len(payload)
            cur[6] += plen
            cur[7].append(frame)
            if not complete:
                cur[8] = False
            if truncated:
                cur[9] = True
        else:
            if cur is not None:
                self.findings.append(("ws.message.interleaved",
                                      "new data frame while a fragmented message is unfinished", frame, ts))
                self._emit(cur, frame, ts, out, incomplete_note="interrupted by a new message")
            compressed = bool(b0 & 0x40)  # RSV1 without negotiation is reported by check_frame (ws.frame.rsv)
            cur = self.cur = [opcode, first, ts, compressed, [payload], len(payload), plen, [frame], complete,
                              truncated]
        if cur[5] > self.max_message:
            self._over_limit(cur, frame, ts)
        if b0 & 0x80:
            self._emit(cur, frame, ts, out)

    def _over_limit(self, cur: list, frame: int, ts: float) -> None:
        """The fragments joined so far passed the size limit: reported once, the payload cut there."""
        if not cur[9]:
            cur[9] = True
            self.findings.append(("ws.message.too_large",
                                  f"message exceeds {self.max_message} bytes; payload truncated", frame, ts))
        joined = b"".join(cur[4])[: self.max_message]
        cur[4] = [joined]
        cur[5] = len(joined)

    def frame_too_large(self, f: Frame) -> None:
        """A frame whose payload the parser cut at the size limit: reported before the frame is added.  This and
        :meth:`add` (fragments joined past the limit) are the one place ``ws.message.too_large`` comes from."""
        self.findings.append(("ws.message.too_large", f"frame payload of {f.payload_len} bytes exceeds the "
                              f"{self.max_message}-byte limit; payload truncated", f.frame, f.ts))

    def lane_context(self, mask_bit: int, max_payload: int, control) -> tuple | None:
        """The constant arguments of ``speedups.scan_messages`` for this direction (the C fast lane, see
        ``wsdissect/_speedups.c``), or None without the C code.

        The lane decodes a run of frames that need no judgement (complete, unfragmented text/binary frames,
        uncompressed or compressed with permessage-deflate, plain Pings and Pongs) straight into Message events,
        exactly as ``FrameParser.feed`` + :meth:`add` would, and counts them into this assembler's counters;
        *control* ``(message, out)`` is told each Ping and Pong right after it (as ``WsStream.frames_in`` tells
        the connection).  The caller calls it only at a frame boundary, with no fragmented message open (``cur``)
        and no Close seen."""
        if speedups is None:
            return None
        inflater = self.inflater
        inflate = inflater.inflate if inflater is not None and self.deflate_negotiated is not False else None
        return (mask_bit, max_payload, self.conn, self.direction, inflate, self.lane_inflated, self.count,
                self.nbytes, self.sums, control)

    def lane_inflated(self, opcode: int, payload: bytes, problem: InflateProblem | None, first: int, frame: int,
                      ts: float, wire: int, out: list) -> None:
        """A one-frame compressed message the C lane inflated, when inflating reported a *problem* or the text is
        not UTF-8: finished here exactly as :meth:`_emit` finishes it."""
        outcome = Outcome(None)
        if problem is not None:
            cut = problem.code in CUT_CODES
            outcome = Outcome(self._inflate_problem(problem, frame, ts), cut, None if cut else problem.raw)
        self._finish(opcode, payload, outcome, Span(first, frame, ts, ts, (frame,)), True, wire, out)

    def _emit(self, cur: list, frame: int, ts: float, out: list, incomplete_note: str | None = None) -> None:
        self.cur = None
        opcode, first, first_ts, compressed, chunks, _size, wire, frames, ok, truncated = cur
        payload = b"".join(chunks) if len(chunks) != 1 else chunks[0]
        outcome = Outcome(incomplete_note or (None if ok else "bytes missing from the capture"), truncated)
        if compressed and self.deflate_negotiated is not False and self.inflater is not None:
            payload, outcome = self._inflated(payload, outcome, frame, ts)
        self._finish(opcode, payload, outcome, Span(first, frame, first_ts, ts, tuple(frames)), compressed, wire, out)

    def _inflated(self, raw: bytes, outcome: Outcome, frame: int, ts: float) -> tuple[bytes, Outcome]:
        """A compressed message's payload and outcome; what cannot be inflated keeps its wire bytes as ``raw``."""
        if outcome.note is None and not outcome.truncated:
            payload, problem = self.inflater.inflate(raw)
            if problem is None:
                return payload, outcome
            note = self._inflate_problem(problem, frame, ts)
            if problem.code in CUT_CODES:
                return payload, Outcome(note, True)
            return b"", Outcome(note, False, problem.raw)
        self.inflater.lose_history()
        return b"", Outcome(outcome.note or "compressed and incomplete", outcome.truncated, raw)

    def _inflate_problem(self, problem: InflateProblem, frame: int, ts: float) -> str:
        """Report what the inflater said; the note for the incomplete message."""
        self.findings.append((problem.code, problem.detail, frame, ts))
        return INFLATE_NOTES.get(problem.code, "decompression failed")

    def _finish(self, opcode: int, payload: bytes, outcome: Outcome, span: Span, compressed: bool, wire: int,
                out: list) -> None:
        """Emit a data message: text decoded (a finding if it is not UTF-8), counters updated."""
        note, truncated = outcome.note, outcome.truncated
        complete = note is None and not truncated
        text = None
        if opcode == 1 and complete:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                self.findings.append(("ws.message.utf8", "text message is not valid UTF-8", span.last, span.last_ts))
        out.append(new_message(conn=self.conn, direction=self.direction, opcode=opcode, payload=payload,
                               complete=complete, first_frame=span.first, last_frame=span.last,
                               first_ts=span.first_ts, last_ts=span.last_ts, fragments=len(span.frames),
                               compressed=compressed, wire_length=wire, frames=span.frames, text=text,
                               truncated=truncated, note=None if complete else note, raw=outcome.raw))
        self._tally(opcode, len(payload), wire)

    def _control(self, f: Frame, opcode: int, out: list) -> None:
        first, frame, ts, b0, _b1, _key, plen, payload, complete, _off, _hdr, truncated = f
        complete = complete and not truncated
        code = reason = None
        if opcode == Opcode.CLOSE:
            self.closed = True
            if complete:
                code, reason, problems = parse_close(payload)
                for c, m in problems:
                    self.findings.append((c, m, frame, ts))
        out.append(new_message(conn=self.conn, direction=self.direction, opcode=opcode, payload=payload,
                               complete=complete, first_frame=first, last_frame=frame, first_ts=ts, last_ts=ts,
                               fragments=1, compressed=bool(b0 & 0x40), wire_length=plen, frames=(frame,),
                               close_code=code, close_reason=reason,
                               note=None if complete else "bytes missing from the capture"))
        self._tally(opcode, len(payload), plen)

    def _tally(self, opcode: int, n: int, wire: int) -> None:
        self.count[opcode] += 1
        self.nbytes[opcode] += n
        sums = self.sums
        sums[0] += wire
        if n > sums[1]:
            sums[1] = n

    def lost(self, frame: int, ts: float, out: list) -> None:
        """Sync was lost: flush what was in progress as incomplete and forget deflate history."""
        if self.cur is not None:
            self._emit(self.cur, frame, ts, out, incomplete_note="bytes missing from the capture")
        if self.inflater is not None:
            self.inflater.lose_history()

    def finish(self, frame: int, ts: float, out: list) -> None:
        """End of stream: a fragmented message still open is emitted incomplete."""
        if self.cur is not None:
            self._emit(self.cur, frame, ts, out, incomplete_note="connection ended before the final fragment")
