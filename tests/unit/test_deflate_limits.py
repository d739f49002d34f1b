"""Inflater bounds: a cut message is truncated with the right finding code, the window stays right (or is declared
lost), zlib's held-back output is not mistaken for the end; the frame parser's end on an unsynchronised stream;
--decode-as never overrides a handshake."""
from __future__ import annotations

import os
import zlib

import pytest

from tests.support import feedings, ws_frame
from wsdissect.detect import HTTP, WEBSOCKET, classify
from wsdissect.flow import Conn
from wsdissect.options import Options
from wsdissect.ws.deflate import Inflater
from wsdissect.ws.frames import FrameParser

TEXT = b"".join(b"row %d of a long and repetitive table; " % (i % 7) for i in range(5000))


def _stream(*messages: bytes) -> list[bytes]:
    """Messages compressed with context takeover (one compressor), as permessage-deflate puts them on the wire."""
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return [(comp.compress(m) + comp.flush(zlib.Z_SYNC_FLUSH))[:-4] for m in messages]


@pytest.mark.parametrize("keep", [1, 10, 1000, 1024, 4096, len(TEXT) - 1])
def test_a_message_longer_than_the_kept_bytes_is_cut_and_the_next_one_is_exact(keep):
    """zlib holds output back even when every input byte is consumed: only a short read ends a message."""
    second = TEXT[::-1][:3000] + TEXT[:3000]
    wire = _stream(TEXT, second)
    inf = Inflater(max_size=64 << 20, max_keep=keep)
    payload, problem = inf.inflate(wire[0])
    assert payload == TEXT[:keep] and problem.code == "ws.message.too_large"
    payload, problem = inf.inflate(wire[1])  # refers to the first message's window: exact up to the kept bytes
    assert payload == second[:keep]
    assert problem is None if len(second) <= keep else problem.code == "ws.message.too_large"


@pytest.mark.parametrize("budget", [0, 1, 1024, 50_000])
def test_past_the_cpu_bound_the_history_is_declared_lost(budget):
    wire = _stream(TEXT, TEXT)
    inf = Inflater(max_size=budget)
    payload, problem = inf.inflate(wire[0])
    assert problem.code == "ws.deflate.limit" and payload == TEXT[:budget]
    payload, problem = inf.inflate(wire[1])  # refers to the first message: never silently wrong
    assert problem is not None and problem.code == "ws.deflate.no_context" and payload == b""
    assert problem.raw == wire[1]


def test_the_ratio_bound_is_off_by_default_and_cuts_when_set():
    wire = _stream(bytes(4 << 20))[0]
    assert len(wire) * 1000 < 4 << 20
    assert Inflater().inflate(wire) == (bytes(4 << 20), None)
    payload, problem = Inflater(max_ratio=1000).inflate(wire)
    assert problem.code == "ws.deflate.limit" and "1000:1" in problem.detail and len(payload) < 4 << 20


def test_incompressible_messages_inflate_exactly_under_every_bound():
    msgs = [os.urandom(n) for n in (0, 1, 5000, 70000)]
    inf = Inflater(max_keep=1 << 20, max_ratio=2)
    assert [inf.inflate(w) for w in _stream(*msgs)] == [(m, None) for m in msgs]


LONE = ws_frame(1, b"\xf2H\xcd\xc9\xc9\x07\x00", rsv=4, mask=b"\x01\x02\x03\x04")


@pytest.mark.parametrize("name,pieces", list(feedings(LONE)))
def test_a_lone_frame_at_the_end_of_an_unsynchronised_stream_is_decoded(name, pieces):
    parser = FrameParser(client=True, rsv_allowed=4, synced=False)
    out, off = [], 0
    for i, piece in enumerate(pieces):
        out += parser.feed(piece, off, i + 1, float(i))
        off += len(piece)
    assert out == []  # one frame proves nothing while more may come
    (frame,) = parser.end()
    assert frame.b0 == 0xC1 and frame.payload == b"\xf2H\xcd\xc9\xc9\x07\x00" and frame.complete
    assert [f[0] for f in parser.take_findings()] == ["ws.resync"]


def test_bytes_that_are_no_frames_are_reported_at_the_end():
    parser = FrameParser(client=True, rsv_allowed=4, synced=False)
    assert parser.feed(b"\x8f\xff garbage that is no frame", 0, 1, 1.0) == []
    assert parser.end() == []
    (finding,) = parser.take_findings()
    assert finding[0] == "ws.resync" and "could not be decoded" in finding[1]


@pytest.mark.parametrize("data,from_client", [(b"GET /chat HTTP/1.1\r\n", True),
                                              (b"HTTP/1.1 101 Switching Protocols\r\n", False)])
def test_a_handshake_on_a_decode_as_port_is_http(data, from_client):
    conn = Conn(0, "10.0.0.1", 40000, "10.0.0.2", 8765)
    options = Options(decode_as=frozenset({8765}))
    assert classify(data, from_client, conn, options, False).mode == HTTP
    assert classify(b"\x81\x85abcd", True, conn, options, False).mode == WEBSOCKET


def test_a_message_with_raw_bytes_is_the_same_in_the_api_and_the_jsonl(tmp_path):
    """A compressed frame with no deflate context, mid-stream, with --decode-as: exported incomplete with its wire
    bytes, identically by the Python API and the JSONL export (C encoder or not)."""
    import json
    import subprocess
    import sys

    import wsdissect
    from tests.support import Conversation

    conv = Conversation(handshake=False, server=("10.0.0.2", 8765))
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    comp.compress(b"said before the capture; ")
    comp.flush(zlib.Z_SYNC_FLUSH)
    wire = (comp.compress(b"said before the capture; again") + comp.flush(zlib.Z_SYNC_FLUSH))[:-4]
    conv.send(True, ws_frame(1, wire, rsv=4, mask=b"\x01\x02\x03\x04"))
    path = conv.write(str(tmp_path / "lone.pcap"))
    out = tmp_path / "lone.jsonl"
    subprocess.run([sys.executable, "-m", "wsdissect", "export", path, "--decode-as", "8765", "-o", str(out)],
                   check=True)
    (line,) = [r for r in map(json.loads, out.read_text().splitlines()) if r["type"] == "message"]
    assert not line["complete"] and line["compressed"] and line["payload_b64"] == ""
    with wsdissect.open(path, decode_as="8765") as cap:
        (record,) = cap.messages()
    assert record.raw == wire and record.to_dict() == line
