"""wsdissect.ws.messages (with close.py and deflate.py): fragments, control frames, UTF-8, permessage-deflate."""
from __future__ import annotations

import zlib

import pytest

from tests.support import feedings, ws_frame
from wsdissect.flow import Conn
from wsdissect.ws.close import parse_close
from wsdissect.ws.deflate import Inflater
from wsdissect.ws.frames import LOST, FrameParser
from wsdissect.ws.messages import MessageAssembler

CONN = Conn(0, "10.0.0.1", 50000, "10.0.0.2", 8080)
M = b"\x0a\x0b\x0c\x0d"


class Side:
    """A frame parser feeding a message assembler, as connection.py wires them."""

    def __init__(self, inflater: Inflater | None = None, deflate: bool | None = False, max_message: int = 1 << 20,
                 max_payload: int = 1 << 20):
        self.parser = FrameParser(max_payload=max_payload)
        self.asm = MessageAssembler(CONN, "client_to_server", inflater, deflate, max_message)
        self.frame = 0
        self.off = 0

    def feed(self, data: bytes) -> list:
        out: list = []
        self.frame += 1
        for f in self.parser.feed(data, self.off, self.frame, float(self.frame)):
            if f is LOST:
                self.asm.lost(self.frame, float(self.frame), out)
            else:
                self.asm.add(f, out)
        self.off += len(data)
        return out

    def gap(self, n: int) -> list:
        out: list = []
        self.frame += 1
        for f in self.parser.gap(n, self.frame, float(self.frame)):
            if f is LOST:
                self.asm.lost(self.frame, float(self.frame), out)
            else:
                self.asm.add(f, out)
        self.off += n
        return out

    def feed_all(self, pieces: list[bytes]) -> list:
        out = []
        for p in pieces:
            out += self.feed(p)
        return out

    def codes(self) -> list[str]:
        return [f[0] for f in self.asm.findings]


def summary(msgs) -> list[tuple]:
    return [(m.opcode, m.payload, m.complete, m.fragments) for m in msgs]


# -- fragmentation and control frames --------------------------------------------------------------------------
INTERLEAVED = (ws_frame(1, "Hé".encode()[:2], fin=False, mask=M)      # "H" + first byte of "é"
               + ws_frame(9, b"ping!", mask=M)
               + ws_frame(0, "Hé".encode()[2:] + b"llo ", fin=False, mask=M)
               + ws_frame(10, b"", mask=M)
               + ws_frame(0, b"world", mask=M))


@pytest.mark.parametrize("how,pieces", list(feedings(INTERLEAVED)))
def test_fragments_with_control_frames_interleaved(how, pieces):
    s = Side()
    msgs = s.feed_all(pieces)
    assert summary(msgs) == [(9, b"ping!", True, 1), (10, b"", True, 1),
                             (1, "Hé".encode() + b"llo world", True, 3)]
    text = msgs[2]
    assert text.text == "Héllo world"  # a UTF-8 character split across fragments is fine
    assert text.wire_length == len("Hé".encode() + b"llo world")
    assert len(text.frames) == 3 and text.frames == tuple(sorted(text.frames))
    assert text.first_frame <= text.frames[0] and text.last_frame == text.frames[-1]
    assert not text.compressed and text.note is None
    assert s.codes() == []


def test_single_frame_messages():
    s = Side()
    msgs = s.feed(ws_frame(1, b"hi", mask=M) + ws_frame(2, b"\x00\xff", mask=M) + ws_frame(1, b"", mask=M))
    assert summary(msgs) == [(1, b"hi", True, 1), (2, b"\x00\xff", True, 1), (1, b"", True, 1)]
    assert [m.text for m in msgs] == ["hi", None, ""]
    assert all(m.direction == "client_to_server" and m.conn == CONN for m in msgs)


@pytest.mark.parametrize("payload,code,reason,findings", [
    (b"\x03\xe8bye", 1000, "bye", []),
    (b"\x03\xe8", 1000, "", []),
    (b"", None, None, []),
    (b"\x0f\xa0" + "naïve".encode(), 4000, "naïve", []),
    (b"\x03", None, None, ["ws.close.length"]),
    (b"\x03\xed", 1005, "", ["ws.close.code"]),
    (b"\x03\xee", 1006, "", ["ws.close.code"]),
    (b"\x03\xf7", 1015, "", ["ws.close.code"]),
    (b"\x03\xf6", 1014, "", []),
    (b"\x00\x64", 100, "", ["ws.close.code"]),
    (b"\x0b\xb8", 3000, "", []),
    (b"\x13\x88", 5000, "", ["ws.close.code"]),
    (b"\x03\xe8\xff\xfe", 1000, "\ufffd\ufffd", ["ws.close.reason_utf8"]),
])
def test_close_code_and_reason(payload, code, reason, findings):
    s = Side()
    (m,) = s.feed(ws_frame(8, payload, mask=M))
    assert (m.opcode, m.close_code, m.close_reason, m.payload) == (8, code, reason, payload)
    assert s.codes() == findings
    assert [c for c, _ in parse_close(payload)[2]] == findings


