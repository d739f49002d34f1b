"""wsdissect.ws.frames: RFC 6455 frame decoding fed whole, byte by byte and in random splits; gaps; resync."""
from __future__ import annotations

import pytest

from tests.support import feedings, splits, ws_frame
from wsdissect.ws.frames import (F_COMPLETE, F_FIRST, F_FRAME, F_HEADER, F_KEY, F_LEN, F_OFFSET, F_PAYLOAD, F_TS,
                                 F_TRUNCATED, LOST, FrameParser, check_frame, header_length)
from wsdissect.ws.mask import unmask, unmask_py

# RFC 6455 section 5.7, as named vectors: (bytes, [(b0, b1, key, payload_len, payload)])
HELLO = b"Hello"
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])
BIN256 = bytes(range(256))
BIN64K = bytes((i * 7) & 0xFF for i in range(65536))
RFC_VECTORS = {
    "single-frame unmasked text": (
        bytes([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]),
        [(0x81, 0x05, None, 5, HELLO)]),
    "single-frame masked text": (
        bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
        [(0x81, 0x85, KEY, 5, HELLO)]),
    "fragmented unmasked text": (
        bytes([0x01, 0x03, 0x48, 0x65, 0x6C]) + bytes([0x80, 0x02, 0x6C, 0x6F]),
        [(0x01, 0x03, None, 3, b"Hel"), (0x80, 0x02, None, 2, b"lo")]),
    "unmasked ping": (
        bytes([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]),
        [(0x89, 0x05, None, 5, HELLO)]),
    "masked pong": (
        bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
        [(0x8A, 0x85, KEY, 5, HELLO)]),
    "256 bytes binary, 16-bit length": (
        bytes([0x82, 0x7E, 0x01, 0x00]) + BIN256,
        [(0x82, 0x7E, None, 256, BIN256)]),
    "64KiB binary, 64-bit length": (
        bytes([0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]) + BIN64K,
        [(0x82, 0x7F, None, 65536, BIN64K)]),
}


def parse(pieces: list[bytes], parser: FrameParser | None = None, **kw) -> list:
    p = parser or FrameParser(**kw)
    out = []
    off = 0
    for i, piece in enumerate(pieces, 1):
        out += p.feed(piece, off, i, float(i))
        off += len(piece)
    return out


def essentials(frames: list) -> list:
    return [(f[3], f[4], f[F_KEY], f[F_LEN], f[F_PAYLOAD], f[F_COMPLETE], f[F_OFFSET], f[F_HEADER], f[F_TRUNCATED])
            for f in frames]


def frame_map(pieces: list[bytes]) -> list[int]:
    out = []
    for i, p in enumerate(pieces, 1):
        out += [i] * len(p)
    return out


def all_feedings(data: bytes):
    if len(data) > 20000:  # bytewise 64 KiB is fine but slow-ish; keep it, with fewer random splits
        return list(feedings(data, range(3)))
    return list(feedings(data, range(10)))


@pytest.mark.parametrize("name", list(RFC_VECTORS))
def test_rfc6455_vectors_every_feeding(name):
    data, expected = RFC_VECTORS[name]
    reference = None
    for how, pieces in all_feedings(data):
        frames = parse(pieces)
        got = [(f[3], f[4], f[F_KEY], f[F_LEN], f[F_PAYLOAD]) for f in frames]
        assert got == expected, how
        assert all(f[F_COMPLETE] and not f[F_TRUNCATED] for f in frames)
        # offsets and headers
        pos = 0
        fmap = frame_map(pieces)
        for f in frames:
            assert f[F_OFFSET] == pos
            hl = header_length(f[4])
            assert f[F_HEADER] == data[pos:pos + hl]
            end = pos + hl + f[F_LEN]
            assert f[F_FIRST] == fmap[pos], how   # frame where the header began
            assert f[F_FRAME] == fmap[end - 1], how  # frame where the last byte arrived
            assert f[2] == float(f[F_FRAME])
            pos = end
        assert pos == len(data)
        if reference is None:
            reference = essentials(frames)
        assert essentials(frames) == reference, how


