"""GraphQL over WebSocket (both protocols) and JSON-RPC 2.0: one unit per message / object."""
from __future__ import annotations

import json

from wsdissect.app.graphql import LEGACY_WS, TRANSPORT_WS, GraphQLDecoder
from wsdissect.app.jsonrpc import JsonRpcDecoder
from wsdissect.app.sniff import looks_like_jsonrpc

TEXT = 1


def run(dec, messages):
    units, findings = [], []
    for n, (from_client, obj) in enumerate(messages):
        raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        res = dec.message(from_client, TEXT, raw, n, 0.0)
        units.append([u.to_dict() for u in res.units])
        findings += [f.code for f in res.findings]
    return units, findings


def test_graphql_transport_ws_session():
    msgs = [(True, {"type": "connection_init", "payload": None}), (False, {"type": "connection_ack"}),
            (True, {"id": "1", "type": "subscribe", "payload": {"query": "query Q { a }", "operationName": "Q"}}),
            (False, {"id": "1", "type": "next", "payload": {"data": {"a": 1}}}),
            (False, {"id": "1", "type": "complete"}), (True, {"type": "ping"})]
    units, findings = run(GraphQLDecoder(TRANSPORT_WS), msgs)
    assert [(u["kind"], u["name"], u["id"], u.get("data", "-")) for m in units for u in m] == [
        ("connection_init", None, None, None), ("connection_ack", None, None, "-"),
        ("subscribe", "Q", "1", {"query": "query Q { a }", "operationName": "Q"}),
        ("next", None, "1", {"data": {"a": 1}}), ("complete", None, "1", "-"), ("ping", None, None, "-")]
    assert all(u["protocol"] == TRANSPORT_WS for m in units for u in m) and findings == []


def test_legacy_graphql_ws():
    msgs = [(True, {"type": "connection_init", "payload": {}}), (False, {"type": "connection_ack"}),
            (False, {"type": "ka"}), (True, {"id": "7", "type": "start", "payload": {"query": "{a}",
                                                                                      "operationName": 5}}),
            (False, {"id": "7", "type": "data", "payload": {"data": {"a": 1}}}), (True, {"id": "7", "type": "stop"})]
    units, findings = run(GraphQLDecoder(LEGACY_WS), msgs)
    assert [u["kind"] for m in units for u in m] == ["connection_init", "connection_ack", "ka", "start", "data",
                                                     "stop"]
    assert units[3][0]["name"] is None and units[0][0]["protocol"] == LEGACY_WS and findings == []


def test_legacy_start_before_ack_is_allowed():
    _, findings = run(GraphQLDecoder(LEGACY_WS), [(True, {"type": "connection_init"}),
                                                  (True, {"id": "1", "type": "start", "payload": {"query": "{a}"}})])
    assert findings == []


def test_graphql_findings():
    _, findings = run(GraphQLDecoder(TRANSPORT_WS), [(True, {"id": "1", "type": "subscribe", "payload": {}}),
                                                     (True, b"not json"), (True, {"type": "bogus"})])
    assert findings == ["graphql.before_ack", "graphql.invalid", "graphql.invalid", "graphql.before_ack"]


def test_jsonrpc_kinds_and_batch():
    msgs = [(True, {"jsonrpc": "2.0", "method": "sum", "params": [1, 2], "id": 1}),
            (True, {"jsonrpc": "2.0", "method": "log"}),
            (False, {"jsonrpc": "2.0", "result": None, "id": 1}),
            (True, [{"jsonrpc": "2.0", "method": "a", "id": "x"}, {"jsonrpc": "2.0", "method": "b", "params": {}}]),
            (False, [{"jsonrpc": "2.0", "error": {"code": -1, "message": "m"}, "id": "x"}])]
    units, findings = run(JsonRpcDecoder(), msgs)
    assert [(u["kind"], u["name"], u["id"], u.get("data", "-")) for m in units for u in m] == [
        ("request", "sum", 1, [1, 2]), ("notification", "log", None, "-"), ("response", None, 1, None),
        ("request", "a", "x", "-"), ("notification", "b", None, {}),
        ("error", None, "x", {"code": -1, "message": "m"})]
    assert findings == []


def test_jsonrpc_findings():
    req = {"jsonrpc": "2.0", "method": "m", "id": 3}
    _, findings = run(JsonRpcDecoder(), [(True, req), (True, req), (False, {"jsonrpc": "2.0", "result": 1, "id": 9}),
                                         (True, b"[]"), (True, {"method": "m"})])
    assert findings == ["jsonrpc.duplicate_id", "jsonrpc.response_unknown", "jsonrpc.invalid", "jsonrpc.invalid"]


def test_ids_of_different_json_types_are_different_requests():
    _, findings = run(JsonRpcDecoder(), [(True, {"jsonrpc": "2.0", "method": "m", "id": 1}),
                                         (False, {"jsonrpc": "2.0", "result": 1, "id": "1"})])
    assert findings == ["jsonrpc.response_unknown"]


def test_strict_jsonrpc_content_test():
    assert looks_like_jsonrpc(b'{"jsonrpc":"2.0","method":"x"}')
    assert looks_like_jsonrpc(b' [{"jsonrpc":"2.0","result":1,"id":1}]')
    assert not looks_like_jsonrpc(b'{"jsonrpc":"1.0","method":"x"}')
    assert not looks_like_jsonrpc(b'[{"jsonrpc":"2.0"}, 3]')
    assert not looks_like_jsonrpc(b'42["jsonrpc"]')
