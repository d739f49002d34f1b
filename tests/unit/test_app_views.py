"""Application units in the filters and views: display-filter fields, --app-kind/--app-name, Info texts, the tree
node per unit (escaped), follow lines and the stats tallies with latency."""
from __future__ import annotations

from dataclasses import replace

from wsdissect.app import AppUnit
from wsdissect.display_filter import compile_filter
from wsdissect.events import Message
from wsdissect.filters import EventFilter
from wsdissect.flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Conn
from wsdissect.render.app_stats import AppStats
from wsdissect.render.app_view import unit_info, unit_line, unit_node

from ..conftest import SAMPLES
from ..filter_support import packet_fields

CONN = Conn(3, "10.0.0.1", 50000, "10.0.0.2", 1883)
PUBLISH = AppUnit("mqtt", "PUBLISH", "a/b", 7, data={"t": 1}, details=(("qos", 1), ("retain", False)))
EVENT = AppUnit("socket.io", "EVENT", "chat", None, "/", data=["hi"])


def message(units, direction=CLIENT_TO_SERVER, ts=1.0, payload=b"x" * 10) -> Message:
    return Message(CONN, direction, 2, payload, True, 1, 1, ts, ts, 1, False, len(payload), app=units)


def _nodes(node):
    yield node.label
    for child in node.children:
        yield from _nodes(child)


def test_info_names_the_unit():
    assert unit_info(EVENT) == 'Socket.IO EVENT "chat"'
    assert unit_info(PUBLISH) == "MQTT PUBLISH a/b QoS 1 id=7"
    assert unit_info(AppUnit("socket.io", "CONNECT", namespace="/admin")) == "Socket.IO CONNECT /admin"


def test_payload_text_is_escaped_in_info_tree_and_follow():
    hostile = AppUnit("stomp", "SEND", "/q\x1b[31m\u202e", "id\x07", data={"k": "v\x1b]0;x\x07"},
                      details=(("headers", {"h\x1b": "\x9b"}),))
    texts = [unit_info(hostile), unit_line(hostile), *_nodes(unit_node(hostile))]
    for text in texts:
        assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), text
    assert "\\x1b" in unit_info(hostile)


def test_tree_node_lists_kind_name_id_flags_and_data():
    labels = list(_nodes(unit_node(PUBLISH)))
    assert labels[0] == "MQTT PUBLISH a/b QoS 1 id=7"
    assert {"Kind: PUBLISH", "Topic: a/b", "Id: 7", "Qos: 1", "Retain: False", "Data (JSON):"} <= set(labels)


def test_event_filter_selects_messages_by_unit_kind_and_name():
    publish, event, plain = message((PUBLISH,)), message((EVENT,)), message(None)
    by_kind = EventFilter(app_kinds=frozenset({"PUBLISH"}))
    assert by_kind.accepts(publish) and not by_kind.accepts(event) and not by_kind.accepts(plain)
    both = EventFilter(app_kinds=frozenset({"EVENT"}), app_names=frozenset({"chat"}))
    assert both.accepts(event) and not both.accepts(publish)
    assert not EventFilter(app_names=frozenset({"other"})).accepts(event)
    assert by_kind.active and by_kind.narrows_messages


def test_display_filter_fields_come_from_the_units():
    packets = packet_fields(str(SAMPLES / "mqtt_ws.pcap"))
    publish = compile_filter('ws.app.kind == "PUBLISH" && ws.app.name == "sensors/7/raw"')
    hits = [p for p in packets if publish(p)]
    assert hits and all("sensors/7/raw" in p.values("ws.app.name") for p in hits)
    assert all(p.values("ws.app.protocol") == ["mqtt"] * len(p.values("ws.app.kind")) for p in packets)
    assert not any(compile_filter("ws.app.protocol")(p) for p in packet_fields(str(SAMPLES / "aiohttp_mixed.pcap")))


def test_stats_tally_names_and_pair_latency_per_request_id():
    stats = AppStats()
    stats.message(message((PUBLISH,), ts=1.0))
    stats.message(message((AppUnit("mqtt", "PUBACK", None, 7),), SERVER_TO_CLIENT, ts=1.25, payload=b"1234"))
    stats.message(message((replace(PUBLISH, id=8),), ts=2.0))  # never answered
    stats.end(CONN)
    doc = stats.to_json()
    rows = {(r["kind"], r["name"]): (r["count"], r["bytes"]) for r in doc["protocols"]["mqtt"]}
    assert rows == {("PUBLISH", "a/b"): (2, 20), ("PUBACK", None): (1, 4)}
    (latency,) = doc["latency"]
    assert latency["protocol"] == "mqtt" and latency["count"] == 1 and latency["unanswered"] == 1
    assert abs(latency["max"] - 0.25) < 1e-9 and latency["p50"] == latency["p95"] == latency["max"]
