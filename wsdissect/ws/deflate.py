"""permessage-deflate (RFC 7692) inflation for one direction, with a size guard.

Contract: ``inflate(data) -> (payload, problem)`` where *problem* is None or an :class:`InflateProblem` whose
``code`` is a finding code: ``ws.deflate.error`` (corrupt data), ``ws.deflate.no_context`` (the message refers to
history this inflater never saw: the capture started after the handshake or lost bytes), ``ws.deflate.limit`` (the
decompressed size or ratio limit was hit; the payload is cut there).

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

    code: str  # ws.deflate.error, ws.deflate.no_context or ws.deflate.limit
    detail: str


WINDOW = 1 << 15  # the largest LZ77 window: history a later message may refer to
TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.2: appended before inflating


class Inflater:
    def __init__(self, no_context_takeover: bool = False, max_size: int = 64 << 20, max_ratio: int = 1000,
                 history_known: bool = True):
        self.no_context_takeover = no_context_takeover
        self.max_size = max_size
        self.max_ratio = max_ratio
        self._d = None
        self.history_known = history_known  # False: earlier messages were not seen
        self.messages = 0
        self.recent: deque[bytes] = deque()  # the last outputs: at least the last WINDOW bytes when available
        self.recent_size = 0  # bytes in ``recent``

    def lose_history(self) -> None:
        """Bytes were lost: restart with an empty window (later back-references then fail, never lie)."""
        self._d = None
        self.history_known = False
        self.recent = deque()
        self.recent_size = 0

    def _remember(self, out: bytes) -> None:
        """Keep the last WINDOW bytes of output, to continue after a message that ended the deflate stream."""
        self.recent.append(out)
        self.recent_size += len(out)
        if self.recent_size > WINDOW + 8192:  # trim now and then: the oldest outputs are no longer needed
            recent, size = self.recent, self.recent_size
            while size - len(recent[0]) >= WINDOW:
                size -= len(recent.popleft())
            self.recent_size = size

    def inflate(self, data: bytes) -> tuple[bytes, InflateProblem | None]:
        """The decompressed message and None, or what could be inflated and the problem (a plain 2-tuple: the C
        lane calls this too)."""
        if self._d is None or self.no_context_takeover:
            # A 15-bit window decodes any stream compressed with a smaller one (RFC 7692 7.1.2).
            self._d = _inflate_lib.decompressobj(wbits=-15)
        self.messages += 1
        # at least 1: zlib takes a max_length of 0 to mean "no limit"
        limit = max(1, min(self.max_size, max(len(data), 1024) * self.max_ratio))
        try:
            out = self._d.decompress(data + TAIL, limit)
        except INFLATE_ERRORS as e:
            self._d = None
            known = self.history_known or self.no_context_takeover
            self.history_known = False
            return b"", InflateProblem("ws.deflate.error" if known else "ws.deflate.no_context", str(e))
        d = self._d
        if d.unconsumed_tail:
            self.lose_history()
            return out[:self.max_size], InflateProblem("ws.deflate.limit", f"decompressed size passed {limit} bytes")
        if d.eof:
            # the message ended with a final (BFINAL) block: the stream ends here, but with context takeover the
            # next message still refers to this window (RFC 7692 7.2.3.4)
            if d.unused_data.strip(b"\x00") not in (b"", b"\xff\xff"):
                self.lose_history()
                return b"", InflateProblem("ws.deflate.error", "data after the final deflate block")
            if self.no_context_takeover:
                self._d = None
            else:
                self._remember(out)
                zdict = b"".join(self.recent)[-WINDOW:]
                self._d = _inflate_lib.decompressobj(wbits=-15, zdict=zdict) if zdict else None
            return out, None
        if not self.no_context_takeover:
            self._remember(out)
        return out, None
