"""Engine.IO v3/v4 and Socket.IO v4/v5 over WebSocket: text parser, binary attachments, msgpack parser."""
from __future__ import annotations

import msgpack
import pytest

from tests import app_encoders as enc
from wsdissect.app.socketio import SocketIODecoder
from wsdissect.app.units import NO_DATA

TEXT, BINARY = 1, 2


def feed(messages, eio: int = 4, decoder: SocketIODecoder | None = None):
    """messages: (from_client, opcode, payload) -> per message unit dicts, all findings."""
    dec = decoder or SocketIODecoder(eio)
    per_message, findings = [], []
    for n, (from_client, opcode, payload) in enumerate(messages):
        res = dec.message(from_client, opcode, payload, n + 1, float(n))
        per_message.append([u.to_dict() for u in res.units])
        findings += list(res.findings)
    return per_message, findings


def strip(d):
    return {k: v for k, v in d.items() if k != "details"}


def test_engineio_packets_each_give_one_unit():
    msgs = [(False, TEXT, b'0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":5000}'),
            (True, TEXT, b"2probe"), (False, TEXT, b"3probe"), (True, TEXT, b"5"), (False, TEXT, b"2"),
            (True, TEXT, b"3"), (False, TEXT, b"6"), (True, TEXT, b"1")]
    units, findings = feed(msgs)
    assert [[u["kind"] for u in m] for m in units] == [["open"], ["ping"], ["pong"], ["upgrade"], ["ping"],
                                                       ["pong"], ["noop"], ["close"]]
    assert units[0][0]["data"]["sid"] == "abc" and units[0][0]["protocol"] == "engine.io"
    assert units[1][0]["details"] == {"probe": True} and "data" not in units[1][0]
    assert findings == []


@pytest.mark.parametrize("payload, unit", [
    (b"40", {"kind": "CONNECT", "namespace": "/", "id": None, "name": None}),
    (b'40/chat,{"sid":"x"}', {"kind": "CONNECT", "namespace": "/chat", "data": {"sid": "x"}}),
    (b'42["chat",{"t":"hi"},2]', {"kind": "EVENT", "name": "chat", "data": [{"t": "hi"}, 2], "id": None}),
    (b'42/a,17["e"]', {"kind": "EVENT", "name": "e", "data": [], "id": 17, "namespace": "/a"}),
    (b'4312[null,"x"]', {"kind": "ACK", "id": 12, "data": [None, "x"], "name": None}),
    (b'44/admin,{"message":"no"}', {"kind": "CONNECT_ERROR", "namespace": "/admin", "data": {"message": "no"}}),
    (b'44"Not authorized"', {"kind": "CONNECT_ERROR", "data": "Not authorized"}),
    (b"41/chat,", {"kind": "DISCONNECT", "namespace": "/chat"}),
])
def test_socketio_text_packets(payload, unit):
    units, findings = feed([(True, TEXT, payload)])
    got = units[0][0]
    assert got["protocol"] == "socket.io"
    assert [f.code for f in findings] == (["socketio.ack_unknown"] if unit["kind"] == "ACK" else [])
    for key, value in unit.items():
        assert got[key] == value, key
    if "data" not in unit:
        assert "data" not in got


def test_binary_event_and_ack_joined_to_their_attachments():
    msgs = [(True, TEXT, b'452-3["up",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]'),
            (True, BINARY, b"\x01\x02"), (True, BINARY, b"\x03"),
            (False, TEXT, b'461-3[{"_placeholder":true,"num":0}]'), (False, BINARY, b"\xff")]
    units, findings = feed(msgs)
    assert [strip(u) for m in units for u in m] == [
        {"protocol": "socket.io", "kind": "BINARY_EVENT", "name": "up", "id": 3, "namespace": "/"},
        {"protocol": "socket.io", "kind": "attachment", "name": None, "id": None},
        {"protocol": "socket.io", "kind": "attachment", "name": None, "id": None},
        {"protocol": "socket.io", "kind": "BINARY_ACK", "name": None, "id": 3, "namespace": "/"},
        {"protocol": "socket.io", "kind": "attachment", "name": None, "id": None}]
    assert units[2][0]["details"]["args"] == ["up", {"$binary": "0102", "length": 2},
                                              {"k": {"$binary": "03", "length": 1}}]
    assert findings == []


def test_engineio3_binary_attachment_has_a_type_byte():
    units, findings = feed([(True, TEXT, b'451-["f",{"_placeholder":true,"num":0}]'), (True, BINARY, b"\x04abc")],
                           eio=3)
    assert units[1][0]["kind"] == "attachment" and units[1][0]["details"]["length"] == 3 and findings == []


