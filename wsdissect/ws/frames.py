"""RFC 6455 frame decoding for one direction of a connection.

Contract (sans-IO): ``feed(data, offset, frame, ts)`` and ``gap(n, frame, ts)`` return a list whose items are
:class:`Frame` results or ``LOST`` (sync was lost here: what was in progress is gone).  The parser never
raises on protocol content; ``check_frame`` (separate from parsing, as in websockets' ``Frame.parse``/``check``)
says what is wrong with a frame.

A :class:`Frame` is a NamedTuple (cheap to build on the hot path; :class:`wsdissect.events.WsFrame` is built from it
only for consumers that want frames).  ``complete`` is False when bytes of the frame are missing from the capture;
``truncated`` is True when the payload was cut at ``max_payload`` (nothing was lost, it was just not kept).

After a gap the parser resynchronises only on a position it can prove: a chain of plausible frame headers (opcode
known, RSV bits allowed, mask bit as this direction must send it, control-frame rules, minimal length encoding)
that ends exactly where the captured bytes end, or runs for several frames.
"""
from __future__ import annotations

import heapq

from typing import NamedTuple

from ..rfc6455 import Opcode, is_control
from .mask import unmask


class Frame(NamedTuple):
    """One decoded frame, as the parser returns it."""

    first_frame: int  # capture frame where its header began
    frame: int  # capture frame where it completed
    ts: float
    b0: int  # first header byte: FIN, RSV1-3, opcode
    b1: int  # second header byte: MASK, 7-bit length code
    mask_key: bytes | None
    payload_len: int  # as the header says
    payload: bytes  # unmasked; at most max_payload bytes kept
    complete: bool  # False: bytes of it are missing from the capture
    offset: int  # stream offset of its header
    header: bytes
    truncated: bool  # the payload was cut at max_payload (nothing was lost, it was just not kept)


_frame = tuple.__new__  # builds a Frame without NamedTuple's keyword handling (the hot path)
LOST = None
F_FIRST, F_FRAME, F_TS, F_B0, F_B1, F_KEY, F_LEN, F_PAYLOAD, F_COMPLETE, F_OFFSET, F_HEADER, F_TRUNCATED = range(12)

KNOWN_OPCODES = frozenset(int(op) for op in Opcode)
RESYNC_MAX = 256 << 10  # bytes searched for a frame boundary before they are given up
STRONG_CHAIN = 8  # frames in a row that prove a boundary even without a segment ending on one of them
PLAUSIBLE_LENGTH = 1 << 32  # a frame header met while searching for a boundary claims less (else it is noise)
UNDECIDED, INVALID, PROVEN = 0, 1, 2


def header_length(b1: int) -> int:
    lc = b1 & 0x7F
    return 2 + (2 if lc == 126 else 8 if lc == 127 else 0) + (4 if b1 & 0x80 else 0)


def frame_span(buf: bytes, pos: int) -> int:
    """Length of the frame whose header starts at ``buf[pos]`` (header + payload), or -1 if the header is cut."""
    n = len(buf) - pos
    if n < 2:
        return -1
    b1 = buf[pos + 1]
    hl = header_length(b1)
    if n < hl:
        return -1
    lc = b1 & 0x7F
    if lc < 126:
        plen = lc
    elif lc == 126:
        plen = (buf[pos + 2] << 8) | buf[pos + 3]
    else:
        plen = int.from_bytes(buf[pos + 2:pos + 10], "big")
    return hl + plen


