"""wsdissect.run.regroup: events decoded late from held bytes join the packet they belong to; nothing else moves."""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from wsdissect.events import CaptureEnd, Finding, Packet, new_frame, new_packet
from wsdissect.findings import Severity
from wsdissect.flow import CLIENT_TO_SERVER, Conn
from wsdissect.run.regroup import Regrouper, event_frame

CONNS = (Conn(0, "10.0.0.1", 50000, "10.0.0.2", 80), Conn(1, "10.0.0.3", 50001, "10.0.0.2", 80))


def packet(frame: int, conn: Conn = CONNS[0], payload: int = 10, data: bytes = b"") -> Packet:
    return new_packet(frame=frame, ts=float(frame), wire_len=64, cap_len=64, linktype=1, data=data, l3_offset=14,
                      ip_version=4, src=conn.client_ip, dst=conn.server_ip, sport=conn.client_port,
                      dport=conn.server_port, seq=0, ack=0, flags=0x18, window=0, tcp_offset=34,
                      payload_len=payload, conn=conn, direction=CLIENT_TO_SERVER)


def ws(frame: int, conn: Conn = CONNS[0]):
    return new_frame(conn=conn, direction=CLIENT_TO_SERVER, first_frame=frame, frame=frame, ts=float(frame), fin=True,
                     rsv=0, opcode=1, masked=False, mask_key=None, length_code=1, payload_len=1, header=b"\x81\x01",
                     payload=b"x", complete=True, stream_offset=0)


class Holder:
    """A dissector stand-in: connection -> first frame held (set by the test as it goes)."""

    def __init__(self):
        self.held: dict[int, int] = {}

    def holds(self, conn: int) -> bool:
        return conn in self.held

    def held_since(self):
        return min(self.held.values(), default=None)


def test_nothing_held_passes_every_list_straight_on():
    r = Regrouper(Holder())
    lists = [[packet(1)], [packet(2), ws(2)], [Finding(3, 3.0, "tcp.rst", Severity.NOTE, "x")]]
    assert [r.add(evs) for evs in lists] == [[evs] for evs in lists]


def test_late_frames_join_their_packets_and_the_order_is_kept():
    h = Holder()
    r = Regrouper(h)
    h.held[0] = 2
    assert r.add([packet(2)]) == []
    assert r.add([packet(3, CONNS[1]), ws(3, CONNS[1])]) == []  # another connection's packet waits its turn
    assert r.add([packet(4)]) == []
    del h.held[0]
    out = r.add([packet(5), ws(2), ws(4), ws(5)])
    assert [[(type(e).__name__, e.frame) for e in evs] for evs in out] == [
        [("Packet", 2), ("WsFrame", 2)], [("Packet", 3), ("WsFrame", 3)], [("Packet", 4), ("WsFrame", 4)],
        [("Packet", 5), ("WsFrame", 5)]]


def test_only_held_packets_of_the_same_connection_receive():
    h = Holder()
    r = Regrouper(h)
    h.held[0] = 2
    r.add([packet(2)])
    r.add([packet(3, CONNS[1])])  # not held: its connection holds nothing
    r.add([packet(4, payload=0)])  # no payload: nothing of it was held
    del h.held[0]
    out = r.add([packet(5), ws(3, CONNS[1]), ws(4), ws(2, CONNS[1])])
    assert [len(evs) for evs in out] == [1, 1, 1, 4]


def test_the_end_hands_on_everything_with_the_last_frames_placed():
    h = Holder()
    r = Regrouper(h)
    h.held[0] = 1
    r.add([packet(1)])
    r.add([packet(2)])
    out = r.end([ws(1), ws(2), CaptureEnd("x", 2, False)])
    assert [[type(e).__name__ for e in evs] for evs in out] == [["Packet", "WsFrame"], ["Packet", "WsFrame"],
                                                                 ["CaptureEnd"]]


def test_at_most_limit_packets_wait():
    h = Holder()
    r = Regrouper(h, limit=3)
    h.held[0] = 1
    released = [evs for f in range(1, 8) for evs in r.add([packet(f)])]
    assert [evs[0].frame for evs in released] == [1, 2, 3, 4]
    # a frame for a packet already handed on stays where it was decoded
    del h.held[0]
    out = r.add([packet(8), ws(2), ws(6)])
    assert [(evs[0].frame, len(evs)) for evs in out] == [(5, 1), (6, 2), (7, 1), (8, 2)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(2, 40))
def test_every_event_lands_on_its_packet_when_it_was_held(seed, n):
    """Random runs of held and released stretches: the packets come out once each, in order, and every late frame
    whose packet was held is on it."""
    rnd = random.Random(seed)
    h = Holder()
    r = Regrouper(h)
    out, pending = [], []
    for f in range(1, n + 1):
        if 0 not in h.held and rnd.random() < 0.3:
            h.held[0] = f
        evs = [packet(f)]
        if 0 in h.held:
            pending.append(f)
        if pending and rnd.random() < 0.3:
            del h.held[0]
            evs += [ws(p) for p in pending]
            pending = []
        out += r.add(evs)
    out += r.end([ws(p) for p in pending])
    assert [evs[0].frame for evs in out] == list(range(1, n + 1))
    for evs in out:
        assert all(event_frame(e) == evs[0].frame for e in evs[1:])


def test_held_bytes_are_bounded_too():
    """Big segments (64 KiB on loopback) are handed on once their bytes pass the limit, oldest first."""
    h = Holder()
    r = Regrouper(h, byte_limit=100_000)
    h.held[0] = 1
    big = bytes(65_536)
    assert r.add([packet(1, data=big)]) == []
    out = r.add([packet(2, data=big)])  # 128 KiB held: the oldest goes on although its connection still holds
    assert [evs[0].frame for evs in out] == [1]
    assert r.held_bytes == len(big) and len(r.queue) == 1
