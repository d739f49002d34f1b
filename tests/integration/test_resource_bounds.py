"""Hostile input stays within documented memory: a 2**63 declared length, a deflate bomb, 100,000 half-open
connections.  Each runs ``wsdissect export`` in a child process that reports its own peak RSS; the messages
before the hostile part are all exported."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zlib

import pytest

from tests.support import FastConversation, upgrade_request, upgrade_response, ws_frame
from wsdissect.capture.pcapwriter import PcapWriter

PEAK_LIMIT_MIB = 150  # documented in docs/robustness.md
MASK = b"\x11\x22\x33\x44"


_RUN_AND_REPORT_PEAK = """
import atexit, sys
def peak():
    with open("/proc/self/status") as f:
        hwm = next(line for line in f if line.startswith("VmHWM:"))
    sys.stderr.write("PEAK_KB " + hwm.split()[1] + "\\n")
atexit.register(peak)
from wsdissect.cli import main
sys.argv = ["wsdissect"] + sys.argv[1:]
main()
"""


def _export(path, *args) -> tuple[int, float, list[dict], bytes]:
    """Run ``wsdissect export`` in a child; its peak RSS is the child's own VmHWM (a forked child's rusage would
    include the RSS of this test process from before ``exec``)."""
    out = str(path) + ".jsonl"
    p = subprocess.run([sys.executable, "-c", _RUN_AND_REPORT_PEAK, "export", str(path), "-o", out, *args],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    err = p.stderr
    peak_kb = int(err.rsplit(b"PEAK_KB ", 1)[1].split()[0])
    with open(out, "rb") as f:
        recs = [json.loads(line) for line in f]
    return p.returncode, peak_kb / 1024, recs, err


def _opened(w, port: int, deflate: bool = False) -> FastConversation:
    conv = FastConversation(w, ("10.0.0.1", 40000 + port % 20000), ("10.0.0.2", port))
    conv.handshake()
    ext = [("Sec-WebSocket-Extensions", "permessage-deflate")] if deflate else []
    req = upgrade_request(extra=ext)
    conv.send(True, req)
    conv.send(False, upgrade_response(req, extra=ext))
    return conv


def _texts(recs) -> list[bytes]:
    return [base64.b64decode(r["payload_b64"]) for r in recs
            if r["type"] == "message" and r["opcode"] == "text" and r["complete"]]


def test_declared_length_2_to_the_63(tmp_path):
    path = tmp_path / "len63.pcap"
    with open(path, "wb") as f:
        w = PcapWriter(f, 1)
        conv = _opened(w, 9001)
        conv.send(True, ws_frame(1, b"before", mask=MASK))
        head = bytes([0x82, 0x80 | 127]) + (2 ** 63 + 5).to_bytes(8, "big") + MASK
        conv.send(True, head + os.urandom(200_000))  # a frame that claims 2**63 bytes, then some
        conv.close()
    status, peak, recs, err = _export(path)
    assert status == 0 and b"Traceback" not in err
    assert _texts(recs) == [b"before"]
    assert any(r["type"] == "expert" and r["code"] == "ws.frame.length_msb" for r in recs)
    assert peak < PEAK_LIMIT_MIB, peak


def test_deflate_bomb_is_stopped_and_flagged(tmp_path):
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    bomb = b"".join(comp.compress(zeros) for _ in range(1024)) + comp.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]  # 1 GiB of zeros in about 1 MB
    path = tmp_path / "bomb.pcap"
    with open(path, "wb") as f:
        w = PcapWriter(f, 1)
        conv = _opened(w, 9002, deflate=True)
        c2 = zlib.compressobj(9, zlib.DEFLATED, -15)
        hello = c2.compress(b"before the bomb") + c2.flush(zlib.Z_SYNC_FLUSH)
        conv.send(True, ws_frame(1, hello[:-4], rsv=4, mask=MASK))
        conv.send(True, ws_frame(2, bomb, rsv=4, mask=MASK))
        conv.close()
    status, peak, recs, err = _export(path, "--max-inflated", "16M")
    assert status == 0 and b"Traceback" not in err
    assert _texts(recs) == [b"before the bomb"]
    bombs = [r for r in recs if r["type"] == "message" and r["opcode"] == "binary"]
    assert len(bombs) == 1 and not bombs[0]["complete"] and bombs[0]["truncated"]
    assert bombs[0]["payload_length"] <= 16 << 20
    assert any(r["type"] == "expert" and r["code"] == "ws.deflate.limit" for r in recs)
    assert peak < PEAK_LIMIT_MIB, peak


@pytest.mark.parametrize("limit", [None, 20_000])
def test_many_half_open_connections(tmp_path, limit):
    """100,000 SYNs that never go further, while a WebSocket connection keeps talking: every message of the real
    connection is exported, memory stays bounded, and with a lower --max-connections the idle ones are evicted."""
    path = tmp_path / "syn.pcap"
    sent = []
    with open(path, "wb") as f:
        w = PcapWriter(f, 1)
        conv = _opened(w, 9003)
        for i in range(100_000):
            if i % 5000 == 0:
                sent.append(f"msg {i}".encode())
                conv.send(True, ws_frame(1, sent[-1], mask=MASK))
            syn = FastConversation(w, (f"10.{1 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}", 1024 + i % 60000),
                                   ("10.0.0.2", 443), t=conv.t)
            syn.syn()
            conv.t = syn.t
        sent.append(b"last")
        conv.send(True, ws_frame(1, b"last", mask=MASK))
        conv.close()
    status, peak, recs, err = _export(path, *(["--max-connections", str(limit)] if limit else []))
    assert status == 0 and b"Traceback" not in err
    assert _texts(recs) == sent
    assert peak < PEAK_LIMIT_MIB, peak


def test_connection_limit_evicts_the_most_idle_connection_with_a_finding():
    """--max-connections: a connection that carried data is finished (ConnectionEnd "evicted") and reported."""
    from tests.support import tcp_packet
    from wsdissect.events import ConnectionEnd, Finding
    from wsdissect.options import Options
    from wsdissect.run import dissect_records

    records = []
    for i in range(3):  # three connections carrying HTTP, one after the other
        pkt = tcp_packet(("10.0.0.1", 40000 + i), ("10.0.0.2", 80), 1000, 1, 0x18, b"GET / HTTP/1.1\r\n\r\n")
        records.append((i + 1, float(i + 1), 1, pkt, len(pkt)))
    events = list(dissect_records(records, Options(max_connections=2)))
    evicted = [ev for ev in events if ev.__class__ is Finding and ev.code == "tcp.evicted"]
    ends = [ev for ev in events if ev.__class__ is ConnectionEnd]
    assert len(evicted) == 1 and evicted[0].conn.index == 0 and evicted[0].frame == 3
    assert [e.ended_by for e in ends if e.conn.index == 0] == ["evicted"]


def _zeros_message(mib: int) -> bytes:
    """*mib* MiB of zeros as one permessage-deflate payload (about 1030:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    return (b"".join(comp.compress(zeros) for _ in range(mib)) + comp.flush(zlib.Z_SYNC_FLUSH))[:-4]


@pytest.mark.parametrize("mib", [96, 512])
def test_a_bomb_of_any_size_stays_under_max_message_plus_64_mib(tmp_path, mib):
    """The default limits: the bomb is cut at --max-message (64 MiB kept, the rest inflated and dropped up to
    --max-inflated), and the peak RSS stays under 64 + 64 MiB however large the bomb is; the message after it,
    with no back-reference, is exact."""
    path = tmp_path / "bomb.pcap"
    with open(path, "wb") as f:
        w = PcapWriter(f, 1)
        conv = _opened(w, 9004, deflate=True)
        conv.send(True, ws_frame(2, _zeros_message(mib), rsv=4, mask=MASK))
        after = zlib.compressobj(9, zlib.DEFLATED, -15)
        conv.send(True, ws_frame(1, (after.compress(b"after") + after.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv=4,
                                 mask=MASK))
        conv.close()
    status, peak, recs, err = _export(path)
    assert status == 0 and b"Traceback" not in err
    (bomb,) = [r for r in recs if r["type"] == "message" and r["opcode"] == "binary"]
    assert not bomb["complete"] and bomb["truncated"] and bomb["payload_length"] == 64 << 20
    assert _texts(recs) == [b"after"]
    codes = {r["code"] for r in recs if r["type"] == "expert"}
    assert ("ws.deflate.limit" if mib * (1 << 20) > 256 << 20 else "ws.message.too_large") in codes
    assert peak < 128, peak


def test_a_legitimate_8_mib_message_at_1000_to_1_passes_with_the_defaults(tmp_path):
    path = tmp_path / "big.pcap"
    wire = _zeros_message(8)
    assert len(wire) * 1000 < 8 << 20
    with open(path, "wb") as f:
        w = PcapWriter(f, 1)
        conv = _opened(w, 9005, deflate=True)
        conv.send(True, ws_frame(2, wire, rsv=4, mask=MASK))
        conv.close()
    status, _peak, recs, err = _export(path)
    (msg,) = [r for r in recs if r["type"] == "message" and r["opcode"] == "binary"]
    assert msg["complete"] and base64.b64decode(msg["payload_b64"]) == bytes(8 << 20)
    status, _peak, recs, err = _export(path, "--max-ratio", "1000")
    (msg,) = [r for r in recs if r["type"] == "message" and r["opcode"] == "binary"]
    assert not msg["complete"] and msg["truncated"]
