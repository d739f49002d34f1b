"""What the driver hands on: the one place where filters select packets, messages and findings.

A :class:`Selection` combines the option filters (:class:`~wsdissect.filters.EventFilter`), a display filter
(``-Y``, :mod:`wsdissect.display_filter`) and ``--ws-only``.  Packet views (``per_packet``) show a packet whole or
not at all.  Message views (follow, stats, expert, export, report) keep a packet's messages, findings and HTTP
events when the packet that produced them is selected by the display filter (a message belongs to the packet that
completed it).  Selection never changes decoding: it only chooses what is passed on.
"""
from __future__ import annotations

from typing import Callable

from ..events import CaptureStart, Finding, HttpRequest, HttpResponse, Message, Packet, Upgrade, WsFrame

#: event classes that belong to one packet: a display filter selects them with their packet (and cannot select
#: them without one); the others (capture start and end, upgrades, connection ends) are never held back by it
_PER_PACKET = frozenset((Packet, WsFrame, Message, HttpRequest, HttpResponse, Finding))


def is_ws_packet(pkt: Packet, events: list) -> bool:
    """``--ws-only``: a packet that carries WebSocket frames (or completes a message), or the HTTP upgrade
    request or its response -- never an ordinary HTTP exchange."""
    for ev in events:
        cls = ev.__class__
        if cls is WsFrame or cls is Message or cls is Upgrade:
            return True
        if cls is HttpRequest and ev.is_upgrade and ev.frame == pkt.frame:
            return True
        if cls is HttpResponse and ev.frame == pkt.frame and (
                ev.status == 101 or ev.request is not None and ev.request.is_upgrade):
            return True
    return False


class Selection:
    """The selector of one driver run: ``select(events_of_one_packet) -> selected events``."""

    def __init__(self, event_filter=None, display=None, *, per_packet: bool = False, ws_only: bool = False,
                 drop: tuple = ()):
        self.filter = event_filter if event_filter is not None and getattr(event_filter, "active", True) else None
        self.display = display  # a compiled display filter: predicate over PacketFields
        self.fields = None
        if display is not None:  # (the field tables are imported only for -Y)
            from ..filter_fields import PacketFields

            self.fields = PacketFields
        self.per_packet = per_packet
        self.ws_only = ws_only
        self.drop = drop  # event classes decoded only for the display filter (Packet, WsFrame): not handed on
        self.t0 = 0.0
        self.chosen: set[int] = set()  # connections with a packet the display filter selected (this capture)

    @property
    def active(self) -> bool:
        return self.filter is not None or self.display is not None or self.ws_only

    def function(self) -> Callable[[list], list] | None:
        """The selecting function, or None when everything is kept."""
        if not self.active:
            return None
        if self.filter is not None and self.display is None and not self.ws_only:
            accepts = self.filter.accepts
            if not self.per_packet:
                return lambda evs: [ev for ev in evs if accepts(ev)]
        return self.select

    def _accepts(self, ev) -> bool:
        if ev.__class__ is CaptureStart:
            self.t0 = ev.ts
            self.chosen.clear()
        return self.filter is None or self.filter.accepts(ev)

    def _chosen(self, ev) -> bool:
        """A connection-level event (upgrade, connection end) under a display filter: kept for the connections
        that had a selected packet."""
        conn = getattr(ev, "conn", None)
        return conn is None or conn.index in self.chosen

    def packet_ok(self, pkt: Packet, events: list) -> bool:
        """Is this packet (with the events it produced) selected by every criterion?"""
        if self.per_packet and self.filter is not None and not self.filter.packet_ok(pkt, events):
            return False
        if self.ws_only and not is_ws_packet(pkt, events):
            return False
        return self.display is None or self.display(self.fields(pkt, events, self.t0))

    def _loose(self, evs: list) -> list:
        """Events that came without their packet: a display filter cannot select per-packet events among them."""
        if self.display is not None or self.ws_only:
            return [ev for ev in evs if ev.__class__ not in _PER_PACKET and self._chosen(ev) and self._accepts(ev)]
        return [ev for ev in evs if self._accepts(ev)]

    def select(self, evs: list) -> list:
        for i, ev in enumerate(evs):
            if ev.__class__ is Packet:
                head = self._loose(evs[:i]) if i else []
                rest = evs[i + 1:]
                if not self.packet_ok(ev, rest):
                    return head + self._loose(rest) if not self.per_packet else head
                if ev.conn is not None:
                    self.chosen.add(ev.conn.index)
                if self.per_packet:
                    return head + evs[i:]
                drop = self.drop
                return head + [e for e in rest if e.__class__ not in drop and self._accepts(e)]
        return self._loose(evs)