def test_frame_after_close():
    s = Side()
    s.feed(ws_frame(8, b"\x03\xe8", mask=M))
    (m,) = s.feed(ws_frame(1, b"late", mask=M))
    assert m.payload == b"late"
    assert s.codes() == ["ws.frame.after_close"]


@pytest.mark.parametrize("frames", [
    [ws_frame(1, b"ok \xc3\x28", mask=M)],
    [ws_frame(1, b"ok \xc3", fin=False, mask=M), ws_frame(0, b"\x28", mask=M)],
    [ws_frame(1, b"\xed\xa0\x80", mask=M)],  # an encoded surrogate
], ids=["single", "fragmented", "surrogate"])
def test_invalid_utf8_text_is_a_finding(frames):
    s = Side()
    (m,) = s.feed(b"".join(frames))
    assert m.opcode == 1 and m.text is None and m.complete
    assert s.codes() == ["ws.message.utf8"]


def test_binary_is_not_checked_for_utf8():
    s = Side()
    (m,) = s.feed(ws_frame(2, b"\xff\xfe", mask=M))
    assert s.codes() == [] and m.text is None


def test_continuation_without_start():
    s = Side()
    assert s.feed(ws_frame(0, b"orphan", mask=M)) == []
    assert s.codes() == ["ws.message.continuation"]
    (m,) = s.feed(ws_frame(1, b"fine", mask=M))
    assert m.payload == b"fine"


def test_interleaved_data_frame():
    s = Side()
    msgs = s.feed(ws_frame(1, b"first part", fin=False, mask=M) + ws_frame(2, b"new", mask=M))
    assert summary(msgs) == [(1, b"first part", False, 1), (2, b"new", True, 1)]
    assert msgs[0].note and "interrupted" in msgs[0].note
    assert msgs[0].text is None
    assert s.codes() == ["ws.message.interleaved"]


def test_lost_mid_message_gives_incomplete_message():
    s = Side()
    assert s.feed(ws_frame(1, b"abc", fin=False, mask=M)) == []
    msgs = s.gap(20)
    assert summary(msgs) == [(1, b"abc", False, 1)]
    assert msgs[0].note == "bytes missing from the capture"
    assert msgs[0].text is None


def test_gap_inside_a_fragment_payload_marks_the_message_incomplete():
    s = Side()
    frag = ws_frame(0, b"0123456789", mask=M)
    s.feed(ws_frame(1, b"abc", fin=False, mask=M) + frag[:8])
    s.gap(3)
    (m,) = s.feed(frag[11:])
    assert not m.complete and m.fragments == 2 and m.note == "bytes missing from the capture"
    assert m.payload == b"abc" + b"01"


def test_finish_with_an_open_message():
    s = Side()
    s.feed(ws_frame(2, b"xy", fin=False, mask=M))
    out: list = []
    s.asm.finish(9, 9.0, out)
    assert summary(out) == [(2, b"xy", False, 1)]
    assert "ended" in out[0].note


def test_message_too_large_is_truncated():
    s = Side(max_message=10)
    msgs = s.feed(ws_frame(2, b"01234567", fin=False, mask=M) + ws_frame(0, b"89abcdef", mask=M)
                  + ws_frame(2, b"small", mask=M))
    assert msgs[0].payload == b"0123456789" and msgs[0].truncated and not msgs[0].complete
    assert msgs[0].wire_length == 16
    assert msgs[1].payload == b"small" and msgs[1].complete
    assert s.codes() == ["ws.message.too_large"]


def test_frame_over_max_payload_gives_truncated_message():
    s = Side(max_payload=4, max_message=4)
    (m,) = s.feed(ws_frame(2, b"0123456789", mask=M))
    assert m.payload == b"0123" and m.truncated and not m.complete and m.wire_length == 10


# -- permessage-deflate ----------------------------------------------------------------------------------------
def compress_messages(messages: list[bytes], takeover: bool = True) -> list[bytes]:
    c = zlib.compressobj(wbits=-15)
    out = []
    for m in messages:
        if not takeover:
            c = zlib.compressobj(wbits=-15)
        data = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        out.append(data[:-4])
    return out


