"""permessage-deflate (RFC 7692) inflation for one direction, with a size guard.

Contract: ``inflate(data) -> (payload, problem)`` where *problem* is None or an :class:`InflateProblem` whose
``code`` is a finding code: ``ws.deflate.error`` (corrupt data), ``ws.deflate.no_context`` (the message refers to
history this inflater never saw: the capture started after the handshake or lost bytes), ``ws.deflate.limit`` (the
decompressed size or ratio limit was hit; the payload is cut there and the history is lost), ``ws.message.too_large``
(the decompressed message is longer than the bytes kept; the rest was inflated and dropped, the history is intact).
Memory: the kept payload is one bytes object; the rest streams through in CHUNKs.

Soundness: after any loss (``lose_history``) inflation restarts with an empty window.  A raw-deflate back-reference
further than the output produced so far fails, so every message inflated afterwards is either exact or an error,
never silently wrong.
"""
from __future__ import annotations

import zlib
from collections import deque
from typing import NamedTuple

try:  # Intel ISA-L's inflate: the same output as zlib's (a deflate stream has one decoding), 1.5-2x faster
    from isal import isal_zlib as _inflate_lib  # type: ignore[import-not-found]
    from isal.isal_zlib import error as _isal_error  # type: ignore[import-not-found]

    INFLATE_ERRORS: tuple = (zlib.error, _isal_error)
except ImportError:  # pragma: no cover - isal has wheels for the common platforms; zlib is the fallback
    _inflate_lib = zlib
    INFLATE_ERRORS = (zlib.error,)



class InflateProblem(NamedTuple):
    """Why a message could not be inflated (fully): a finding code and what happened."""

    code: str  # ws.deflate.error, ws.deflate.no_context, ws.deflate.limit or ws.message.too_large
    detail: str
    raw: bytes | None = None  # the compressed payload, when nothing of it could be inflated


WINDOW = 1 << 15  # the largest LZ77 window: history a later message may refer to
TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.2: appended before inflating
CHUNK = 1 << 20  # decompressed bytes asked for at a time once the kept part is full (discarded as they come)
CUT_CODES = frozenset({"ws.deflate.limit", "ws.message.too_large"})  # problems that cut the payload


