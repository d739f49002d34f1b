"""Property tests: encoding application messages with the independent encoders of tests/app_encoders.py and
decoding them gives the units back, however the bytes are split over WebSocket messages (MQTT)."""
from __future__ import annotations

import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import app_encoders as enc
from wsdissect.app.graphql import TRANSPORT_WS, GraphQLDecoder
from wsdissect.app.jsonrpc import JsonRpcDecoder
from wsdissect.app.mqtt import MqttDecoder
from wsdissect.app.socketio import SocketIODecoder
from wsdissect.app.stomp import StompDecoder
from wsdissect.app.units import NO_DATA

json_scalars = st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=8) | st.floats(
    allow_nan=False, allow_infinity=False, width=32)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@st.composite
def mqtt_packets(draw, level):
    """(bytes, (kind, name, id, data)) for a random MQTT packet."""
    choice = draw(st.sampled_from(["publish", "subscribe", "unsubscribe", "ack", "ping"]))
    pid = draw(st.integers(1, 65535))
    if choice == "publish":
        qos = draw(st.integers(0, 2))
        topic = draw(names)
        data = draw(st.one_of(st.just(NO_DATA), json_values))
        payload = json.dumps(data).encode() if data is not NO_DATA else draw(st.binary(max_size=40).filter(
            lambda b: not _is_json(b)))
        return enc.publish(topic, payload, qos, pid, level), ("PUBLISH", topic, pid if qos else None, data)
    if choice in ("subscribe", "unsubscribe"):
        topics = draw(st.lists(names, min_size=1, max_size=3))
        build = enc.subscribe if choice == "subscribe" else enc.unsubscribe
        return build(pid, topics, level), (choice.upper(), topics[0], pid, NO_DATA)
    if choice == "ack":
        ptype = draw(st.sampled_from([4, 5, 6, 7]))
        kind = ["PUBACK", "PUBREC", "PUBREL", "PUBCOMP"][ptype - 4]
        return enc.ack(ptype, pid, level, draw(st.sampled_from([None, 0]))), (kind, None, pid, NO_DATA)
    return enc.PINGREQ, ("PINGREQ", None, None, NO_DATA)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw.decode())
        return True
    except (ValueError, UnicodeDecodeError):
        return False


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([4, 5]), st.data())
def test_mqtt_stream_split_anywhere_gives_the_packets_back(level, data):
    packets = data.draw(st.lists(mqtt_packets(level), min_size=1, max_size=6))
    stream = enc.connect("c", level) + b"".join(p for p, _ in packets)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=12)))
    pieces = [stream[a:b] for a, b in zip([0] + cuts, cuts + [len(stream)]) if stream[a:b]]
    dec = MqttDecoder()
    got = []
    for n, piece in enumerate(pieces):
        got += [(u.kind, u.name, u.id, u.data) for u in dec.message(True, 2, piece, n, 0.0).units]
    assert got == [("CONNECT", None, None, NO_DATA)] + [expected for _, expected in packets]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 4), st.sampled_from(["/", "/chat", "/a-b"]), st.none() | st.integers(0, 10**6),
       names, st.lists(json_values, max_size=3))
def test_socketio_text_roundtrip(ptype, nsp, ack, event, args):
    payload = {0: {"sid": event}, 1: None, 2: [event] + args, 3: args, 4: {"message": event}}[ptype]
    ident = ack if ptype in (2, 3) else None
    (unit,) = SocketIODecoder().message(True, 1, enc.sio_text(ptype, nsp, ident, payload), 1, 0.0).units
    assert (unit.namespace, unit.id) == (nsp, ident)
    assert unit.kind == ["CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR"][ptype]
    assert unit.name == (event if ptype == 2 else None)
    expected = {0: payload, 1: NO_DATA, 2: args, 3: args, 4: payload}[ptype]
    assert unit.data == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 3), st.sampled_from(["/", "/chat"]), st.none() | st.integers(0, 1000), names,
       st.lists(json_values, max_size=3))
def test_socketio_msgpack_roundtrip(ptype, nsp, ack, event, args):
    payload = {0: {"sid": event}, 1: None, 2: [event] + args, 3: args}[ptype]
    ident = ack if ptype in (2, 3) else None
    (unit,) = SocketIODecoder().message(False, 2, enc.sio_msgpack(ptype, nsp, ident, payload), 1, 0.0).units
    assert (unit.kind, unit.namespace, unit.id) == (["CONNECT", "DISCONNECT", "EVENT", "ACK"][ptype], nsp, ident)
    assert unit.data == {0: payload, 1: NO_DATA, 2: args, 3: args}[ptype]


