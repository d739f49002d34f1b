"""permessage-deflate (RFC 7692) inflation for one direction, with a size guard.

Contract: ``inflate(data) -> (payload, problem)`` where *problem* is None or a finding code:
``ws.deflate.error`` (corrupt data), ``ws.deflate.no_context`` (the message refers to history this inflater never
saw: the capture started after the handshake or lost bytes), ``ws.deflate.limit`` (the decompressed size or ratio
limit was hit; the payload is cut there).

Soundness: after any loss (``lose_history``) inflation restarts with an empty window.  A raw-deflate back-reference
further than the output produced so far fails, so every message inflated afterwards is either exact or an error,
never silently wrong.
"""
from __future__ import annotations

import zlib

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

    def lose_history(self) -> None:
        """Bytes were lost: restart with an empty window (later back-references then fail, never lie)."""
        self._d = None
        self.history_known = False

    def inflate(self, data: bytes) -> tuple[bytes, str | None]:
        if self._d is None or self.no_context_takeover:
            # A 15-bit window decodes any stream compressed with a smaller one (RFC 7692 7.1.2).
            self._d = zlib.decompressobj(wbits=-15)
        self.messages += 1
        limit = min(self.max_size, max(len(data), 1024) * self.max_ratio)
        try:
            out = self._d.decompress(data + TAIL, limit)
        except zlib.error as e:
            self._d = None
            known = self.history_known or self.no_context_takeover
            self.history_known = False
            return b"", ("ws.deflate.error" if known else "ws.deflate.no_context") + f":{e}"
        if self._d.unconsumed_tail:
            self._d = None
            self.history_known = False
            return out, f"ws.deflate.limit:decompressed size passed {limit} bytes"
        return out, None
