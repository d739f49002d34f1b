"""wsdissect.rfc6455: accept key, opcode and close-code tables (RFC 6455 sections 1.3, 5.2, 7.4)."""
from __future__ import annotations

import pytest

from wsdissect.rfc6455 import (CloseCode, Opcode, accept_key, close_code_allowed, close_code_label, is_control,
                               is_reserved, opcode_label, opcode_name)


def test_accept_key_rfc6455_section_1_3_example():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert accept_key(b" dGhlIHNhbXBsZSBub25jZQ== ") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_opcodes():
    assert [int(o) for o in Opcode] == [0, 1, 2, 8, 9, 10]
    assert [opcode_name(o) for o in range(16)][:3] == ["continuation", "text", "binary"]
    assert opcode_name(3) == "reserved-0x3" and opcode_name(0xB) == "reserved-0xb"
    assert opcode_label(8) == "Connection Close"
    assert opcode_label(3) == "Reserved Non-Control Frame (0x3)"
    assert opcode_label(0xC) == "Reserved Control Frame (0xc)"
    assert [o for o in range(16) if is_control(o)] == list(range(8, 16))
    assert [o for o in range(16) if not is_reserved(o)] == [0, 1, 2, 8, 9, 10]


@pytest.mark.parametrize("code,allowed", [
    (0, False), (999, False), (1000, True), (1003, True), (1004, False), (1005, False), (1006, False),
    (1007, True), (1011, True), (1014, True), (1015, False), (1016, False), (2999, False), (3000, True),
    (3999, True), (4000, True), (4999, True), (5000, False), (65535, False),
])
def test_close_code_allowed(code, allowed):
    assert close_code_allowed(code) is allowed


def test_close_code_labels():
    assert CloseCode.NORMAL_CLOSURE == 1000 and CloseCode.TLS_HANDSHAKE == 1015
    assert close_code_label(1000) == "Normal Closure"
    assert close_code_label(500) == "Unused (0-999)"
    assert close_code_label(2000) == "Reserved for the protocol (1016-2999)"
    assert close_code_label(3001) == "Registered (3000-3999)"
    assert close_code_label(4001) == "Private use (4000-4999)"
    assert close_code_label(5001) == "Invalid"