def test_msgpack_parser_packets():
    msgs = [(True, BINARY, enc.sio_msgpack(0, data=None)),
            (False, BINARY, enc.sio_msgpack(2, "/chat", 5, ["news", {"a": [1, 2.5]}])),
            (True, BINARY, enc.sio_msgpack(3, "/chat", 5, [True])),
            (True, BINARY, enc.sio_msgpack(2, "/", None, ["file", b"\x00\x01"])),
            (False, TEXT, b"2")]
    units, findings = feed(msgs)
    flat = [strip(m[0]) for m in units]
    assert flat[0] == {"protocol": "socket.io", "kind": "CONNECT", "name": None, "id": None, "namespace": "/"}
    assert flat[1] == {"protocol": "socket.io", "kind": "EVENT", "name": "news", "id": 5, "namespace": "/chat",
                       "data": [{"a": [1, 2.5]}]}
    assert flat[2]["kind"] == "ACK" and flat[2]["data"] == [True]
    assert flat[3]["name"] == "file" and "data" not in flat[3]
    assert flat[4]["protocol"] == "engine.io" and findings == []


def test_msgpack_undefined_is_dropped_like_json_stringify():
    raw = msgpack.packb({"type": 0, "nsp": "/", "data": {"sid": "x", "pid": msgpack.ExtType(0, b"\0")}})
    units, _ = feed([(False, BINARY, raw), (True, BINARY, msgpack.packb({"type": 0, "nsp": "/",
                                                                           "data": msgpack.ExtType(0, b"\0")}))])
    assert units[0][0]["data"] == {"sid": "x"} and "data" not in units[1][0]


# -- findings ------------------------------------------------------------------------------------------------
def codes(findings):
    return [f.code for f in findings]


def test_unknown_socketio_packet_type_gives_a_finding_and_no_unit():
    units, findings = feed([(True, TEXT, b'49["x"]')])
    assert units == [[]] and codes(findings) == ["socketio.packet_type"]


def test_unknown_engineio_packet_type():
    units, findings = feed([(True, TEXT, b"9hello")])
    assert units == [[]] and codes(findings) == ["engineio.packet_type"]


def test_ack_without_request():
    units, findings = feed([(True, TEXT, b'420["q"]'), (False, TEXT, b"430[]"), (False, TEXT, b"430[]"),
                            (False, TEXT, b'43/other,0[]')])
    assert codes(findings) == ["socketio.ack_unknown", "socketio.ack_unknown"]
    assert [len(m) for m in units] == [1, 1, 1, 1]


def test_malformed_payloads():
    units, findings = feed([(True, TEXT, b'42["x",'), (True, TEXT, b'42{"a":1}'), (True, TEXT, b"42[]"),
                            (True, TEXT, b'430{"a":1}'), (True, BINARY, enc.sio_msgpack(2, data={"a": 1}))])
    assert units == [[]] * 5 and codes(findings) == ["socketio.malformed"] * 5


def test_unexpected_binary_and_missing_attachments():
    units, findings = feed([(True, BINARY, b"\x01\x02"), (True, TEXT, b'451-["f",{"_placeholder":true,"num":0}]'),
                            (True, TEXT, b'42["next"]')])
    assert codes(findings) == ["socketio.attachment_unexpected", "socketio.attachments_missing"]
    assert [[u["kind"] for u in m] for m in units] == [[], ["BINARY_EVENT"], ["EVENT"]]


def test_reset_abandons_pending_attachments():
    dec = SocketIODecoder()
    feed([(True, TEXT, b'451-["f",{"_placeholder":true,"num":0}]')], decoder=dec)
    dec.reset(True)
    units, findings = feed([(True, BINARY, b"\x01")], decoder=dec)
    assert units == [[]] and codes(findings) == ["socketio.attachment_unexpected"]


def test_data_is_absent_not_null_when_there_is_no_payload():
    units, _ = feed([(True, TEXT, b"40")])
    assert units[0][0].get("data", "absent") == "absent"
    assert SocketIODecoder().message(True, TEXT, b"40", 1, 0.0).units[0].data is NO_DATA


def test_base64_attachments_in_text_messages():
    for eio, text in ((4, b"bAQI="), (3, b"b4AQI=")):
        units, findings = feed([(True, TEXT, b'451-["f",{"_placeholder":true,"num":0}]'), (True, TEXT, text)], eio=eio)
        assert units[1][0]["kind"] == "attachment" and units[1][0]["details"]["length"] == 2 and findings == []
    units, findings = feed([(True, TEXT, b"b!!")])
    assert units == [[]] and [f.code for f in findings] == ["engineio.packet_type"]
