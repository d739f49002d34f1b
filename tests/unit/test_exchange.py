"""wsdissect.http.exchange.HttpExchange: requests paired with responses, and the switch to WebSocket."""
from __future__ import annotations

import pytest

from tests.support import feedings, upgrade_request, upgrade_response, ws_frame
from wsdissect.http.exchange import HttpExchange, is_websocket_upgrade

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQ = upgrade_request(key=KEY)
RESP = upgrade_response(KEY)
C_FRAMES = ws_frame(1, b"hello", mask=b"\x01\x02\x03\x04") + ws_frame(9, b"", mask=b"abcd")
S_FRAMES = ws_frame(1, b"world") + ws_frame(2, bytes(300))


def kinds(results: list) -> list[str]:
    return [type(r).__name__ for r in results]


def drive(steps: list[tuple[bool, list[bytes]]]) -> tuple[list, HttpExchange, list[tuple[bool, int, bytes]]]:
    """Feed (from_client, pieces) steps with increasing frame numbers; returns results and the fed log."""
    x = HttpExchange()
    results = []
    log = []
    frame = 0
    for from_client, pieces in steps:
        for p in pieces:
            frame += 1
            log.append((from_client, frame, p))
            results += x.client(p, frame, float(frame)) if from_client else x.server(p, frame, float(frame))
    return results, x, log


def frames_of(log: list, from_client: bool, skip: int) -> list[tuple[bytes, int]]:
    """(byte, frame) for every byte sent by one side, after the first *skip* bytes."""
    out = []
    for fc, frame, p in log:
        if fc == from_client:
            out += [(bytes([b]), frame) for b in p]
    return out[skip:]


def check_rest(rest: list, expected: bytes, log: list, from_client: bool, skip: int) -> None:
    assert b"".join(r.data for r in rest) == expected
    per_byte = frames_of(log, from_client, skip)
    pos = 0
    for data, frame, ts in rest:
        assert data and frame == per_byte[pos][1] and ts == float(frame)
        pos += len(data)


@pytest.mark.parametrize("how,pieces", list(feedings(REQ + C_FRAMES)))
def test_upgrade_hands_back_client_bytes_sent_right_after_the_request(how, pieces):
    results, x, log = drive([(True, pieces), (False, [RESP + S_FRAMES])])
    assert kinds(results) == ["RequestHead", "ResponseHead", "Upgraded"]
    req, resp, client_rest, server_rest = results[2]
    assert results[0].head is req and results[0].number == 1
    assert results[1].head is resp and results[1].request is req
    assert req.start == ("GET", "/chat", "HTTP/1.1") and resp.start[1] == "101"
    check_rest(client_rest, C_FRAMES, log, True, len(REQ))
    check_rest(server_rest, S_FRAMES, log, False, len(RESP))
    assert x.done
    assert x.client(b"more", 99, 0.0) == [] and x.server(b"more", 99, 0.0) == []


@pytest.mark.parametrize("how,pieces", list(feedings(RESP + S_FRAMES, range(3))))
def test_upgrade_server_split_any_way(how, pieces):
    results, _, log = drive([(True, [REQ]), (False, pieces)])
    assert kinds(results) == ["RequestHead", "ResponseHead", "Upgraded"]
    assert results[2].client_rest == []
    # the upgrade is decided in the piece that completes the 101 head; the rest of that piece is handed back
    # (later pieces go straight to the WebSocket stage)
    fed = 0
    for p in pieces:
        fed += len(p)
        if fed >= len(RESP):
            break
    check_rest(results[2].server_rest, S_FRAMES[:fed - len(RESP)], log, False, len(RESP))


def test_client_frames_after_the_response_are_not_in_the_rest():
    results, _, _ = drive([(True, [REQ]), (False, [RESP])])
    assert kinds(results) == ["RequestHead", "ResponseHead", "Upgraded"]
    assert results[2].client_rest == [] and results[2].server_rest == []