def test_many_frames_with_trailing_partial_header():
    data = b"".join(ws_frame(op, bytes([op]) * n, fin=True, mask=m) for op, n, m in
                    [(1, 0, None), (2, 125, None), (9, 3, None), (2, 126, None), (0, 70000, None)])
    for how, pieces in feedings(data + b"\x82", range(4)):
        frames = parse(pieces)
        assert [f[F_LEN] for f in frames] == [0, 125, 3, 126, 70000], how


def test_zero_length_masked_frame():
    data = ws_frame(8, b"", mask=b"wxyz") + ws_frame(1, b"a", mask=b"wxyz")
    for how, pieces in feedings(data):
        frames = parse(pieces)
        assert [(f[F_KEY], f[F_PAYLOAD]) for f in frames] == [(b"wxyz", b""), (b"wxyz", b"a")], how


# -- limits and gaps -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask", [None, b"\x10\x20\x30\x40"])
def test_max_payload_truncation(mask):
    """A payload over max_payload is cut there: nothing is missing (complete) but it is truncated."""
    big = bytes(range(100))
    data = ws_frame(2, big, mask=mask) + ws_frame(1, b"after", mask=mask)
    for how, pieces in feedings(data):
        frames = parse(pieces, max_payload=10)
        assert len(frames) == 2, how
        f = frames[0]
        assert f[F_LEN] == 100 and f[F_PAYLOAD] == big[:10], how
        assert f[F_COMPLETE] and f[F_TRUNCATED], how
        assert not frames[1][F_TRUNCATED]
        assert frames[1][F_PAYLOAD] == b"after" and frames[1][F_COMPLETE]
        assert frames[1][F_OFFSET] == len(data) - len(ws_frame(1, b"after", mask=mask))


def test_max_payload_exactly_at_the_limit_is_complete():
    data = ws_frame(2, b"0123456789")
    for how, pieces in feedings(data):
        (f,) = parse(pieces, max_payload=10)
        assert f[F_COMPLETE] and not f[F_TRUNCATED] and f[F_PAYLOAD] == b"0123456789", how


@pytest.mark.parametrize("mask", [None, b"\x01\x02\x03\x04"])
def test_gap_inside_payload_gives_incomplete_frame_and_stays_in_sync(mask):
    first = ws_frame(2, b"ABCDEFGHIJ", mask=mask)
    second = ws_frame(1, b"next", mask=mask)
    hl = len(first) - 10
    p = FrameParser()
    out = p.feed(first[:hl + 3], 0, 1, 1.0)
    assert out == []
    assert p.gap(4, 2, 2.0) == []
    out = p.feed(first[hl + 7:] + second, hl + 7, 3, 3.0)
    assert len(out) == 2
    f = out[0]
    assert not f[F_COMPLETE] and not f[F_TRUNCATED] and f[F_LEN] == 10 and f[F_PAYLOAD] == b"ABC"
    assert (f[F_FIRST], f[F_FRAME]) == (1, 3)
    assert out[1][F_PAYLOAD] == b"next" and out[1][F_COMPLETE] and out[1][F_OFFSET] == len(first)
    assert p.synced


def test_gap_covering_the_rest_of_a_payload_exactly():
    first = ws_frame(2, b"ABCDEFGHIJ")
    p = FrameParser()
    p.feed(first[:5], 0, 1, 1.0)
    (f,) = p.gap(7, 2, 2.0)
    assert not f[F_COMPLETE] and f[F_PAYLOAD] == b"ABC"
    assert p.synced
    (g,) = p.feed(ws_frame(1, b"ok"), len(first), 3, 3.0)
    assert g[F_PAYLOAD] == b"ok"


def test_gap_running_past_the_payload_loses_sync():
    p = FrameParser(client=False)
    p.feed(ws_frame(2, b"ABCDEFGHIJ")[:5], 0, 1, 1.0)
    out = p.gap(50, 2, 2.0)
    assert len(out) == 2 and out[1] is LOST
    assert not out[0][F_COMPLETE]
    assert not p.synced


def test_gap_in_a_header_loses_sync():
    p = FrameParser(client=False)
    assert p.feed(b"\x82\x7e\x01", 0, 1, 1.0) == []
    assert p.gap(2, 2, 2.0) == [LOST]
    assert not p.synced


