"""wsdissect.tcp.reassembly.StreamReassembler: ordered bytes out; gaps, overlaps and retransmissions as findings."""
from __future__ import annotations

import pytest

from wsdissect.tcp.reassembly import SEQ_MOD, Gap, Piece, StreamReassembler

ISN = 1000


def syn(r: StreamReassembler, isn: int = ISN) -> list:
    return r.segment(isn, b"", 0, True, False, 0, 0.0)


def seg(r: StreamReassembler, off: int, data: bytes, frame: int = 1, isn: int = ISN, wire_len: int | None = None,
        fin: bool = False) -> list:
    """A segment at stream offset *off* (sequence number isn + 1 + off, wrapped)."""
    seq = (isn + 1 + off) % SEQ_MOD
    return r.segment(seq, data, len(data) if wire_len is None else wire_len, False, fin, frame, float(frame))


def data_of(pieces: list) -> bytes:
    assert all(p.__class__ is Piece for p in pieces), pieces
    return b"".join(p.data for p in pieces)


def codes(r: StreamReassembler) -> list[str]:
    return [f[0] for f in r.findings]


def assert_contiguous(pieces: list, start: int = 0) -> None:
    pos = start
    for p in pieces:
        assert p.offset == pos, pieces
        pos += len(p.data) if p.__class__ is Piece else p.missing


def test_in_order():
    r = StreamReassembler()
    assert syn(r) == []
    out = seg(r, 0, b"hello ", 2) + seg(r, 6, b"world", 3)
    assert out == [Piece(0, b"hello ", 2, 2.0), Piece(6, b"world", 3, 3.0)]
    assert r.next == 11 and r.delivered == 11
    assert codes(r) == []
    assert not r.midstream


def test_syn_sets_origin_and_syn_with_data():
    r = StreamReassembler()
    out = r.segment(ISN, b"early", 5, True, False, 1, 1.0)  # SYN carrying data (TFO)
    assert out == [Piece(0, b"early", 1, 1.0)]
    assert r.base == ISN + 1
    # a retransmitted SYN does not move the origin
    assert r.segment(ISN, b"early", 5, True, False, 2, 2.0) == []
    assert "tcp.retransmission" in codes(r)
    assert seg(r, 5, b"!", 3) == [Piece(5, b"!", 3, 3.0)]


def test_empty_ack_before_data_does_not_set_origin():
    r = StreamReassembler()
    assert r.segment(5000, b"", 0, False, False, 1, 1.0) == []
    assert r.base is None
    out = r.segment(7000, b"abc", 3, False, False, 2, 2.0)
    assert out == [Piece(0, b"abc", 2, 2.0)]
    assert r.base == 7000 and r.midstream


def test_midstream_earlier_bytes_are_retransmissions():
    r = StreamReassembler()
    r.segment(7000, b"abc", 3, False, False, 1, 1.0)
    assert r.segment(6990, b"0123456789", 10, False, False, 2, 2.0) == []
    assert codes(r) == ["tcp.retransmission"]


def test_out_of_order_waits_then_drains():
    r = StreamReassembler()
    syn(r)
    assert seg(r, 10, b"KLMNOPQRST", 2) == []
    assert seg(r, 5, b"FGHIJ", 3) == []
    assert r.buffered == 15
    out = seg(r, 0, b"ABCDE", 4)
    assert data_of(out) == b"ABCDEFGHIJKLMNOPQRST"
    assert [p.frame for p in out] == [4, 3, 2]
    assert_contiguous(out)
    # Wireshark's sense: the segment that arrived after later data is the out-of-order one
    assert [(f[0], f[2]) for f in r.findings] == [("tcp.out_of_order", 4)]
    assert r.buffered == 0 and r.starts == [] and r.ooo == {}


def test_exact_duplicates():
    r = StreamReassembler()
    syn(r)
    assert seg(r, 0, b"abc", 2) == [Piece(0, b"abc", 2, 2.0)]
    assert seg(r, 0, b"abc", 3) == []
    # duplicate of a buffered out-of-order segment
    assert seg(r, 10, b"xyz", 4) == []
    assert seg(r, 10, b"xyz", 5) == []
    assert codes(r) == ["tcp.retransmission", "tcp.retransmission"]
    out = seg(r, 3, b"defghij", 6)
    assert data_of(out) == b"defghijxyz"
    assert codes(r)[-1] == "tcp.out_of_order"


def test_overlapping_retransmission_same_bytes():
    r = StreamReassembler()
    syn(r)
    seg(r, 0, b"abcdef", 2)
    out = seg(r, 3, b"defghi", 3)
    assert out == [Piece(6, b"ghi", 3, 3.0)]
    assert codes(r) == ["tcp.overlap"]


