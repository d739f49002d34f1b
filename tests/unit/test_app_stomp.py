"""STOMP 1.0-1.2 frames over WebSocket messages."""
from __future__ import annotations

from tests import app_encoders as enc
from tests.support import splits
from wsdissect.app.stomp import _FRAME_START, StompDecoder

TEXT, BINARY = 1, 2


def decode(*messages: bytes, from_client: bool = True, decoder: StompDecoder | None = None):
    dec = decoder or StompDecoder()
    units, findings = [], []
    for n, m in enumerate(messages):
        res = dec.message(from_client, TEXT, m, n, 0.0)
        units.append([u.to_dict() for u in res.units])
        findings += [f.code for f in res.findings]
    return units, findings


def short(u):
    return (u["kind"], u["name"], u["id"], u.get("data", "-"))


def test_client_frames_and_their_ids():
    msgs = [enc.stomp_frame("CONNECT", [("accept-version", "1.2"), ("host", "/")], escapes=False),
            enc.stomp_frame("SUBSCRIBE", [("id", "sub-0"), ("destination", "/topic/a")]),
            enc.stomp_frame("SEND", [("destination", "/q/x"), ("receipt", "r1")], b'{"a":[1]}'),
            enc.stomp_frame("SEND", [("destination", "/q/x")], b"not json"),
            enc.stomp_frame("ACK", [("id", "a-1")]), enc.stomp_frame("BEGIN", [("transaction", "t")]),
            enc.stomp_frame("DISCONNECT", [("receipt", "bye")])]
    units, findings = decode(*msgs)
    assert [short(u) for m in units for u in m] == [
        ("CONNECT", None, None, "-"), ("SUBSCRIBE", "/topic/a", "sub-0", "-"), ("SEND", "/q/x", "r1", {"a": [1]}),
        ("SEND", "/q/x", None, "-"), ("ACK", None, "a-1", "-"), ("BEGIN", None, None, "-"),
        ("DISCONNECT", None, "bye", "-")]
    assert findings == []


def test_server_frames_several_per_message_and_heartbeats():
    two = (enc.stomp_frame("MESSAGE", [("destination", "/t"), ("message-id", "m1"), ("subscription", "s")], b"[]")
           + enc.stomp_frame("RECEIPT", [("receipt-id", "r1")]))
    units, findings = decode(enc.stomp_frame("CONNECTED", [("version", "1.2")]), two, b"\n", b"\r\n\n",
                             enc.stomp_frame("ERROR", [("message", "no")], b"text"), from_client=False)
    assert [[short(u) for u in m] for m in units] == [
        [("CONNECTED", None, None, "-")], [("MESSAGE", "/t", "m1", []), ("RECEIPT", None, "r1", "-")],
        [("HEARTBEAT", None, None, "-")], [("HEARTBEAT", None, None, "-")], [("ERROR", None, None, "-")]]
    assert findings == []


def test_header_escapes_first_value_wins_and_crlf():
    frame = b"SEND\r\ndestination:/a\\cb\\\\c\\nd\r\ndestination:/other\r\nreceipt:x\r\n\r\nbody\0"
    units, findings = decode(frame)
    assert units[0][0]["name"] == "/a:b\\c\nd" and units[0][0]["id"] == "x" and findings == []


def test_connect_headers_are_not_unescaped():
    units, _ = decode(b"CONNECT\nlogin:a\\cb\n\n\0")
    assert units[0][0]["details"]["headers"]["login"] == "a\\cb"


def test_content_length_body_may_hold_nul():
    body = b'"a\\u0000"'
    frame = b"SEND\ndestination:/x\ncontent-length:%d\n\n%s\0" % (len(body), body)
    units, findings = decode(frame + b"\n")
    assert units[0][0]["data"] == "a\0" and findings == []


def test_binary_body_has_no_data():
    dec = StompDecoder()
    res = dec.message(True, BINARY, enc.stomp_frame("SEND", [("destination", "/b")], b"\x00\xff\x01"), 1, 0.0)
    assert res.units[0].to_dict() == {"protocol": "stomp", "kind": "SEND", "name": "/b", "id": None,
                                      "details": {"headers": {"destination": "/b", "content-length": "3"},
                                                  "body_length": 3}}


# -- findings ------------------------------------------------------------------------------------------------
def test_missing_nul_is_reported_when_the_next_frame_starts():
    units, findings = decode(b"SEND\ndestination:/x\n\nbody", b"\n", b"SEND\ndestination:/y\n\n\0")
    assert findings == ["stomp.missing_nul"]
    assert [[u["kind"] for u in m] for m in units] == [[], ["HEARTBEAT"], ["SEND", "SEND"]]
    assert units[2][0]["details"]["body_length"] == 4


def test_frame_without_nul_at_the_end_of_the_connection_is_unfinished():
    dec = StompDecoder()
    decode(b"SEND\ndestination:/x\n\nbody", decoder=dec)
    assert dec.unfinished(True) == "25 bytes of a STOMP frame without its NUL" and dec.unfinished(False) == ""
    dec.reset(True)
    assert dec.unfinished(True) == ""


def test_oversized_unfinished_frame_is_dropped(monkeypatch):
    monkeypatch.setattr("wsdissect.app.stomp.MAX_PACKET", 8)
    dec = StompDecoder()
    units, findings = decode(b"SEND\ndestination:/x\n\nbody", decoder=dec)
    assert findings == ["app.buffer_limit"] and dec.unfinished(True) == ""


def _splits_without_heartbeat_pieces(data: bytes):
    """Random splits where no piece is only EOLs (a heart-beat) and only the first starts like a frame."""
    for seed in range(40):
        pieces = splits(data, seed)
        if all(p.strip(b"\r\n") and not (i and _FRAME_START.match(p)) for i, p in enumerate(pieces)):
            yield pieces


def test_frames_split_over_messages_are_joined_on_the_message_with_their_nul():
    body = b'{"k":"v\\n","n":[1,2,3]}'
    stream = (enc.stomp_frame("SEND", [("destination", "/a"), ("receipt", "r1")], body)
              + enc.stomp_frame("SEND", [("destination", "/b")], b"plain\0text")
              + enc.stomp_frame("SEND", [("destination", "/c")], body, length=False))
    tried = 0
    for pieces in _splits_without_heartbeat_pieces(stream):
        tried += 1
        units, findings = decode(*pieces)
        flat = [(i, short(u)) for i, m in enumerate(units) for u in m]
        assert [u for _, u in flat] == [("SEND", "/a", "r1", {"k": "v\n", "n": [1, 2, 3]}), ("SEND", "/b", None, "-"),
                                        ("SEND", "/c", None, {"k": "v\n", "n": [1, 2, 3]})]
        assert flat[-1][0] == len(pieces) - 1 and findings == []
    assert tried >= 5


def test_content_length_mismatch():
    units, findings = decode(b"SEND\ndestination:/x\ncontent-length:2\n\nbody\0")
    assert findings == ["stomp.content_length"] and units[0][0]["details"]["body_length"] == 4


def test_undefined_escape_and_missing_blank_line():
    _, findings = decode(b"SEND\ndestination:/x\\t\n\n\0", b"SEND\ndestination:/x", b"SEND\n\n\0")
    assert findings == ["stomp.escape", "stomp.malformed"]
