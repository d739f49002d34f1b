"""The TLS record layer: records across chunks and several per chunk, frame attribution, gaps, garbage."""
import random

from tests.support import feedings
from wsdissect.tls.records import MAX_FRAGMENT, RawRecord, RecordStream, StreamProblem, looks_like_tls


def rec(ctype, payload, version=0x0303):
    return bytes([ctype]) + version.to_bytes(2, "big") + len(payload).to_bytes(2, "big") + payload


STREAM = rec(22, b"\x01" + bytes(300)) + rec(20, b"\x01") + rec(23, bytes(range(256)) * 70) + rec(23, b"") + \
    rec(21, b"\x01\x00")


def test_every_chunking_gives_the_same_records():
    expected = None
    for name, chunks in feedings(STREAM):
        stream = RecordStream()
        got = []
        for i, chunk in enumerate(chunks):
            got += stream.feed(chunk, i, 0.0)
        summary = [(r.content_type, r.version, r.fragment) for r in got]
        assert all(isinstance(r, RawRecord) for r in got), name
        expected = expected or summary
        assert summary == expected, name
    assert [t for t, _v, _f in expected] == [22, 20, 23, 23, 21]
    assert len(expected[2][2]) == 256 * 70


def test_records_belong_to_the_frame_of_their_last_byte():
    stream = RecordStream()
    first = rec(23, b"a" * 100)
    second = rec(23, b"b" * 50)
    assert stream.feed(first[:50], 1, 0.1) == []
    out = stream.feed(first[50:] + second[:10], 2, 0.2)
    assert [(r.first_frame, r.frame, r.ts) for r in out] == [(1, 2, 0.2)]
    out = stream.feed(second[10:], 3, 0.3)
    assert [(r.first_frame, r.frame) for r in out] == [(2, 3)]


def test_garbage_stops_the_stream():
    stream = RecordStream()
    out = stream.feed(rec(23, b"x") + b"HTTP/1.1 200 OK\r\n", 1, 0.0)
    assert isinstance(out[0], RawRecord) and isinstance(out[1], StreamProblem) and out[1].code == "tls.malformed"
    assert stream.stopped and stream.feed(rec(23, b"y"), 2, 0.0) == []


def test_oversized_record_stops_the_stream():
    stream = RecordStream()
    header = b"\x17\x03\x03" + (MAX_FRAGMENT + 1).to_bytes(2, "big")
    assert [o.code for o in stream.feed(header, 1, 0.0)] == ["tls.malformed"]


def test_gap_then_resync_on_two_consecutive_headers():
    records = [rec(23, bytes([i]) * (100 + i)) for i in range(6)]
    stream = RecordStream()
    out = stream.feed(records[0] + records[1][:40], 1, 0.0)
    assert len(out) == 1
    problems = stream.gap(len(records[1]) - 40 + 17, 2, 0.0)  # rest of record 1 and 17 bytes of record 2
    assert [p.code for p in problems] == ["tls.gap"]
    tail = records[2][17:] + records[3] + records[4] + records[5]
    got = []
    for i in range(0, len(tail), 7):
        got += stream.feed(tail[i:i + 7], 3, 0.0)
    assert [r.fragment[0] for r in got] == [3, 4, 5]
    assert got[0].lost_before >= 2 and got[1].lost_before == 0


def test_truncated_record_reported_at_end():
    stream = RecordStream()
    stream.feed(rec(23, b"z" * 40)[:20], 1, 0.0)
    assert [p.code for p in stream.end(1, 0.0)] == ["tls.truncated"]


def test_random_streams_of_records_split_randomly():
    rnd = random.Random(7)
    for _ in range(30):
        payloads = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 600))) for _ in range(rnd.randrange(1, 8))]
        data = b"".join(rec(rnd.choice((20, 21, 22, 23)), p) for p in payloads)
        stream = RecordStream()
        got = []
        pos = 0
        while pos < len(data):
            step = rnd.randrange(1, 900)
            got += stream.feed(data[pos:pos + step], pos, 0.0)
            pos += step
        assert [r.fragment for r in got] == payloads


def test_looks_like_tls():
    assert looks_like_tls(rec(22, b"\x01\x00\x01\xfc"))
    assert looks_like_tls(rec(22, b"\x02\x00\x00\x58", 0x0301))
    assert not looks_like_tls(b"GET / HTTP/1.1\r\n")
    assert not looks_like_tls(rec(23, b"\x01\x00"))
    assert not looks_like_tls(b"\x16\x03")


def test_handshake_assembler_joins_splits_and_forgets_after_a_gap():
    from wsdissect.tls.handshake import HandshakeAssembler
    msgs = b"\x01\x00\x00\x03abc" + b"\x02\x00\x00\x00" + b"\x0b\x00\x00\x05hello"
    for name, chunks in feedings(msgs):
        asm = HandshakeAssembler()
        got = [m for c in chunks for m in asm.feed(c)]
        assert [(m.msg_type, m.body) for m in got] == [(1, b"abc"), (2, b""), (11, b"hello")], name
    asm = HandshakeAssembler()
    assert asm.feed(msgs[:6]) == [] and asm.pending == 6
    asm.reset()
    assert [m.msg_type for m in asm.feed(msgs[7:])] == [2, 11]