def test_overlapping_retransmission_conflict_first_seen_wins():
    r = StreamReassembler()
    syn(r)
    seg(r, 0, b"abcdef", 2)
    out = seg(r, 3, b"dXfghi", 3)
    assert out == [Piece(6, b"ghi", 3, 3.0)]  # "def" as first seen, never rewritten
    assert "tcp.overlap_conflict" in codes(r)
    assert "tcp.overlap" in codes(r)


def test_full_retransmission_conflict_is_reported():
    r = StreamReassembler()
    syn(r)
    seg(r, 0, b"abcdef", 2)
    assert seg(r, 1, b"BC", 3) == []
    assert codes(r) == ["tcp.overlap_conflict", "tcp.retransmission"]


def test_overlap_between_buffered_segments_conflict():
    r = StreamReassembler()
    syn(r)
    seg(r, 10, b"A" * 10, 2)  # [10, 20)
    seg(r, 15, b"B" * 10, 3)  # [15, 25), overlaps with different bytes
    out = seg(r, 0, b"0" * 10, 4)
    assert data_of(out) == b"0" * 10 + b"A" * 10 + b"B" * 5
    assert "tcp.overlap_conflict" in codes(r)


def test_longer_segment_at_same_buffered_offset_keeps_first_seen_bytes():
    r = StreamReassembler()
    syn(r)
    seg(r, 10, b"AAAA", 2)
    seg(r, 10, b"BBBBBBBB", 3)
    out = seg(r, 0, b"0" * 10, 4)
    assert data_of(out) == b"0" * 10 + b"AAAA" + b"BBBB"
    assert "tcp.overlap_conflict" in codes(r)


def test_earlier_offset_arriving_later_does_not_overwrite_buffered_bytes():
    r = StreamReassembler()
    syn(r)
    seg(r, 15, b"B" * 10, 2)  # first seen: [15, 25)
    seg(r, 10, b"A" * 10, 3)  # later: [10, 20), conflicts on [15, 20)
    out = seg(r, 0, b"0" * 10, 4)
    assert data_of(out) == b"0" * 10 + b"A" * 5 + b"B" * 10
    assert "tcp.overlap_conflict" in codes(r)


@pytest.mark.parametrize("isn", [SEQ_MOD - 1, SEQ_MOD - 2, SEQ_MOD - 7, 0])
def test_sequence_number_wraparound(isn):
    r = StreamReassembler()
    syn(r, isn)
    chunks = [b"abcd", b"efgh", b"ijkl", b"mnop"]
    out = []
    off = 0
    for i, c in enumerate(chunks):
        out += seg(r, off, c, i + 2, isn)
        off += len(c)
    assert data_of(out) == b"".join(chunks)
    assert_contiguous(out)
    assert codes(r) == []


def test_wraparound_out_of_order_and_retransmission():
    isn = SEQ_MOD - 5
    r = StreamReassembler()
    syn(r, isn)
    assert seg(r, 8, b"IJKLMNOP", 2, isn) == []  # after the wrap
    out = seg(r, 0, b"ABCDEFGH", 3, isn)          # crosses the wrap
    assert data_of(out) == b"ABCDEFGHIJKLMNOP"
    assert seg(r, 2, b"CDEF", 4, isn) == []
    assert codes(r) == ["tcp.out_of_order", "tcp.retransmission"]


def test_wraparound_across_many_windows():
    """A long stream (several times 2**32 is impractical; move next close to each wrap instead)."""
    r = StreamReassembler()
    syn(r, 0)
    r.next = SEQ_MOD - 10  # as if 4 GiB minus 10 bytes had been delivered
    out = r.segment((1 + SEQ_MOD - 10) % SEQ_MOD, b"0123456789ab", 12, False, False, 2, 2.0)
    assert out == [(SEQ_MOD - 10, b"0123456789ab", 2, 2.0)]
    out = r.segment(3, b"next", 4, False, False, 3, 3.0)
    assert out == [(SEQ_MOD + 2, b"next", 3, 3.0)]


def test_snaplen_cut_segment_gives_data_then_gap():
    r = StreamReassembler()
    syn(r)
    out = seg(r, 0, b"abc", 2, wire_len=10)
    assert out == [Piece(0, b"abc", 2, 2.0), Gap(3, 7, 2, 2.0)]
    assert r.next == 10 and r.lost == 7
    assert seg(r, 10, b"zz", 3) == [Piece(10, b"zz", 3, 3.0)]


def test_snaplen_cut_buffered_segment():
    r = StreamReassembler()
    syn(r)
    seg(r, 5, b"FG", 2, wire_len=5)
    out = seg(r, 0, b"ABCDE", 3)
    assert out == [Piece(0, b"ABCDE", 3, 3.0), Piece(5, b"FG", 2, 2.0), Gap(7, 3, 2, 2.0)]


