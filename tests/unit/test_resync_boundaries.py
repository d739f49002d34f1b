"""wsdissect.ws.frames resynchronisation: which positions prove a frame boundary (BoundaryScanner) and what the
parser does with a direction that starts inside a frame or in one larger than it holds (Resync)."""
from __future__ import annotations

import random

from tests.support import ws_frame
from wsdissect.ws.frames import (F_LEN, F_OFFSET, F_PAYLOAD, PLAUSIBLE_LENGTH, RESYNC_MAX, BoundaryScanner,
                                 FrameParser, plausible)

RND = random.Random(6455)


def _feed(parser: FrameParser, chunks: list[bytes], start: int = 0) -> list:
    out, off = [], start
    for i, chunk in enumerate(chunks, 1):
        out += parser.feed(chunk, off, i, float(i))
        off += len(chunk)
    return out


def _junk_with_three_plausible_frames() -> bytes:
    """Random bytes with a chain of three plausible (unmasked) frame headers in the middle."""
    chain = ws_frame(1, b"ab") + ws_frame(2, b"cde") + ws_frame(1, b"f")
    return b"\xff" * 40 + chain + b"\xff" * 40


def test_three_plausible_frames_inside_a_chunk_prove_nothing():
    """Inside one chunk of payload bytes, a chain of three plausible headers that no segment ends on is noise."""
    scanner = BoundaryScanner(client=False, rsv_allowed=0)
    assert scanner.find(bytearray(_junk_with_three_plausible_frames())) is None


def test_one_frame_landing_on_a_segment_end_and_one_more_prove_nothing():
    """Two plausible headers in random payload, the first frame ending exactly where a segment ended: noise too
    (a third frame, or a second frame ending on a segment end, is wanted)."""
    scanner = BoundaryScanner(client=False, rsv_allowed=0)
    first = bytearray(b"\xff" * 30 + ws_frame(1, b"ab"))
    assert scanner.find(first) is None
    assert scanner.find(first + ws_frame(2, b"cd") + b"\xff" * 40) is None


def test_a_chain_reaching_a_segment_end_is_a_boundary():
    """The tail of a frame, then frames sent whole: the boundary is where the first chunk ended."""
    tail = bytes(RND.randbytes(500))
    frames = ws_frame(1, b"one") + ws_frame(1, b"two")
    p = FrameParser(client=False)
    p.start_unsynced()
    out = _feed(p, [tail, frames])
    assert [f[F_PAYLOAD] for f in out] == [b"one", b"two"]
    assert out[0][F_OFFSET] == len(tail)
    assert any("skipping 500 bytes" in f[1] for f in p.findings)


def test_an_earlier_undecided_position_holds_the_answer_back():
    """A frame whose payload is still arriving (from the first byte) blocks a later chain found inside it."""
    big = ws_frame(2, bytes(3000))
    scanner = BoundaryScanner(client=False, rsv_allowed=0)
    buf = bytearray(big[:1000])
    assert scanner.find(buf) is None
    buf += big[1000:] + ws_frame(1, b"x")
    assert scanner.find(buf) == 0


def test_huge_64_bit_lengths_are_noise():
    assert plausible(0x82, 0x7F, 127, PLAUSIBLE_LENGTH - 1, False, 0)
    assert not plausible(0x82, 0x7F, 127, PLAUSIBLE_LENGTH, False, 0)


def test_a_frame_longer_than_the_hold_is_decoded_from_the_first_byte():
    """--decode-as on a capture that starts with a frame larger than RESYNC_MAX: nothing can prove the boundary,
    but the first byte starts a plausible header whose frame covers every byte held: it is decoded from there."""
    payload = RND.randbytes(RESYNC_MAX + 100_000)
    data = ws_frame(2, payload, mask=b"\x01\x02\x03\x04") + ws_frame(1, b"after", mask=b"\x05\x06\x07\x08")
    p = FrameParser(client=True, rsv_allowed=4)
    p.start_unsynced()
    out = _feed(p, [data[i:i + 65000] for i in range(0, len(data), 65000)])
    assert [(f[F_LEN], f[F_PAYLOAD]) for f in out] == [(len(payload), payload), (5, b"after")]
    assert any("no frame boundary proven" in f[1] for f in p.findings)


def test_a_large_frame_entered_in_the_middle_is_skipped_not_decoded():
    """Starting inside a large random frame: no frame is made of its payload; the frames after it are decoded."""
    payload = RND.randbytes(200_000)
    data = ws_frame(2, payload, mask=b"\x01\x02\x03\x04")
    start = 70_000
    rest = [data[start:][i:i + 16000] for i in range(0, len(data) - start, 16000)]
    after = [ws_frame(1, b"a", mask=b"\x05\x06\x07\x08"), ws_frame(1, b"b", mask=b"\x05\x06\x07\x08")]
    p = FrameParser(client=True, rsv_allowed=4)
    p.start_unsynced()
    out = _feed(p, rest + after, start)
    assert [f[F_PAYLOAD] for f in out] == [b"a", b"b"]
