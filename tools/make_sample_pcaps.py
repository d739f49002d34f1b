#!/usr/bin/env python3
"""Make the project's sample captures from REAL WebSocket peers on loopback, with ground truth beside them.

For each scenario this script starts a real server and a real client on 127.0.0.1, records the traffic with
``tcpdump -i lo -n -s 0 -B 65536 --immediate-mode -U -w FILE 'tcp port PORT'`` (started and confirmed capturing
before any traffic, stopped with SIGINT and waited for afterwards) and writes, into the output folder (default
``sample_pcaps/``):

- ``<name>.pcap``         what tcpdump captured (Ethernet link type, as tcpdump writes loopback),
- ``<name>.truth.jsonl``  what the applications themselves sent, one JSON object per message, in the truth format of
                          ``shared/corpus/FORMAT.md`` (recorded by the sending code, never derived from the capture),
- ``<name>.keys.log``      wss scenarios: the client's TLS key log (Python ``ssl``'s ``keylog_filename``),
- ``<name>.dsb.pcapng``    wss scenarios, when ``editcap`` is installed: the capture with that key log embedded as a
                          Decryption Secrets Block (``editcap --inject-secrets tls,KEYS``),
- ``<name>.app.jsonl``     Socket.IO/MQTT scenarios: the truth records with their application units,
- ``README.md``           a table describing every capture in the folder (with tshark's WebSocket packet counts).

The plain ws:// scenarios are in this file; the wss://, Socket.IO and MQTT ones in ``sample_scenarios_more.py``,
whose docstring says how their truth is recorded.  Besides tcpdump (and tshark/editcap for the README and the
.dsb.pcapng), they need: ``pip install websockets aiohttp wsproto cryptography 'python-socketio[asyncio_client]'
paho-mqtt`` and ``apt-get install mosquitto`` (a broker with websockets support; only for ``mqtt_ws``).

A capture is rejected and retried (up to 3 times) when tcpdump reports packets dropped by kernel, a record is cut,
or an independent TCP check finds a sequence gap or a direction without SYN and FIN.

Usage (needs root for tcpdump)::

    python tools/make_sample_pcaps.py [--out sample_pcaps] [NAME ...]

Payloads come from seeded RNGs, so only the client's ephemeral port and the timestamps change between runs.
This script deliberately does not import wsdissect: the truth must not depend on the tool it checks.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

from sample_common import C2S, HOST, S2C, TIMEOUT, CaptureError, Truth, jdump
from sample_scenarios_more import mqtt_ws, socketio_chat, wss_tls12, wss_tls13


# -- tcpdump -----------------------------------------------------------------------------------------------------
class Tcpdump:
    """``tcpdump -i lo -w FILE -U 'tcp port PORT'``: started, waited for until it is capturing, stopped with SIGINT
    and waited for, so the file is complete.  ``stats`` holds its closing counters."""

    def __init__(self, path: str, port: int, iface: str = "lo"):
        self.path, self.port, self.iface = path, port, iface
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self._listening = threading.Event()
        self._reader: threading.Thread | None = None
        self.stats: dict[str, int] = {}

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "listening on" in line:
                self._listening.set()
        self._listening.set()  # EOF: wake the waiter, which then sees the exit

    def __enter__(self) -> "Tcpdump":
        # --immediate-mode: without it, packets sit in the kernel ring until a block fills or times out, and a
        # SIGINT in that window ends tcpdump with them "received by filter" but never written.  In immediate mode
        # each ring slot is snapshot-length sized, so the default 2 MB ring holds only ~8 packets and a burst
        # (lo also queues each packet's outgoing copy) overflows it: -B 65536 (KiB) gives it ~250 slots.
        cmd = [TCPDUMP, "-i", self.iface, "-n", "-s", "0", "-B", "65536", "--immediate-mode", "-U",
               "-w", self.path, f"tcp port {self.port}"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._listening.wait(10) or self.proc.poll() is not None:
            self._kill()
            raise CaptureError("tcpdump did not start capturing: " + " | ".join(self.lines[-3:]))
        time.sleep(0.2)  # "listening on" is printed once the handle is active; give the ring a moment anyway
        return self

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.proc is not None
        time.sleep(0.3)  # let the last FIN/ACK packets reach the capture
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(5)
        if self._reader:
            self._reader.join(5)
        for line in self.lines:
            m = re.match(r"(\d+) packets? (captured|received by filter|dropped by kernel)", line)
            if m:
                self.stats[m.group(2)] = int(m.group(1))
        if exc_type is not None:
            return
        if "captured" not in self.stats:
            raise CaptureError("tcpdump exited without its statistics: " + " | ".join(self.lines[-3:]))
        if self.stats.get("dropped by kernel", 0):
            raise CaptureError(f"tcpdump: {self.stats['dropped by kernel']} packets dropped by kernel")
        # On lo the kernel counts each packet twice (its outgoing and incoming copy); libpcap keeps one.
        received, captured = self.stats.get("received by filter", 0), self.stats["captured"]
        if not captured <= received <= 2 * captured:
            raise CaptureError(f"tcpdump: {received} packets received by filter but {captured} captured")
        records = read_pcap(self.path)
        if len(records) != captured:
            raise CaptureError(f"{self.path}: {len(records)} records in the file but tcpdump reported "
                               f"{captured} captured")
        check_tcp_complete(records, self.path)


def read_pcap(path: str) -> list[tuple[int, bytes]]:
    """(linktype, packet bytes) of every record of a classic pcap file; raises if a record is cut short."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise CaptureError(f"{path}: no pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise CaptureError(f"{path}: not a classic pcap file")
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0xFFFF
    off, out = 24, []
    while off < len(data):
        if off + 16 > len(data):
            raise CaptureError(f"{path}: record header cut at offset {off}")
        incl, orig = struct.unpack_from(endian + "II", data, off + 8)
        if incl != orig:
            raise CaptureError(f"{path}: a packet was cut by the snapshot length")
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if off > len(data):
            raise CaptureError(f"{path}: record cut at the end of the file")
        out.append((linktype, pkt))
    return out