class Inflater:
    """permessage-deflate for one direction.

    Three bounds: *max_size* decompressed bytes are produced per message at most (the CPU bound, ``--max-inflated``);
    *max_ratio* (0 = off) bounds them further to that many times the compressed size (``--max-ratio``); *max_keep*
    bytes of the result are kept (``--max-message``).  Past *max_keep* the rest is inflated and discarded, so the
    window stays right for the next message; past the CPU or ratio bound inflation stops and the history is
    declared lost (later messages are exact or ``ws.deflate.no_context``)."""

    def __init__(self, no_context_takeover: bool = False, max_size: int = 64 << 20, max_ratio: int = 0,
                 history_known: bool = True, max_keep: int | None = None):
        self.no_context_takeover = no_context_takeover
        self.max_size = max_size
        self.max_ratio = max_ratio
        self.max_keep = max_size if max_keep is None else max_keep
        self._d = None
        self.history_known = history_known  # False: earlier messages were not seen
        self.messages = 0
        # the last outputs (references, no copies), at least the last WINDOW bytes of them when there are that
        # many: the history to continue with after a message that ended the deflate stream
        self.recent: deque[bytes] = deque()
        self.recent_size = 0

    def lose_history(self) -> None:
        """Bytes were lost: restart with an empty window (later back-references then fail, never lie)."""
        self._d = None
        self.history_known = False
        self.recent = deque()
        self.recent_size = 0

    def _remember(self, out: bytes) -> None:
        """One more output for the history (a large one by its last WINDOW bytes); the oldest outputs are dropped
        now and then, once the newer ones hold WINDOW bytes."""
        n = len(out)
        if n > 2 * WINDOW:
            out, n = out[-WINDOW:], WINDOW
        self.recent.append(out)
        self.recent_size += n
        if self.recent_size > WINDOW + 8192:
            recent, size = self.recent, self.recent_size
            while size - len(recent[0]) >= WINDOW:
                size -= len(recent.popleft())
            self.recent_size = size

    def _ratio_budget(self, compressed: int) -> int:
        """Decompressed bytes this message may produce when a ratio bounds them (else ``max_size``)."""
        return min(self.max_size, max(compressed, 1024) * self.max_ratio)

    def inflate(self, data: bytes) -> tuple[bytes, InflateProblem | None]:
        """The decompressed message and None, or what could be inflated and the problem (a plain 2-tuple: the C
        lane calls this too)."""
        if self._d is None or self.no_context_takeover:
            # A 15-bit window decodes any stream compressed with a smaller one (RFC 7692 7.1.2).
            self._d = _inflate_lib.decompressobj(wbits=-15)
        self.messages += 1
        budget = self._ratio_budget(len(data)) if self.max_ratio else self.max_size
        try:
            kept, produced, tail = self._run(data + TAIL, budget)
        except INFLATE_ERRORS as e:
            self._d = None
            known = self.history_known or self.no_context_takeover
            self.history_known = False
            return b"", InflateProblem("ws.deflate.error" if known else "ws.deflate.no_context", str(e), data)
        if produced > budget:
            self.lose_history()
            what = f"{self.max_ratio}:1 ratio" if budget < self.max_size else f"{self.max_size}-byte"
            return kept, InflateProblem("ws.deflate.limit", f"decompressed size passed the {what} limit; inflation "
                                        "stopped and the compression history is lost")
        problem = None
        if produced > len(kept):
            problem = InflateProblem("ws.message.too_large", f"decompressed message of {produced} bytes exceeds the "
                                     f"{self.max_keep}-byte limit; payload truncated")
        if self._d.eof:
            broken = self._stream_end(data, tail)
            if broken is not None:
                return b"", broken
        elif not self.no_context_takeover:  # (the common message: the stream goes on, its history with it)
            self._remember(tail)
        return kept, problem

    def _run(self, buf: bytes, budget: int) -> tuple[bytes, int, bytes]:
        """Inflate one message: the kept bytes, how many were produced (budget + 1 at most), the end of the output
        (the kept bytes themselves when nothing followed them, else the last WINDOW bytes).  Beyond the kept part, output is asked for in CHUNKs and dropped as it comes.  (zlib may hold
        output back even when all input is consumed: only a short read proves the message is over.)"""
        d = self._d
        keep = min(self.max_keep, budget)
        kept = d.decompress(buf, keep) if keep else b""  # one object: the payload is never copied again
        produced, tail = len(kept), kept  # (a reference: the history keeps what it needs of it)
        if keep:
            buf = d.unconsumed_tail
        while produced <= budget and not d.eof and (buf or produced >= keep):  # more may be pending
            want = min(CHUNK, budget + 1 - produced)
            out = d.decompress(buf, want)
            produced += len(out)
            tail = (tail[-WINDOW:] + out[-WINDOW:])[-WINDOW:]
            buf = d.unconsumed_tail
            if len(out) < want and not buf:
                break
        return kept, produced, tail

    def _stream_end(self, data: bytes, tail: bytes) -> InflateProblem | None:
        """The message ended with a final (BFINAL) block: the deflate stream ends here, but with context takeover
        the next message still refers to this window (RFC 7692 7.2.3.4)."""
        if self._d.unused_data.strip(b"\x00") not in (b"", b"\xff\xff"):
            self.lose_history()
            return InflateProblem("ws.deflate.error", "data after the final deflate block", data)
        if self.no_context_takeover:
            self._d = None
        else:
            self._remember(tail)
            window = b"".join(self.recent)[-WINDOW:]
            self._d = _inflate_lib.decompressobj(wbits=-15, zdict=window) if window else None
        return None
