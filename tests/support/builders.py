"""Test helpers: WebSocket frame and handshake builders, TCP conversations written with scapy, feeders that split
byte streams every way (whole, byte by byte, random splits), and a runner that collects events by type.

The builders do not use wsdissect (``accept_key`` here is computed from RFC 6455 directly), so what they build is
an independent reference; only :func:`run_pipeline` runs wsdissect."""
from __future__ import annotations

import base64
import hashlib
import os
import random
import struct
from typing import Iterable, Iterator

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


# -- byte-stream feeders ---------------------------------------------------------------------------------------
def splits(data: bytes, seed: int = 0, pieces: int | None = None) -> list[bytes]:
    """*data* cut at random places (deterministic for a seed)."""
    rnd = random.Random(seed)
    if len(data) < 2:
        return [data]
    k = pieces if pieces is not None else rnd.randint(1, min(len(data) - 1, 50))
    cuts = sorted(rnd.sample(range(1, len(data)), min(k, len(data) - 1)))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]


def feedings(data: bytes, seeds: Iterable[int] = range(5)) -> Iterator[tuple[str, list[bytes]]]:
    """The three ways every parser is fed: whole, one byte at a time, and random splits."""
    yield "whole", [data]
    yield "bytewise", [data[i:i + 1] for i in range(len(data))]
    for s in seeds:
        yield f"split{s}", splits(data, s)


# -- WebSocket bytes -------------------------------------------------------------------------------------------
def accept_key(key: str | bytes) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    raw = key.encode("latin-1") if isinstance(key, str) else key
    return base64.b64encode(hashlib.sha1(raw + GUID).digest()).decode("ascii")


def _mask(data: bytes, key: bytes) -> bytes:
    """XOR *data* with the repeating 4-byte *key* (big-int XOR: fast for any length)."""
    n = len(data)
    if not n:
        return b""
    k = (key * ((n + 3) >> 2))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def ws_frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, mask: bytes | None = None,
             length_form: int | None = None) -> bytes:
    """One RFC 6455 frame.  *mask*: 4-byte key (client frames) or None.  *length_form*: force 7, 16 or 64."""
    n = len(payload)
    form = length_form or (7 if n < 126 else 16 if n < 65536 else 64)
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0x0F)
    mbit = 0x80 if mask is not None else 0
    if form == 7:
        head = bytes([b0, mbit | n])
    elif form == 16:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        head += mask
        payload = _mask(payload, mask)
    return head + payload


