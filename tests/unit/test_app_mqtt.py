"""MQTT over WebSocket: 3.1.1 and 5.0 packets, fed whole, byte by byte and in random splits over messages."""
from __future__ import annotations

import pytest

from tests import app_encoders as enc
from tests.support import feedings
from wsdissect.app.mqtt import MqttDecoder
from wsdissect.app.units import NO_DATA

BINARY = 2


def run(chunks_by_side: list[tuple[bool, list[bytes]]], decoder: MqttDecoder | None = None):
    """Feed (from_client, messages) groups in order; return [(message index, unit)], findings."""
    dec = decoder or MqttDecoder()
    units, findings, n = [], [], 0
    for from_client, chunks in chunks_by_side:
        for chunk in chunks:
            res = dec.message(from_client, BINARY, chunk, n, float(n))
            units += [(n, u) for u in res.units]
            findings += list(res.findings)
            n += 1
    return units, findings


def session(level: int) -> tuple[bytes, bytes]:
    client = (enc.connect("pub", level) + enc.publish("a/b", b'{"x":1}', qos=1, pid=7, level=level)
              + enc.subscribe(9, ["s/+/t", "cmd/#"], level) + enc.publish("bin", b"\xff\x00", level=level)
              + enc.publish("q2", b"plain", qos=2, pid=8, level=level) + enc.ack(6, 8, level)
              + enc.unsubscribe(10, ["s/+/t"], level) + enc.PINGREQ + enc.DISCONNECT)
    server = (enc.connack(level) + enc.ack(4, 7, level) + enc.suback(9, [1, 0], level) + enc.ack(5, 8, level)
              + enc.ack(7, 8, level) + enc.unsuback(10, level) + enc.PINGRESP)
    return client, server


CLIENT_KINDS = ["CONNECT", "PUBLISH", "SUBSCRIBE", "PUBLISH", "PUBLISH", "PUBREL", "UNSUBSCRIBE", "PINGREQ",
                "DISCONNECT"]
SERVER_KINDS = ["CONNACK", "PUBACK", "SUBACK", "PUBREC", "PUBCOMP", "UNSUBACK", "PINGRESP"]


@pytest.mark.parametrize("level", [3, 4, 5])
def test_every_feeding_gives_the_same_units_on_the_message_with_the_last_byte(level):
    client, server = session(level)
    for label, pieces in feedings(client, seeds=range(4)):
        units, findings = run([(True, pieces)])
        assert [u.kind for _, u in units] == CLIENT_KINDS, label
        assert findings == [], label
        ends = [sum(len(p) for p in pieces[:i + 1]) for i, _ in units]
        assert all(e <= len(client) for e in ends)
        pub = units[1][1]
        assert (pub.name, pub.id, pub.data, pub.detail("qos")) == ("a/b", 7, {"x": 1}, 1)
        assert (units[2][1].name, units[2][1].id, units[2][1].detail("topics")) == ("s/+/t", 9, ["s/+/t", "cmd/#"])
        assert units[3][1].data is NO_DATA and units[3][1].id is None
        assert units[4][1].data is NO_DATA and units[4][1].id == 8
    units, findings = run([(True, [client]), (False, [server])])
    assert [u.kind for _, u in units][len(CLIENT_KINDS):] == SERVER_KINDS and findings == []


def test_unit_sits_on_the_message_holding_the_last_byte():
    pub = enc.publish("t", b"1", qos=1, pid=3)
    units, _ = run([(True, [pub[:2], pub[2:5], pub[5:]])])
    assert [(i, u.kind) for i, u in units] == [(2, "PUBLISH")]


def test_several_packets_in_one_message_in_order():
    units, _ = run([(False, [enc.ack(4, 1) + enc.ack(4, 2) + enc.PINGRESP])])
    assert [(u.kind, u.id) for _, u in units] == [("PUBACK", 1), ("PUBACK", 2), ("PINGRESP", None)]


def test_mqtt5_properties_are_skipped_and_shown():
    user = enc.props((0x26, enc.mstr("role") + enc.mstr("pub")), (0x26, enc.mstr("k") + enc.mstr("v")),
                     (0x03, enc.mstr("application/json")))
    msgs = [enc.connect("c", 5), enc.publish("x/y", b"[1,2]", qos=1, pid=5, level=5, properties=user)]
    units, findings = run([(True, msgs)])
    assert findings == []
    pub = units[1][1]
    assert (pub.name, pub.id, pub.data) == ("x/y", 5, [1, 2])
    assert pub.detail("properties") == {"user_property": [["role", "pub"], ["k", "v"]],
                                        "content_type": "application/json"}