header_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=10)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["SEND", "SUBSCRIBE", "MESSAGE", "RECEIPT", "ACK", "ERROR", "BEGIN"]), header_text,
       header_text, st.one_of(st.just(NO_DATA), json_values), st.integers(1, 3))
def test_stomp_frames_roundtrip(command, destination, ident, data, count):
    id_header = {"SUBSCRIBE": "id", "ACK": "id", "MESSAGE": "message-id", "RECEIPT": "receipt-id",
                 "ERROR": "receipt-id"}.get(command, "receipt")
    body = json.dumps(data, ensure_ascii=False).encode() if data is not NO_DATA else b""
    frame = enc.stomp_frame(command, [("destination", destination), (id_header, ident)], body)
    units = StompDecoder().message(True, 1, frame * count, 1, 0.0).units
    assert [(u.kind, u.name, u.id, u.data) for u in units] == [(command, destination, ident, data)] * count


jsonrpc_ids = st.integers(-100, 10**9) | st.text(max_size=6)


@st.composite
def jsonrpc_objects(draw):
    kind = draw(st.sampled_from(["request", "notification", "response", "error"]))
    obj, ident, data = {"jsonrpc": "2.0"}, draw(jsonrpc_ids), draw(json_values)
    if kind in ("request", "notification"):
        obj["method"] = draw(names)
        obj["params"] = data
        if kind == "request":
            obj["id"] = ident
        return obj, (kind, obj["method"], ident if kind == "request" else None, data)
    obj["id"] = ident
    obj["result" if kind == "response" else "error"] = data
    return obj, (kind, None, ident, data)


@settings(max_examples=150, deadline=None)
@given(st.lists(jsonrpc_objects(), min_size=1, max_size=5), st.booleans())
def test_jsonrpc_roundtrip(objects, batch):
    raw = json.dumps([o for o, _ in objects] if batch or len(objects) > 1 else objects[0][0]).encode()
    units = JsonRpcDecoder().message(True, 1, raw, 1, 0.0).units
    assert [(u.kind, u.name, u.id, u.data) for u in units] == [e for _, e in objects]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["subscribe", "next", "error", "complete", "ping"]), st.none() | names,
       st.one_of(st.just(NO_DATA), json_values), st.none() | names)
def test_graphql_roundtrip(kind, ident, payload, operation):
    msg = {"type": kind}
    if ident is not None:
        msg["id"] = ident
    if payload is not NO_DATA:
        msg["payload"] = {"query": "q", "operationName": operation, "x": payload} if operation else payload
    dec = GraphQLDecoder(TRANSPORT_WS)
    dec.message(False, 1, b'{"type":"connection_ack"}', 0, 0.0)
    (unit,) = dec.message(True, 1, json.dumps(msg).encode(), 1, 0.0).units
    assert (unit.kind, unit.id, unit.data) == (kind, ident, msg.get("payload", NO_DATA))
    assert unit.name == (operation if payload is not NO_DATA else None)


def _decoders():
    return [MqttDecoder(), MqttDecoder(5), SocketIODecoder(3), SocketIODecoder(4), StompDecoder(), JsonRpcDecoder(),
            GraphQLDecoder(TRANSPORT_WS)]


noise = st.binary(max_size=64) | st.text(max_size=40).map(str.encode) | st.sampled_from(
    [b"4\xc2\xb2", "42/x,²[".encode(), "4٣".encode(), b"\x30\xff\xff\xff\xff", b"\x82\xff\xff\xff\x7f", b"\x00",
     b"\x93\xc1\xc1\xc1", b"\xd4\x00\x00", b"SEND\nx\\\n\n", b"\n\n\x00", b"[{}]", b'{"type":{}}'])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([1, 2]), noise), max_size=8))
def test_arbitrary_bytes_never_raise_and_give_well_formed_units(messages):
    for dec in _decoders():
        for n, (from_client, opcode, payload) in enumerate(messages):
            res = dec.message(from_client, opcode, payload, n, 0.0)
            for unit in res.units:
                orjson.dumps(unit.to_dict())
            assert all(f.code for f in res.findings)
