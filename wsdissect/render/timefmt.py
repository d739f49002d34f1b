"""tshark's time formats for the packet list's Time column (``-t a|ad|r|d|dd|e|u|ud``)."""
from __future__ import annotations

import time
from typing import Callable

from ..errors import UsageError

FORMATS = ("a", "ad", "r", "d", "dd", "e", "u", "ud")


def _clock(ts: float, dated: bool, utc: bool) -> str:
    secs = int(ts // 1)
    micros = int(round((ts - secs) * 1e6))
    if micros >= 1_000_000:
        secs, micros = secs + 1, micros - 1_000_000
    parts = time.gmtime(secs) if utc else time.localtime(secs)
    return time.strftime("%Y-%m-%d %H:%M:%S" if dated else "%H:%M:%S", parts) + f".{micros:06d}"


class TimeColumn:
    """The Time column text of each listed packet, in one of tshark's ``-t`` formats.  ``d`` is the time since
    the previous packet the driver handed on (without a filter: the previous captured TCP packet), ``dd`` since
    the previous listed one."""

    def __init__(self, kind: str = "r"):
        if kind not in FORMATS:
            raise UsageError(f"-t {kind!r}: use one of {', '.join(FORMATS)}")
        self.kind = kind
        self.t0: float | None = None
        self.prev: float | None = None
        self.width = {"a": 15, "ad": 26, "u": 15, "ud": 26, "e": 17}.get(kind, 10)
        self.text: Callable[[float], str] = getattr(self, "_" + kind)

    def _r(self, ts: float) -> str:
        return f"{ts - (self.t0 if self.t0 is not None else ts):.6f}"

    def _delta(self, ts: float) -> str:
        prev, self.prev = self.prev, ts
        return f"{ts - (prev if prev is not None else ts):.6f}"

    _d = _dd = _delta

    def _e(self, ts: float) -> str:
        return f"{ts:.6f}"

    def _a(self, ts: float) -> str:
        return _clock(ts, False, False)

    def _ad(self, ts: float) -> str:
        return _clock(ts, True, False)

    def _u(self, ts: float) -> str:
        return _clock(ts, False, True)

    def _ud(self, ts: float) -> str:
        return _clock(ts, True, True)