class FrameParser:
    def __init__(self, max_payload: int = 64 << 20, client: bool | None = None, rsv_allowed: int = 0,
                 synced: bool = True):
        self.max_payload = max_payload
        self.client = client  # True: frames must be masked; False: must not; None: unknown
        self.rsv_allowed = rsv_allowed  # RSV bits an extension defines (0b100 for permessage-deflate)
        self.synced = synced
        self.stash, self.stash_frame, self.stash_off = b"", 0, 0  # a header cut by the previous chunk
        self.hdr: tuple | None = None  # a frame whose payload is being collected across chunks:
        self._begin(None)  # its bytes left, chunks kept, ...
        self.resync = Resync(client, rsv_allowed)  # the bytes held while synchronisation is lost
        self.findings: list[tuple] = []
        self.last = (0, 0.0)  # frame and time of the last bytes fed (what end() stamps on a frame in progress)

    @property
    def at_boundary(self) -> bool:
        """No frame in progress: the next byte fed starts a frame (when synchronised)."""
        return not self.left and not self.stash

    def take_findings(self) -> list[tuple]:
        """The findings so far as ``(code, message, frame, ts)``, handed over once."""
        items, self.findings = self.findings, []
        return items

    # -- the normal path ------------------------------------------------------------------------------------
    def feed(self, data: bytes, offset: int, frame: int, ts: float) -> list:
        self.last = (frame, ts)
        if not self.synced:
            return self._resync_feed(data, offset, frame, ts)
        out: list = []
        pos = 0
        first = frame
        if self.left:  # the payload of a frame begun earlier
            n = len(data)
            pos = self.left if self.left < n else n
            self._collect(data if pos == n else data[:pos])
            if not self.left:
                out.append(self._finish(frame, ts))
            if pos == n:
                return out
        if self.stash:  # a header cut by the previous chunk
            data, offset, first = self.stash + data[pos:], self.stash_off, self.stash_frame
            self.stash = b""
            pos = 0
        self._frames(data, offset, pos, first, frame, ts, out)
        return out

    def _frames(self, data: bytes, offset: int, pos: int, first: int, frame: int, ts: float, out: list) -> None:
        """The frames that start at *pos* in *data*; a cut header is stashed, a cut payload collected."""
        n = len(data)
        max_payload = self.max_payload
        while pos < n:
            if n - pos < 2:
                self._stash(data, pos, offset, first)
                return
            b0 = data[pos]
            b1 = data[pos + 1]
            lc = b1 & 0x7F
            if lc < 126:
                plen = lc
                p = pos + 2
            elif lc == 126:
                if n - pos < 4:
                    self._stash(data, pos, offset, first)
                    return
                plen = (data[pos + 2] << 8) | data[pos + 3]
                p = pos + 4
            else:
                if n - pos < 10:
                    self._stash(data, pos, offset, first)
                    return
                plen = int.from_bytes(data[pos + 2:pos + 10], "big")
                p = pos + 10
            if b1 & 0x80:
                if n - p < 4:
                    self._stash(data, pos, offset, first)
                    return
                key = data[p:p + 4]
                p += 4
            else:
                key = None
            end = p + plen
            if end <= n and plen <= max_payload:
                payload = data[p:end]
                if key is not None and plen:
                    payload = unmask(payload, key)
                out.append(_frame(Frame, (first, frame, ts, b0, b1, key, plen, payload, True, offset + pos,
                                          data[pos:p], False)))
                pos = end
                first = frame
                continue
            if lc == 127 and plen >> 63:
                self.findings.append(("ws.frame.length_msb", "64-bit payload length with the most significant bit "
                                      f"set ({plen})", frame, ts))
            self._begin((first, b0, b1, key, plen, offset + pos, data[pos:p]))
            rest = data[p:end] if end < n else data[p:]
            self._collect(rest)
            pos = p + len(rest)
            if not self.left:
                out.append(self._finish(frame, ts))
                first = frame

    def _begin(self, hdr: tuple | None) -> None:
        """A frame whose payload goes on past this chunk (or past the size limit): collect it."""
        self.hdr = hdr
        self.left = hdr[4] if hdr is not None else 0
        self.chunks: list[bytes] = []
        self.kept = 0
        self.keeping = True
        self.damaged = False

    def frame_end(self, data: bytes, pos: int) -> int:
        """Where in *data* (fed from *pos* on) the frame in progress, or else the next frame, ends; -1 when it
        does not end inside *data* or the parser is resynchronising.  Lets a caller feed exactly one frame."""
        if not self.synced:
            return -1
        if self.left:
            end = pos + self.left
        elif self.stash:
            head = self.stash + data[pos:pos + 14]
            span = frame_span(head, 0)
            if span < 0:
                return -1
            end = pos + span - len(self.stash)
        else:
            span = frame_span(data, pos)
            if span < 0:
                return -1
            end = pos + span
        return end if end <= len(data) else -1

    def pending_frame(self, data: bytes) -> tuple[bytes, int, int] | None:
        """If the frame in progress ends inside *data* (the next bytes fed), the whole frame as sent, the capture
        frame it started in, and where it ends in *data*; None otherwise.  Nothing changes until
        :meth:`drop_pending` (a fast path that decoded the frame itself calls it)."""
        if self.left:
            if self.left > len(data) or not self.keeping or self.damaged:
                return None
            end = self.left
            return self.hdr[6] + b"".join(self.chunks) + data[:end], self.hdr[0], end  # type: ignore[index]
        if self.stash:
            end = self.frame_end(data, 0)
            if end < 0:
                return None
            return self.stash + data[:end], self.stash_frame, end
        return None

    def drop_pending(self) -> None:
        """Forget the frame in progress (see :meth:`pending_frame`)."""
        self.stash = b""
        self.hdr = None
        self.left = 0
        self.chunks = []

    def _stash(self, data: bytes, pos: int, offset: int, first: int) -> None:
        self.stash = bytes(data[pos:])
        self.stash_off = offset + pos
        self.stash_frame = first

    def _collect(self, chunk: bytes) -> None:
        self.left -= len(chunk)
        if self.keeping:
            room = self.max_payload - self.kept
            if len(chunk) > room:
                chunk = chunk[:room]
                self.keeping = False
            if chunk:
                self.chunks.append(chunk)
                self.kept += len(chunk)

    def _finish(self, frame: int, ts: float) -> Frame:
        first, b0, b1, key, plen, off, header = self.hdr  # type: ignore[misc]
        payload = b"".join(self.chunks)
        if key is not None and payload:
            payload = unmask(payload, key)
        complete = not self.damaged and not self.left
        truncated = complete and self.kept < plen
        self.hdr = None
        self.chunks = []
        self.left = 0
        return Frame(first_frame=first, frame=frame, ts=ts, b0=b0, b1=b1, mask_key=key, payload_len=plen,
                     payload=payload, complete=complete, offset=off, header=header, truncated=truncated)

    def end(self) -> list:
        """End of the stream: a frame still being collected is returned incomplete, stamped with the frame and
        time of its last captured bytes."""
        if not self.synced:  # a lone frame is not dropped: see Resync.at_end
            found = self.resync.at_end(self.findings)
            return self._replay(found) + self.end() if found is not None else []
        if self.hdr is None:
            return []
        self.damaged = True
        return [self._finish(*self.last)]

    def gap(self, n: int, frame: int, ts: float) -> list:
        """*n* bytes of this direction are missing from the capture."""
        if not self.synced:
            self._resync_reset(frame)
            return []
        out: list = []
        if self.left and not self.stash:
            if n <= self.left:
                self.damaged = True
                self.keeping = False
                self.left -= n
                if not self.left:
                    out.append(self._finish(frame, ts))
                return out
            self.damaged = True
            self.left = 0
            out.append(self._finish(frame, ts))
        self.stash = b""
        self.hdr = None
        self.left = 0
        self.synced = False
        self._resync_reset(frame)
        out.append(LOST)
        return out

    def start_unsynced(self) -> None:
        """Begin without knowing where frames start (capture started mid-connection)."""
        self.synced = False
        self._resync_reset(0)

    # -- resynchronisation ----------------------------------------------------------------------------------
    def _resync_reset(self, frame: int) -> None:
        finding = self.resync.reset(frame)
        if finding is not None:
            self.findings.append(finding)

    def _resync_feed(self, data: bytes, offset: int, frame: int, ts: float) -> list:
        found = self.resync.add(data, offset, frame, ts, self.findings)
        return [] if found is None else self._replay(found)

    def _replay(self, found: tuple) -> list:
        """Synchronised at a boundary of the held bytes (``Resync.add``/``at_end``): the frames from there."""
        buf, marks, roff, start = found
        self.synced = True
        out: list = []
        for i, (o, f, t) in enumerate(marks):  # replay from the boundary, chunk by chunk as the bytes came
            end = marks[i + 1][0] if i + 1 < len(marks) else len(buf)
            lo = max(o, start)
            if end > lo:
                out.extend(self.feed(buf[lo:end], roff + lo, f, t))
        return out


