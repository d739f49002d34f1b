"""wsdissect.http.stream: heads found and bodies skipped in one direction, however the bytes are split."""
from __future__ import annotations

import pytest

from tests.support import feedings, ws_frame
from wsdissect.http.stream import HttpStream, body_kind, looks_like_request, looks_like_response

REQ_GET = b"GET /a HTTP/1.1\r\nHost: example.test\r\n\r\n"
BODY_1 = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + ws_frame(1, b"hi") + b"GET /x HTTP/1.1\r\n\r\n"
REQ_POST = (b"POST /b HTTP/1.1\r\nHost: example.test\r\nContent-Length: %d\r\n\r\n" % len(BODY_1)) + BODY_1
CHUNKED_BODY = (b"10\r\n" + b"GET / HTTP/1.1\r\n" + b"\r\n"   # 16 bytes of chunk data that look like a head
                + b"4;ext=1\r\n\r\n\r\n\r\n"                   # a chunk holding an empty line pair
                + b"0\r\nX-Trailer: yes\r\n\r\n")
REQ_CHUNKED = b"PUT /c HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED_BODY
REQ_LAST = b"GET /d HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\n\r\n"
REQUESTS = REQ_GET + REQ_POST + REQ_CHUNKED + REQ_LAST


def frame_map(pieces: list[bytes]) -> list[int]:
    """Frame number (1-based piece index) of every byte."""
    out = []
    for i, p in enumerate(pieces, 1):
        out += [i] * len(p)
    return out


def run(pieces: list[bytes], is_request: bool, method_of=None, **kw) -> tuple[list, HttpStream]:
    s = HttpStream(is_request, **kw)
    heads = []
    for i, p in enumerate(pieces, 1):
        s.feed(p, i, float(i))
        while True:
            h = s.next_head()
            if h is None:
                break
            heads.append(h)
            s.expect_body(*body_kind(h, not s.is_request, method_of(len(heads)) if method_of else None))
    return heads, s


@pytest.mark.parametrize("how,pieces", list(feedings(REQUESTS, range(8))))
def test_pipelined_requests_with_bodies(how, pieces):
    heads, s = run(pieces, True)
    assert [h.start for h in heads] == [("GET", "/a", "HTTP/1.1"), ("POST", "/b", "HTTP/1.1"),
                                        ("PUT", "/c", "HTTP/1.1"), ("GET", "/d", "HTTP/1.1")]
    assert s.broken is None
    assert heads[1].get("content-length") == str(len(BODY_1))
    assert heads[2].tokens("transfer-encoding") == ["chunked"]
    assert heads[3].get("CONNECTION") == "Upgrade"
    # raw head bytes and the frames they start and end in
    fmap = frame_map(pieces)
    pos = 0
    for h, msg in zip(heads, [REQ_GET, REQ_POST, REQ_CHUNKED, REQ_LAST]):
        head_len = msg.index(b"\r\n\r\n") + 4
        assert h.raw == msg[:head_len]
        assert h.first_frame == fmap[pos]
        assert h.frame == fmap[pos + head_len - 1]
        assert h.ts == float(h.frame)
        pos += len(msg)
    assert s.buf == bytearray()


RESP_1 = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY_1) + BODY_1
RESP_2 = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + CHUNKED_BODY
RESP_3 = b"HTTP/1.1 204 No Content\r\nContent-Length: 100\r\n\r\n"   # 204: no body whatever it says
RESP_4 = b"HTTP/1.1 304 Not Modified\r\n\r\n"
RESP_5 = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"          # answer to HEAD: no body
RESP_6 = b"HTTP/1.1 100 Continue\r\n\r\n"
RESP_7 = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
RESP_8 = b"HTTP/1.0 200 OK\r\n\r\n" + b"HTTP/1.1 200 fake\r\n\r\n" * 3  # body runs to the end of the connection
RESPONSES = RESP_1 + RESP_2 + RESP_3 + RESP_4 + RESP_5 + RESP_6 + RESP_7 + RESP_8


