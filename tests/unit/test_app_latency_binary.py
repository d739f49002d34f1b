"""Request -> response latency per id, and msgpack/CBOR trees for binary messages."""
from __future__ import annotations

import cbor2
import msgpack

from wsdissect.app.binary import sniff_binary
from wsdissect.app.latency import LatencyTracker, percentile
from wsdissect.app.units import AppUnit


def u(proto, kind, ident, namespace=None, **details):
    return AppUnit(proto, kind, None, ident, namespace, details=tuple(details.items()))


def test_pairs_per_protocol_and_direction():
    t = LatencyTracker()
    t.observe(u("socket.io", "EVENT", 1, "/"), True, 10.0)
    t.observe(u("socket.io", "ACK", 1, "/chat"), False, 10.5)  # other namespace: not an answer
    assert t.observe(u("socket.io", "ACK", 1, "/"), False, 10.25) == 0.25
    t.observe(u("mqtt", "PUBLISH", 5, qos=2), True, 1.0)
    assert t.observe(u("mqtt", "PUBREC", 5), False, 1.1) is None
    assert t.observe(u("mqtt", "PUBCOMP", 5), False, 1.5) == 0.5
    t.observe(u("mqtt", "PUBLISH", 6, qos=0), True, 1.0)
    t.observe(u("json-rpc", "request", 1), True, 2.0)
    assert t.observe(u("json-rpc", "response", "1"), False, 2.1) is None
    assert t.observe(u("json-rpc", "error", 1), False, 2.25) == 0.25
    t.observe(u("graphql-transport-ws", "subscribe", "a"), True, 3.0)
    assert t.observe(u("graphql-transport-ws", "next", "a"), False, 3.3) is not None
    assert t.observe(u("graphql-transport-ws", "complete", "a"), False, 3.4) is None
    t.observe(u("json-rpc", "request", 2), True, 5.0)
    s = {x.protocol: x for x in t.summaries()}
    assert (s["socket.io"].count, s["socket.io"].max) == (1, 0.25)
    assert s["mqtt"].count == 1 and s["json-rpc"].count == 1 and s["json-rpc"].unanswered == 1
    assert s["graphql-transport-ws"].count == 1


def test_percentiles_and_merge():
    assert percentile([], 50) == 0.0 and percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    a, b = LatencyTracker(), LatencyTracker()
    for i, tr in enumerate((a, b)):
        tr.observe(u("json-rpc", "request", 1), True, 0.0)
        tr.observe(u("json-rpc", "response", 1), False, 1.0 + i)
    b.observe(u("json-rpc", "request", 2), True, 0.0)
    a.merge(b)
    (s,) = a.summaries()
    assert (s.count, s.p50, s.p95, s.max, s.unanswered) == (2, 1.0, 2.0, 2.0, 1)


def test_binary_trees():
    doc = sniff_binary(msgpack.packb({"a": [1, b"\x00"], "n": None}))
    assert doc.format == "msgpack" and doc.tree == {"a": [1, {"$binary": "00", "length": 1}], "n": None}
    doc = sniff_binary(cbor2.dumps([1, {"k": 2.5}, cbor2.CBORTag(40000, 5), cbor2.CBORTag(1, 0)]))
    assert doc.format == "cbor"
    assert doc.tree == [1, {"k": 2.5}, {"$tag": 40000, "value": 5}, {"$datetime": "1970-01-01T00:00:00+00:00"}]
    assert sniff_binary(b"\x05") is None and sniff_binary(b"\x93\x01") is None