MESSAGES = [b"Hello, Hello, Hello!", b"Hello again: Hello, Hello, Hello!", "¡Hola! ".encode() * 50,
            bytes(range(256)) * 4, b"", b"Hello, Hello, Hello!"]


@pytest.mark.parametrize("takeover", [True, False])
def test_deflate_with_context_takeover_inflates_exactly(takeover):
    compressed = compress_messages(MESSAGES, takeover)
    if takeover:
        assert len(compressed[-1]) < 10  # the last message is one back-reference into history
    wire = b"".join(ws_frame(1 if i != 3 else 2, c, rsv=4, mask=M) for i, c in enumerate(compressed))
    for how, pieces in feedings(wire, range(3)):
        s = Side(Inflater(no_context_takeover=not takeover), deflate=True)
        msgs = s.feed_all(pieces)
        assert [m.payload for m in msgs] == MESSAGES, how
        assert all(m.complete and m.compressed for m in msgs)
        assert [m.wire_length for m in msgs] == [len(c) for c in compressed]
        assert msgs[2].text == "¡Hola! " * 50
        assert s.codes() == []


def test_deflate_fragmented_message():
    (c,) = compress_messages([b"fragmented and compressed " * 20])
    wire = (ws_frame(1, c[:5], fin=False, rsv=4, mask=M) + ws_frame(9, b"p", mask=M)
            + ws_frame(0, c[5:12], fin=False, mask=M) + ws_frame(0, c[12:], mask=M))
    s = Side(Inflater(), deflate=True)
    msgs = s.feed(wire)
    assert [m.opcode for m in msgs] == [9, 1]
    assert msgs[1].payload == b"fragmented and compressed " * 20 and msgs[1].fragments == 3


# RFC 7692 section 7.2.3.1 and 7.2.3.2
RFC_HELLO = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
RFC_HELLO_AGAIN = bytes([0xF2, 0x00, 0x11, 0x00, 0x00])


def test_rfc7692_hello_unfragmented_and_fragmented():
    s = Side(Inflater(), deflate=True)
    (m,) = s.feed(bytes([0xC1, 0x07]) + RFC_HELLO)
    assert m.payload == b"Hello" and m.text == "Hello" and m.compressed
    s2 = Side(Inflater(), deflate=True)
    (m2,) = s2.feed(bytes([0x41, 0x03, 0xF2, 0x48, 0xCD]) + bytes([0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00]))
    assert m2.payload == b"Hello" and m2.fragments == 2


def test_rfc7692_same_message_twice_with_context_takeover():
    s = Side(Inflater(), deflate=True)
    msgs = s.feed(ws_frame(1, RFC_HELLO, rsv=4) + ws_frame(1, RFC_HELLO_AGAIN, rsv=4))
    assert [m.payload for m in msgs] == [b"Hello", b"Hello"]
    assert s.codes() == []


def test_rfc7692_no_compression_block_and_two_blocks():
    inf = Inflater()
    assert inf.inflate(bytes([0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00])) == (b"Hello", None)
    two_blocks = bytes([0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00])
    assert Inflater().inflate(two_blocks) == (b"Hello", None)


def test_rfc7692_bfinal_block_then_another_message():
    inf = Inflater()
    assert inf.inflate(bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00])) == (b"Hello", None)
    payload, problem = inf.inflate(RFC_HELLO)
    assert problem is not None or payload == b"Hello"


def test_no_context_after_lose_history_is_reported_never_wrong():
    s = Side(Inflater(), deflate=True)
    (m1,) = s.feed(ws_frame(1, RFC_HELLO, rsv=4, mask=M))
    assert m1.payload == b"Hello"
    s.asm.lost(s.frame, 0.0, [])  # sync lost: the history is gone
    (m2,) = s.feed(ws_frame(1, RFC_HELLO_AGAIN, rsv=4, mask=M))
    assert not m2.complete and m2.payload == b"" and m2.text is None
    assert "history" in m2.note
    assert s.codes() == ["ws.deflate.no_context"]
    # a self-contained message after that is exact again
    (m3,) = s.feed(ws_frame(1, RFC_HELLO, rsv=4, mask=M))
    assert m3.payload == b"Hello" and m3.complete


