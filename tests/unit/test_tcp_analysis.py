"""tshark's TCP analysis flags and relative numbers (wsdissect/tcp/analysis.py, tcp/relative.py), fed header by
header; and a keep-alive is never a retransmission or an overlap conflict in reassembly."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from wsdissect.capture.layers import TcpSegment
from wsdissect.tcp.analysis import TcpAnalysis
from wsdissect.tcp.reassembly import StreamReassembler
from wsdissect.tcp.relative import RelativeNumbers

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
C, S = True, False


def header(seq: int, ack: int, flags: int, win: int, n: int = 0) -> TcpSegment:
    """The TCP header fields of one packet (its TCP header at offset 0 of the packet's bytes)."""
    return TcpSegment(ip_version=4, src=b"\x0a\0\0\1", dst=b"\x0a\0\0\2", sport=40000, dport=80, seq=seq, ack=ack,
                      flags=flags, window=win, payload_start=20, payload_len=n, l3_offset=0, tcp_offset=0)


class Flow:
    """A connection's packets, numbered and timed in order."""

    def __init__(self):
        self.analysis = TcpAnalysis()
        self.frame = 0
        self.ts = 0.0

    def send(self, side: bool, seq: int, ack: int, flags: int = ACK, n: int = 0, win: int = 1000,
             dt: float = 0.01) -> tuple[str, ...]:
        self.frame += 1
        self.ts += dt
        return self.analysis.packet(0, side, header(seq, ack, flags, win, n), self.frame, self.ts, b"")[0]


def _open() -> Flow:
    f = Flow()
    assert f.send(C, 100, 0, SYN) == ()
    assert f.send(S, 500, 101, SYN | ACK) == ()
    assert f.send(C, 101, 501) == ()
    return f


def test_keep_alive_and_its_ack():
    f = _open()
    f.send(C, 101, 501, ACK | PSH, n=10)
    assert f.send(C, 110, 501, n=1, dt=30) == ("TCP Keep-Alive",)
    f2 = _open()
    f2.send(S, 501, 101)
    assert f2.send(C, 100, 501, n=0, dt=30) == ("TCP Keep-Alive",)
    assert f2.send(S, 501, 101) == ("TCP Keep-Alive ACK",)


def test_dup_acks_count_from_the_original_frame():
    f = _open()
    f.send(S, 501, 101, ACK | PSH, n=100)
    original = f.frame + 1
    f.send(C, 101, 601)
    assert f.send(C, 101, 601) == (f"TCP Dup ACK {original}#1",)
    assert f.send(C, 101, 601) == (f"TCP Dup ACK {original}#2",)
    assert f.send(C, 101, 601, win=2000) == ("TCP Window Update",)


def test_zero_window_lost_segment_retransmission_out_of_order_spurious():
    f = _open()
    assert f.send(C, 101, 501, win=0) == ("TCP ZeroWindow",)
    f.send(C, 101, 501, ACK | PSH, n=100)
    assert f.send(C, 301, 501, ACK | PSH, n=100) == ("TCP Previous segment not captured",)
    assert f.send(C, 201, 501, ACK | PSH, n=100, dt=0.001) == ("TCP Out-Of-Order",)
    assert f.send(C, 201, 501, ACK | PSH, n=100, dt=1.0) == ("TCP Retransmission",)
    f.send(S, 501, 401)
    assert f.send(C, 101, 501, ACK | PSH, n=100, dt=1.0) == ("TCP Spurious Retransmission",)


def test_window_is_scaled_only_when_both_syns_announce_it():
    opts = bytes(12) + b"\x60" + bytes(7) + b"\x03\x03\x07\x00"  # a 24-byte header: window scale 7
    t = TcpAnalysis()
    assert t.packet(0, True, header(1, 0, SYN, 100), 1, 0.0, opts)[1] == 100
    assert t.packet(0, False, header(1, 2, SYN | ACK, 100), 2, 0.0, opts)[1] == 100
    assert t.packet(0, True, header(2, 2, ACK, 100), 3, 0.0, b"")[1] == 100 << 7
    lone = TcpAnalysis()
    lone.packet(0, True, header(1, 0, SYN, 100), 1, 0.0, opts)
    lone.packet(0, False, header(1, 2, SYN | ACK, 100), 2, 0.0, bytes(12) + b"\x50" + bytes(7))
    assert lone.packet(0, True, header(2, 2, ACK, 100), 3, 0.0, b"")[1] == 100


def test_relative_numbers_with_and_without_the_handshake():
    r = RelativeNumbers()
    assert r.numbers(0, True, 1000, 0, SYN) == (0, None)
    assert r.numbers(0, False, 9000, 1001, SYN | ACK) == (0, 1)
    assert r.numbers(0, True, 1001, 9001, ACK) == (1, 1)
    mid = RelativeNumbers()  # the capture starts mid-stream: the first numbers seen are 1
    assert mid.numbers(1, True, 5000, 7000, ACK | PSH) == (1, 1)
    assert mid.numbers(1, False, 7000, 5100, ACK) == (1, 101)
    assert mid.numbers(1, True, 5100, 7000, ACK) == (101, 1)
    wrap = RelativeNumbers()
    assert wrap.numbers(2, True, 0xFFFFFFF0, 5, ACK) == (1, 1)
    assert wrap.numbers(2, True, 0x10, 5, ACK) == (0x21, 1)


def test_a_keep_alive_is_not_an_overlap_conflict():
    r = StreamReassembler()
    r.segment(100, b"", 0, True, False, 1, 0.0)
    r.segment(101, b"hello", 5, False, False, 2, 0.0)
    r.segment(105, b"\x00", 1, False, False, 3, 0.0)  # keep-alive: one garbage byte just below the next one
    codes = [f[0] for f in r.take_findings()]
    assert "tcp.overlap_conflict" not in codes and "tcp.retransmission" not in codes
    r.segment(104, b"\x00\x00", 2, False, False, 4, 0.0)  # a real overlap still counts
    assert "tcp.overlap_conflict" in [f[0] for f in r.take_findings()]


FLAGS = st.sampled_from([ACK, ACK | PSH, SYN, SYN | ACK, FIN | ACK, 0])
SEGMENTS = st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(0, 3), FLAGS, st.sampled_from([0, 1, 10]),
                              st.sampled_from([0, 1000]), st.sampled_from([0.0001, 0.01, 1.0])), max_size=40)


@settings(max_examples=300, deadline=None)
@example([(C, 0, 0, ACK, 10, 1000, 0.01), (C, 1, 0, ACK, 10, 1000, 0.01), (C, 0, 0, ACK, 10, 1000, 0.0001)])
@example([(C, 0, 0, ACK, 10, 1000, 0.01), (C, 1, 0, ACK, 10, 1000, 1.0), (C, 2, 1, ACK, 0, 1000, 1.0),
          (C, 0, 1, ACK, 10, 1000, 0.0001)])  # a pure ACK does not move the time of the last advance
@given(SEGMENTS)
def test_the_in_order_shortcut_agrees_with_the_general_path(packets):
    """Random segments (sequence and acknowledgement numbers near each other, so that in-order, repeated, lost and
    reordered data all occur): the shortcut for in-order data gives the same flags and windows as the general
    checks."""
    fast, general = TcpAnalysis(), TcpAnalysis()
    general.fast = False
    ts = 0.0
    for frame, (side, seq, ack, flags, n, win, dt) in enumerate(packets, 1):
        ts += dt
        seg = header(100 + seq * 10, 500 + ack * 10, flags, win, n)
        assert fast.packet(0, side, seg, frame, ts, b"") == general.packet(0, side, seg, frame, ts, b"")