def check_tcp_complete(records: list[tuple[int, bytes]], path: str) -> None:
    """Independent sanity check of the capture (no wsdissect): every TCP direction starts with a SYN, has no
    sequence gap, and ends with a FIN (or RST)."""
    flows: dict[tuple, dict] = {}
    for linktype, pkt in records:
        if linktype != 1 or len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
            raise CaptureError(f"{path}: expected Ethernet/IPv4 packets from lo")
        ihl = (pkt[14] & 0x0F) * 4
        total = struct.unpack_from("!H", pkt, 16)[0]
        t = 14 + ihl
        src, dst = pkt[26:30], pkt[30:34]
        sport, dport, seq = struct.unpack_from("!HHI", pkt, t)
        doff = (pkt[t + 12] >> 4) * 4
        flags = pkt[t + 13]
        plen = total - ihl - doff
        st = flows.setdefault((src, sport, dst, dport), {"next": None, "fin": False})
        if flags & 0x02:  # SYN
            st["next"] = (seq + 1) & 0xFFFFFFFF
            continue
        if st["next"] is None:
            raise CaptureError(f"{path}: a TCP direction ({sport}->{dport}) has no SYN in the capture")
        if plen:
            if (seq - st["next"]) & 0xFFFFFFFF < 0x80000000 and seq != st["next"]:
                raise CaptureError(f"{path}: TCP gap in {sport}->{dport} (seq {seq}, expected {st['next']})")
            end = (seq + plen) & 0xFFFFFFFF
            if (end - st["next"]) & 0xFFFFFFFF < 0x80000000:
                st["next"] = end
        if flags & 0x05:  # FIN or RST
            st["fin"] = True
    open_ = [f"{k[1]}->{k[3]}" for k, v in flows.items() if not v["fin"]]
    if not flows or open_:
        raise CaptureError(f"{path}: TCP directions not closed in the capture: {open_ or 'no packets'}")


# -- helpers -----------------------------------------------------------------------------------------------------
def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pcm_chunk(rng: random.Random, index: int, samples: int = 1600, rate: int = 16000) -> bytes:
    """*samples* 16-bit little-endian PCM samples (3200 bytes by default): a tone that changes per chunk, plus
    seeded noise, so the bytes look like audio and do not compress to nothing."""
    freq = 220.0 * (1 + index % 5)
    start = index * samples
    out = bytearray()
    for i in range(samples):
        v = 8000 * math.sin(2 * math.pi * freq * (start + i) / rate) + rng.gauss(0, 900)
        out += struct.pack("<h", max(-32768, min(32767, int(v))))
    return bytes(out)


# -- scenario a: ASR-like session with websockets, no compression -------------------------------------------------
ASR_PATH = "/runtime/v1/recognize?res=aitmp&productId=12345_casr"
ASR_WORDS = ["今天", "天气", "很好", "我们", "去", "公园", "散步", "吧"]


