"""Packet views: every event on the packet it belongs to, also when the bytes behind it were held and decoded later.

A connection may hold payload bytes undecided for a while: the WebSocket heuristic waits for proof before it calls a
connection WebSocket (``detect.py``), and a direction that starts mid-stream (``--decode-as``) or lost bytes waits
for a provable frame boundary (``ws/frames.py``).  The frames decoded from those bytes afterwards carry the numbers
of the packets that completed them, as Wireshark attaches them, but the pipeline hands them on with the packet that
let them be decoded.  The :class:`Regrouper` holds the packets from the first held one on (in order) and moves each
such event back to its own packet, so that the list, the tree, ``--frame`` and display filters all see it there.

Only the packets whose payload went into a held buffer can receive events later, and only from their own
connection: what happens elsewhere never depends on whether some other connection holds bytes.  At most
``MAX_HELD`` packets and ``MAX_HELD_BYTES`` of their captured bytes wait (memory stays bounded on loopback captures
of 64 KiB segments too); past that the oldest are handed on and an event for one of them stays on the packet that
decoded it (as without the regrouper).
"""
from __future__ import annotations

from collections import deque
from typing import Protocol

from ..events import Finding, HttpRequest, HttpResponse, Message, Packet, TlsRecordSeen, WsFrame

MAX_HELD = 8192  # packets held back at most while a connection decides on its bytes
MAX_HELD_BYTES = 32 << 20  # ... and their captured bytes at most

_ON_FRAME = (WsFrame, Finding, HttpRequest, HttpResponse, TlsRecordSeen)


class Holder(Protocol):
    """What the regrouper asks the dissector after each packet (:class:`wsdissect.pipeline.Dissector`)."""

    def holds(self, conn: int) -> bool: ...

    def held_since(self) -> int | None: ...


def event_frame(ev) -> int | None:
    """The packet an event belongs to: where a frame, record or HTTP head completed, where a message's last
    fragment completed, where a finding was made; None for the connection- and capture-level events."""
    cls = ev.__class__
    if cls is Message:
        return ev.last_frame
    if cls in _ON_FRAME:
        return ev.frame
    return None


def _packet_of(events: list) -> Packet | None:
    for ev in events:
        if ev.__class__ is Packet:
            return ev
    return None


class Regrouper:
    """Per-packet event lists in, the same lists out (in order, possibly later), each event on its packet."""

    __slots__ = ("holder", "limit", "byte_limit", "held_bytes", "queue", "targets")

    def __init__(self, holder: Holder, limit: int = MAX_HELD, byte_limit: int = MAX_HELD_BYTES):
        self.holder = holder
        self.limit = limit
        self.byte_limit = byte_limit
        self.held_bytes = 0  # captured bytes of the packets in the queue
        self.queue: deque[tuple[int, list, int]] = deque()  # (frame, events, bytes) not handed on yet, in order
        self.targets: dict[int, tuple[int, list]] = {}  # frame -> (connection index, events) of held packets

    def add(self, events: list) -> list[list]:
        """One packet's events (as the dissector returned them): the lists that are ready to be handed on."""
        pkt = events[0] if events and events[0].__class__ is Packet else _packet_of(events)  # (it comes first)
        if not self.queue:
            if pkt is None or pkt.conn is None or not pkt.payload_len or not self.holder.holds(pkt.conn.index):
                return [events]  # the common case: nothing held
        elif self.targets:
            events = self._move_back(events, pkt)
        frame = pkt.frame if pkt is not None else self.queue[-1][0] if self.queue else 0
        size = len(pkt.data) if pkt is not None else 0
        self.queue.append((frame, events, size))
        self.held_bytes += size
        if pkt is not None and pkt.conn is not None and pkt.payload_len and self.holder.holds(pkt.conn.index):
            self.targets[frame] = (pkt.conn.index, events)
        return self._ready(self.holder.held_since())

    def end(self, events: list) -> list[list]:
        """The dissector's last events (connections flushed at the end of the capture), then everything held."""
        if self.targets:
            events = self._move_back(events, None)
        self.queue.append((0, events, 0))
        return self._ready(None)

    def _move_back(self, events: list, pkt: Packet | None) -> list:
        """*events* without those that belong to a held packet of their connection (appended to that packet's)."""
        targets = self.targets
        current = pkt.frame if pkt is not None else None
        kept = []
        for ev in events:
            f = event_frame(ev)
            target = targets.get(f) if f is not None and f != current else None
            conn = getattr(ev, "conn", None)
            if target is not None and conn is not None and conn.index == target[0]:
                target[1].append(ev)
            else:
                kept.append(ev)
        return kept

    def _ready(self, held_since: int | None) -> list[list]:
        """Hand on the lists before the first packet still held (all when none is), and the oldest past the
        limit."""
        queue, ready = self.queue, []
        while queue and (held_since is None or queue[0][0] < held_since or len(queue) > self.limit
                         or self.held_bytes > self.byte_limit):
            frame, events, size = queue.popleft()
            self.held_bytes -= size
            self.targets.pop(frame, None)
            if events:
                ready.append(events)
        return ready