def test_history_lost_through_a_gap_in_a_compressed_message():
    msgs = [b"The quick brown fox jumps over the lazy dog. " * 3, b"The quick brown fox again!",
            b"the lazy dog. The quick brown fox"]
    c = compress_messages(msgs)
    s = Side(Inflater(), deflate=True)
    (m1,) = s.feed(ws_frame(1, c[0], rsv=4, mask=M))
    assert m1.payload == msgs[0]
    second = ws_frame(1, c[1], rsv=4, mask=M)
    s.feed(second[:8])
    out = s.gap(len(second) - 10)
    out += s.feed(second[-2:])
    assert len(out) == 1 and not out[0].complete and out[0].payload == b""
    (m3,) = s.feed(ws_frame(1, c[2], rsv=4, mask=M))
    assert not m3.complete and m3.payload == b""  # refers to earlier messages: reported, not guessed
    assert "ws.deflate.no_context" in s.codes()


def test_inflater_never_silently_wrong_after_history_loss():
    """Every message after a loss either inflates exactly or is reported."""
    texts = [(b"message %d: " % i) + b"shared vocabulary repeated " * (i % 4 + 1) for i in range(30)]
    c = compress_messages(texts)
    inf = Inflater()
    for i, data in enumerate(c):
        if i in (3, 11, 12, 20):
            inf.lose_history()
            continue  # these messages were not captured
        payload, problem = inf.inflate(data)
        assert problem is not None or payload == texts[i], i
        if problem:
            assert problem.code == "ws.deflate.no_context"


def test_corrupt_compressed_data_is_an_error():
    s = Side(Inflater(), deflate=True)
    (m,) = s.feed(ws_frame(1, b"\xff\xff\xff\xff\xff", rsv=4, mask=M))
    assert not m.complete and m.payload == b""
    assert s.codes() == ["ws.deflate.error"]


def test_history_unknown_from_the_start_reports_no_context():
    inf = Inflater(history_known=False)
    payload, problem = inf.inflate(RFC_HELLO_AGAIN)
    assert payload == b"" and problem.code == "ws.deflate.no_context"


def test_deflate_bomb_is_cut_at_max_size():
    (bomb,) = compress_messages([b"\x00" * 5_000_000])
    assert len(bomb) < 10_000
    s = Side(Inflater(max_size=100_000), deflate=True)
    (m,) = s.feed(ws_frame(2, bomb, rsv=4, mask=M))
    assert len(m.payload) == 100_000 and m.payload == b"\x00" * 100_000
    assert m.truncated and not m.complete
    assert s.codes() == ["ws.deflate.limit"]


def test_deflate_ratio_limit():
    (bomb,) = compress_messages([b"a" * 2_000_000])
    payload, problem = Inflater(max_ratio=10).inflate(bomb)
    assert len(payload) == max(len(bomb), 1024) * 10
    assert problem.code == "ws.deflate.limit"


def test_message_of_exactly_max_size_is_not_a_bomb():
    (c,) = compress_messages([b"b" * 4096])
    assert Inflater(max_size=4096).inflate(c) == (b"b" * 4096, None)


def test_compressed_without_negotiation_is_not_inflated():
    s = Side(Inflater(), deflate=False)
    (m,) = s.feed(ws_frame(1, RFC_HELLO, rsv=4, mask=M))
    assert m.payload == RFC_HELLO and m.compressed


def test_compressed_without_inflater_keeps_the_wire_bytes():
    s = Side(None, deflate=True)
    (m,) = s.feed(ws_frame(2, RFC_HELLO, rsv=4, mask=M))
    assert m.payload == RFC_HELLO


def test_fragments_so_far_are_the_frames_and_their_payload_lengths():
    s = Side()
    assert s.asm.fragments_so_far() == []
    s.feed(ws_frame(1, b"abc", fin=False, mask=M))
    s.feed(ws_frame(0, b"", fin=False, mask=M) + ws_frame(9, b"ping", mask=M))  # a control frame in between
    s.feed(ws_frame(0, b"defgh", fin=False, mask=M))
    assert s.asm.fragments_so_far() == [(1, 3), (2, 0), (3, 5)]
    s.feed(ws_frame(0, b"!", mask=M))
    assert s.asm.fragments_so_far() == []


def test_fragments_so_far_unknown_when_a_fragment_was_cut_or_truncated():
    s = Side()
    frag = ws_frame(0, b"0123456789", fin=False, mask=M)
    s.feed(ws_frame(1, b"abc", fin=False, mask=M) + frag[:8])
    s.gap(3)
    s.feed(frag[11:])  # the fragment ends: 3 of its bytes were lost
    assert s.asm.fragments_so_far() is None
    big = Side(max_message=8)
    big.feed(ws_frame(1, b"abcdef", fin=False, mask=M))
    big.feed(ws_frame(0, b"ghijkl", fin=False, mask=M))
    assert big.asm.fragments_so_far() is None
