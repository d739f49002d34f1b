"""The WebSocket lifecycle a connection summarises: who closed first and with what, pings paired with pongs.

Contract (sans-IO): ``control(direction, message)`` is told every control message of the connection in order and
returns a finding ``(code, message)`` when something is wrong (a pong that answers no ping), else None.
"""
from __future__ import annotations

from ..events import Message
from ..rfc6455 import Opcode
from .pings import PingBook

MAX_PENDING_PINGS = 64  # unanswered pings remembered per connection


class Lifecycle:
    __slots__ = ("first_close", "close_codes", "pings", "rtts")

    def __init__(self) -> None:
        self.first_close: str | None = None  # direction of the first Close frame
        self.close_codes: dict[str, tuple] = {}  # direction -> (code, reason)
        self.pings = PingBook(MAX_PENDING_PINGS)
        self.rtts: list | None = None  # [count, total, min, max] of ping round-trip times

    def control(self, direction: str, m: Message) -> tuple[str, str] | None:
        op = m.opcode
        if op == Opcode.CLOSE:
            if self.first_close is None:
                self.first_close = direction
            self.close_codes[direction] = (m.close_code, m.close_reason)
        elif op == Opcode.PING:
            self.pings.ping(direction, m.payload, m.last_ts)
        elif op == Opcode.PONG:
            sent = self.pings.pong(direction, m.payload)
            if sent is not None:
                self._rtt(m.last_ts - sent)
            elif m.complete:
                return "ws.pong.unsolicited", "pong payload matches no outstanding ping"
        return None

    def _rtt(self, rtt: float) -> None:
        r = self.rtts
        if r is None:
            self.rtts = [1, rtt, rtt, rtt]
        else:
            r[0] += 1
            r[1] += rtt
            r[2] = min(r[2], rtt)
            r[3] = max(r[3], rtt)

    @property
    def ping_rtt(self) -> tuple[int, float, float, float] | None:
        """Answered pings: (count, min, avg, max) seconds."""
        r = self.rtts
        return None if r is None else (r[0], r[2], r[1] / r[0], r[3])

    def forget_pings(self) -> None:
        self.pings.clear()
