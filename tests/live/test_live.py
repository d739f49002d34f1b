"""Live capture end to end: real websockets peers on loopback, ``wsdissect live -i lo`` stopped with SIGINT.

Needs root (or CAP_NET_RAW) and tcpdump (libpcap compiles the BPF filter); CI runs as root.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import sys
import time

import pytest

from tests.live.harness import run_live

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tcpdump"),
                                reason="live capture needs root and tcpdump")

websockets = pytest.importorskip("websockets")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exchange(port: int) -> list[tuple[str, str, bytes]]:
    """Run an echo server and a client; return what the applications sent: (direction, opcode, payload)."""
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    sent: list[tuple[str, str, bytes]] = []

    async def echo(ws):
        async for msg in ws:
            data = msg.encode() if isinstance(msg, str) else msg
            sent.append(("server_to_client", "text" if isinstance(msg, str) else "binary", data))
            await ws.send(msg)

    async def main():
        async with serve(echo, "127.0.0.1", port, compression="deflate"):
            async with connect(f"ws://127.0.0.1:{port}/live", compression="deflate") as ws:
                for msg in ["hello live", b"\x00\x01binary\xff" * 50, "é" * 3000, json.dumps({"k": list(range(50))})]:
                    sent.append(("client_to_server", "text" if isinstance(msg, str) else "binary",
                                 msg.encode() if isinstance(msg, str) else msg))
                    await ws.send(msg)
                    await ws.recv()
                parts = ["frag-one ", "frag-two ", "frag-three"]
                sent.append(("client_to_server", "text", "".join(parts).encode()))
                await ws.send(parts)  # a fragmented message
                await ws.recv()

    asyncio.run(main())
    return sent


def _messages(path) -> list[tuple[str, str, bytes]]:
    import base64
    out = []
    with open(path, "rb") as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] == "message" and rec["opcode"] in ("text", "binary"):
                assert rec["complete"], rec
                out.append((rec["direction"], rec["opcode"], base64.b64decode(rec["payload_b64"])))
    return out


def test_live_capture_exports_what_the_peers_sent(tmp_path):
    port = _free_port()
    export, pcap = tmp_path / "live.jsonl", tmp_path / "live.pcap"
    sent, out, err = run_live(["-i", "lo", "-f", f"tcp port {port}", "--messages", "--export", str(export), "-w",
                               str(pcap), "--color", "never"], lambda: _exchange(port))
    assert "dropped by the kernel" in err and "0 dropped" in err
    got = _messages(export)
    assert sorted(got) == sorted(sent)
    for direction in ("client_to_server", "server_to_client"):  # order per direction is exact
        assert [m for m in got if m[0] == direction] == [m for m in sent if m[0] == direction]
    assert b"frag-one" in out  # the --messages view printed the fragmented message
    # the -w capture decodes offline to the same messages
    offline = tmp_path / "offline.jsonl"
    subprocess.run([sys.executable, "-m", "wsdissect", "export", str(pcap), "-o", str(offline)], check=True)
    assert _messages(offline) == got


def test_live_sigterm_stops_cleanly_and_writes_outputs(tmp_path):
    export = tmp_path / "x.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "wsdissect", "live", "-i", "lo", "-f", "tcp port 9",
                             "--export", str(export), "-w", str(tmp_path / "x.pcap")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr.readline().startswith(b"Capturing on")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and b"Traceback" not in err
    assert b"0 packets captured" in err
    assert (tmp_path / "x.pcap").stat().st_size == 24  # a valid, empty pcap


@pytest.mark.parametrize("args,needle", [
    (["-i", "no-such-if0"], "no such interface"),
    (["-i", "lo", "-f", "tcp port"], "bad capture filter"),
    (["-i", "lo", "-w", "/proc/no/such/dir/x.pcap"], "cannot write"),
])
def test_live_errors_are_one_line(args, needle):
    p = subprocess.run([sys.executable, "-m", "wsdissect", "live", *args], capture_output=True, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 2 and needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_filter_keeps_full_size_loopback_segments(tmp_path):
    """A capture filter must not cut packets at 65,535 bytes: loopback segments are larger (MTU 65,536)."""
    port = _free_port()
    export = tmp_path / "big.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "wsdissect", "live", "-i", "lo", "-f", f"tcp port {port}", "-q",
                             "--export", str(export)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stderr.readline().startswith(b"Capturing on")
        time.sleep(0.2)
        from websockets.sync.client import connect
        from websockets.sync.server import serve

        def echo(ws):
            for msg in ws:
                ws.send(msg)

        big = bytes(range(256)) * 800  # 200 kB: full-size segments
        with serve(echo, "127.0.0.1", port, compression=None, max_size=None) as server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            with connect(f"ws://127.0.0.1:{port}/", compression=None, max_size=None) as ws:
                for _ in range(3):
                    ws.send(big)
                    assert ws.recv() == big
            server.shutdown()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and out == b""  # -q: nothing per packet
    got = _messages(export)
    assert [m[2] for m in got] == [big] * 6