class Resync:
    """The bytes of a direction that lost sync, held until a provable frame boundary shows (:class:`BoundaryScanner`)
    or RESYNC_MAX bytes went by."""

    __slots__ = ("client", "rsv_allowed", "rbuf", "rmarks", "roff", "scanner")

    def __init__(self, client: bool | None, rsv_allowed: int):
        self.client = client
        self.rsv_allowed = rsv_allowed
        self.rbuf = bytearray()
        self.rmarks: list[tuple[int, int, float]] = []  # (buffer offset, frame, ts) where each chunk starts
        self.roff = 0  # stream offset of rbuf[0]
        self.scanner: BoundaryScanner | None = None

    def first_frame(self) -> int | None:
        """The capture frame of the first byte held (None: nothing held)."""
        return self.rmarks[0][1] if self.rmarks else None

    def reset(self, frame: int) -> tuple | None:
        """Start over (a gap); the finding for bytes held and never decoded, if any."""
        finding = None
        if self.rbuf:
            finding = ("ws.resync", f"{len(self.rbuf)} bytes could not be decoded before a gap", frame, 0.0)
        self._clear()
        return finding

    def at_end(self, findings: list) -> tuple | None:
        """The stream ended while sync was lost: the held bytes to replay from their first byte (as :meth:`add`
        returns them) when they are a chain of plausible frames ending exactly at their end, else None; a
        ``ws.resync`` finding appended to *findings* either way when bytes were held."""
        if not self.rbuf:
            return None
        _, frame, ts = self.rmarks[0]
        count = exact_chain(bytes(self.rbuf), self.client, self.rsv_allowed)
        findings.append(("ws.resync", unproven_end_note(len(self.rbuf), count), frame, ts))
        found = (bytes(self.rbuf), self.rmarks, self.roff, 0) if count else None
        self._clear()
        return found

    def _clear(self) -> None:
        self.rbuf = bytearray()
        self.rmarks = []
        self.scanner = None

    def add(self, data: bytes, offset: int, frame: int, ts: float, findings: list):
        """Hold *data*; when a boundary is proven, ``(bytes, chunk marks, stream offset, boundary)`` to replay
        from it (and the hold is emptied), else None.  Findings are appended to *findings*."""
        if not self.rbuf:
            self.roff = offset
        self.rmarks.append((len(self.rbuf), frame, ts))
        self.rbuf += data
        if self.scanner is None:
            self.scanner = BoundaryScanner(self.client, self.rsv_allowed)
        start = self.scanner.find(self.rbuf)
        if start is None:
            if len(self.rbuf) <= RESYNC_MAX:
                return None
            if self.scanner.earliest() != 0:
                findings.append(("ws.resync", f"no frame boundary found in {len(self.rbuf)} bytes; discarded",
                                 frame, ts))
                self._clear()
                return None
            start = 0  # the frames from the first held byte agree with all of them: a frame longer than the hold
            findings.append(("ws.resync", f"no frame boundary proven in {len(self.rbuf)} bytes; decoding from the "
                             "first of them, where a plausible frame header starts a frame longer than that", frame,
                             ts))
        if start:
            findings.append(("ws.resync", f"resynchronised on a frame boundary after skipping {start} bytes",
                             frame, ts))
        found = (bytes(self.rbuf), self.rmarks, self.roff, start)
        self._clear()
        return found


