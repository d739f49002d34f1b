"""Property: whatever bytes a capture holds, reading and dissecting it raises nothing but CaptureError, and no stage
fails internally (an ``internal`` finding means a stage raised)."""
from __future__ import annotations

import os
import struct
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import upgrade_request, upgrade_response, ws_frame
from wsdissect.errors import CaptureError
from wsdissect.run import dissect_files

LINKTYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276, 147]
_TMP = tempfile.TemporaryDirectory(prefix="wsdissect-props-")


def run_file(content: bytes) -> list:
    path = os.path.join(_TMP.name, "capture.bin")
    with open(path, "wb") as f:
        f.write(content)
    try:
        events = list(dissect_files([path]))
    except CaptureError:
        return []
    internal = [e for e in events if getattr(e, "code", None) == "internal"]
    assert internal == [], internal
    return events


def pcap_header(linktype: int, endian: str = "<") -> bytes:
    return struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_file_bytes(blob):
    run_file(blob)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LINKTYPES), st.sampled_from("<>"), st.binary(max_size=3000))
def test_arbitrary_pcap_body(linktype, endian, body):
    run_file(pcap_header(linktype, endian) + body)


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_pcapng_body(body):
    shb = struct.pack("<II", 0x0A0D0D0A, 28) + struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb = struct.pack("<IIHHI", 1, 20, 1, 0, 65535) + struct.pack("<I", 20)
    run_file(shb + idb + body)


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LINKTYPES), st.lists(st.binary(max_size=200), max_size=30))
def test_well_framed_records_of_arbitrary_packets(linktype, packets):
    body = b"".join(struct.pack("<IIII", 1, i, len(p), len(p) + i % 3) + p for i, p in enumerate(packets))
    run_file(pcap_header(linktype) + body)


# Structured: plausible TCP/IPv4 packets of one connection with scrambled numbers and WebSocket-ish payloads.
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
PAYLOADS = [b"", upgrade_request(key=KEY), upgrade_response(KEY),
            upgrade_response(KEY, extra=[("Sec-WebSocket-Extensions", "permessage-deflate")]),
            ws_frame(1, b"hello", mask=b"abcd"), ws_frame(1, b"hi"), ws_frame(8, b"\x03\xe8"),
            ws_frame(1, bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]), rsv=4),
            ws_frame(2, bytes(300), fin=False), ws_frame(0, b"x" * 70000)[:1400], b"HTTP/1.1 200 OK\r\n\r\n"]


def ipv4_tcp(src: int, dst: int, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src.to_bytes(4, "big"),
                     dst.to_bytes(4, "big"))
    return ip + tcp


segment = st.tuples(st.booleans(), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 255),
                    st.sampled_from(PAYLOADS), st.integers(0, 1500), st.integers(0, 1500))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segment, max_size=40), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_scrambled_tcp_conversation(segments, isn_c, isn_s):
    body = b""
    seq = {True: isn_c, False: isn_s}
    for i, (from_client, dseq, dack, flags, payload, cut_a, cut_b) in enumerate(segments):
        lo, hi = sorted((min(cut_a, len(payload)), min(cut_b, len(payload))))
        data = payload[lo:hi] if hi > lo else payload
        s = (seq[from_client] + (dseq % 3000 if dseq % 4 == 0 else 0)) % 2**32
        a = (seq[not from_client] + (dack % 3000 if dack % 5 == 0 else 0)) % 2**32
        src, dst, sp, dp = (0x0A000001, 0x0A000002, 50000, 80) if from_client else (0x0A000002, 0x0A000001, 80, 50000)
        pkt = ipv4_tcp(src, dst, sp, dp, s, a, flags, data)
        seq[from_client] = (s + len(data)) % 2**32
        body += struct.pack("<IIII", 1_700_000_000, i, len(pkt), len(pkt)) + pkt
    run_file(pcap_header(101) + body)


@pytest.mark.parametrize("content", [b"", b"\xd4\xc3\xb2", b"\x1f\x8b", b"\x0a\x0d\x0d\x0a"])
def test_tiny_files(content):
    run_file(content)
