"""WebSocket recognised without its handshake (capture started late), and never on look-alike traffic."""
import os
import random

from tests.support import Conversation, run_pipeline, ws_frame


def _midstream(tmp_path, client_frames, server_frames, name="m.pcap"):
    conv = Conversation(handshake=False, server=("10.0.0.2", 9001))
    for c, s in zip(client_frames, server_frames):
        conv.send(True, c)
        conv.send(False, s)
    return run_pipeline(conv.write(str(tmp_path / name)))


def test_recognised_from_opposite_mask_bits(tmp_path):
    ev = _midstream(tmp_path, [ws_frame(1, f"c{i}".encode(), mask=b"\x01\x02\x03\x04") for i in range(3)],
                    [ws_frame(1, f"s{i}".encode()) for i in range(3)])
    msgs = [(m.direction, m.payload) for m in ev["Message"]]
    assert msgs == [("client_to_server", b"c0"), ("server_to_client", b"s0"), ("client_to_server", b"c1"),
                    ("server_to_client", b"s1"), ("client_to_server", b"c2"), ("server_to_client", b"s2")]
    assert "ws.handshake.missing" in {f.code for f in ev["Finding"]}


def test_roles_follow_the_mask_bit_not_the_ports(tmp_path):
    # the masked side is the client even when it uses the lower port
    conv = Conversation(handshake=False, client=("10.0.0.1", 80), server=("10.0.0.2", 50000))
    for i in range(3):
        conv.send(True, ws_frame(2, bytes([i]) * 5, mask=b"abcd"))
        conv.send(False, ws_frame(2, bytes([i]) * 7))
    ev = run_pipeline(conv.write(str(tmp_path / "r.pcap")))
    (end,) = ev["ConnectionEnd"]
    assert end.conn.client == "10.0.0.1:80"
    assert all(len(m.payload) == (5 if m.direction == "client_to_server" else 7) for m in ev["Message"])


def test_random_binary_protocol_is_not_websocket(tmp_path):
    rnd = random.Random(7)
    for trial in range(20):
        conv = Conversation(handshake=False)
        for _ in range(4):
            conv.send(True, bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))))
            conv.send(False, bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))))
        ev = run_pipeline(conv.write(str(tmp_path / f"x{trial}.pcap")))
        assert "Message" not in ev, trial


def test_tls_is_not_websocket(tmp_path):
    conv = Conversation(handshake=False, server=("10.0.0.2", 443))
    conv.send(True, b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + os.urandom(180))
    conv.send(False, b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" + os.urandom(100))
    ev = run_pipeline(conv.write(str(tmp_path / "tls.pcap")))
    assert "Message" not in ev
