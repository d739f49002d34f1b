#!/usr/bin/env python3
"""Write the demo capture behind docs/report.png: two minutes of WebSocket traffic with a bit of everything.

    python tools/make_report_demo.py -o demo.pcap && wsdissect report demo.pcap -o report.html

Six connections to one server (10.0.0.10:8080): a price feed whose rate rises and falls, answered pings every
10 s; a client uploading binary chunks; a chat that ends with a TCP reset; an upgrade refused with 403; a second
feed still open when the capture ends, pinging every 5 s over a slower path; a notifier that the server closes
with 1011 after its client sends an unmasked frame.  Deterministic (seeded), classic pcap, Ethernet/IPv4/TCP,
written with struct (no scapy, no wsdissect).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import random
import socket
import struct

T0 = 1_764_460_800.0  # 2025-11-30 00:00:00 UTC
SERVER = ("10.0.0.10", 8080)
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode: int, payload: bytes, mask: bytes | None) -> bytes:
    n = len(payload)
    head = bytes([0x80 | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Conn:
    """One TCP connection; packets go to a shared list as (time, bytes)."""

    def __init__(self, out: list, client: tuple[str, int], t: float, rng: random.Random) -> None:
        self.out, self.client, self.t, self.rng = out, client, t, rng
        self.seq = {True: rng.randrange(1 << 31), False: rng.randrange(1 << 31)}
        self._tcp(True, 0x02, b"", 1)
        self._tcp(False, 0x12, b"", 1)
        self._tcp(True, 0x10, b"")

    def _tcp(self, from_client: bool, flags: int, data: bytes, syn_fin: int = 0) -> None:
        src, dst = (self.client, SERVER) if from_client else (SERVER, self.client)
        tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], self.seq[from_client], self.seq[not from_client] if
                          flags & 0x10 else 0, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(data), 0, 0x4000, 64, 6, 0, socket.inet_aton(src[0]),
                         socket.inet_aton(dst[0]))
        self.out.append((self.t, b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + data))
        self.seq[from_client] = (self.seq[from_client] + len(data) + syn_fin) & 0xFFFFFFFF
        self.t += 0.00005

    def send(self, from_client: bool, data: bytes, at: float | None = None, rtt: float = 0.0004) -> None:
        self.t = max(self.t, at if at is not None else self.t)
        for i in range(0, len(data), 1448):
            self._tcp(from_client, 0x18, data[i:i + 1448])
        self.t += rtt / 2
        self._tcp(not from_client, 0x10, b"")

    def ws(self, from_client: bool, opcode: int, payload: bytes, at: float, rtt: float = 0.0004) -> None:
        mask = self.rng.randbytes(4) if from_client else None
        self.send(from_client, frame(opcode, payload, mask), at, rtt)

    def upgrade(self, path: str, status: str = "101 Switching Protocols") -> None:
        key = base64.b64encode(self.rng.randbytes(16)).decode()
        self.send(True, (f"GET {path} HTTP/1.1\r\nHost: demo.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        head = (f"HTTP/1.1 {status}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}"
                if status.startswith("101") else f"HTTP/1.1 {status}\r\nContent-Length: 0")
        self.send(False, (head + "\r\n\r\n").encode())

    def close(self, code: int, reason: str, at: float, client_first: bool = True) -> None:
        body = struct.pack("!H", code) + reason.encode()
        self.ws(client_first, 8, body, at)
        self.ws(not client_first, 8, body, self.t + 0.001)
        self._tcp(False, 0x11, b"", 1)
        self._tcp(True, 0x11, b"", 1)
        self._tcp(False, 0x10, b"")

    def fin(self, at: float) -> None:
        self.t = max(self.t, at)
        self._tcp(True, 0x11, b"", 1)
        self._tcp(False, 0x11, b"", 1)
        self._tcp(True, 0x10, b"")

    def ping(self, rtt: float) -> None:
        payload = struct.pack("!d", self.t)
        self.ws(True, 9, payload, self.t)
        self.ws(False, 10, payload, self.t + rtt, rtt)


def feed(c: Conn, rng: random.Random, start: float, end: float, base: float, every: float, rtt) -> None:
    """Server pushes at a rate that rises and falls; the client pings every *every* seconds."""
    t, next_ping = start, start + 1
    while t < end:
        rate = base * (1.2 + math.sin((t - start) / 18.0))
        c.ws(False, 1, json.dumps({"sym": rng.choice("ABCDE"), "px": round(rng.uniform(90, 110), 2),
                                   "t": round(t, 3)}).encode(), t)
        if t >= next_ping:
            c.ping(rtt(t))
            next_ping += every
        t += rng.expovariate(max(rate, 0.5))


def build(seed: int = 1) -> list:
    rng = random.Random(seed)
    out: list = []
    a = Conn(out, ("10.0.0.1", 50001), T0, rng)
    a.upgrade("/feed?symbols=ABCDE")
    a.ws(True, 1, b'{"subscribe":"ABCDE"}', T0 + 0.01)
    feed(a, rng, T0 + 0.02, T0 + 118, 20, 10, lambda t: 0.002 + 0.001 * rng.random())
    b = Conn(out, ("10.0.0.2", 50002), T0 + 20, rng)
    b.upgrade("/upload")
    for k in range(40):
        b.ws(True, 2, rng.randbytes(rng.choice((16384, 32768, 65536))), T0 + 21 + k)
        b.ws(False, 1, json.dumps({"ack": k}).encode(), b.t + 0.002)
    b.close(1000, "upload complete", T0 + 62)
    c = Conn(out, ("10.0.0.3", 50003), T0 + 5, rng)
    c.upgrade("/chat/room-7")
    for k in range(300):
        t = T0 + 6 + k * 0.34
        c.ws(k % 3 == 0, 1, json.dumps({"from": f"user{k % 5}", "text": "hello " * rng.randint(1, 30)}).encode(), t)
    c.t = T0 + 110
    c._tcp(True, 0x14, b"")  # RST, ACK: the chat client vanished
    d = Conn(out, ("10.0.0.4", 50004), T0 + 30, rng)
    d.upgrade("/admin", "403 Forbidden")
    d.fin(T0 + 30.2)
    e = Conn(out, ("10.0.0.5", 50005), T0 + 40, rng)
    e.upgrade("/feed?symbols=AB")
    feed(e, rng, T0 + 40.1, T0 + 120, 8, 5,
         lambda t: 0.030 + 0.04 * max(0.0, math.sin((t - T0) / 12.0)) * rng.random())
    f = Conn(out, ("10.0.0.6", 50006), T0 + 70, rng)
    f.upgrade("/notify")
    for k in range(25):
        f.ws(False, 1, json.dumps({"event": "job", "id": k}).encode(), T0 + 70.5 + k)
    f.send(True, frame(1, b'{"oops":"unmasked"}', None), T0 + 96)  # a client frame without a mask
    f.close(1011, "internal error", T0 + 97, client_first=False)
    out.sort(key=lambda p: p[0])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True, metavar="FILE")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with open(args.output, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for t, pkt in build(args.seed):
            sec = int(t)
            fh.write(struct.pack("<IIII", sec, int(round((t - sec) * 1e6)) % 1000000, len(pkt), len(pkt)) + pkt)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
