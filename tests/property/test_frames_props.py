"""Properties of the frame parser: split invariance / round trip, and arbitrary bytes never raise."""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import ws_frame
from wsdissect.ws.frames import (F_COMPLETE, F_KEY, F_LEN, F_OFFSET, F_PAYLOAD, F_TRUNCATED, LOST, FrameParser,
                                 check_frame)

LENGTHS = st.one_of(st.sampled_from([0, 1, 125, 126, 127, 65535, 65536]), st.integers(0, 300))


@st.composite
def frame_specs(draw):
    masked = draw(st.booleans())  # one direction: all masked or none
    n = draw(st.integers(1, 6))
    specs = []
    for _ in range(n):
        opcode = draw(st.integers(0, 15))
        fin = draw(st.booleans())
        rsv = draw(st.integers(0, 7))
        length = draw(LENGTHS)
        seed = draw(st.integers(0, 2**32 - 1))
        payload = random.Random(seed).randbytes(length)
        key = draw(st.binary(min_size=4, max_size=4)) if masked else None
        specs.append((opcode, fin, rsv, payload, key))
    return masked, specs


@st.composite
def cut_points(draw, n: int):
    if n < 2:
        return []
    k = draw(st.integers(0, min(40, n - 1)))
    return sorted(set(draw(st.lists(st.integers(1, n - 1), min_size=k, max_size=k))))


def pieces_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(frame_specs(), st.data())
def test_frames_round_trip_in_any_split(spec, data):
    masked, specs = spec
    wire = b"".join(ws_frame(op, payload, fin=fin, rsv=rsv, mask=key) for op, fin, rsv, payload, key in specs)
    pieces = pieces_at(wire, data.draw(cut_points(len(wire))))
    p = FrameParser(client=masked)
    out = []
    off = 0
    for i, piece in enumerate(pieces, 1):
        out += p.feed(piece, off, i, float(i))
        off += len(piece)
    assert LOST not in out
    got = [(f[3] & 0x0F, bool(f[3] & 0x80), (f[3] >> 4) & 7, f[F_PAYLOAD], f[F_KEY]) for f in out]
    assert got == [(op, fin, rsv, payload, key) for op, fin, rsv, payload, key in specs]
    assert all(f[F_COMPLETE] and not f[F_TRUNCATED] for f in out)
    assert [f[F_LEN] for f in out] == [len(s[3]) for s in specs]
    # offsets tile the stream
    pos = 0
    for f, s in zip(out, specs):
        assert f[F_OFFSET] == pos
        pos += len(ws_frame(s[0], s[3], fin=s[1], rsv=s[2], mask=s[4]))
    assert pos == len(wire)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(frame_specs(), st.integers(1, 200), st.data())
def test_truncation_is_split_invariant(spec, max_payload, data):
    masked, specs = spec
    wire = b"".join(ws_frame(op, payload, fin=fin, rsv=rsv, mask=key) for op, fin, rsv, payload, key in specs)
    whole = FrameParser(max_payload=max_payload).feed(wire, 0, 1, 1.0)
    p = FrameParser(max_payload=max_payload)
    split = []
    for piece in pieces_at(wire, data.draw(cut_points(len(wire)))):
        split += p.feed(piece, 0, 1, 1.0)
    strip = [(f[3], f[4], f[F_KEY], f[F_LEN], f[F_PAYLOAD], f[F_COMPLETE], f[F_TRUNCATED]) for f in split]
    assert strip == [(f[3], f[4], f[F_KEY], f[F_LEN], f[F_PAYLOAD], f[F_COMPLETE], f[F_TRUNCATED]) for f in whole]
    for f, s in zip(whole, specs):
        assert f[F_PAYLOAD] == s[3][:max_payload]
        assert f[F_TRUNCATED] == (len(s[3]) > max_payload)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=3000), st.data(), st.sampled_from([None, True, False]), st.booleans(),
       st.integers(1, 1 << 20))
def test_arbitrary_bytes_never_raise(blob, data, client, synced, max_payload):
    p = FrameParser(max_payload=max_payload, client=client, rsv_allowed=data.draw(st.integers(0, 7)), synced=synced)
    off = 0
    for i, piece in enumerate(pieces_at(blob, data.draw(cut_points(len(blob)))), 1):
        if data.draw(st.integers(0, 9)) == 0:
            gap = data.draw(st.integers(1, 5000))
            p.gap(gap, i, float(i))
            off += gap
        for f in p.feed(piece, off, i, float(i)):
            if f is not LOST:
                check_frame(f[3], f[4], f[F_LEN], client, 0)
                assert len(f[F_PAYLOAD]) <= min(f[F_LEN], max_payload)
        off += len(piece)
    p.end()