@pytest.mark.parametrize("how,pieces", list(feedings(RESPONSES, range(8))))
def test_responses_with_all_body_kinds(how, pieces):
    heads, s = run(pieces, False, method_of=lambda n: "HEAD" if n == 5 else "GET")
    assert [h.start[1] for h in heads] == ["200", "200", "204", "304", "200", "100", "200", "200"]
    assert [h.start[2] for h in heads] == ["OK", "OK", "No Content", "Not Modified", "OK", "Continue", "OK", "OK"]
    assert heads[-1].start[0] == "HTTP/1.0"
    assert s.broken is None


@pytest.mark.parametrize("how,pieces", list(feedings(b"GET / HTTP/1.1\nHost: x\n\n" + b"GET /2 HTTP/1.1\nA: b\n\n")))
def test_bare_lf_heads(how, pieces):
    heads, _ = run(pieces, True)
    assert [h.start[1] for h in heads] == ["/", "/2"]
    assert heads[0].headers == (("Host", "x"),)


def test_bare_lf_head_followed_by_crlf_head():
    s = HttpStream(True)
    s.feed(b"GET /1 HTTP/1.1\nHost: x\n\nGET /2 HTTP/1.1\r\nHost: y\r\n\r\n", 1, 1.0)
    h1 = s.next_head()
    assert h1 is not None and h1.raw == b"GET /1 HTTP/1.1\nHost: x\n\n"
    h2 = s.next_head()
    assert h2 is not None and h2.start[1] == "/2"


def test_header_parsing_details():
    s = HttpStream(True)
    s.feed(b"GET /p?q=1 HTTP/1.1\r\nHost:  example.test \r\nX-Multi: a\r\n  b\r\nX-Multi: c\r\n"
           b"Sec-WebSocket-Protocol: chat, superchat\r\n\r\n", 7, 7.5)
    h = s.next_head()
    assert h.start == ("GET", "/p?q=1", "HTTP/1.1")
    assert h.get("host") == "example.test"
    assert h.get("x-multi") == "a b, c"  # folded line joined; repeated header combined
    assert h.tokens("sec-websocket-protocol") == ["chat", "superchat"]
    assert h.get("absent") is None and h.tokens("absent") == []
    assert (h.first_frame, h.frame, h.ts) == (7, 7, 7.5)


def test_take_rest_returns_bytes_after_head_with_frames():
    s = HttpStream(True)
    f1 = ws_frame(1, b"first", mask=b"abcd")
    f2 = ws_frame(2, b"second", mask=b"wxyz")
    s.feed(REQ_LAST[:10], 1, 1.0)
    s.feed(REQ_LAST[10:] + f1[:4], 2, 2.0)
    s.feed(f1[4:], 3, 3.0)
    s.feed(f2, 4, 4.0)
    h = s.next_head()
    assert (h.first_frame, h.frame) == (1, 2)
    rest = s.take_rest()
    assert rest == [(f1[:4], 2, 2.0), (f1[4:], 3, 3.0), (f2, 4, 4.0)]
    assert s.take_rest() == []


@pytest.mark.parametrize("how,pieces", list(feedings(REQ_LAST + b"\x81\x85abcd" + b"12345")))
def test_take_rest_any_split(how, pieces):
    heads, s = run(pieces, True)
    assert len(heads) == 1
    rest = s.take_rest()
    assert b"".join(r[0] for r in rest) == b"\x81\x85abcd12345"
    fmap = frame_map(pieces)
    pos = len(REQ_LAST)
    for data, frame, ts in rest:
        assert frame == fmap[pos] and ts == float(frame)
        pos += len(data)


def test_take_rest_when_head_ends_exactly_at_chunk_end():
    s = HttpStream(True)
    s.feed(REQ_LAST, 1, 1.0)
    assert s.next_head() is not None
    assert s.take_rest() == []
    s2 = HttpStream(True)
    s2.feed(REQ_LAST, 1, 1.0)
    s2.feed(b"\x88\x80abcd", 2, 2.0)
    s2.next_head()
    assert s2.take_rest() == [(b"\x88\x80abcd", 2, 2.0)]


