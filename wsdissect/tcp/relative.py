"""Relative TCP sequence and acknowledgement numbers, computed as tshark does (for the views only).

Each direction's base is its SYN's sequence number (the SYN is 0, the first data byte 1).  A connection seen
without its SYN takes the first sequence number seen in a direction as 1, and, before that direction is seen,
the first acknowledgement number sent to it as 1.  Bases never move afterwards, so the numbers of one direction
stay consistent whatever the reassembly makes of the bytes.
"""
from __future__ import annotations

_MOD = 0xFFFFFFFF
_SYN, _ACK = 0x02, 0x10


class RelativeNumbers:
    """Per connection (by index): the two directions' bases."""

    __slots__ = ("bases",)

    def __init__(self) -> None:
        self.bases: dict[int, list] = {}  # connection index -> [client base, server base]

    def numbers(self, conn: int, from_client: bool, seq: int, ack: int, flags: int) -> tuple[int, int | None]:
        """``(relative seq, relative ack or None without the ACK flag)`` of one segment."""
        bases = self.bases.get(conn)
        if bases is None:
            bases = self.bases[conn] = [None, None]
        me, peer = (0, 1) if from_client else (1, 0)
        if flags & _SYN:
            bases[me] = seq
        elif bases[me] is None:
            bases[me] = (seq - 1) & _MOD
        rel_ack = None
        if flags & _ACK:
            if bases[peer] is None:
                bases[peer] = (ack - 1) & _MOD
            rel_ack = (ack - bases[peer]) & _MOD
        return (seq - bases[me]) & _MOD, rel_ack

    def forget(self, conn: int) -> None:
        self.bases.pop(conn, None)

    def swap(self, conn: int) -> None:
        """The connection's client and server were the wrong way round: each direction keeps its base."""
        bases = self.bases.get(conn)
        if bases is not None:
            bases.reverse()
