"""Skimming (``show --frame N``'s fast-forward): the packets before N are decoded for the state later packets'
trees need and nothing else.  A skimmed packet gets no Packet event (a :class:`Skimmed` in its place) and its
WebSocket frames no WsFrame events, so the C lane runs as in an export; the TCP analysis and relative numbers are
still fed.  :func:`resume` switches the dissector back and hands over what the frames' events would have told:
the fragments so far of each message in progress."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

from .connection import Connection, held_from

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
    d.skimming = True  # a Skimmed in place of each Packet; TCP analysis and relative numbers still fed


def resume(d: "Dissector", unsafe: set[int]) -> Fragments | None:
    """Back to full view decoding.  Returns (frame, payload length) of the fragments so far of each WebSocket
    message in progress; None when that is not known exactly (a connection of *unsafe*, those with a
    :data:`SKIM_UNSAFE` finding, is still open, or a message's fragments were cut) or when a connection holds
    bytes undecided (a full run would hold packets for them): decode from the start then."""
    d.skimming = False
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
            ws.report_frames(held)
            so_far = ws.asm.fragments_so_far()
            if so_far is None:
                return None
            if so_far:
                fragments[(c.conn.index, ws.name)] = so_far
    return fragments
