"""Never silently wrong, on captures of real peers: websockets client and server on loopback, recorded by tcpdump.

- a highly compressible 8 MiB message passes whole with the default limits, is cut (truncated, with a finding) by
  a low --max-ratio or --max-message, and the next message, which refers to it, still decodes exactly;
- a handshake on a --decode-as port is decoded from the handshake (a note says --decode-as was not needed);
- a capture started mid-connection holding one compressed client frame gives an incomplete message with its wire
  bytes (raw_b64) and a ws.deflate.no_context finding at its frame.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tcpdump"),
                                reason="recording real peers needs root and tcpdump")

websockets = pytest.importorskip("websockets")

ROWS = b"".join(b'{"id": %d, "name": "row", "ok": true}, ' % (i % 10) for i in range(230_000))[:8 << 20]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Tcpdump:
    """tcpdump on lo for one port, started and confirmed capturing, stopped with SIGINT and waited for."""

    def __init__(self, path, port: int):
        self.cmd = [shutil.which("tcpdump"), "-i", "lo", "-n", "-s", "0", "-B", "65536", "--immediate-mode", "-U",
                    "-w", str(path), f"tcp port {port}"]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "listening on" in line, line
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        err = self.proc.communicate(timeout=20)[1]
        assert "\n0 packets dropped by kernel" in err, err


class _Server:
    """A websockets server on 127.0.0.1:port that keeps what it receives."""

    def __init__(self, port: int):
        from websockets.sync.server import serve

        self.received: list = []

        def handler(ws):
            for msg in ws:
                self.received.append(msg)

        self.server = serve(handler, "127.0.0.1", port, max_size=None)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def _export(path, *args) -> list[dict]:
    out = str(path) + ".jsonl"
    p = subprocess.run([sys.executable, "-m", "wsdissect", "export", str(path), "-o", out, *args],
                       capture_output=True, timeout=120)
    assert p.returncode == 0 and b"Traceback" not in p.stderr, p.stderr
    with open(out) as f:
        return [json.loads(line) for line in f]


def _messages(recs) -> list[dict]:
    return [r for r in recs if r["type"] == "message" and r["opcode"] in ("text", "binary")]


def _codes(recs) -> set:
    return {r["code"] for r in recs if r["type"] == "expert"}


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory):
    """Two 8 MiB compressible texts on one connection (context takeover): the second refers to the first."""
    from websockets.sync.client import connect

    path = tmp_path_factory.mktemp("real") / "big.pcap"
    port = _free_port()
    server = _Server(port)
    second = ROWS[:-12] + b"the end here"
    with _Tcpdump(path, port):
        with connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
            ws.send(ROWS.decode())
            ws.send(second.decode())
        time.sleep(0.2)
    server.close()
    assert server.received == [ROWS.decode(), second.decode()]
    return path, [ROWS, second]


def test_a_large_compressible_message_passes_whole_with_the_defaults(big_capture):
    path, sent = big_capture
    msgs = _messages(_export(path))
    assert [m["complete"] for m in msgs] == [True, True]
    assert msgs[0]["wire_length"] * 100 < len(sent[0])  # it really is compressed hundreds to one
    assert [base64.b64decode(m["payload_b64"]) for m in msgs] == sent


def test_a_ratio_limit_cuts_with_a_finding_and_loses_the_history(big_capture):
    path, sent = big_capture
    recs = _export(path, "--max-ratio", "100")
    msgs = _messages(recs)
    assert all(not m["complete"] for m in msgs) and msgs[0]["truncated"]
    assert sent[0].startswith(base64.b64decode(msgs[0]["payload_b64"]))
    findings = [r for r in recs if r["type"] == "expert" and r["code"] == "ws.deflate.limit"]
    assert findings and findings[0]["frame"] == msgs[0]["last_frame"]


def test_a_message_cut_at_max_message_keeps_the_next_one_exact(big_capture):
    path, sent = big_capture
    recs = _export(path, "--max-message", "1M")
    first, second = _messages(recs)
    assert not first["complete"] and first["truncated"] and first["payload_length"] == 1 << 20
    assert base64.b64decode(first["payload_b64"]) == sent[0][:1 << 20]
    assert "ws.message.too_large" in _codes(recs)
    # the second message refers to the first one's window: it decodes only if the rest was inflated and dropped
    assert not second["complete"] and second["truncated"]
    assert base64.b64decode(second["payload_b64"]) == sent[1][:1 << 20]
    assert "ws.deflate.no_context" not in _codes(recs) and "ws.deflate.error" not in _codes(recs)


def test_a_handshake_on_a_decode_as_port_wins(tmp_path):
    from websockets.sync.client import connect

    path = tmp_path / "hs.pcap"
    port = _free_port()
    server = _Server(port)
    with _Tcpdump(path, port):
        with connect(f"ws://127.0.0.1:{port}/chat") as ws:
            ws.send("hello")
            ws.send(b"\x00\x01binary")
        time.sleep(0.2)
    server.close()
    plain = _export(path)
    recs = _export(path, "--decode-as", str(port))
    conn = next(r for r in recs if r["type"] == "connection")
    assert conn["status"] == "upgraded" and conn["request"]["uri"] == "/chat"
    assert [(m["opcode"], base64.b64decode(m["payload_b64"])) for m in _messages(recs)] == [
        ("text", b"hello"), ("binary", b"\x00\x01binary")]
    assert all(m["complete"] for m in _messages(recs))
    codes = _codes(recs)
    assert "ws.decode_as.unneeded" in codes and "ws.resync" not in codes and "ws.handshake.missing" not in codes
    assert _codes(plain) | {"ws.decode_as.unneeded"} == codes


def test_a_lone_compressed_frame_of_a_midstream_capture_is_exported_incomplete(tmp_path):
    from websockets.sync.client import connect

    path = tmp_path / "mid.pcap"
    port = _free_port()
    server = _Server(port)
    first = "the same words again and again " * 20
    second = first + "and a tail"
    with connect(f"ws://127.0.0.1:{port}/", ping_interval=None) as ws:
        ws.send(first)  # before the capture: the compression history the next frame refers to
        time.sleep(0.3)
        with _Tcpdump(path, port):
            ws.send(second)
            time.sleep(0.3)
    server.close()
    recs = _export(path, "--decode-as", str(port))
    (msg,) = _messages(recs)
    assert msg["opcode"] == "text" and not msg["complete"] and msg["compressed"] and msg["payload_length"] == 0
    raw = base64.b64decode(msg["raw_b64"])
    assert len(raw) == msg["wire_length"]
    history = zlib.decompressobj(wbits=-15, zdict=first.encode())  # the raw bytes are the real compressed frame
    assert history.decompress(raw + b"\x00\x00\xff\xff") == second.encode()
    finding = next(r for r in recs if r["type"] == "expert" and r["code"] == "ws.deflate.no_context")
    assert finding["frame"] == msg["first_frame"] == msg["last_frame"]
