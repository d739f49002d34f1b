"""follow: long texts show their first part and a ``… N more bytes`` marker, --full shows all, --oneline is one
grep-able line per message, and no line ends in padding."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.builders import Conversation, upgrade_request, upgrade_response, ws_frame
from wsdissect.cli import main

BIG = {"items": ["x" * 100] * 1100}  # about 110 KB of JSON


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> str:
    c = Conversation()
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    c.send(True, upgrade_request(key=key))
    c.send(False, upgrade_response(key))
    c.send(True, ws_frame(1, json.dumps(BIG).encode(), mask=b"\x01\x02\x03\x04"))
    c.send(False, ws_frame(1, b"short\nreply"))
    c.send(False, ws_frame(2, bytes(range(256)) * 4))
    return c.write(str(tmp_path_factory.mktemp("follow") / "long.pcap"))


def _follow(capture: str, *args: str) -> str:
    res = CliRunner().invoke(main, ["follow", capture, *args, "--color", "never", "--width", "100", "-q"])
    assert res.exit_code == 0, res.output
    return res.stdout


def test_a_long_text_is_cut_with_a_marker_and_full_shows_all(capture):
    out = _follow(capture)
    total = len(json.dumps(BIG).encode())
    marker = [line.strip() for line in out.splitlines() if line.strip().startswith("… ") and "more bytes" in line]
    assert marker and int(marker[0].split()[1]) == total - 4000
    full = _follow(capture, "--full")
    assert not any("more bytes" in line for line in full.splitlines())
    assert full.count('"x') == 1100 and out.count('"x') < 1100


def test_no_line_ends_in_padding(capture):
    for args in ((), ("--full",), ("--oneline",)):
        lines = _follow(capture, *args).splitlines()
        assert lines and not [line for line in lines if line != line.rstrip() and not line.endswith(". ")]


def test_oneline_is_one_escaped_line_per_message(capture):
    lines = _follow(capture, "--oneline").splitlines()
    assert len(lines) == 3
    stream, time, arrow, opcode, size = lines[1].split(" ", 5)[:5]
    assert (stream, arrow, opcode, size) == ("0", "←", "text", "11") and float(time) > 0
    assert lines[1].endswith("short\\nreply")
    assert lines[2].split()[3] == "binary" and "more bytes" in lines[2]
    assert "more bytes" not in _follow(capture, "--oneline", "--full")


def test_oneline_shows_application_units_unless_raw():
    sample = str(Path(__file__).resolve().parents[2] / "sample_pcaps" / "socketio_chat.pcap")
    units = _follow(sample, "--oneline").splitlines()
    raw = _follow(sample, "--oneline", "--raw").splitlines()
    assert len(units) == len(raw) > 2
    assert units[1].split(" ", 5)[5] == "Socket.IO CONNECT  {}" and raw[1].endswith(" 40{}")
    assert units[0].split(" ", 5)[5].startswith("Engine.IO open  {") and " 0{" in raw[0]


def test_a_capture_without_websocket_says_so(tmp_path):
    c = Conversation()
    c.send(True, b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c.close()
    for args in ((), ("--oneline",)):
        assert _follow(c.write(str(tmp_path / "plain.pcap")), *args) == "(no WebSocket connection matched)\n"
