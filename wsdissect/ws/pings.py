"""Pairing Pongs with the Pings they answer (RFC 6455 5.5.2-5.5.3), for one connection.

A Pong answers a Ping of the other direction with the same payload.  Pings with the same payload (empty pings
are the common case) are answered in the order they were sent, so each is remembered, not only the last one.
Sans-IO: told directions, payloads and times; never prints.
"""
from __future__ import annotations

from collections import deque

from ..flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT


class PingBook:
    """Outstanding pings of one connection, at most ``limit`` of them (the oldest are forgotten first)."""

    __slots__ = ("limit", "count", "waiting")

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self.count = 0
        self.waiting: dict[tuple[str, bytes], deque] = {}  # (direction, payload) -> send times, oldest first

    def ping(self, direction: str, payload: bytes, ts: float) -> None:
        """A Ping was sent in *direction* at *ts*."""
        if self.count >= self.limit:
            self._forget_oldest()
        times = self.waiting.get((direction, payload))
        if times is None:
            times = self.waiting[(direction, payload)] = deque()
        times.append(ts)
        self.count += 1

    def pong(self, direction: str, payload: bytes) -> float | None:
        """A Pong was sent in *direction*: the send time of the Ping it answers, or None if it answers none."""
        other = SERVER_TO_CLIENT if direction == CLIENT_TO_SERVER else CLIENT_TO_SERVER
        times = self.waiting.get((other, payload))
        if not times:
            return None
        sent = times.popleft()
        if not times:
            del self.waiting[(other, payload)]
        self.count -= 1
        return sent

    def clear(self) -> None:
        self.waiting.clear()
        self.count = 0

    def _forget_oldest(self) -> None:
        key = min(self.waiting, key=lambda k: self.waiting[k][0])
        times = self.waiting[key]
        times.popleft()
        if not times:
            del self.waiting[key]
        self.count -= 1
