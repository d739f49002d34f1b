"""Property: shuffled, duplicated and re-cut segments reassemble to exactly the bytes that were sent."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wsdissect.tcp.reassembly import SEQ_MOD, Gap, Piece, StreamReassembler


@st.composite
def scrambled_stream(draw):
    data = draw(st.binary(min_size=1, max_size=3000))
    isn = draw(st.one_of(st.integers(0, SEQ_MOD - 1), st.integers(SEQ_MOD - 4000, SEQ_MOD - 1)))
    n = len(data)
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, n - 1)), max_size=40)))) if n > 1 else []
    bounds = [0] + [c for c in cuts if 0 < c < n] + [n]
    segments = [(a, b) for a, b in zip(bounds, bounds[1:])]
    # retransmissions with other boundaries: arbitrary ranges of the same bytes
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 500)), max_size=15))
    segments += [(a, min(n, a + k)) for a, k in extra]
    # exact duplicates
    dups = draw(st.lists(st.integers(0, len(segments) - 1), max_size=10))
    segments += [segments[i] for i in dups]
    order = draw(st.permutations(segments))
    return data, isn, order


def run(data: bytes, isn: int, order: list) -> tuple[list, StreamReassembler]:
    r = StreamReassembler()
    pieces = r.segment(isn, b"", 0, True, False, 0, 0.0)
    for i, (a, b) in enumerate(order, 1):
        pieces += r.segment((isn + 1 + a) % SEQ_MOD, data[a:b], b - a, False, False, i, float(i))
    pieces += r.flush(len(order) + 1, 0.0)
    return pieces, r


@settings(max_examples=200, deadline=None, derandomize=True)
@given(scrambled_stream())
def test_shuffled_duplicated_segments_reassemble_exactly(case):
    data, isn, order = case
    pieces, r = run(data, isn, order)
    assert all(p.__class__ is Piece for p in pieces), "a gap piece for bytes that were all sent"
    pos = 0
    for p in pieces:
        assert p.offset == pos  # in order, each byte once
        pos += len(p.data)
    assert b"".join(p.data for p in pieces) == data
    codes = {f[0] for f in r.findings}
    assert not codes & {"tcp.gap", "tcp.overlap_conflict", "tcp.buffer_limit"}
    assert r.lost == 0 and r.delivered == len(data)
    assert r.starts == [] and r.buffered == 0


@settings(max_examples=150, deadline=None, derandomize=True)
@given(scrambled_stream(), st.integers(0, 100))
def test_peer_acks_of_sent_bytes_never_invent_gaps(case, patience):
    """ACKs that cover only bytes the capture holds are never evidence of loss."""
    data, isn, order = case
    r = StreamReassembler(patience=patience)
    pieces = r.segment(isn, b"", 0, True, False, 0, 0.0)
    for i, (a, b) in enumerate(order, 1):
        pieces += r.segment((isn + 1 + a) % SEQ_MOD, data[a:b], b - a, False, False, i, float(i))
        pieces += r.peer_ack((isn + 1 + r.next) % SEQ_MOD, i, float(i), i)
    pieces += r.flush(len(order) + 1, 0.0)
    assert all(p.__class__ is Piece for p in pieces)
    assert b"".join(p.data for p in pieces) == data


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.binary(min_size=2, max_size=2000), st.data())
def test_lost_segments_become_gaps_of_the_right_size(data, draw):
    """Drop some segments: the output is the sent bytes with exactly the dropped ranges as gaps."""
    n = len(data)
    cuts = sorted(set(draw.draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=20))))
    bounds = [0] + cuts + [n]
    segments = list(zip(bounds, bounds[1:]))
    dropped = set(draw.draw(st.lists(st.integers(0, len(segments) - 1), max_size=len(segments) - 1)))
    kept = [s for i, s in enumerate(segments) if i not in dropped]
    order = draw.draw(st.permutations(kept))
    r = StreamReassembler()
    pieces = r.segment(77, b"", 0, True, False, 0, 0.0)
    for i, (a, b) in enumerate(order, 1):
        pieces += r.segment(78 + a, data[a:b], b - a, False, False, i, float(i))
    pieces += r.flush(999, 0.0)
    rebuilt = bytearray()
    for p in pieces:
        assert p.offset == len(rebuilt)
        rebuilt += p.data if p.__class__ is Piece else b"\x00" * p.missing
    expected = bytearray(data)
    for i in dropped:
        a, b = segments[i]
        expected[a:b] = b"\x00" * (b - a)
    # a dropped tail is invisible without an ACK: the stream simply ends earlier
    assert bytes(rebuilt) == bytes(expected[:len(rebuilt)])
    last_kept = max((b for a, b in kept), default=0)
    assert len(rebuilt) == last_kept
    assert r.lost == sum(segments[i][1] - segments[i][0] for i in dropped if segments[i][1] <= last_kept)