class BoundaryScanner:
    """Incremental search for a provable frame boundary in a growing buffer, fed a chunk (segment) at a time.

    Every start position is tried once; a candidate whose chain of plausible headers needs bytes not yet seen is
    parked until the buffer is long enough, so the total work is linear in the bytes searched.  Evidence is counted
    in frames and anchors: the chain starts where a chunk (segment) started, or one of its frames ends where a
    chunk ended (senders write frames whole, so segments start and end on frame boundaries; a chain through random
    payload bytes seldom lands on one).  A position is proven by two anchors and two frames, one anchor and three
    frames, or STRONG_CHAIN frames.  The answer is the first proven position, once the first byte held (where a
    capture or a gap left the stream, the likeliest boundary) is disproven or proven itself: a large
    frame that starts there is not cut short by a chain found inside its payload.
    """

    def __init__(self, client: bool | None, rsv_allowed: int):
        self.client = client
        self.rsv_allowed = rsv_allowed
        self.scanned = 0
        # (bytes needed, start, next header, frames so far, frame ends at chunk ends, next header not looked up)
        self.waiting: list[tuple[int, int, int, int, int, bool]] = []
        self.alive: list[int] = []  # starts not yet proven invalid (heap, lazily pruned)
        self.dead: set[int] = set()
        self.proven: set[int] = set()
        self.ends: set[int] = set()  # where the chunks fed so far ended

    def find(self, buf) -> int | None:
        """*buf* has grown by one chunk: the boundary proven, if any."""
        n = len(buf)
        self.ends.add(n)
        waiting = self.waiting
        while waiting and waiting[0][0] <= n:
            _, p, q, count, anchors, reached = heapq.heappop(waiting)
            self._advance(buf, n, p, q, count, anchors, reached)
        for p in range(self.scanned, n):
            heapq.heappush(self.alive, p)
            self._advance(buf, n, p, p, 0, int(p == self.scanned), False)  # (a chain may start where a chunk did)
        self.scanned = n
        if not self.proven or self.earliest() == 0 and 0 not in self.proven:
            return None  # (the first byte held may yet prove to start a frame: it is waited for)
        return min(self.proven)

    def earliest(self) -> int | None:
        """The first start not proven invalid so far (None: every start tried is)."""
        alive = self.alive
        while alive and alive[0] in self.dead:
            self.dead.discard(heapq.heappop(alive))
        return alive[0] if alive else None

    def _advance(self, buf, n: int, p: int, q: int, count: int, anchors: int, reached: bool) -> None:
        """Follow the chain from *p* (at *q*, *count* frames so far, *anchors* of them ending where a chunk
        ended; *reached*: a frame ends at *q*, not yet looked up) as far as the buffer goes."""
        client, rsv_allowed = self.client, self.rsv_allowed
        while True:
            if reached and q in self.ends:
                anchors += 1
            if count >= STRONG_CHAIN or anchors and count >= 3 or anchors >= 2 and count >= 2:
                self.proven.add(p)
                return
            if n - q < 2:
                heapq.heappush(self.waiting, (q + 2, p, q, count, anchors, False))
                return
            b0, b1 = buf[q], buf[q + 1]
            hl = header_length(b1)
            lc = b1 & 0x7F
            if n - q < hl:  # the first two bytes may already rule it out
                if not plausible(b0, b1, lc, lc if lc < 126 else 126 if lc == 126 else 65536, client, rsv_allowed):
                    self.dead.add(p)
                else:
                    heapq.heappush(self.waiting, (q + hl, p, q, count, anchors, False))
                return
            plen = lc if lc < 126 else int.from_bytes(buf[q + 2:q + (4 if lc == 126 else 10)], "big")
            if not plausible(b0, b1, lc, plen, client, rsv_allowed):
                self.dead.add(p)
                return
            end = q + hl + plen
            if end > n:  # resume once the frame is complete
                heapq.heappush(self.waiting, (end, p, end, count + 1, anchors, True))
                return
            q = end
            count += 1
            reached = True