async def asr_28002(port: int, truth: Truth) -> None:
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    rng = random.Random(28002)
    chunks = [pcm_chunk(rng, i) for i in range(20)]
    sid = "%012x" % rng.getrandbits(48)

    async def handler(ws):
        assert ws.request.path == ASR_PATH, ws.request.path
        client, server = ws.remote_address, ws.local_address
        received = 0
        async for msg in ws:
            if isinstance(msg, bytes):
                received += 1
                if received % 5 == 0:
                    text = jdump({"code": 0, "status": "partial", "sid": sid, "seq": received // 5,
                                  "result": "".join(ASR_WORDS[:received // 5 + 1])})
                    truth.add(client, server, S2C, "text", text)
                    await ws.send(text)
            else:
                req = json.loads(msg)
                if req.get("type") == "start":
                    text = jdump({"code": 0, "msg": "ok", "sid": sid, "status": "started"})
                elif req.get("type") == "end":
                    text = jdump({"code": 0, "status": "final", "sid": sid, "chunks": received,
                                  "result": "".join(ASR_WORDS) + "。"})
                else:
                    text = jdump({"code": 400, "msg": "unknown request"})
                truth.add(client, server, S2C, "text", text)
                await ws.send(text)

    async with serve(handler, HOST, port, compression=None, ping_interval=None):
        async with connect(f"ws://{HOST}:{port}{ASR_PATH}", compression=None, ping_interval=None, proxy=None,
                           origin=f"http://{HOST}:{port}") as ws:
            client, server = ws.local_address, ws.remote_address
            start = jdump({"type": "start", "format": "pcm", "rate": 16000, "channels": 1, "sid": sid})
            truth.add(client, server, C2S, "text", start)
            await ws.send(start)
            assert json.loads(await ws.recv())["status"] == "started"
            for chunk in chunks:
                truth.add(client, server, C2S, "binary", chunk)
                await ws.send(chunk)
                await asyncio.sleep(0.01)  # paced like a live audio source
            end = jdump({"type": "end", "sid": sid})
            truth.add(client, server, C2S, "text", end)
            await ws.send(end)
            while json.loads(await ws.recv())["status"] != "final":
                pass
            truth.add(client, server, C2S, "close", close_code=1000, close_reason="")
            await ws.close(1000)


# -- scenario b: websockets with permessage-deflate ---------------------------------------------------------------
async def websockets_deflate(port: int, truth: Truth) -> None:
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    rng = random.Random(7692)
    cities = ["Oslo", "Lima", "Kyoto", "Accra", "Quito", "Perth", "Riga", "Hanoi"]

    async def handler(ws):
        client, server = ws.remote_address, ws.local_address
        async for msg in ws:
            req = json.loads(msg)
            if req.get("op") == "ping-me":
                data = b"server-ping-" + req["tag"].encode()
                truth.add(client, server, S2C, "ping", data)
                await (await ws.ping(data))
                reply = jdump({"op": "pinged", "tag": req["tag"]})
            elif req.get("op") == "fragmented":
                # a server->client message in fragments too (iterable of str => one fragmented text message)
                parts = [jdump({"op": "fragmented-reply", "part": i, "pad": "x" * (40 * i)}) for i in range(3)]
                truth.add(client, server, S2C, "text", "".join(parts))
                await ws.send(parts)
                continue
            else:
                reply = jdump({"op": "ack", "id": req.get("id"), "city": req.get("city"),
                               "temp": round(req.get("temp", 0) * 1.8 + 32, 1),
                               "history": [req.get("temp", 0)] * 6})
            truth.add(client, server, S2C, "text", reply)
            await ws.send(reply)

    async with serve(handler, HOST, port, ping_interval=None):  # compression="deflate" is the default
        async with connect(f"ws://{HOST}:{port}/feed", ping_interval=None, proxy=None) as ws:
            client, server = ws.local_address, ws.remote_address
            for i in range(12):
                msg = jdump({"op": "report", "id": i, "city": rng.choice(cities),
                             "temp": round(rng.uniform(-10, 35), 1), "note": "steady " * rng.randint(1, 12)})
                truth.add(client, server, C2S, "text", msg)
                await ws.send(msg)
                await ws.recv()
                if i == 4:
                    data = b"client-ping-" + bytes(rng.randrange(256) for _ in range(8))
                    truth.add(client, server, C2S, "ping", data)
                    await (await ws.ping(data))
                if i == 6:
                    msg = jdump({"op": "ping-me", "tag": "t6"})
                    truth.add(client, server, C2S, "text", msg)
                    await ws.send(msg)
                    await ws.recv()
                if i == 8:
                    parts = [jdump({"op": "fragmented", "n": 3})[:-1], ', "part": "A' + "a" * 50,
                             'B' * 30 + '"}']
                    truth.add(client, server, C2S, "text", "".join(parts))
                    await ws.send(parts)
                    await ws.recv()
            truth.add(client, server, C2S, "close", close_code=1000, close_reason="client done")
            await ws.close(1000, "client done")


# -- scenario c: aiohttp server + client, deflate, mixed messages, close 1001 --------------------------------------
async def aiohttp_mixed(port: int, truth: Truth) -> None:
    import aiohttp
    from aiohttp import web

    rng = random.Random(1001)

    async def handler(request):
        ws = web.WebSocketResponse()  # compress=True: accepts the client's permessage-deflate offer
        await ws.prepare(request)
        client = request.transport.get_extra_info("peername")
        server = request.transport.get_extra_info("sockname")
        greeting = "welcome — 欢迎 — ようこそ 👋"
        truth.add(client, server, S2C, "text", greeting)
        await ws.send_str(greeting)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                reply = msg.data[::-1]
                truth.add(client, server, S2C, "text", reply)
                await ws.send_str(reply)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                reply = hashlib.sha256(msg.data).digest() + bytes(reversed(msg.data[:64]))
                truth.add(client, server, S2C, "binary", reply)
                await ws.send_bytes(reply)
                if len(msg.data) == 0:
                    data = b"srv-" + bytes(range(8))
                    truth.add(client, server, S2C, "ping", data)
                    await ws.ping(data)
        return ws

    app = web.Application()
    app.router.add_get("/mixed", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://{HOST}:{port}/mixed", compress=15, autoping=True,
                                          heartbeat=None) as ws:
                client, server = ws.get_extra_info("sockname"), ws.get_extra_info("peername")
                assert (await ws.receive()).type == aiohttp.WSMsgType.TEXT
                messages: list[tuple[str, bytes | str]] = [
                    ("text", "hello from aiohttp"),
                    ("binary", bytes(rng.randrange(256) for _ in range(300))),
                    ("text", "unicode: héllo wörld, Ελληνικά, 中文, emoji 🎉🚀, combining e\u0301"),
                    ("text", ""),
                    ("binary", b""),
                    ("text", jdump({"rows": [{"id": i, "name": f"item-{i}", "ok": i % 3 == 0}
                                             for i in range(60)]})),
                    ("binary", bytes(rng.randrange(256) for _ in range(1500)) + b"\x00" * 2000),
                    ("text", "z" * 5000),
                    ("binary", bytes([0xFF, 0x00, 0x00, 0xFF]) * 8),
                ]
                for i, (kind, data) in enumerate(messages):
                    truth.add(client, server, C2S, kind, data)
                    if kind == "text":
                        await ws.send_str(data)
                    else:
                        await ws.send_bytes(data)
                    while True:  # the reply (server pings are answered by autoping and not returned)
                        r = await ws.receive()
                        if r.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                            break
                    if i == 2:
                        data = b"cli-ping \xe2\x9c\x93"
                        truth.add(client, server, C2S, "ping", data)
                        await ws.ping(data)
                truth.add(client, server, C2S, "close", close_code=1001, close_reason="client going away")
                await ws.close(code=1001, message="client going away".encode())
    finally:
        await runner.cleanup()


# -- scenario d: wsproto over raw sockets, fragments and length forms ---------------------------------------------
def wsproto_fragments(port: int, truth: Truth) -> None:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Ping, Request, TextMessage

    rng = random.Random(6455)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(1)
    listener.settimeout(TIMEOUT)
    errors: list[BaseException] = []

    def server() -> None:
        try:
            sock, peer = listener.accept()
            sock.settimeout(TIMEOUT)
            client, me = sock.getpeername(), sock.getsockname()
            ws = WSConnection(ConnectionType.SERVER)
            pending: dict[type, list] = {TextMessage: [], BytesMessage: []}
            done = False
            while not done:
                data = sock.recv(65536)
                ws.receive_data(data or None)
                out = b""
                for ev in ws.events():
                    if isinstance(ev, Request):
                        out += ws.send(AcceptConnection())
                    elif isinstance(ev, Ping):
                        truth.add(client, me, S2C, "pong", ev.payload)
                        out += ws.send(ev.response())
                    elif isinstance(ev, (TextMessage, BytesMessage)):
                        pending[type(ev)].append(ev.data)
                        if not ev.message_finished:
                            continue
                        whole = ("" if isinstance(ev, TextMessage) else b"").join(pending[type(ev)])
                        pending[type(ev)].clear()
                        if isinstance(ev, TextMessage):
                            reply = jdump({"echo": whole})
                            truth.add(client, me, S2C, "text", reply)
                            out += ws.send(TextMessage(data=reply))
                        elif len(whole) > 1000:  # large: a digest, keeps the capture small
                            reply = f"{len(whole)} bytes sha256={hashlib.sha256(whole).hexdigest()}"
                            truth.add(client, me, S2C, "text", reply)
                            out += ws.send(TextMessage(data=reply))
                        elif len(whole) == 126:  # the server's own fragmented binary (unmasked fragments)
                            truth.add(client, me, S2C, "binary", whole[::-1])
                            for i, part in enumerate((whole[::-1][:100], whole[::-1][100:])):
                                out += ws.send(BytesMessage(data=part, message_finished=i == 1))
                            truth.add(client, me, S2C, "ping", b"srv-ping")
                            out += ws.send(Ping(payload=b"srv-ping"))
                        else:
                            truth.add(client, me, S2C, "binary", whole[::-1])
                            out += ws.send(BytesMessage(data=whole[::-1]))
                    elif isinstance(ev, CloseConnection):
                        reply = ev.response()
                        truth.add(client, me, S2C, "close", close_code=reply.code, close_reason=reply.reason)
                        out += ws.send(reply)
                        done = True
                if out:
                    sock.sendall(out)
                if not data:
                    break
            sock.close()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    t = threading.Thread(target=server, daemon=True)
    t.start()
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    client, server_addr = sock.getsockname(), sock.getpeername()
    ws = WSConnection(ConnectionType.CLIENT)
    inbox: list = []
    buffered: dict[type, list] = {TextMessage: [], BytesMessage: []}

    def pump(until: Callable[[object], bool]) -> None:
        """Read until an event satisfying *until* arrives; answer pings (recording the pongs)."""
        while True:
            data = sock.recv(65536)
            if not data:
                raise CaptureError("wsproto client: connection closed early")
            ws.receive_data(data)
            hit = False
            for ev in ws.events():
                if isinstance(ev, Ping):
                    truth.add(client, server_addr, C2S, "pong", ev.payload)
                    sock.sendall(ws.send(ev.response()))
                    continue
                if isinstance(ev, (TextMessage, BytesMessage)):
                    buffered[type(ev)].append(ev.data)
                    if not ev.message_finished:
                        continue
                inbox.append(ev)
                hit = hit or until(ev)
            if hit:
                return

    def send(ev) -> None:
        sock.sendall(ws.send(ev))

    def is_data(ev) -> bool:
        return isinstance(ev, (TextMessage, BytesMessage))

    send(Request(host=f"{HOST}:{port}", target="/fragments"))
    pump(lambda ev: isinstance(ev, AcceptConnection))

    # A text message in 3 fragments with a ping between the first two.
    parts = ["fragment one; ", "fragment two — ünïcödé ✓; ", "fragment three, the end."]
    truth.add(client, server_addr, C2S, "text", "".join(parts))
    send(TextMessage(data=parts[0], message_finished=False))
    truth.add(client, server_addr, C2S, "ping", b"between-fragments")
    send(Ping(payload=b"between-fragments"))
    send(TextMessage(data=parts[1], message_finished=False))
    send(TextMessage(data=parts[2], message_finished=True))
    pump(is_data)
    # A binary message in 4 fragments (one of them empty).
    blob = bytes(rng.randrange(256) for _ in range(700))
    frags = [blob[:200], blob[200:200], blob[200:650], blob[650:]]
    truth.add(client, server_addr, C2S, "binary", blob)
    for i, f in enumerate(frags):
        send(BytesMessage(data=f, message_finished=i == len(frags) - 1))
    pump(is_data)
    # Every payload length form: 7-bit (0, 125), 16-bit (126, 65535), 64-bit (65536).
    for n in (0, 125, 126, 65535, 65536):
        payload = bytes(rng.randrange(256) for _ in range(n))
        truth.add(client, server_addr, C2S, "binary", payload)
        send(BytesMessage(data=payload))
        pump(is_data)
    truth.add(client, server_addr, C2S, "text", "")
    send(TextMessage(data=""))
    pump(is_data)
    truth.add(client, server_addr, C2S, "close", close_code=1000, close_reason="fragments done")
    send(CloseConnection(code=1000, reason="fragments done"))
    pump(lambda ev: isinstance(ev, CloseConnection))
    t.join(TIMEOUT)
    sock.close()
    listener.close()
    if errors:
        raise errors[0]
    if t.is_alive():
        raise CaptureError("wsproto server thread did not finish")


# -- the registry ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    name: str
    port: int  # fixed, unusual; a busy port falls back to a free one unless the port is the point of the case
    run: Callable[[int, Truth], object]
    peers: str
    description: str
    fixed_port: bool = False
    keylog: bool = False  # TLS: run(port, truth, keylog=PATH) makes the client log its secrets to PATH


SCENARIOS = {s.name: s for s in [
    Scenario("asr_28002", 28002, asr_28002, "websockets 17 server + websockets 17 client (asyncio)",
             "ASR-like session: GET /runtime/v1/recognize?res=aitmp&productId=12345_casr, JSON start, 20 binary "
             "3200-byte PCM chunks client->server, JSON partial/final results back, close 1000; no compression",
             fixed_port=True),
    Scenario("websockets_deflate", 28011, websockets_deflate,
             "websockets 17 server + websockets 17 client (asyncio)",
             "permessage-deflate (default, context takeover), JSON text both ways, client and server pings with "
             "payload, fragmented text messages both ways (iterable of fragments), close 1000 'client done'"),
    Scenario("aiohttp_mixed", 28012, aiohttp_mixed, "aiohttp server + aiohttp client (compress=15)",
             "permessage-deflate negotiated by the client, text/binary/unicode/empty messages, pings with payload "
             "both ways, close 1001 'client going away'"),
    Scenario("wsproto_fragments", 28013, wsproto_fragments, "wsproto server + wsproto client over raw sockets",
             "no extensions; text in 3 fragments with a ping between fragments, binary in 4 fragments (one "
             "empty), server fragmented binary, payload lengths 0/125/126/65535/65536 (7/16/64-bit length forms), "
             "explicit pongs, close 1000 echoed by the server"),
    Scenario("wss_tls13", 28443, wss_tls13, "websockets 17 server + client over TLS 1.3 (Python ssl, OpenSSL 3)",
             "wss:// with a self-signed P-256 certificate made at run time; the client's key log is "
             "`wss_tls13.keys.log`; permessage-deflate, JSON text and binary both ways, pings both ways, close "
             "1000 'tls done'", keylog=True),
    Scenario("wss_tls12", 28444, wss_tls12, "websockets 17 server + client over TLS 1.2 (Python ssl, OpenSSL 3)",
             "as wss_tls13 but TLS 1.2 (ECDHE, `CLIENT_RANDOM` key log lines)", keylog=True),
    Scenario("socketio_chat", 28030, socketio_chat,
             "python-socketio 5 AsyncServer on aiohttp + AsyncClient (Engine.IO 4, WebSocket transport only)",
             "GET /socket.io/?EIO=4&transport=websocket; namespaces / and /chat, events with JSON args, an ack "
             "round trip (client.call), a binary attachment each way (BINARY_EVENT + attachment message), an "
             "Engine.IO ping/pong, disconnect; units in `socketio_chat.app.jsonl`"),
    Scenario("mqtt_ws", 28883, mqtt_ws,
             "mosquitto 2.0.11 (websockets listener) + 2 paho-mqtt 2 clients (transport=websockets, MQTT 3.1.1)",
             "subprotocol mqtt, path /mqtt; CONNECT, SUBSCRIBE QoS 2, PUBLISH QoS 1 retained then QoS 0/1/2 "
             "(PUBACK, PUBREC/PUBREL/PUBCOMP both ways), a binary payload, PINGREQ, UNSUBSCRIBE, DISCONNECT; "
             "server->client truth as paho's WebSocket reader decoded it; units in `mqtt_ws.app.jsonl`"),
]}


def run_scenario(sc: Scenario, out_dir: str, attempts: int = 3) -> dict:
    pcap = os.path.join(out_dir, f"{sc.name}.pcap")
    truth_path = os.path.join(out_dir, f"{sc.name}.truth.jsonl")
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        port = sc.port
        if not port_free(port):
            if sc.fixed_port:
                raise CaptureError(f"{sc.name}: port {port} is in use")
            port = free_port()
        truth = Truth()
        tmp, keylog = pcap + ".part", pcap + ".keys.part"
        run = functools.partial(sc.run, keylog=keylog) if sc.keylog else sc.run
        try:
            with Tcpdump(tmp, port) as td:
                if asyncio.iscoroutinefunction(run):
                    asyncio.run(asyncio.wait_for(run(port, truth), TIMEOUT))
                else:
                    run(port, truth)
                time.sleep(0.2)  # the peers' sockets are closed; let the last packets through
        except (CaptureError, OSError, asyncio.TimeoutError) as e:
            last = e
            print(f"  {sc.name}: attempt {attempt} failed: {e}", file=sys.stderr)
            for path in (tmp, keylog):
                if os.path.exists(path):
                    os.unlink(path)
            time.sleep(1)
            continue
        shutil.copyfile(tmp, pcap)  # a copy: tcpdump drops privileges, so its own file belongs to user tcpdump
        os.unlink(tmp)
        truth.write(truth_path)
        if truth.has_app:
            truth.write_app(os.path.join(out_dir, f"{sc.name}.app.jsonl"))
        if sc.keylog:
            publish_keylog(keylog, pcap)
        return {"name": sc.name, "port": port, "packets": td.stats["captured"], "stats": td.stats,
                "messages": len(truth.records)}
    raise CaptureError(f"{sc.name}: giving up after {attempts} attempts: {last}")


def publish_keylog(keylog: str, pcap: str) -> None:
    """Move the client's key log beside *pcap* as NAME.keys.log and, when editcap can, write NAME.dsb.pcapng: the
    capture with the key log embedded as a Decryption Secrets Block."""
    stem = pcap[:-len(".pcap")]
    shutil.move(keylog, stem + ".keys.log")
    if shutil.which("editcap"):
        subprocess.run(["editcap", "--inject-secrets", f"tls,{stem}.keys.log", "-F", "pcapng", pcap,
                        stem + ".dsb.pcapng"], check=True, stdout=subprocess.DEVNULL)


def tshark_websocket_packets(capture: str, keylog: str | None = None) -> int | None:
    """How many packets ``tshark -Y websocket`` shows (decrypting with *keylog*), or None without tshark."""
    if not shutil.which("tshark"):
        return None
    cmd = ["tshark", "-n", "-r", capture, "-Y", "websocket", "-T", "fields", "-e", "frame.number"]
    if keylog:
        cmd[2:2] = ["-o", f"tls.keylog_file:{keylog}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return len(out.split())


def tshark_cell(out_dir: str, name: str) -> str:
    """The README's tshark column: WebSocket packets tshark dissects (for wss: with the key log, with the embedded
    secrets of the .dsb.pcapng, and without any key)."""
    pcap, keys = os.path.join(out_dir, f"{name}.pcap"), os.path.join(out_dir, f"{name}.keys.log")
    if not os.path.exists(keys):
        n = tshark_websocket_packets(pcap)
        return "no tshark" if n is None else f"{n} packets"
    n, plain = tshark_websocket_packets(pcap, keys), tshark_websocket_packets(pcap)
    if n is None:
        return "no tshark"
    cell = f"{n} packets decrypted with `-o tls.keylog_file:{name}.keys.log` ({plain} without)"
    dsb = os.path.join(out_dir, f"{name}.dsb.pcapng")
    if os.path.exists(dsb):
        cell += f"; {tshark_websocket_packets(dsb)} from `{name}.dsb.pcapng` alone"
    return cell


# -- README ------------------------------------------------------------------------------------------------------
def summarize_truth(path: str) -> tuple[str, str]:
    """(ports, counts) of a truth file: e.g. ('28002', '22 binary, 6 text, 1 close')."""
    counts: dict[str, int] = {}
    servers = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                counts[r["opcode"]] = counts.get(r["opcode"], 0) + 1
                servers.add(r["server"].rsplit(":", 1)[1])
    order = ["text", "binary", "ping", "pong", "close"]
    return (", ".join(sorted(servers)),
            ", ".join(f"{counts[k]} {k}" for k in order if k in counts) + f" ({sum(counts.values())} total)")


def write_readme(out_dir: str) -> None:
    rows = []
    for name, sc in SCENARIOS.items():
        pcap = os.path.join(out_dir, f"{name}.pcap")
        truth = os.path.join(out_dir, f"{name}.truth.jsonl")
        if not (os.path.exists(pcap) and os.path.exists(truth)):
            continue
        ports, counts = summarize_truth(truth)
        size = os.path.getsize(pcap)
        rows.append(f"| `{name}.pcap` | {sc.peers} | {ports} | {sc.description} | {counts} | "
                    f"{tshark_cell(out_dir, name)} | {size // 1024} KB |")
    text = f"""# Sample captures

Real WebSocket peers talking over loopback (127.0.0.1) while
`tcpdump -i lo -n -s 0 -B 65536 --immediate-mode -U -w FILE 'tcp port PORT'` recorded them (0 packets dropped by
kernel, no TCP sequence gap; checked by the script).  Beside each `NAME.pcap` is `NAME.truth.jsonl`: what the
applications themselves sent (recorded by the sending code, not derived from the capture), one JSON object per
message in the truth format of `shared/corpus/FORMAT.md` (`client`, `server`, `direction`, `opcode`,
`payload_b64`, `close_code`, `close_reason`).
Automatic control frames (library pongs, closing-handshake replies the library sends on its own) are not in the
truth; control frames the application sent on purpose are.  Where the truth is recorded at a library's WebSocket
layer instead (Socket.IO: every frame aiohttp writes; MQTT: every frame paho writes or reads, see
`tools/sample_scenarios_more.py`), automatic control frames are in it too.

Extra files: `NAME.keys.log` (wss: the client's TLS key log, NSS key log format, as Python's `ssl` wrote it),
`NAME.dsb.pcapng` (the same capture with that key log embedded as a pcapng Decryption Secrets Block, by
`editcap --inject-secrets`), `NAME.app.jsonl` (the truth records again, each with `"app"`: its application units
in the format of `shared/corpus-app/FORMAT.md`, from the peers' own packet encoders/decoders).
The tshark column counts the packets `tshark -Y websocket` shows (a packet may hold several frames, a frame may
span several packets), as a check that tshark dissects (and, for wss, decrypts) the capture.

| capture | peers | server port | what happens | truth messages | `tshark -Y websocket` | size |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Regenerate (needs root for tcpdump; payloads are seeded, so only client ports and timestamps change):

```sh
python tools/make_sample_pcaps.py --out sample_pcaps            # all captures
python tools/make_sample_pcaps.py --out sample_pcaps asr_28002  # one capture
```

Checked end to end by `tests/corpus/test_sample_pcaps.py` (complete text/binary messages equal the truth, in order,
per client/server/direction; every truth ping/pong/close exported; no warning or error findings) and, for the
wss/Socket.IO/MQTT captures, by `tests/corpus/test_new_samples.py` (the same checks through `wsdissect export`, with
`--tls-keylog` for wss once the exporter has it, and tshark's per-direction WebSocket frame counts against the
truth).
"""
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


# -- main --------------------------------------------------------------------------------------------------------
TCPDUMP = shutil.which("tcpdump") or ("/usr/bin/tcpdump" if os.path.exists("/usr/bin/tcpdump") else None)


def main(argv: list[str] | None = None) -> int:
    global TCPDUMP
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Capture real WebSocket peers on loopback with ground truth.")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(here), "sample_pcaps"),
                    help="output folder (default: %(default)s)")
    ap.add_argument("--tcpdump", default=TCPDUMP, help="tcpdump binary (default: %(default)s)")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help=f"scenarios to run (default: all: {', '.join(SCENARIOS)})")
    a = ap.parse_args(argv)
    if not a.tcpdump or not shutil.which(a.tcpdump):
        print("make_sample_pcaps: error: tcpdump not found (install it, e.g. `apt-get install tcpdump`, or pass "
              "--tcpdump PATH)", file=sys.stderr)
        return 2
    TCPDUMP = a.tcpdump
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        print("make_sample_pcaps: warning: not root; tcpdump may not be allowed to capture on lo", file=sys.stderr)
    unknown = [n for n in a.names if n not in SCENARIOS]
    if unknown:
        print(f"make_sample_pcaps: error: unknown scenario(s): {', '.join(unknown)} "
              f"(known: {', '.join(SCENARIOS)})", file=sys.stderr)
        return 2
    os.makedirs(a.out, exist_ok=True)
    failed = 0
    for name in a.names or list(SCENARIOS):
        try:
            r = run_scenario(SCENARIOS[name], a.out)
        except Exception as e:  # noqa: BLE001 - one failed scenario does not stop the others
            print(f"make_sample_pcaps: error: {e}", file=sys.stderr)
            failed += 1
            continue
        size = os.path.getsize(os.path.join(a.out, f"{name}.pcap"))
        print(f"{name}: port {r['port']}, {r['packets']} packets, {size} bytes, {r['messages']} truth messages")
    write_readme(a.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
