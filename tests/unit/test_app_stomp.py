"""STOMP 1.0-1.2 frames over WebSocket messages."""
from __future__ import annotations

from tests import app_encoders as enc
from wsdissect.app.stomp import StompDecoder

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
def test_missing_nul():
    units, findings = decode(b"SEND\ndestination:/x\n\nbody")
    assert findings == ["stomp.missing_nul"] and units[0][0]["kind"] == "SEND"


def test_content_length_mismatch():
    units, findings = decode(b"SEND\ndestination:/x\ncontent-length:2\n\nbody\0")
    assert findings == ["stomp.content_length"] and units[0][0]["details"]["body_length"] == 4


def test_undefined_escape_and_missing_blank_line():
    _, findings = decode(b"SEND\ndestination:/x\\t\n\n\0", b"SEND\ndestination:/x")
    assert findings == ["stomp.escape", "stomp.malformed"]