def test_connack_with_properties_switches_to_v5_without_connect():
    dec = MqttDecoder()
    run([(False, [enc.connack(5)]), (True, [enc.publish("t", b"true", level=5)])], dec)
    assert dec.version == 5


def test_json_payload_rules():
    payloads = [(b'{"a":1}', {"a": 1}), (b"42", 42), (b"null", None), (b"text", NO_DATA), (b"", NO_DATA),
                (b"NaN", NO_DATA), (b"\xff\xfe", NO_DATA)]
    units, _ = run([(True, [enc.publish("t", p) for p, _ in payloads])])
    assert [u.data for _, u in units] == [d for _, d in payloads]


def test_auth_and_v5_disconnect_reason():
    units, findings = run([(True, [enc.connect("c", 5), enc.auth(), enc.packet(14, 0, b"\x04\x00")])])
    assert [u.kind for _, u in units] == ["CONNECT", "AUTH", "DISCONNECT"] and findings == []
    assert units[1][1].detail("reason_code") == 0x18 and units[2][1].detail("reason_code") == 4


# -- findings ------------------------------------------------------------------------------------------------
def codes(findings):
    return [f.code for f in findings]


def test_malformed_remaining_length():
    units, findings = run([(True, [b"\x30\xff\xff\xff\xff\x01abc"])])
    assert units == [] and codes(findings) == ["mqtt.remaining_length"]
    assert findings[0].direction == "client_to_server"


def test_decoding_resumes_after_a_malformed_remaining_length():
    units, findings = run([(True, [b"\x30\xff\xff\xff\xff", enc.PINGREQ])])
    assert [u.kind for _, u in units] == ["PINGREQ"] and codes(findings) == ["mqtt.remaining_length"]


def test_packet_id_reuse_while_in_flight():
    msgs = [enc.publish("t", b"1", qos=1, pid=4), enc.publish("t", b"2", qos=1, pid=4)]
    _, findings = run([(True, msgs)])
    assert codes(findings) == ["mqtt.packet_id_reuse"]


def test_packet_id_free_again_after_its_ack_and_dup_is_no_reuse():
    pub = enc.publish("t", b"1", qos=1, pid=4)
    _, findings = run([(True, [pub]), (False, [enc.ack(4, 4)]), (True, [pub]),
                       (True, [enc.publish("t", b"1", qos=1, pid=4, dup=True)])])
    assert findings == []


def test_qos2_flow_holds_its_id_until_pubcomp():
    _, findings = run([(True, [enc.publish("t", b"1", qos=2, pid=4)]), (False, [enc.ack(5, 4)]),
                       (True, [enc.ack(6, 4), enc.publish("t", b"2", qos=1, pid=4)])])
    assert codes(findings) == ["mqtt.packet_id_reuse"]


def test_packet_id_zero_and_qos3_and_bad_flags():
    _, findings = run([(True, [enc.publish("t", b"", qos=1, pid=0), enc.packet(3, 0b0110, enc.mstr("t") + b"\0\1"),
                               enc.packet(8, 0, b"\x00\x02" + enc.mstr("t") + b"\0")])])
    assert codes(findings) == ["mqtt.packet_id_zero", "mqtt.flags", "mqtt.flags"]


def test_truncated_fields_and_reserved_type():
    units, findings = run([(True, [enc.packet(3, 2, b"\x00\x09ab"), enc.packet(0, 0, b"")])])
    assert codes(findings) == ["mqtt.malformed", "mqtt.malformed"]
    assert [(u.kind, u.detail("malformed")) for _, u in units] == [("PUBLISH", True)]


def test_oversized_packet_is_skipped_across_messages(monkeypatch):
    monkeypatch.setattr("wsdissect.app.mqtt.MAX_PACKET", 10)
    big = enc.publish("t", b"x" * 30)
    units, findings = run([(True, [big[:12], big[12:] + enc.PINGREQ])])
    assert codes(findings) == ["app.buffer_limit"] and [u.kind for _, u in units] == ["PINGREQ"]


def test_reset_drops_the_partial_packet():
    dec = MqttDecoder()
    run([(True, [enc.PINGREQ + b"\x30\x05ab"])], dec)
    dec.reset(True)
    units, _ = run([(True, [enc.PINGREQ])], dec)
    assert [u.kind for _, u in units] == ["PINGREQ"]


def test_mqtt_in_a_text_message_is_decoded_and_reported():
    dec = MqttDecoder()
    res = dec.message(True, 1, enc.PINGREQ, 1, 0.0)
    assert [u.kind for u in res.units] == ["PINGREQ"] and codes(res.findings) == ["mqtt.text_message"]
