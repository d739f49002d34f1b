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

from typing import Protocol

from ..capture.layers import tcp_window_scale

_MOD = 1 << 32
_HALF = _MOD // 2
_SYN, _FIN, _RST, _ACK = 0x02, 0x01, 0x04, 0x10
_CONTROL = _SYN | _FIN | _RST
_CHECKED = _CONTROL | _ACK
OUT_OF_ORDER_WINDOW = 0.003  # seconds: tshark's threshold without a measured handshake round trip
# (on the per-packet path "a is after b" is written out as ``0 < (a - b) % _MOD < _HALF``: no call)


class Side:
    """One direction's analysis state (slotted: the C packet builder, ``pipeline.packet_builder``, reads and
    advances it on the in-order shortcut)."""

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


class TcpHeader(Protocol):
    """The header fields the analysis reads (:class:`wsdissect.capture.layers.TcpSegment` has them)."""

    seq: int
    ack: int
    flags: int
    window: int
    payload_len: int
    tcp_offset: int  # where the TCP header starts in the packet (for the window scale option)


class TcpAnalysis:
    """``packet(connection, from_client, header, frame, ts, data) -> (analysis labels, scaled window)`` in capture
    order (*data*: the packet's bytes, read for a SYN's window scale option)."""

    def __init__(self) -> None:
        self.sides: dict[int, list] = {}  # connection index -> [server side, client side] (None until seen)
        self.fast = True  # the in-order shortcut (tests turn it off to compare it with the general path)

    def packet(self, conn: int, from_client: bool, p: TcpHeader, frame: int, ts: float,
               data: bytes) -> tuple[tuple[str, ...], int]:
        pair = self.sides.get(conn)
        if pair is None:
            pair = self.sides[conn] = [None, None]
        me = pair[from_client]
        if me is None:
            me = pair[from_client] = Side()
        peer = pair[not from_client]
        n = p.payload_len
        if self.fast and me.next_seq == p.seq and (n or p.ack != me.last_ack) and (p.flags & _CHECKED) == _ACK and \
                p.window and me.unseen is None and (me.rtt is not None or me.syn_ts is None) and \
                (peer is None or peer.next_seq is None or not 0 < (p.ack - peer.next_seq) % _MOD < _HALF):
            # in order, with data or acknowledging more, nothing unseen (the common segment): no flag, and of
            # _update's work only the next sequence number and the last acknowledgement change
            out = ()
            me.keep_alive = False
            if n:
                me.next_seq, me.last_ts = (p.seq + n) % _MOD, ts
            me.dup_count, me.dup_frame, me.last_ack, me.last_win = 0, frame, p.ack, p.window
        else:
            out = self._classify(p, ts, me, peer)
            self._update(p, frame, ts, me, peer)
        if p.flags & _SYN:  # the window as tshark shows Win=: shifted by the scale both SYNs announced
            me.shift = tcp_window_scale(data, p.tcp_offset)
        elif me.shift is not None and peer is not None and peer.shift is not None:
            return out, p.window << me.shift
        return out, p.window

    def forget(self, conn: int) -> None:
        self.sides.pop(conn, None)

    def swap(self, conn: int) -> None:
        """The connection's client and server were the wrong way round: each side keeps its own state."""
        pair = self.sides.get(conn)
        if pair is not None:
            pair.reverse()

    @staticmethod
    def _classify(p: TcpHeader, ts: float, me: Side, peer: Side | None) -> tuple[str, ...]:
        flags, seq, n, window = p.flags, p.seq, p.payload_len, p.window
        control = flags & _CONTROL
        out: tuple[str, ...] = ()
        if flags & _ACK and peer is not None and peer.next_seq is not None and \
                0 < (p.ack - peer.next_seq) % _MOD < _HALF:
            out += ("TCP ACKed unseen segment",)
        if window == 0 and not control:
            out += ("TCP ZeroWindow",)
        nxt = me.next_seq
        if nxt is None or (seq == nxt and n and not control and me.unseen is None):  # (in order, with data)
            return out
        if 0 < (seq - nxt) % _MOD < _HALF and not flags & _RST:
            out += ("TCP Previous segment not captured",)
        if n <= 1 and not control and (seq + 1) % _MOD == nxt:
            return out + ("TCP Keep-Alive",)
        same = (n == 0 and not control and seq == nxt and flags & _ACK and p.ack == me.last_ack)
        if same and window and window != me.last_win:
            out += ("TCP Window Update",)
        elif same and peer is not None and peer.keep_alive:
            out += ("TCP Keep-Alive ACK",)
        elif same and window == me.last_win and window:
            me.dup_count += 1
            out += (f"TCP Dup ACK {me.dup_frame}#{me.dup_count}",)
        unseen = me.unseen
        below = nxt if unseen is None or 0 < (nxt - unseen) % _MOD < _HALF else unseen  # what the peer has had
        if (n or flags & (_SYN | _FIN)) and 0 < (below - seq) % _MOD < _HALF:
            end = (seq + n) % _MOD
            if peer is not None and peer.last_ack is not None and n and \
                    not 0 < (end - peer.last_ack) % _MOD < _HALF:
                out += ("TCP Spurious Retransmission",)
            elif 0 <= ts - me.last_ts < (me.rtt or OUT_OF_ORDER_WINDOW) and nxt != end:
                out += ("TCP Out-Of-Order",)
            else:
                out += ("TCP Retransmission",)
        return out

    @staticmethod
    def _update(p: TcpHeader, frame: int, ts: float, me: Side, peer: Side | None) -> None:
        flags, seq, n = p.flags, p.seq, p.payload_len
        nxt = me.next_seq
        me.keep_alive = n <= 1 and not flags & _CONTROL and nxt is not None and (seq + 1) % _MOD == nxt
        end = (seq + n + (1 if flags & (_SYN | _FIN) else 0)) % _MOD
        if nxt is None or 0 < (end - nxt) % _MOD < _HALF:
            me.next_seq = end
            me.last_ts = ts
        if flags & _SYN and not flags & _ACK:
            me.syn_ts = ts
        elif flags & _ACK and me.syn_ts is not None and me.rtt is None and peer is not None:
            me.rtt = peer.rtt = ts - me.syn_ts
        if flags & _ACK:
            ack = p.ack
            if peer is not None and peer.next_seq is not None and 0 < (ack - peer.next_seq) % _MOD < _HALF:
                peer.unseen = ack  # the peer sent data up to here that the capture did not see (yet)
            if ack != me.last_ack or n or flags & _CONTROL:
                me.dup_count, me.dup_frame = 0, frame
            me.last_ack, me.last_win = ack, p.window