def test_header_larger_than_max_head_marks_broken():
    s = HttpStream(True, max_head=1024)
    s.feed(b"GET / HTTP/1.1\r\n", 1, 1.0)
    for i in range(200):
        s.feed(b"X-Filler-%03d: yyyyyyyyyy\r\n" % i, i + 2, 0.0)
        assert s.next_head() is None
    assert s.broken and "1024" in s.broken
    s.feed(b"\r\n", 999, 0.0)
    assert s.next_head() is None


def test_head_just_under_max_head_is_fine():
    head = b"GET / HTTP/1.1\r\nX: " + b"y" * 900 + b"\r\n\r\n"
    heads, s = run([head[i:i + 7] for i in range(0, len(head), 7)], True, max_head=1024)
    assert len(heads) == 1 and s.broken is None


@pytest.mark.parametrize("data,why", [
    (b"GET /\r\n\r\n", "request line"),
    (b"GET / FTP/1.0\r\n\r\n", "request line"),
    (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", "header line"),
])
def test_malformed_request_marks_broken(data, why):
    s = HttpStream(True)
    s.feed(data, 1, 1.0)
    assert s.next_head() is None
    assert why in s.broken


def test_malformed_status_line_marks_broken():
    s = HttpStream(False)
    s.feed(b"HTTP/1.1 abc Nope\r\n\r\n", 1, 1.0)
    assert s.next_head() is None and "status line" in s.broken


def test_bad_chunk_size_marks_broken():
    s = HttpStream(True)
    s.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 1, 1.0)
    h = s.next_head()
    s.expect_body(*body_kind(h, False))
    assert s.next_head() is None and s.broken == "bad chunk size"


def test_gap_inside_a_body_of_known_length_is_survivable():
    s = HttpStream(False)
    s.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 1, 1.0)
    h = s.next_head()
    s.expect_body(*body_kind(h, True))
    s.gap(10)
    assert s.broken is None
    s.feed(RESP_4, 2, 2.0)
    h2 = s.next_head()
    assert h2 is not None and h2.start[1] == "304"


def test_gap_in_a_head_or_chunked_body_is_fatal():
    s = HttpStream(True)
    s.feed(b"GET / HT", 1, 1.0)
    s.gap(5)
    assert s.broken == "bytes missing from the capture"
    s2 = HttpStream(True)
    s2.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 1.0)
    s2.expect_body(*body_kind(s2.next_head(), False))
    s2.gap(3)
    assert s2.broken


def test_body_kind():
    def head(raw: bytes, is_request: bool):
        s = HttpStream(is_request)
        s.feed(raw, 1, 0.0)
        return s.next_head(), not is_request
    assert body_kind(*head(b"GET / HTTP/1.1\r\n\r\n", True)) == (None, 0)
    assert body_kind(*head(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", True)) == ("length", 12)
    assert body_kind(*head(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", True)) == (None, 0)
    assert body_kind(*head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                          True)) == ("chunked", 0)
    assert body_kind(*head(b"HTTP/1.1 200 OK\r\n\r\n", False)) == ("close", 0)
    assert body_kind(*head(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", False)) == (None, 0)
    assert body_kind(*head(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", False), "HEAD") == (None, 0)


def test_looks_like():
    assert looks_like_request(b"GET /chat HTTP/1.1\r\nHost: x\r\n")
    assert looks_like_request(b"GET /chat HTT")  # not decided yet: plausible
    assert looks_like_request(b"M-SEARCH * HTTP/1.1\r\n")
    assert not looks_like_request(b"\x81\x85abcd12345")
    assert not looks_like_request(b"get / HTTP/1.1\r\n")
    assert not looks_like_request(b"GET / SPDY/3\r\n")
    assert looks_like_response(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert not looks_like_response(b"\x81\x02hi")


@pytest.mark.parametrize("value", [b"abc", b"-3"])
def test_invalid_content_length_on_a_request_breaks_the_stream(value):
    s = HttpStream(True)
    s.feed(b"POST / HTTP/1.1\r\nContent-Length: " + value + b"\r\n\r\nxyzGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", 1, 1.0)
    heads = []
    while (h := s.next_head()) is not None:
        heads.append(h)
        s.expect_body(*body_kind(h, False))
    assert [h.start[0] for h in heads] == ["POST"]
    assert s.broken is not None
