"""TCP analysis of the views (sans-IO): tshark's analysis flags and the scaled window of every packet.

The dissector feeds every TCP packet of a connection in capture order (views only), before any filter selects,
so a packet's flags never depend on what else is shown.  Flags are named and decided as tshark's TCP analysis
does, from the headers alone.

Per connection direction it keeps the next expected sequence number, the last acknowledgement and window sent,
the duplicate-ACK count and whether the last segment was a keep-alive.  The flags, in tshark's order of checks:
``TCP ACKed unseen segment``,
``TCP ZeroWindow``, ``TCP Previous segment not captured``, ``TCP Keep-Alive``, ``TCP Window Update``,
``TCP Keep-Alive ACK``, ``TCP Dup ACK F#N``, and for data below the next expected sequence number
``TCP Spurious Retransmission`` (already acknowledged), ``TCP Out-Of-Order`` (sooner after the direction's
highest sequence number than the handshake's round trip, 3 ms without one, and not ending where the next byte
is expected) or ``TCP Retransmission``.
"""
from __future__ import annotations

from typing import NamedTuple

from ..capture.layers import tcp_window_scale

_MOD = 1 << 32
_SYN, _FIN, _RST, _ACK = 0x02, 0x01, 0x04, 0x10
OUT_OF_ORDER_WINDOW = 0.003  # seconds: tshark's threshold without a measured handshake round trip


def _after(a: int, b: int) -> bool:
    """Sequence number *a* is after *b* (modulo 2**32)."""
    return 0 < (a - b) % _MOD < _MOD // 2


class _Side:
    __slots__ = ("next_seq", "last_ack", "last_win", "dup_count", "dup_frame", "keep_alive", "last_ts", "syn_ts",
                 "rtt", "unseen",
                 "shift")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.last_ack: int | None = None
        self.last_win: int | None = None
        self.dup_count = 0
        self.dup_frame = 0
        self.keep_alive = False
        self.last_ts = 0.0  # when next_seq last advanced
        self.syn_ts: float | None = None  # the client's SYN (this side's, when it is the client)
        self.rtt: float | None = None  # the handshake's round trip: SYN to the ACK of the SYN-ACK
        self.unseen: int | None = None  # the highest acknowledgement of this side's data beyond its next_seq
        self.shift: int | None = None  # the window scale this side's SYN announced


class Segment(NamedTuple):
    """The header fields the analysis reads (``data`` and ``tcp_offset`` for the window scale option)."""

    frame: int
    ts: float
    seq: int
    ack: int
    flags: int
    window: int
    payload_len: int
    data: bytes
    tcp_offset: int


class TcpAnalysis:
    """``packet(connection, from_client, segment) -> (analysis labels, scaled window)`` in capture order."""

    def __init__(self) -> None:
        self.sides: dict[tuple[int, bool], _Side] = {}

    def packet(self, conn: int, from_client: bool, p: Segment) -> tuple[tuple[str, ...], int]:
        me = self.sides.get((conn, from_client))
        if me is None:
            me = self.sides[(conn, from_client)] = _Side()
        peer = self.sides.get((conn, not from_client))
        out = self._classify(p, me, peer)
        self._update(p, me, peer)
        return tuple(out), self._window(p, me, peer)

    def forget(self, conn: int) -> None:
        self.sides.pop((conn, True), None)
        self.sides.pop((conn, False), None)

    def swap(self, conn: int) -> None:
        """The connection's client and server were the wrong way round: each side keeps its own state."""
        sides = self.sides
        c, s = sides.pop((conn, True), None), sides.pop((conn, False), None)
        for from_client, side in ((True, s), (False, c)):
            if side is not None:
                sides[(conn, from_client)] = side

    @staticmethod
    def _window(p: Segment, me: _Side, peer: _Side | None) -> int:
        """The window as tshark shows ``Win=``: shifted by the scale both SYNs announced, never in a SYN."""
        if p.flags & _SYN:
            me.shift = tcp_window_scale(p.data, p.tcp_offset)
            return p.window
        if me.shift is not None and peer is not None and peer.shift is not None:
            return p.window << me.shift
        return p.window

    @staticmethod
    def _classify(p: Segment, me: _Side, peer: _Side | None) -> list[str]:
        flags, seq, n = p.flags, p.seq, p.payload_len
        control = flags & (_SYN | _FIN | _RST)
        out = []
        if flags & _ACK and peer is not None and peer.next_seq is not None and _after(p.ack, peer.next_seq):
            out.append("TCP ACKed unseen segment")
        if p.window == 0 and not control:
            out.append("TCP ZeroWindow")
        nxt = me.next_seq
        if nxt is None:
            return out
        if _after(seq, nxt) and not flags & _RST:
            out.append("TCP Previous segment not captured")
        if n <= 1 and not control and (seq + 1) % _MOD == nxt:
            out.append("TCP Keep-Alive")
            return out
        same = (n == 0 and not control and seq == nxt and flags & _ACK and p.ack == me.last_ack)
        if same and p.window and p.window != me.last_win:
            out.append("TCP Window Update")
        elif same and peer is not None and peer.keep_alive:
            out.append("TCP Keep-Alive ACK")
        elif same and p.window == me.last_win and p.window:
            me.dup_count += 1
            out.append(f"TCP Dup ACK {me.dup_frame}#{me.dup_count}")
        below = nxt if me.unseen is None or _after(nxt, me.unseen) else me.unseen  # what the peer has had
        if (n or flags & (_SYN | _FIN)) and _after(below, seq):
            end = (seq + n) % _MOD
            if peer is not None and peer.last_ack is not None and not _after(end, peer.last_ack) and n:
                out.append("TCP Spurious Retransmission")
            elif 0 <= p.ts - me.last_ts < (me.rtt or OUT_OF_ORDER_WINDOW) and nxt != end:
                out.append("TCP Out-Of-Order")
            else:
                out.append("TCP Retransmission")
        return out

    @staticmethod
    def _update(p: Segment, me: _Side, peer: _Side | None) -> None:
        flags, seq, n = p.flags, p.seq, p.payload_len
        me.keep_alive = n <= 1 and not flags & (_SYN | _FIN | _RST) and me.next_seq is not None and \
            (seq + 1) % _MOD == me.next_seq
        end = (seq + n + (1 if flags & (_SYN | _FIN) else 0)) % _MOD
        if me.next_seq is None or _after(end, me.next_seq):
            me.next_seq = end
            me.last_ts = p.ts
        if flags & _SYN and not flags & _ACK:
            me.syn_ts = p.ts
        elif flags & _ACK and me.syn_ts is not None and me.rtt is None and peer is not None:
            me.rtt = peer.rtt = p.ts - me.syn_ts
        if flags & _ACK and peer is not None and peer.next_seq is not None and _after(p.ack, peer.next_seq):
            peer.unseen = p.ack  # the peer sent data up to here that the capture did not see (yet)
        if flags & _ACK:
            if p.ack != me.last_ack or n or flags & (_SYN | _FIN | _RST):
                me.dup_count, me.dup_frame = 0, p.frame
            me.last_ack, me.last_win = p.ack, p.window
