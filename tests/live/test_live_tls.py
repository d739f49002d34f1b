"""Live wss:// capture: real websockets peers over TLS on loopback, their key log growing while ``wsdissect live
--tls-keylog`` runs (the client's ``ssl.SSLContext.keylog_filename`` appends each session's secrets as it starts).

Needs root (or CAP_NET_RAW) and tcpdump, like tests/live/test_live.py.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import ssl

import pytest

from tests.live.harness import run_live

from tests.live.test_live import _free_port
from tests.unit.tls.openssl_peers import write_certificate

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tcpdump"),
                                reason="live capture needs root and tcpdump")

websockets = pytest.importorskip("websockets")


def _exchange(port: int, cert: tuple[str, str], keylog: str, rounds: int) -> list[tuple[str, str, bytes]]:
    """*rounds* wss connections one after the other; what the client sent (text and binary)."""
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*cert)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cert[0])
    client_ctx.keylog_filename = keylog
    sent: list[tuple[str, str, bytes]] = []

    async def echo(ws):
        async for msg in ws:
            await ws.send(msg)

    async def main():
        async with serve(echo, "127.0.0.1", port, ssl=server_ctx, compression="deflate"):
            for n in range(rounds):
                async with connect(f"wss://127.0.0.1:{port}/live{n}", ssl=client_ctx, compression="deflate",
                                   server_hostname="example.test") as ws:
                    for msg in [f"hello wss {n}", bytes(range(256)) * 8, "ü" * 2000]:
                        sent.append(("client_to_server", "text" if isinstance(msg, str) else "binary",
                                     msg.encode() if isinstance(msg, str) else msg))
                        await ws.send(msg)
                        await ws.recv()
                await asyncio.sleep(0.7)  # longer than the key log's re-read interval

    asyncio.run(main())
    return sent


def test_live_wss_with_a_growing_key_log(tmp_path):
    port = _free_port()
    cert = write_certificate(tmp_path)
    keylog = tmp_path / "keys.log"
    keylog.write_text("")  # the browser's SSLKEYLOGFILE exists before its first session
    export = tmp_path / "live.jsonl"
    sent, _out, _err = run_live(["-i", "lo", "-f", f"tcp port {port}", "--tls-keylog", str(keylog), "--export",
                                 str(export), "-q", "--color", "never"],
                                lambda: _exchange(port, cert, str(keylog), rounds=2))
    assert keylog.read_text().count("CLIENT_TRAFFIC_SECRET_0") == 2
    records = [json.loads(line) for line in export.read_bytes().splitlines()]
    got = [(r["direction"], r["opcode"], base64.b64decode(r["payload_b64"])) for r in records
           if r["type"] == "message" and r["opcode"] in ("text", "binary") and r["direction"] == "client_to_server"]
    assert got == sent
    assert not [r for r in records if r["type"] == "expert" and r["code"].startswith("tls.")]
    conns = [r["tls"] for r in records if r["type"] == "connection"]
    assert len(conns) == 2 and all(t["sni"] == "example.test" and t["decrypted"] for t in conns)
