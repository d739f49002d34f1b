"""Choosing the application decoder per connection: forced, subprotocol, handshake URI, strict content tests."""
from __future__ import annotations

import pytest

from tests import app_encoders as enc
from wsdissect.app import new_dissector
from wsdissect.app.registry import choose

TEXT, BINARY, PING = 1, 2, 9


@pytest.mark.parametrize("sub, proto", [("mqtt", "mqtt"), ("MQTTv3.1", "mqtt"), ("v10.stomp", "stomp"),
                                        ("v12.stomp", "stomp"), ("graphql-transport-ws", "graphql-transport-ws"),
                                        ("graphql-ws", "graphql-ws"), ("jsonrpc", "json-rpc")])
def test_known_subprotocols(sub, proto):
    assert choose(sub, "/socket.io/?EIO=4&transport=websocket").protocol == proto


def test_unknown_subprotocol_means_no_decoding_even_for_jsonrpc_content():
    d = new_dissector("chat.v2", "/")
    assert d.choice.reason == "unknown subprotocol"
    res = d.message(True, TEXT, b'{"jsonrpc":"2.0","method":"x","id":1}', 1, 0.0)
    assert res.units == () and res.findings == () and d.protocol is None


@pytest.mark.parametrize("uri, proto", [("/socket.io/?EIO=4&transport=websocket", "socket.io"),
                                        ("/x/socket.io/?transport=websocket&EIO=3&t=1", "socket.io-eio3"),
                                        ("/socket.io/?EIO=4&transport=polling", None), ("/ws", None),
                                        ("/socket.io/?EIO=9&transport=websocket", None)])
def test_handshake_uri(uri, proto):
    assert choose(None, uri).protocol == proto


def test_forced_protocol_and_unknown_forced_name():
    assert choose("chat.v2", "/", forced="mqtt").protocol == "mqtt"
    with pytest.raises(ValueError):
        choose(None, None, forced="nope")


def test_sniffing_decides_on_the_first_matching_message_and_never_before():
    d = new_dissector(None, None)
    assert d.message(True, TEXT, b'{"hello":1}', 1, 0.0).units == ()
    res = d.message(True, TEXT, b'{"jsonrpc":"2.0","method":"x","id":1}', 2, 0.0)
    assert [u.kind for u in res.units] == ["request"] and d.protocol == "json-rpc"


@pytest.mark.parametrize("opcode, payload, proto", [
    (TEXT, b'0{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2}', "socket.io"),
    (TEXT, b"2probe", "socket.io"),
    (BINARY, None, "mqtt"),
    (TEXT, b"CONNECT\naccept-version:1.2\nhost:/\n\n\0", "stomp"),
    (TEXT, b'{"type":"connection_init"}', None),
    (TEXT, b'42["x"]', None),
    (BINARY, b"\x10\x0c\x00\x04MQTX\x04\x02\x00\x3c\x00\x00", None),
])
def test_content_tests(opcode, payload, proto):
    d = new_dissector(None, None)
    res = d.message(True, opcode, payload if payload is not None else enc.connect("c"), 1, 0.0)
    assert d.protocol == (proto.split("-")[0] if proto else None)
    assert bool(res.units) == (proto is not None)


def test_control_messages_never_carry_units():
    d = new_dissector("mqtt", "/")
    assert d.message(True, PING, enc.PINGREQ, 1, 0.0).units == ()


def test_incomplete_message_resets_the_stream_with_a_finding():
    d = new_dissector("mqtt", "/")
    d.message(True, BINARY, enc.publish("t", b"x")[:3], 1, 0.0)
    res = d.message(True, BINARY, b"??", 2, 0.0, complete=False)
    assert [f.code for f in res.findings] == ["app.incomplete"]
    assert [u.kind for u in d.message(True, BINARY, enc.PINGREQ, 3, 0.0).units] == ["PINGREQ"]


def test_end_reports_what_each_direction_left_unfinished():
    d = new_dissector("mqtt", "/")
    d.message(True, BINARY, enc.publish("t", b"x")[:3], 1, 0.0)
    res = d.end(9, 1.0)
    assert [(f.code, f.frame, f.direction) for f in res.findings] == [("app.unfinished", 9, "client_to_server")]
    assert "3 bytes" in res.findings[0].message
    s = new_dissector(None, "/socket.io/?EIO=4&transport=websocket")
    s.message(False, TEXT, b'451-["f",{"_placeholder":true,"num":0}]', 1, 0.0)
    assert [f.direction for f in s.end(2, 0.0).findings] == ["server_to_client"]
    assert new_dissector("chat.v2", "/").end(1, 0.0).findings == ()
    assert new_dissector("v12.stomp", "/").end(1, 0.0).findings == ()


def test_content_tests_stop_after_the_first_messages(monkeypatch):
    monkeypatch.setattr("wsdissect.app.registry.SNIFF_MESSAGES", 3)
    d = new_dissector(None, None)
    for n in range(3):
        d.message(True, PING, b"", n, 0.0)  # control messages do not count
        d.message(True, TEXT, b"hello", n, 0.0)
    assert d.message(True, TEXT, b'{"jsonrpc":"2.0","method":"x"}', 9, 0.0).units == () and d.protocol is None