def plausible(b0: int, b1: int, lc: int, plen: int, client: bool | None, rsv_allowed: int) -> bool:
    """Could this header start a frame a correct peer sends in this direction?"""
    opcode = b0 & 0x0F
    if opcode not in KNOWN_OPCODES:
        return False
    if (b0 >> 4) & 7 & ~rsv_allowed:
        return False
    if client is not None and bool(b1 & 0x80) != client:
        return False
    if is_control(opcode) and (not b0 & 0x80 or plen > 125):
        return False
    if (lc == 126 and plen < 126) or (lc == 127 and (plen < 65536 or plen >= PLAUSIBLE_LENGTH)):
        return False
    return True


def chain(buf, p: int, n: int, client: bool | None, rsv_allowed: int) -> tuple[int, int]:
    """Is *p* the start of a chain of plausible frames in ``buf[:n]``?  ``(verdict, complete frames)``:
    PROVEN when at least two frames end exactly at *n* (or three run past it), INVALID when a header is
    implausible, UNDECIDED otherwise."""
    count = 0
    while True:
        if p == n:
            return (PROVEN if count >= 2 else UNDECIDED), count
        if n - p < 2:
            return UNDECIDED, count
        b0, b1 = buf[p], buf[p + 1]
        hl = header_length(b1)
        if n - p < hl:
            return UNDECIDED, count
        lc = b1 & 0x7F
        plen = lc if lc < 126 else int.from_bytes(buf[p + 2:p + (4 if lc == 126 else 10)], "big")
        if not plausible(b0, b1, lc, plen, client, rsv_allowed):
            return INVALID, count
        p += hl + plen
        if p > n:
            return (PROVEN if count >= 3 else UNDECIDED), count
        count += 1


