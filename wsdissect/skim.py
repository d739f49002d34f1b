"""Skimming (``show --frame N``'s fast-forward): the packets before N are decoded for the state later packets'
trees need and nothing else.  A skimmed packet gets no Packet event (a :class:`Skimmed` in its place) and its
WebSocket frames no WsFrame events, so the C lane runs as in an export; the TCP analysis and relative numbers are
still fed.  :func:`resume` switches the dissector back and hands over what the frames' events would have told:
the fragments so far of each message in progress."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

from .connection import Connection, held_from
from .tcp.analysis import Segment

if TYPE_CHECKING:
    from .pipeline import Dissector

# findings after which the fragments of a connection's message in progress cannot be told from its assembler alone
SKIM_UNSAFE = frozenset({"tcp.gap", "tcp.buffer_limit", "ws.frame.incomplete", "ws.resync", "ws.message.continuation",
                         "ws.message.incomplete", "ws.message.too_large"})
Fragments = dict[tuple[int, str], list[tuple[int, int]]]  # (connection index, direction) -> (frame, payload length)


class Skimmed(NamedTuple):
    """A skimmed packet, in place of its Packet event."""

    frame: int
    ts: float


def skim(d: "Dissector") -> None:
    """Decode *d*'s next packets for their state only, until :func:`resume`.  Call before its first packet."""
    d.opts = dataclasses.replace(d.opts, frames=False)  # shared by the connections: resume sets it back
    relative, analysis = d.relative, d.analysis

    def tcp_state(frame, ts, _wire_len, _linktype, data, seg, c, from_client) -> Skimmed:
        flags = seg.flags
        relative.numbers(c.conn.index, from_client, seg.seq, seg.ack, flags)
        analysis.packet(c.conn.index, from_client, Segment(
            frame, ts, seg.seq, seg.ack, flags, seg.window, seg.payload_len, data, seg.tcp_offset))
        return Skimmed(frame, ts)

    d._packet_event = tcp_state  # type: ignore[method-assign]
    d._other_packet = lambda frame, ts, _linktype, _data, _wire_len: Skimmed(frame, ts)  # type: ignore


def resume(d: "Dissector", unsafe: set[int]) -> Fragments | None:
    """Back to full view decoding.  Returns (frame, payload length) of the fragments so far of each WebSocket
    message in progress; None when that is not known exactly (a connection of *unsafe*, those with a
    :data:`SKIM_UNSAFE` finding, is still open, or a message's fragments were cut) or when a connection holds
    bytes undecided (a full run would hold packets for them): decode from the start then."""
    del d._packet_event, d._other_packet
    d.opts.frames = True
    fragments: Fragments = {}
    held: list = []  # (what the lane held back goes to the parser; its events belong to earlier packets)
    for c in {id(c): c for c in d.flows.values()}.values():
        if c.__class__ is not Connection:
            continue
        if held_from(c) is not None:  # undecided bytes: a full run holds packets for them (run.regroup)
            return None
        streams = [s.ws for s in (c.c2s, c.s2c) if s.ws is not None]
        if streams and c.conn.index in unsafe:
            return None
        for ws in streams:
            if ws.lane is not None:
                ws.lane.flush(ws, held)
                ws.lane = None
            ws.frames = True
            so_far = ws.asm.fragments_so_far()
            if so_far is None:
                return None
            if so_far:
                fragments[(c.conn.index, ws.name)] = so_far
    return fragments