def test_keep_alive_request_before_the_upgrade():
    plain = b"GET /index.html HTTP/1.1\r\nHost: example.test\r\n\r\n"
    plain_resp = b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nHTTP/1.1 101 Nope!"
    results, _, _ = drive([(True, [plain + REQ]), (False, [plain_resp]), (False, [RESP])])
    assert kinds(results) == ["RequestHead", "RequestHead", "ResponseHead", "ResponseHead", "Upgraded"]
    assert results[2].request.start[1] == "/index.html" and results[2].number == 1
    assert results[3].request.start[1] == "/chat" and results[3].number == 2
    assert results[4].request.start[1] == "/chat"


REFUSAL_BODY = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n" + ws_frame(1, b"not a frame")
REFUSAL = (b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(REFUSAL_BODY)
           + REFUSAL_BODY)
SECOND = b"GET /other HTTP/1.1\r\nHost: example.test\r\n\r\n"
SECOND_RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.mark.parametrize("how,pieces", list(feedings(REFUSAL + SECOND_RESP, range(4))))
def test_refused_then_plain_request_on_the_same_connection(how, pieces):
    results, x, _ = drive([(True, [REQ]), (True, [SECOND]), (False, pieces)])
    assert kinds(results) == ["RequestHead", "ResponseHead", "Refused", "RequestHead", "ResponseHead"]
    assert results[2].request.start[1] == "/chat" and results[2].response.start[1] == "403"
    assert results[3].head.start[1] == "/other" and results[3].number == 2
    assert results[4].head.start[1] == "200" and results[4].request is results[3].head
    assert not x.done and x.upgrade_request is None


def test_refused_then_second_request_sent_after_the_refusal():
    results, x, _ = drive([(True, [REQ]), (False, [REFUSAL]), (True, [SECOND]), (False, [SECOND_RESP])])
    assert kinds(results) == ["RequestHead", "ResponseHead", "Refused", "RequestHead", "ResponseHead"]
    assert results[4].request.start[1] == "/other"
    assert not x.done


def test_refused_then_a_second_upgrade_succeeds():
    req2 = upgrade_request(path="/retry", key=KEY)
    results, _, _ = drive([(True, [REQ]), (False, [REFUSAL]), (True, [req2 + C_FRAMES]), (False, [RESP])])
    assert kinds(results) == ["RequestHead", "ResponseHead", "Refused", "RequestHead", "ResponseHead", "Upgraded"]
    assert results[5].request.start[1] == "/retry"
    assert b"".join(p[0] for p in results[5].client_rest) == C_FRAMES


def test_h2c_101_is_other_not_websocket():
    req = (b"GET / HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
           b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    resp = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    results, x, _ = drive([(True, [req]), (False, [resp + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"])])
    assert kinds(results) == ["RequestHead", "ResponseHead", "LeftHttp"]
    assert "h2c" in results[2].reason
    assert x.done


def test_interim_100_then_101():
    results, _, _ = drive([(True, [REQ]), (False, [b"HTTP/1.1 100 Continue\r\n\r\n" + RESP])])
    assert kinds(results) == ["RequestHead", "ResponseHead", "ResponseHead", "Upgraded"]
    assert results[1].request is results[0].head and results[2].request is results[0].head


def test_malformed_request_is_other():
    results, x, _ = drive([(True, [b"GET /\r\n\r\n"])])
    assert kinds(results) == ["LeftHttp"] and "request line" in results[0].reason
    assert x.done


def test_gap_in_headers_is_other():
    x = HttpExchange()
    x.client(REQ[:20], 1, 1.0)
    assert kinds(x.gap(True, 10)) == ["LeftHttp"]
    assert x.gap(True, 10) == []


def test_is_websocket_upgrade():
    def head(raw: bytes):
        from wsdissect.http.stream import HttpStream
        s = HttpStream(True)
        s.feed(raw, 1, 0.0)
        return s.next_head()
    assert is_websocket_upgrade(head(REQ))
    assert is_websocket_upgrade(head(b"GET / HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n"))
    assert is_websocket_upgrade(head(b"GET / HTTP/1.1\r\nSec-WebSocket-Key: " + KEY.encode() + b"\r\n\r\n"))
    assert not is_websocket_upgrade(head(b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"))
