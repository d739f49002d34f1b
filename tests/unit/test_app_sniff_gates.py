"""``app.sniff.sniff``'s cheap first/last-byte gates never change its answer: compared with the plain prefix and
substring tests they stand in front of, on generated messages built around each protocol's markers."""
from __future__ import annotations

import importlib
from typing import Optional

from hypothesis import given, settings, strategies as st

s = importlib.import_module("wsdissect.app.sniff")  # (the package's name `sniff` is the function)


def plain_sniff(opcode: int, payload: bytes) -> Optional[str]:
    """The content tests without the gates."""
    if opcode == 1:
        if payload.startswith(s.ENGINEIO_STARTS) and s.looks_like_engineio(opcode, payload):
            return "socket.io"
        if b'"jsonrpc"' in payload and s.looks_like_jsonrpc(payload):
            return "json-rpc"
    elif opcode == 2 and payload.startswith(b"\x10") and s.looks_like_mqtt_connect(payload):
        return "mqtt"
    if payload.startswith(s.STOMP_CONNECTS) and b"accept-version:" in payload:
        return "stomp"
    return None


PIECES = [b"", b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"\xef\xbb\xbf", b"{", b"}", b"[", b"]", b"0{", b"2probe",
          b"3probe", b'"jsonrpc"', b'"jsonrpc":"2.0"', b'{"jsonrpc":"2.0","id":1}', b'[{"jsonrpc":"2.0"}]', b",",
          b'"sid":"x"', b'"pingInterval":1', b"CONNECT\n", b"STOMP\r\n", b"accept-version:1.2\n", b"\x10",
          b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c", b"\x00MQIsdp", b"x", b"\x00"]


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(st.sampled_from([1, 2, 9]), st.lists(st.sampled_from(PIECES), max_size=6).map(b"".join))
def test_gates_keep_the_answer(opcode, payload):
    assert s.sniff(opcode, payload) == plain_sniff(opcode, payload)


def test_gated_markers_still_found():
    assert s.sniff(1, b' {"jsonrpc":"2.0","method":"m"}\n') == "json-rpc"
    assert s.sniff(1, b"2probe") == "socket.io"
    assert s.sniff(1, b"CONNECT\naccept-version:1.2\n\n\x00") == "stomp"
    assert s.sniff(2, b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00") == "mqtt"