def upgrade_request(path: str = "/chat", host: str = "example.test", key: str | None = None,
                    extra: list[tuple[str, str]] = ()) -> bytes:
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def upgrade_response(key_or_request: str | bytes, extra: list[tuple[str, str]] = (), status: str = "101 Switching "
                     "Protocols", accept: str | None = None) -> bytes:
    if isinstance(key_or_request, bytes):
        key = next(line.split(b":", 1)[1].strip().decode() for line in key_or_request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
    else:
        key = key_or_request
    lines = [f"HTTP/1.1 {status}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Accept: {accept if accept is not None else accept_key(key)}"]
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- TCP conversations, written with scapy -----------------------------------------------------------------------
class Conversation:
    """A TCP conversation between a client and a server, as packets with timestamps.

    ``send(from_client, data)`` adds data segments (split at *mss*) and the peer's ACK; ``close()`` adds the FIN
    handshake.  ``packets`` holds scapy packets; ``write(path)`` writes them as a pcap.
    """

    def __init__(self, client: tuple[str, int] = ("10.0.0.1", 50000), server: tuple[str, int] = ("10.0.0.2", 8080),
                 t0: float = 1_700_000_000.0, mss: int = 1400, handshake: bool = True):
        self.client, self.server = client, server
        self.t = t0
        self.mss = mss
        self.seq = {True: 1000, False: 5000}
        self.packets: list = []
        if handshake:
            self._pkt(True, "S", b"", syn=True)
            self._pkt(False, "SA", b"", syn=True)
            self._pkt(True, "A", b"")

    def _ip(self, from_client: bool):
        from scapy.layers.inet import IP
        from scapy.layers.inet6 import IPv6

        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        return (IPv6 if ":" in src[0] else IP)(src=src[0], dst=dst[0]), src[1], dst[1]

    def _pkt(self, from_client: bool, flags: str, data: bytes, syn: bool = False, seq: int | None = None):
        from scapy.layers.inet import TCP
        from scapy.layers.l2 import Ether

        ip, sport, dport = self._ip(from_client)
        s = self.seq[from_client] if seq is None else seq
        ack = self.seq[not from_client]
        tcp = TCP(sport=sport, dport=dport, flags=flags, seq=s, ack=ack if "A" in flags else 0, window=65535)
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ip / tcp
        if data:
            p = p / data
        self.t += 0.0001
        p.time = self.t
        self.packets.append(p)
        if seq is None:
            self.seq[from_client] = s + len(data) + (1 if syn or "F" in flags else 0)
        return p

    def send(self, from_client: bool, data: bytes, ack: bool = True) -> list:
        """Data segments of at most *mss* bytes, then the peer's ACK; returns the data packets."""
        sent = []
        for i in range(0, len(data), self.mss):
            sent.append(self._pkt(from_client, "PA", data[i:i + self.mss]))
        if ack and data:
            self._pkt(not from_client, "A", b"")
        return sent

    def close(self, first_client: bool = True) -> None:
        self._pkt(first_client, "FA", b"")
        self._pkt(not first_client, "FA", b"")
        self._pkt(first_client, "A", b"")

    def write(self, path: str) -> str:
        from scapy.utils import wrpcap

        wrpcap(path, self.packets)
        return path


# -- running the pipeline ----------------------------------------------------------------------------------------
def run_pipeline(path: str, **options) -> dict[str, list]:
    """Events for a capture, grouped by class name (``Message``, ``Finding``, ``ConnectionEnd``...)."""
    from wsdissect.options import Options
    from wsdissect.run import dissect_files

    groups: dict[str, list] = {}
    for ev in dissect_files([path], Options(**options)):
        groups.setdefault(type(ev).__name__, []).append(ev)
    return groups


# -- fast synthetic captures (struct, no scapy): for large or many-connection tests -------------------------------
def tcp_packet(src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    """Ethernet + IPv4 + TCP bytes (checksums left zero: wsdissect, like Wireshark by default, does not check)."""
    import socket

    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + payload


class FastConversation:
    """Like :class:`Conversation` but written straight to a pcap with struct: millions of bytes in a blink."""

    def __init__(self, writer, client: tuple[str, int], server: tuple[str, int], t: float = 1_700_000_000.0,
                 mss: int = 65000):
        self.w, self.client, self.server, self.t, self.mss = writer, client, server, t, mss
        self.seq = {True: 1000, False: 5000}

    def _emit(self, from_client: bool, flags: int, payload: bytes = b"") -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        self.t += 1e-5
        pkt = tcp_packet(src, dst, self.seq[from_client], self.seq[not from_client], flags, payload)
        self.w.write(self.t, pkt)
        self.seq[from_client] += len(payload) + (1 if flags & 3 else 0)

    def syn(self) -> None:
        self._emit(True, 0x02)

    def handshake(self) -> None:
        self._emit(True, 0x02)
        self._emit(False, 0x12)
        self._emit(True, 0x10)

    def send(self, from_client: bool, data: bytes) -> None:
        for i in range(0, len(data), self.mss):
            self._emit(from_client, 0x18, data[i:i + self.mss])
        self._emit(not from_client, 0x10)

    def close(self) -> None:
        self._emit(True, 0x11)
        self._emit(False, 0x11)
        self._emit(True, 0x10)


# -- cutting captures ------------------------------------------------------------------------------------------
def drop_frames(src: str, dst: str, drop: set[int]) -> str:
    """Copy the classic pcap *src* to *dst* without the records numbered in *drop* (1-based), e.g. to make a
    connection start mid-stream; the other records are copied byte for byte (their numbers shift down)."""
    with open(src, "rb") as f:
        data = f.read()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    if struct.unpack(order + "I", data[:4])[0] not in (0xA1B2C3D4, 0xA1B23C4D):
        raise ValueError(f"{src}: not a classic pcap file")
    out = [data[:24]]
    pos, number = 24, 0
    while pos + 16 <= len(data):
        caplen = struct.unpack_from(order + "I", data, pos + 8)[0]
        number += 1
        if number not in drop:
            out.append(data[pos:pos + 16 + caplen])
        pos += 16 + caplen
    with open(dst, "wb") as f:
        f.write(b"".join(out))
    return dst
