#!/usr/bin/env python3
"""Generate a synthetic WebSocket capture (classic pcap, Ethernet) of a chosen size, for benchmarks.

    python -m benchmarks.gen_capture --size 200M --mix payload --seed 1 -o bench-out/payload-200M.pcap

The capture is streamed to disk (only the packets of the connections currently open are held in memory) and
written by a struct-based pcap writer, so 200 MB takes seconds, not minutes.  Nothing here depends on wsdissect.

What is in it
-------------
* ``--conns`` (default 100) TCP connections open at once, their packets interleaved in random order (a few
  packets of one connection, then a few of another).  When a connection has carried its byte budget it closes
  and a new one opens in its place, so a bigger capture has more connections, not longer ones.
* Every connection: Ethernet + IPv4 (correct lengths and header checksum, DF, incrementing IP ID) + TCP (correct
  seq/ack numbers from a random ISN, every 8th connection's just below 2^32 so they wrap; correct checksums; SYN
  with an MSS option),
  SYN / SYN-ACK / ACK, a valid HTTP/1.1 upgrade request and ``101`` response (correct ``Sec-WebSocket-Accept``),
  WebSocket traffic, a Close frame from each side and a FIN teardown started by the server.  Data is split into
  segments of at most 1448 bytes (MSS); the receiver sends a pure ACK after every second segment and at the end
  of each write.  Server ports are 80 and 8080, which tshark dissects as HTTP by default.
* Client frames are masked, server frames are not.  Some messages (1-5 %) are fragmented into 2-4 frames with
  Ping frames between the fragments (answered by a Pong from the peer); 7-bit, 16-bit and 64-bit payload lengths
  all occur.  Several frames are written at once, so one TCP segment often carries several small frames and a
  large frame spans many segments.

Mixes (``--mix``):

``payload``  binary (random bytes) and text (random ASCII with a UTF-8 prefix) messages of 1-64 KiB in both
             directions, 1-2 per write; 2 % are 64-256 KiB (64-bit length).
``small``    small JSON text messages of ~50-200 bytes, mostly server pushes of 1-40 messages per write, so many
             frames per segment.
``deflate``  permessage-deflate negotiated (context takeover both ways): JSON-like text and structured binary
             messages (64 B - 16 KiB, log-uniform) compressed with a per-direction ``zlib.compressobj(wbits=-15)``,
             ``Z_SYNC_FLUSH``, trailing ``00 00 ff ff`` stripped, RSV1 on the first frame of each message.

Expected results (``FILE.expected.json``)
----------------------------------------
Written beside the capture: message counts by opcode (``text``, ``binary``, ``ping``, ``pong``, ``close``), the
number of connections, packets and bytes, and a checksum of every data message:

* A *stream* is one direction of one connection, named ``"<client> <direction>"`` where ``<client>`` is the client
  endpoint ``ip:port`` and ``<direction>`` is ``client_to_server`` or ``server_to_client`` (the spelling of the
  export records).  Client endpoints are unique within a capture.
* ``stream digest`` = SHA-256 over the stream's text and binary messages in the order they were sent, each
  contributing ``opcode (1 byte: 1 text, 2 binary) || payload length (8 bytes, big-endian) || payload``, where the
  payload is the application message (unmasked, fragments joined, decompressed).  Control frames are excluded.
* ``checksum`` = SHA-256 over the lines ``"<stream> <stream digest hex>\\n"`` of every stream with at least one
  data message, sorted by stream name (byte order of the UTF-8 name).

So a decoder is correct when, for every stream, it reports the same data messages, complete, in the same order;
how it interleaves streams in its output does not matter.  ``per_stream`` in the JSON gives each stream's count
and digest, to say which stream differs.  ``--manifest`` also writes ``FILE.messages.jsonl``: one line per data
message (stream, index, opcode, length, sha256 of the payload) to find the first message that differs.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import random
import struct
import sys
import time
import zlib
from collections import deque

from benchmarks.tls13_wrap import Tls13Session
from tests.support import accept_key, ws_frame

MSS = 1448
MIXES = ("payload", "small", "deflate")
MASK32 = 0xFFFFFFFF
TAIL = b"\x00\x00\xff\xff"

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 1, 2, 8, 9, 10
OP_NAMES = {OP_TEXT: "text", OP_BINARY: "binary", OP_CLOSE: "close", OP_PING: "ping", OP_PONG: "pong"}
C2S, S2C = "client_to_server", "server_to_client"

_ip = struct.Struct("!BBHHHBBH4s4s")
_tcp = struct.Struct("!HHIIBBHHH")
_rec = struct.Struct("<IIII")
_u64 = struct.Struct("!Q")

CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")
ETH_C2S = SERVER_MAC + CLIENT_MAC + b"\x08\x00"
ETH_S2C = CLIENT_MAC + SERVER_MAC + b"\x08\x00"
SYN_OPTS = b"\x02\x04" + struct.pack("!H", MSS)  # MSS option

# random bytes -> printable ASCII (64 symbols, so the mapping is uniform)
_ASCII = bytes.maketrans(bytes(range(256)),
                         b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _" * 4)
_UNICODE_PREFIX = "{\"note\":\"h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c \U0001f600\",\"data\":\"".encode("utf-8")


def parse_size(s: str) -> int:
    """``200M`` -> 200_000_000 (decimal: K, M, G = 10^3, 10^6, 10^9)."""
    s = s.strip().upper().removesuffix("B")
    mult = {"K": 10**3, "M": 10**6, "G": 10**9}.get(s[-1:], 1)
    if s[-1:] in "KMG":
        s = s[:-1]
    return int(float(s) * mult)


def _words(b: bytes) -> int:
    """Sum of the big-endian 16-bit words of *b* (even length), modulo 0xffff."""
    return int.from_bytes(b, "big") % 0xFFFF


def _csum(total: int) -> int:
    """Internet checksum from a sum of 16-bit words (any size: 2^16 == 1 mod 0xffff, so reduce mod 0xffff)."""
    return 0xFFFF - (total % 0xFFFF or 0xFFFF)


class Conn:
    __slots__ = ("idx", "cip", "sip", "cport", "sport", "cseq", "sseq", "cipid", "sipid", "ipc", "tcpc_c",
                 "tcpc_s", "queue", "budget", "state", "deflate", "comp_c", "comp_s", "hashes", "counts", "client", "tls")

    def __init__(self, idx: int, rng: random.Random, budget: int, deflate: bool, tls: Tls13Session | None = None):
        self.idx = idx
        self.tls = tls  # wss://: the application bytes are sent as TLS 1.3 records
        n = idx + 1
        self.cip = bytes((10, 1 + (n >> 16), (n >> 8) & 255, n & 255))
        self.sip = bytes((10, 0, 0, 1 + idx % 4))
        self.cport = rng.randint(32768, 60999)
        self.sport = (80 if idx % 2 == 0 else 8080) if tls is None else (443 if idx % 2 == 0 else 8443)
        self.client = f"{'.'.join(map(str, self.cip))}:{self.cport}"
        self.cseq = rng.getrandbits(32)
        self.sseq = rng.getrandbits(32)
        if idx % 8 == 5:  # every 8th connection: ISNs just below 2^32, so sequence numbers wrap early on
            self.cseq = (1 << 32) - rng.randint(1, 100_000)
            self.sseq = (1 << 32) - rng.randint(1, 100_000)
        self.cipid = rng.getrandbits(16)
        self.sipid = rng.getrandbits(16)
        addr = _words(self.cip) + _words(self.sip)
        self.ipc = 0x4500 + 0x4000 + 0x4006 + addr  # version/IHL/TOS, DF, TTL 64/proto 6, addresses
        self.tcpc_c = self.cport + self.sport + 0xFFFF + addr + 6  # ports, window, pseudo-header
        self.tcpc_s = self.tcpc_c
        self.queue: deque = deque()
        self.budget = budget
        self.state = 0  # 0 new, 1 open, 2 closed
        self.deflate = deflate
        self.comp_c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15) if deflate else None
        self.comp_s = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15) if deflate else None
        self.hashes = {C2S: hashlib.sha256(), S2C: hashlib.sha256()}
        self.counts = {C2S: 0, S2C: 0}


class Generator:
    def __init__(self, path: str, size: int, mix: str, seed: int = 1, conns: int = 100, manifest: bool = False,
                 tls: bool = False):
        if mix not in MIXES:
            raise ValueError(f"unknown mix {mix!r}")
        self.path, self.size, self.mix, self.seed = path, size, mix, seed
        self.conns = max(1, conns)
        self.rng = random.Random(f"{mix}:{seed}")
        self.counts = {name: 0 for name in OP_NAMES.values()}
        self.payload_bytes = 0
        self.per_stream: dict[str, dict] = {}
        self.packets = 0
        self.written = 0
        self.next_idx = 0
        self.opened = 0
        self.t_us = 1_700_000_000_000_000
        self.parts: list[bytes] = []
        self.buffered = 0
        self.manifest = open(path + ".messages.jsonl", "w") if manifest else None
        # wss://: the same WebSocket traffic (the TLS randoms come from their own generator) inside TLS 1.3
        self.keylog = open(path + ".keys.log", "w") if tls else None
        mean = {"payload": 2_000_000, "small": 500_000, "deflate": 1_000_000}[mix]
        self.mean_budget = max(4096, min(mean, size // (self.conns * 3 // 2 or 1)))
        self.p_frag = {"payload": 0.05, "small": 0.01, "deflate": 0.03}[mix]
        self.p_ping = {"payload": 0.02, "small": 0.005, "deflate": 0.01}[mix]
        if mix == "deflate":
            self._make_pools()
        self.seqno = 0

    # -- content -----------------------------------------------------------------------------------------------
    def _make_pools(self) -> None:
        rng = self.rng
        letters = "abcdefghijklmnopqrstuvwxyz"
        vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(4000)]
        rnd = rng.random
        words = []
        for _ in range(350_000):
            r = rnd()
            if r < 0.08:
                words.append(str(rng.randint(0, 10**rng.randint(1, 9))))
            else:
                words.append(vocab[int(4000 * rnd() ** 3)])
        self.text_pool = " ".join(words).encode("ascii")
        recs = []
        pk = struct.Struct("<IiHhB3x").pack
        price, seq = 100_000, 0
        for _ in range(80_000):
            price += rng.randint(-50, 50)
            seq += rng.randint(1, 3)
            recs.append(pk(seq, price, rng.randint(1, 500), rng.randint(-300, 300), rng.randint(0, 7)))
        self.bin_pool = b"".join(recs)

    def _text_payload(self, n: int) -> bytes:
        return (_UNICODE_PREFIX + self.rng.randbytes(n).translate(_ASCII))[:n] if n > len(_UNICODE_PREFIX) + 8 \
            else self.rng.randbytes(n).translate(_ASCII)

    def _message(self, from_client: bool) -> tuple[int, bytes]:
        rng = self.rng
        mix = self.mix
        self.seqno += 1
        if mix == "payload":
            if rng.random() < 0.02:
                n = rng.randint(65536, 262144)
            else:
                n = rng.randint(1024, 65535)
            if rng.random() < 0.5:
                return OP_BINARY, rng.randbytes(n)
            return OP_TEXT, self._text_payload(n)
        if mix == "small":
            r = rng.random()
            if r < 0.00005:
                return OP_BINARY, rng.randbytes(rng.randint(65536, 100_000))
            if from_client:
                s = (f'{{"op":"{"subscribe" if r < 0.5 else "ack"}","channel":"ch.{rng.randint(1, 999)}",'
                     f'"id":{self.seqno},"ts":{self.t_us // 1000}}}')
            else:
                sym = rng.choice(("EURUSD", "BTC-USD", "AAPL", "MSFT", "\u20acSTOXX", "\u65e5\u7d4c225", "ETH"))
                pad = rng.randint(0, 110)
                s = (f'{{"type":"tick","sym":"{sym}","px":{rng.randint(1, 10**7) / 100:.2f},'
                     f'"qty":{rng.randint(1, 5000)},"seq":{self.seqno},"ts":{self.t_us // 1000}'
                     + (f',"pad":"{"x" * pad}"' if pad > 5 else "") + "}")
            return OP_TEXT, s.encode("utf-8")
        # deflate
        n = int(math.exp(rng.uniform(4.16, 9.70)))  # 64 B .. 16 KiB, log-uniform
        if rng.random() < 0.15:
            pool = self.bin_pool
            off = rng.randrange(0, len(pool) - n) & ~15
            return OP_BINARY, pool[off:off + n]
        pool = self.text_pool
        off = rng.randrange(0, len(pool) - n)
        head = (f'{{"type":"{"event" if from_client else "update"}","seq":{self.seqno},'
                f'"ts":{self.t_us // 1000},"body":"').encode("ascii")
        return OP_TEXT, head + pool[off:off + n] + b'"}'

    # -- WebSocket frames ----------------------------------------------------------------------------------------
    def _frame(self, opcode: int, payload: bytes, client: bool, fin: bool = True, rsv1: bool = False) -> bytes:
        return ws_frame(opcode, payload, fin=fin, rsv=4 if rsv1 else 0, mask=self.rng.randbytes(4) if client else None)

    def _record(self, c: Conn, direction: str, opcode: int, payload: bytes) -> None:
        h = c.hashes[direction]
        h.update(bytes((opcode,)) + _u64.pack(len(payload)))
        h.update(payload)
        i = c.counts[direction]
        c.counts[direction] = i + 1
        self.counts[OP_NAMES[opcode]] += 1
        self.payload_bytes += len(payload)
        if self.manifest is not None:
            self.manifest.write(json.dumps({"stream": f"{c.client} {direction}", "i": i, "opcode": OP_NAMES[opcode],
                                            "len": len(payload),
                                            "sha256": hashlib.sha256(payload).hexdigest()}) + "\n")

    def _data_message(self, c: Conn, from_client: bool, opcode: int, payload: bytes, frames: list,
                      pongs: list) -> None:
        rng = self.rng
        self._record(c, C2S if from_client else S2C, opcode, payload)
        wire, rsv1 = payload, False
        if c.deflate:
            comp = c.comp_c if from_client else c.comp_s
            z = comp.compress(payload) + comp.flush(zlib.Z_SYNC_FLUSH)
            assert z.endswith(TAIL)
            wire, rsv1 = z[:-4], True
        if len(wire) >= 4 and rng.random() < self.p_frag:
            k = rng.randint(2, min(4, len(wire)))
            cuts = sorted(rng.sample(range(1, len(wire)), k - 1))
            bounds = [0] + cuts + [len(wire)]
            for i in range(k):
                last = i == k - 1
                frames.append(self._frame(opcode if i == 0 else 0, wire[bounds[i]:bounds[i + 1]], from_client,
                                          fin=last, rsv1=rsv1 and i == 0))
                if not last and (i == 0 or rng.random() < 0.5):
                    p = rng.randbytes(rng.randint(0, 16))
                    frames.append(self._frame(OP_PING, p, from_client))
                    self.counts["ping"] += 1
                    pongs.append(p)
        else:
            frames.append(self._frame(opcode, wire, from_client, rsv1=rsv1))

    # -- TCP -----------------------------------------------------------------------------------------------------
    def _pkt(self, c: Conn, from_client: bool, flags: int, payload: bytes = b"", opts: bytes = b"") -> bytes:
        if from_client:
            src, dst, sp, dp, seq, ack, eth = c.cip, c.sip, c.cport, c.sport, c.cseq, c.sseq, ETH_C2S
            ipid = c.cipid
            c.cipid = (ipid + 1) & 0xFFFF
            tcpc = c.tcpc_c
        else:
            src, dst, sp, dp, seq, ack, eth = c.sip, c.cip, c.sport, c.cport, c.sseq, c.cseq, ETH_S2C
            ipid = c.sipid
            c.sipid = (ipid + 1) & 0xFFFF
            tcpc = c.tcpc_s
        if not flags & ACK:
            ack = 0
        thl = 20 + len(opts)
        n = len(payload)
        tcp_len = thl + n
        tot = 20 + tcp_len
        ip_sum = _csum(c.ipc + tot + ipid)
        hw = (thl >> 2) << 12 | flags
        s = tcpc + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF) + hw + tcp_len
        if opts:
            s += _words(opts)
        if n:
            v = int.from_bytes(payload, "big")
            s += (v << 8 if n & 1 else v) % 0xFFFF
        return b"".join((eth, _ip.pack(0x45, 0, tot, ipid, 0x4000, 64, 6, ip_sum, src, dst),
                         _tcp.pack(sp, dp, seq, ack, (thl >> 2) << 4, flags, 0xFFFF, _csum(s), 0), opts, payload))

    def _send(self, c: Conn, from_client: bool, data: bytes) -> None:
        """One application write (in TLS records on a wss:// connection)."""
        self._send_tcp(c, from_client, c.tls.seal(from_client, data) if c.tls is not None else data)

    def _send_tcp(self, c: Conn, from_client: bool, data: bytes) -> None:
        """MSS-sized segments, a pure ACK from the peer every 2 segments and at the end."""
        q = c.queue
        n = len(data)
        off = segs = 0
        while off < n:
            chunk = data[off:off + MSS]
            off += len(chunk)
            q.append(self._pkt(c, from_client, ACK | PSH if off >= n else ACK, chunk))
            if from_client:
                c.cseq = (c.cseq + len(chunk)) & MASK32
            else:
                c.sseq = (c.sseq + len(chunk)) & MASK32
            segs += 1
            if segs & 1 == 0 or off >= n:
                q.append(self._pkt(c, not from_client, ACK))

    def _open(self, c: Conn) -> None:
        rng = self.rng
        q = c.queue
        q.append(self._pkt(c, True, SYN, opts=SYN_OPTS))
        c.cseq = (c.cseq + 1) & MASK32
        q.append(self._pkt(c, False, SYN | ACK, opts=SYN_OPTS))
        c.sseq = (c.sseq + 1) & MASK32
        q.append(self._pkt(c, True, ACK))
        if c.tls is not None:
            hello, server_flight, client_flight = c.tls.flights()
            self._send_tcp(c, True, hello)
            self._send_tcp(c, False, server_flight)
            self._send_tcp(c, True, client_flight)
            self.keylog.write(c.tls.keylog_lines())
        key = base64.b64encode(rng.randbytes(16))
        host = f"{'.'.join(map(str, c.sip))}" + ("" if c.sport == 80 else f":{c.sport}")
        ext_req = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if c.deflate else ""
        req = (f"GET /stream/{c.idx}?mix={self.mix} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: wsdissect-bench/1\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
               f"Sec-WebSocket-Version: 13\r\n{ext_req}Origin: http://{host}\r\n\r\n").encode("ascii")
        self._send(c, True, req)
        ext_resp = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if c.deflate else ""
        resp = (f"HTTP/1.1 101 Switching Protocols\r\nServer: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n{ext_resp}\r\n").encode("ascii")
        self._send(c, False, resp)
        c.state = 1

    def _burst(self, c: Conn) -> None:
        rng = self.rng
        mix = self.mix
        if mix == "small":
            from_client = rng.random() < 0.2
            n = rng.randint(1, 3) if from_client else rng.randint(1, 40)
        elif mix == "payload":
            from_client = rng.random() < 0.5
            n = rng.randint(1, 2)
        else:
            from_client = rng.random() < 0.4
            n = rng.randint(1, 6)
        frames: list[bytes] = []
        pongs: list[bytes] = []
        for _ in range(n):
            op, payload = self._message(from_client)
            self._data_message(c, from_client, op, payload, frames, pongs)
        if rng.random() < self.p_ping:
            p = rng.randbytes(8)
            frames.append(self._frame(OP_PING, p, from_client))
            self.counts["ping"] += 1
            pongs.append(p)
        data = b"".join(frames)
        self._send(c, from_client, data)
        c.budget -= len(data)
        if pongs:
            self._send(c, not from_client, b"".join(self._frame(OP_PONG, p, not from_client) for p in pongs))
            self.counts["pong"] += len(pongs)

    def _close(self, c: Conn) -> None:
        payload = struct.pack("!H", 1000) + b"bye"
        self._send(c, True, self._frame(OP_CLOSE, payload, True))
        self._send(c, False, self._frame(OP_CLOSE, payload, False))
        self.counts["close"] += 2
        q = c.queue
        q.append(self._pkt(c, False, FIN | ACK))
        c.sseq = (c.sseq + 1) & MASK32
        q.append(self._pkt(c, True, FIN | ACK))
        c.cseq = (c.cseq + 1) & MASK32
        q.append(self._pkt(c, False, ACK))
        c.state = 2

    def _new_conn(self) -> Conn:
        budget = int(self.mean_budget * self.rng.uniform(0.2, 1.8))
        tls = Tls13Session(random.Random(f"tls:{self.seed}:{self.next_idx}")) if self.keylog is not None else None
        c = Conn(self.next_idx, self.rng, budget, self.mix == "deflate", tls)
        self.next_idx += 1
        self._open(c)
        return c

    def _finish_conn(self, c: Conn) -> None:
        for d in (C2S, S2C):
            if c.counts[d]:
                self.per_stream[f"{c.client} {d}"] = {"count": c.counts[d], "sha256": c.hashes[d].hexdigest()}
        c.hashes = None  # type: ignore[assignment]

    # -- output --------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        t0 = time.perf_counter()
        rng = self.rng
        with open(self.path, "wb") as f:
            hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
            f.write(hdr)
            self.written = len(hdr)
            active = [self._new_conn() for _ in range(self.conns)]
            stopping = False
            parts = self.parts
            rec = _rec.pack
            buffered = 0
            t_us = self.t_us
            while active:
                i = rng.randrange(len(active))
                c = active[i]
                q = c.queue
                if not q:
                    if c.state == 2:
                        self._finish_conn(c)
                        if stopping:
                            active[i] = active[-1]
                            active.pop()
                        else:
                            active[i] = self._new_conn()
                        continue
                    if c.budget > 0 and not stopping:
                        self._burst(c)
                    else:
                        self._close(c)
                for _ in range(min(len(q), rng.randint(1, 4))):
                    pkt = q.popleft()
                    t_us += rng.randint(1, 60)
                    n = len(pkt)
                    parts.append(rec(t_us // 1_000_000, t_us % 1_000_000, n, n))
                    parts.append(pkt)
                    buffered += n + 16
                    self.packets += 1
                if not stopping and self.written + buffered >= self.size:
                    stopping = True
                if buffered >= 4 << 20:
                    f.write(b"".join(parts))
                    parts.clear()
                    self.written += buffered
                    buffered = 0
                    self.t_us = t_us
            if parts:
                f.write(b"".join(parts))
                self.written += buffered
        if self.manifest is not None:
            self.manifest.close()
        if self.keylog is not None:
            self.keylog.close()
        lines = "".join(f"{k} {v['sha256']}\n" for k, v in sorted(self.per_stream.items(),
                                                                    key=lambda kv: kv[0].encode()))
        expected = {
            "file": os.path.basename(self.path),
            "mix": self.mix,
            "seed": self.seed,
            "size_target": self.size,
            "bytes": self.written,
            "packets": self.packets,
            "connections": self.next_idx,
            "concurrent_connections": self.conns,
            "messages": self.counts,
            "data_messages": self.counts["text"] + self.counts["binary"],
            "payload_bytes": self.payload_bytes,
            "checksum": hashlib.sha256(lines.encode()).hexdigest(),
            "checksum_definition": "sha256 of sorted lines '<client ip:port> <direction> <stream digest>\\n'; "
                                   "stream digest = sha256 over the stream's text/binary messages in order of "
                                   "opcode(1 byte) || len(payload) (8 bytes BE) || payload; see gen_capture.py",
            "generator_seconds": round(time.perf_counter() - t0, 2),
            "per_stream": self.per_stream,
        }
        with open(self.path + ".expected.json", "w") as f:
            json.dump(expected, f, indent=1)
            f.write("\n")
        return expected


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="200M", help="approximate capture size (K/M/G = 10^3/10^6/10^9 bytes)")
    ap.add_argument("--mix", choices=MIXES, default="payload")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--conns", type=int, default=100, help="TCP connections open at once (default 100)")
    ap.add_argument("--manifest", action="store_true", help="also write FILE.messages.jsonl (one line per message)")
    ap.add_argument("--tls", action="store_true", help="wss://: the same traffic inside TLS 1.3 (AES-128-GCM); the "
                    "key log is written to FILE.keys.log")
    ap.add_argument("-o", "--output", required=True, metavar="FILE")
    a = ap.parse_args(argv)
    g = Generator(a.output, parse_size(a.size), a.mix, a.seed, a.conns, a.manifest, a.tls)
    e = g.run()
    print(f"{a.output}: {e['bytes'] / 1e6:.1f} MB, {e['packets']} packets, {e['connections']} connections, "
          f"{e['data_messages']} data messages ({e['payload_bytes'] / 1e6:.1f} MB payload), "
          f"{e['generator_seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