def test_end_of_stream_returns_the_unfinished_frame_incomplete():
    p = FrameParser()
    p.feed(ws_frame(2, b"ABCDEFGHIJ")[:6], 0, 1, 1.0)
    p.feed(b"EF", 6, 2, 2.0)
    (f,) = p.end()
    assert not f[F_COMPLETE] and f[F_PAYLOAD] == b"ABCDEF" and f[F_LEN] == 10 and f[F_FIRST] == 1
    assert p.end() == []


def test_end_of_stream_between_frames_returns_nothing():
    p = FrameParser()
    p.feed(ws_frame(1, b"x") + b"\x81", 0, 1, 1.0)
    assert p.end() == []


def test_end_of_stream_frame_carries_the_time_of_its_last_bytes():
    p = FrameParser()
    p.feed(ws_frame(2, b"ABCDEFGHIJ")[:6], 0, 1, 1.0)
    p.feed(b"EF", 6, 2, 2.0)
    (f,) = p.end()
    assert f[F_FRAME] == 2 and f[F_TS] == 2.0


GARBAGE = b"\xff\xfe\xfd\xfc\xfb"


@pytest.mark.parametrize("garbage", [GARBAGE, b"\x82\x01", b""], ids=["ff", "plausible-then-broken", "none"])
def test_gap_at_boundary_then_resync_on_a_provable_chain(garbage):
    """After a gap the decoder waits for a chain of plausible headers that ends exactly where the data ends."""
    before = ws_frame(1, b"before")
    chain = ws_frame(1, b"abc") + ws_frame(1, b"defg") + ws_frame(2, b"xyz")
    start = len(before) + 9  # 9 bytes lost
    for how, pieces in feedings(garbage + chain, range(6)):
        p = FrameParser(client=False)
        assert len(p.feed(before, 0, 1, 1.0)) == 1
        assert p.gap(9, 2, 2.0) == [LOST]
        out = []
        off = start
        for i, piece in enumerate(pieces, 3):
            out += p.feed(piece, off, i, float(i))
            off += len(piece)
        assert [f[F_PAYLOAD] for f in out] == [b"abc", b"defg", b"xyz"], how
        assert [f[F_OFFSET] for f in out] == [start + len(garbage), start + len(garbage) + 5,
                                              start + len(garbage) + 11], how
        assert all(f[F_COMPLETE] for f in out)
        assert p.synced
        resync = [f for f in p.findings if f[0] == "ws.resync"]
        if garbage:
            assert resync and str(len(garbage)) in resync[0][1], how
        else:
            assert resync == [], how


def test_resync_waits_for_proof():
    """One plausible frame alone proves nothing: no output until the chain is long enough."""
    p = FrameParser(client=False)
    p.gap(3, 1, 1.0)
    assert p.feed(ws_frame(1, b"one"), 0, 2, 2.0) == []
    assert not p.synced
    out = p.feed(ws_frame(1, b"two"), 5, 3, 3.0)
    assert [f[F_PAYLOAD] for f in out] == [b"one", b"two"]


def test_resync_refuses_wrong_mask_direction():
    p = FrameParser(client=True)  # client frames must be masked
    p.gap(3, 1, 1.0)
    unmasked = ws_frame(1, b"abc") * 4
    assert p.feed(unmasked, 0, 2, 2.0) == []
    assert not p.synced
    masked = ws_frame(1, b"abc", mask=b"abcd") * 3
    out = p.feed(masked, len(unmasked), 3, 3.0)
    assert [f[F_PAYLOAD] for f in out] == [b"abc", b"abc", b"abc"]
    assert out[0][F_OFFSET] == len(unmasked)


def test_start_unsynced_midstream():
    p = FrameParser(client=False)
    p.start_unsynced()
    tail_of_something = b"\x00\x00\xfa\xff"
    data = tail_of_something + ws_frame(1, b"a") + ws_frame(1, b"b") + ws_frame(1, b"c")
    out = parse(splits(data, 3), parser=p)
    assert [f[F_PAYLOAD] for f in out] == [b"a", b"b", b"c"]