def exact_chain(buf: bytes, client: bool | None, rsv_allowed: int) -> int:
    """The number of plausible frames *buf* is from its first byte when they end exactly at its end, else 0."""
    verdict, count = chain(buf, 0, len(buf), client, rsv_allowed)
    if verdict == INVALID or not count:
        return 0
    p = 0
    while p < len(buf):
        span = frame_span(buf, p)
        if span < 0:
            return 0
        p += span
    return count if p == len(buf) else 0


def unproven_end_note(size: int, frames: int) -> str:
    """The ``ws.resync`` message for *size* bytes left unsynchronised at the end, *frames* of them decodable."""
    if not frames:
        return f"{size} bytes at the end could not be decoded: no frame boundary found"
    return (f"capture ended before a frame boundary could be proven; {frames} frame(s) decoded assuming one at the "
            "first captured byte")


class ProbeResult(NamedTuple):
    verdict: int  # UNDECIDED, INVALID or PROVEN
    frames: int  # plausible frames in the chain
    masked: bool | None  # their mask bit (None: too few bytes to tell)


def probe(buf: bytes) -> ProbeResult:
    """Does a direction's first data look like WebSocket frames?  The chain must start at the first byte and keep
    one mask bit throughout (clients mask every frame, servers none)."""
    if len(buf) < 2:
        return ProbeResult(UNDECIDED, 0, None)
    masked = bool(buf[1] & 0x80)
    verdict, count = chain(buf, 0, len(buf), masked, 4)
    return ProbeResult(verdict, count, masked)


def check_frame(b0: int, b1: int, plen: int, from_client: bool | None, rsv_allowed: int) -> list[tuple[str, str]]:
    """What is wrong with a frame header: ``[(finding code, message)]`` (empty for a good frame)."""
    problems = []
    opcode = b0 & 0x0F
    rsv = (b0 >> 4) & 7
    masked = bool(b1 & 0x80)
    if from_client is True and not masked:
        problems.append(("ws.frame.unmasked_client", "client frame is not masked"))
    elif from_client is False and masked:
        problems.append(("ws.frame.masked_server", "server frame is masked"))
    if rsv & ~rsv_allowed:
        problems.append(("ws.frame.rsv", f"RSV bits 0x{rsv:x} set; negotiated extensions allow 0x{rsv_allowed:x}"))
    elif rsv & 4 and (opcode == Opcode.CONTINUATION or is_control(opcode)):
        problems.append(("ws.frame.rsv1_continuation", "RSV1 set on a continuation or control frame"))
    if opcode not in KNOWN_OPCODES:
        problems.append(("ws.frame.reserved_opcode", f"reserved opcode 0x{opcode:x}"))
    if is_control(opcode):
        if plen > 125:
            problems.append(("ws.frame.control_length", f"control frame payload of {plen} bytes"))
        if not b0 & 0x80:
            problems.append(("ws.frame.control_fragmented", "control frame with FIN=0"))
    lc = b1 & 0x7F
    if lc == 127 and plen >> 63:
        problems.append(("ws.frame.length_msb", "64-bit length with its most significant bit set"))
    elif (lc == 126 and plen < 126) or (lc == 127 and plen < 65536):
        problems.append(("ws.frame.length_encoding", f"length {plen} sent in the {16 if lc == 126 else 64}-bit "
                         "form"))
    return problems