def test_lost_segment_gap_only_after_flush():
    r = StreamReassembler()
    syn(r)
    seg(r, 0, b"abc", 2)
    assert seg(r, 6, b"ghi", 3) == []
    assert seg(r, 9, b"jkl", 4) == []
    assert r.next == 3  # without ACK evidence nothing is declared lost
    out = r.flush(9, 9.0)
    # the gap is reported where Wireshark puts it: at the first segment after the hole
    assert out == [Gap(3, 3, 3, 3.0), Piece(6, b"ghi", 3, 3.0), Piece(9, b"jkl", 4, 4.0)]
    assert codes(r).count("tcp.gap") == 1
    assert r.lost == 3


def test_flush_with_several_holes():
    r = StreamReassembler()
    syn(r)
    seg(r, 5, b"F", 2)
    seg(r, 10, b"K", 3)
    out = r.flush(4, 4.0)
    assert out == [Gap(0, 5, 2, 2.0), Piece(5, b"F", 2, 2.0), Gap(6, 4, 3, 3.0), Piece(10, b"K", 3, 3.0)]
    assert r.flush(5, 5.0) == []


def test_lost_segment_after_peer_ack_and_patience():
    r = StreamReassembler(patience=4)
    syn(r)
    seg(r, 0, b"abc", 2)
    seg(r, 6, b"ghi", 3)
    ack = ISN + 1 + 9  # the peer acknowledged everything: the hole really was on the wire
    assert r.peer_ack(ack, 4, 4.0, 0) == []  # evidence noted at the connection's packet 0
    for i in range(3):
        assert r.peer_ack(ack, 5 + i, 5.0 + i, i + 1) == []  # not patient enough yet
    out = r.peer_ack(ack, 9, 9.0, 4)
    assert out == [Gap(3, 3, 3, 3.0), Piece(6, b"ghi", 3, 3.0)]
    assert "tcp.gap" in codes(r)


def test_peer_ack_not_beyond_next_is_no_evidence():
    r = StreamReassembler(patience=1)
    syn(r)
    seg(r, 0, b"abc", 2)
    seg(r, 6, b"ghi", 3)
    for i in range(5):
        assert r.peer_ack(ISN + 1 + 3, 4, 4.0, i) == []
    assert r.next == 3


def test_late_segment_fills_hole_before_patience_runs_out():
    r = StreamReassembler(patience=4)
    syn(r)
    seg(r, 0, b"abc", 2)
    seg(r, 6, b"ghi", 3)
    r.peer_ack(ISN + 1 + 9, 4, 4.0, 0)
    out = seg(r, 3, b"def", 5)
    assert data_of(out) == b"defghi"
    for i in range(10):
        assert r.peer_ack(ISN + 1 + 9, 6, 6.0, 1 + i) == []
    assert "tcp.gap" not in codes(r)


def test_lost_tail_declared_after_ack():
    r = StreamReassembler(patience=2)
    syn(r)
    seg(r, 0, b"abc", 2)
    ack = ISN + 1 + 8  # the peer saw 5 bytes the capture did not
    r.peer_ack(ack, 3, 3.0, 0)
    assert r.peer_ack(ack, 4, 4.0, 2) == [Gap(3, 5, 4, 4.0)]
    assert r.next == 8


def test_buffer_limit_declares_hole_lost():
    r = StreamReassembler(max_buffer=10)
    syn(r)
    seg(r, 0, b"ab", 2)
    assert seg(r, 5, b"FGHIJ", 3) == []
    out = seg(r, 10, b"KLMNOP", 4)
    assert out[0] == Gap(2, 3, 3, 3.0)
    assert data_of(out[1:]) == b"FGHIJKLMNOP"
    assert "tcp.buffer_limit" in codes(r) and "tcp.gap" in codes(r)


def test_fin_and_data_after_fin():
    r = StreamReassembler()
    syn(r)
    out = seg(r, 0, b"bye", 2, fin=True)
    assert out == [Piece(0, b"bye", 2, 2.0)]
    assert r.fin_off == 3
    seg(r, 3, b"more", 3)
    assert "tcp.data_after_fin" in codes(r)


def test_fin_without_data_sets_fin_offset():
    r = StreamReassembler()
    syn(r)
    seg(r, 0, b"abc", 2)
    assert seg(r, 3, b"", 3, fin=True) == []
    assert r.fin_off == 3
    # the peer's ACK of the FIN is not evidence of missing data
    for i in range(40):
        assert r.peer_ack(ISN + 1 + 4, 4, 4.0, i) == []


def test_data_after_fin_follows_the_fin_data_without_a_phantom_gap():
    r = StreamReassembler()
    syn(r)
    assert seg(r, 0, b"bye", 2, fin=True) == [Piece(0, b"bye", 2, 2.0)]
    # the FIN used sequence number isn+1+3; data sent after it starts one later
    out = seg(r, 4, b"more", 3)
    assert out == [Piece(3, b"more", 3, 3.0)]
    assert "tcp.data_after_fin" in codes(r)
    assert r.flush(4, 4.0) == [] and "tcp.gap" not in codes(r)