def test_gap_while_unsynced_discards_the_resync_buffer():
    p = FrameParser(client=False)
    p.start_unsynced()
    p.feed(b"\xff\xff\xff", 0, 1, 1.0)
    assert p.gap(10, 2, 2.0) == []
    assert any(f[0] == "ws.resync" for f in p.findings)
    out = p.feed(ws_frame(1, b"x") + ws_frame(1, b"y") + ws_frame(1, b"z"), 13, 3, 3.0)
    assert [f[F_OFFSET] for f in out] == [13, 16, 19]


# -- check_frame -----------------------------------------------------------------------------------------------
def codes(b0: int, b1: int, plen: int, from_client, rsv_allowed: int = 0) -> list[str]:
    return [c for c, _ in check_frame(b0, b1, plen, from_client, rsv_allowed)]


@pytest.mark.parametrize("b0,b1,plen,from_client,rsv_allowed,expected", [
    (0x81, 0x85, 5, True, 0, []),
    (0x81, 0x05, 5, False, 0, []),
    (0x81, 0x05, 5, None, 0, []),
    (0x81, 0x05, 5, True, 0, ["ws.frame.unmasked_client"]),
    (0x81, 0x85, 5, False, 0, ["ws.frame.masked_server"]),
    (0xC1, 0x05, 5, False, 0, ["ws.frame.rsv"]),
    (0xC1, 0x05, 5, False, 4, []),
    (0xB1, 0x05, 5, False, 4, ["ws.frame.rsv"]),                   # RSV2|RSV3 not allowed by deflate
    (0xC0, 0x05, 5, False, 4, ["ws.frame.rsv1_continuation"]),
    (0xC9, 0x05, 5, False, 4, ["ws.frame.rsv1_continuation"]),
    (0x83, 0x05, 5, False, 0, ["ws.frame.reserved_opcode"]),
    (0x8B, 0x05, 5, False, 0, ["ws.frame.reserved_opcode"]),
    (0x89, 0x7E, 126, False, 0, ["ws.frame.control_length"]),
    (0x09, 0x05, 5, False, 0, ["ws.frame.control_fragmented"]),
    (0x08, 0x7E, 200, False, 0, ["ws.frame.control_length", "ws.frame.control_fragmented"]),
    (0x82, 0x7E, 125, False, 0, ["ws.frame.length_encoding"]),
    (0x82, 0x7F, 65535, False, 0, ["ws.frame.length_encoding"]),
    (0x82, 0x7F, 65536, False, 0, []),
    (0x82, 0x7E, 126, False, 0, []),
    (0x82, 0x7F, 1 << 63, False, 0, ["ws.frame.length_msb"]),
    (0x73, 0x05, 5, True, 0, ["ws.frame.unmasked_client", "ws.frame.rsv", "ws.frame.reserved_opcode"]),
])
def test_check_frame(b0, b1, plen, from_client, rsv_allowed, expected):
    assert codes(b0, b1, plen, from_client, rsv_allowed) == expected


def test_check_frame_on_parsed_rfc_vectors():
    for name, (data, _) in RFC_VECTORS.items():
        for f in parse([data]):
            masked = f[F_KEY] is not None
            assert check_frame(f[3], f[4], f[F_LEN], masked, 0) == [], name


def test_parser_reports_non_minimal_length_as_sent():
    data = ws_frame(2, b"abc", length_form=16) + ws_frame(2, b"abc", length_form=64)
    frames = parse([data])
    assert [f[F_PAYLOAD] for f in frames] == [b"abc", b"abc"]
    assert codes(frames[0][3], frames[0][4], frames[0][F_LEN], False) == ["ws.frame.length_encoding"]
    assert codes(frames[1][3], frames[1][4], frames[1][F_LEN], False) == ["ws.frame.length_encoding"]


# -- masking ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 127, 1000])
def test_unmask_matches_pure_python(n):
    data = bytes((i * 31) & 0xFF for i in range(n))
    key = b"\x9a\x01\xff\x42"
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert unmask(data, key) == expected
    assert unmask_py(data, key) == expected
    assert unmask(unmask(data, key), key) == data
