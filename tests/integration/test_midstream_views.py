"""Packet views of connections whose handshake (and more) is not in the capture: every frame, message and finding
decoded from bytes held while deciding is on the packet whose number it carries, whatever was cut; relative
sequence numbers stay each direction's own when the heuristic swaps client and server.  (Against tshark:
tests/corpus/test_midstream_vs_tshark.py.)"""
from __future__ import annotations

import random

import pytest

from tests.support import Conversation, drop_frames, upgrade_request, upgrade_response, ws_frame
from wsdissect.events import Message, Packet, WsFrame
from wsdissect.options import Options, parse_decode_as
from wsdissect.render.packets import group_by_packet
from wsdissect.run import Driver
from wsdissect.run.regroup import event_frame

SERVER = ("10.0.0.2", 8765)


def _conversation(path: str, client=("10.0.0.1", 50000), server=SERVER) -> int:
    """Frames of 5 to 1500 bytes both ways in 200-byte segments; returns the number of the 101's packet."""
    rnd = random.Random(7)
    req = upgrade_request(key="dGhlIHNhbXBsZSBub25jZQ==")
    c = Conversation(client=client, server=server, mss=200)
    c.send(True, req)
    c.send(False, upgrade_response(req))
    upgraded = len(c.packets) - 1
    for size in (5, 300, 40, 1500, 12, 700, 3, 90):
        c.send(True, ws_frame(1, b"c" * size, mask=rnd.randbytes(4)))
        c.send(False, ws_frame(2, rnd.randbytes(size)))
    c.close()
    c.write(path)
    return upgraded


def _groups(path: str, decode_as: bool):
    options = Options(packets=True, frames=True, decode_as=parse_decode_as([str(SERVER[1])]) if decode_as else frozenset())
    return list(group_by_packet(Driver(options, per_packet=True).events([path])))


@pytest.mark.parametrize("decode_as", [True, False], ids=["decode-as", "heuristic"])
@pytest.mark.parametrize("cut", range(0, 24, 3))
def test_late_frames_are_on_their_packets(tmp_path, cut, decode_as):
    whole = str(tmp_path / "whole.pcap")
    upgraded = _conversation(whole)
    path = drop_frames(whole, str(tmp_path / "cut.pcap"), set(range(1, upgraded + 2 + cut)))
    groups = _groups(path, decode_as)
    frames = 0
    for pkt, events in groups:
        for ev in events:
            if ev.__class__ in (WsFrame, Message) and pkt is not None:
                assert event_frame(ev) == pkt.frame, (ev, pkt.frame)
                frames += ev.__class__ is WsFrame
    if decode_as:
        assert frames >= 8


def test_relative_numbers_survive_the_roles_swapping(tmp_path):
    """Client on the lower port: the side on the higher port is taken for the client until the mask bits say
    otherwise; each direction's relative numbers still count from its own first segment."""
    whole = str(tmp_path / "whole.pcap")
    upgraded = _conversation(whole, client=("10.0.0.1", 5000), server=("10.0.0.2", 60000))
    path = drop_frames(whole, str(tmp_path / "cut.pcap"), set(range(1, upgraded + 2)))
    options = Options(packets=True, frames=True)
    nxt: dict[tuple, int] = {}
    packets = [ev for ev in Driver(options, per_packet=True).events([path]) if ev.__class__ is Packet]
    assert packets[-1].conn.client_port == 5000  # the heuristic found the roles out
    for p in packets:
        key = (p.src, p.sport)
        assert p.rel_seq == nxt.get(key, 1), p
        nxt[key] = p.rel_seq + p.payload_len + (1 if p.flags & 1 else 0)


@pytest.mark.parametrize("decode_as", [False, True])
def test_a_new_connections_findings_follow_its_first_packet(tmp_path, decode_as):
    """``tcp.midstream`` (made when the connection is first seen) is on the packet that showed it, not on the
    packet before it (another connection's, or none)."""
    path = str(tmp_path / "cut.pcap")
    upgraded = _conversation(path)
    cut = str(tmp_path / "cut2.pcap")
    drop_frames(path, cut, set(range(1, upgraded + 2)))
    for pkt, events in _groups(cut, decode_as):
        for ev in events:
            if getattr(ev, "code", None) == "tcp.midstream":
                assert pkt is not None and pkt.frame == ev.frame == 1
    assert any(getattr(ev, "code", None) == "tcp.midstream" for _p, evs in _groups(cut, decode_as) for ev in evs)
