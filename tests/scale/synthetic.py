"""A capture that exercises what a flow split must keep: many interleaved connections, a reused 4-tuple, IPv4
fragments arriving before their first fragment, UDP, and a late packet of a finished connection after a sweep
point (more than 8192 frames and 30 s of capture time)."""
from __future__ import annotations

import random
import socket
import struct

from tests.helpers import FastConversation, tcp_packet, upgrade_request, upgrade_response, ws_frame
from wsdissect.capture.pcapwriter import PcapWriter

SERVER = ("10.0.0.1", 8080)


class _Clock:
    """One capture time shared by the conversations written into the same file."""

    def __init__(self, writer: PcapWriter, t: float):
        self.writer, self.t = writer, t

    def write(self, t: float, data: bytes) -> None:
        self.t = max(self.t + 1e-5, t)
        self.writer.write(self.t, data)


def _conversation(clock: _Clock, client: tuple[str, int], rng: random.Random):
    """The steps of one WebSocket connection; yields between packets so conversations interleave."""
    c = FastConversation(clock, client, SERVER, clock.t, mss=600)
    c.handshake()
    yield c
    req = upgrade_request(key="dGhlIHNhbXBsZSBub25jZQ==")
    c.send(True, req)
    yield c
    c.send(False, upgrade_response(req))
    for i in range(rng.randint(2, 6)):
        yield c
        payload = bytes(rng.randrange(256) for _ in range(rng.choice((10, 200, 1500))))
        if rng.random() < 0.5:
            c.send(True, ws_frame(2, payload, mask=b"\x01\x02\x03\x04"))
        else:
            c.send(False, ws_frame(1, f"message {i} from {client}".encode()))
    yield c
    c.send(True, ws_frame(8, b"\x03\xe8", mask=b"\x01\x02\x03\x04"))
    c.send(False, ws_frame(8, b"\x03\xe8"))
    c.close()


def _fragments(packet: bytes, pieces: int = 3) -> list[bytes]:
    """An Ethernet+IPv4 packet cut into IPv4 fragments (8-byte aligned), last first."""
    eth, ip = packet[:14], packet[14:]
    ihl = (ip[0] & 0x0F) * 4
    body = ip[ihl:]
    step = ((len(body) // pieces) + 7) & ~7
    out = []
    for off in range(0, len(body), step):
        part = body[off:off + step]
        more = 0x2000 if off + step < len(body) else 0
        head = bytearray(ip[:ihl])
        head[2:4] = struct.pack("!H", ihl + len(part))
        head[4:6] = b"\x12\x34"
        head[6:8] = struct.pack("!H", more | (off // 8))
        out.append(eth + bytes(head) + part)
    return out[::-1]


def _udp(t: float, clock: _Clock) -> None:
    udp = struct.pack("!HHHH", 5353, 5353, 12, 0) + b"mdns"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton("10.0.0.9"),
                     socket.inet_aton("224.0.0.251"))
    clock.write(t, b"\x01\x00\x5e\x00\x00\xfb\x02\x00\x00\x00\x00\x09\x08\x00" + ip + udp)


def write_mixed_capture(path: str, connections: int = 600, seed: int = 7) -> str:
    rng = random.Random(seed)
    with open(path, "wb") as f:
        clock = _Clock(PcapWriter(f, 1), 1_700_000_000.0)
        clients = [(f"10.1.{i // 200}.{i % 200 + 1}", 40000 + i) for i in range(connections)]
        clients[5] = clients[3]  # a reused 4-tuple: a second connection once the first has ended
        running: list = []
        waiting = list(clients)
        while running or waiting:
            while waiting and len(running) < 40 and (clients[3] != waiting[0] or not any(
                    s[1] == clients[3] for s in running)):
                client = waiting.pop(0)
                if len(waiting) == connections // 2:  # a quiet minute: the next sweep forgets ended connections
                    clock.t += 60
                running.append((_conversation(clock, client, rng), client))
            steps, client = running[rng.randrange(len(running))]
            if next(steps, None) is None:
                running.remove((steps, client))
            if rng.random() < 0.02:
                _udp(clock.t, clock)
        # late packets of connections that ended before the quiet minute: a data segment as IPv4 fragments
        # arriving last-first, and a FIN
        late = tcp_packet(clients[0], SERVER, 1, 1, 0x18, b"late data after the end" * 20)
        for frag in _fragments(late):
            clock.write(clock.t + 1, frag)
        clock.write(clock.t + 1, tcp_packet(clients[1], SERVER, 7, 7, 0x11))
    return path
