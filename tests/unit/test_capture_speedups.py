"""The C record reader and TCP header parser (``wsdissect/_speedups.c``) against their Python references.

``speedups.parse_tcp`` must return exactly what ``layers.parse_tcp`` returns, or False ("let Python decide");
``speedups.pcap_records`` must produce the records ``CaptureFile._pcap`` produces, and stop before anything
the Python reader has to judge.
"""
from __future__ import annotations

import glob
import os
import struct
from dataclasses import astuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.mutate import link_wrap, tcp_ip
from wsdissect.capture.files import CaptureFile
from wsdissect.capture.layers import TcpSegment, parse_tcp
from wsdissect.speedups import speedups

pytestmark = pytest.mark.skipif(speedups is None, reason="C speedups not built")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]


def _fields(r):
    """parse_tcp's result as speedups.parse_tcp gives it (a TcpSegment's fields as a plain tuple)."""
    return astuple(r) if r.__class__ is TcpSegment else r


def _agree(linktype: int, data: bytes) -> bool:
    fast = speedups.parse_tcp(linktype, data)
    return fast is False or fast == _fields(parse_tcp(linktype, data))


def test_common_packets_are_parsed_in_c():
    for lt in (0, 1, 101, 113, 228):
        for src, dst in (("10.0.0.1", "10.0.0.2"), ("fe80::1", "fe80::2")):
            if lt in (0, 228) and ":" in src:
                continue
            pkt = link_wrap(lt, tcp_ip(src, dst, 40000, 28002, 2**32 - 5, 7, 0x18, b"hello"))
            fast = speedups.parse_tcp(lt, pkt)
            assert fast is not False, (lt, src)
            assert fast == _fields(parse_tcp(lt, pkt))
            assert pkt[fast[9]:fast[9] + fast[10]] == b"hello"


def test_uncommon_packets_are_left_to_python():
    pkt = tcp_ip("10.0.0.1", "10.0.0.2", 1, 2, 3, 4, 0x10, b"x")
    assert speedups.parse_tcp(1, link_wrap(1, pkt, vlan=True)) is False  # VLAN tag
    assert speedups.parse_tcp(276, link_wrap(276, pkt)) is False  # SLL2
    frag = bytearray(pkt)
    frag[6] = 0x20  # more fragments
    assert speedups.parse_tcp(101, bytes(frag)) is False
    udp = bytearray(pkt)
    udp[9] = 17
    assert speedups.parse_tcp(101, bytes(udp)) is False
    assert speedups.parse_tcp(1, b"\x00" * 10) is False


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(lt=st.sampled_from(LINKTYPES), v6=st.booleans(), cut=st.integers(0, 80),
       flips=st.lists(st.tuples(st.integers(0, 79), st.integers(0, 255)), max_size=4),
       payload=st.binary(max_size=20), opts=st.binary(max_size=12))
def test_agrees_with_python_on_damaged_packets(lt, v6, cut, flips, payload, opts):
    src, dst = ("fe80::1", "fe80::2") if v6 else ("10.0.0.1", "10.0.0.2")
    data = bytearray(link_wrap(lt, tcp_ip(src, dst, 1234, 80, 99, 100, 0x18, payload, tcp_opts=opts)))
    for i, v in flips:
        if i < len(data):
            data[i] = v
    data = bytes(data[:len(data) - cut] if cut < len(data) else data)
    assert _agree(lt, data)


def _records_py(path: str) -> list:
    import wsdissect.capture.files as files

    saved = files.speedups
    files.speedups = None
    try:
        with CaptureFile(path) as cf:
            return list(cf), cf.problems, cf.records_read
    finally:
        files.speedups = saved


def _records_c(path: str) -> list:
    with CaptureFile(path) as cf:
        return list(cf), cf.problems, cf.records_read


def _pcaps() -> list[str]:
    found = glob.glob(os.path.join(ROOT, "sample_pcaps", "*.pcap"))
    found += glob.glob(os.path.join(ROOT, "..", "shared", "corpus", "*", "capture.pcap"))
    return sorted(found)


@pytest.mark.parametrize("path", _pcaps(), ids=os.path.basename)
def test_record_reader_matches_python(path):
    assert _records_c(path) == _records_py(path)


@pytest.mark.parametrize("cut", [0, 1, 15, 16, 17, 100])
def test_record_reader_on_damaged_files(tmp_path, cut):
    """Truncation and a corrupt length: the same records and the same problems as the Python reader."""
    path = _pcaps()[0]
    raw = open(path, "rb").read()
    for name, data in (("cut", raw[:len(raw) - cut] if cut else raw),
                       ("corrupt", raw[:24 + 8] + struct.pack("<I", 0x7FFFFFFF) + raw[24 + 12:])):
        p = tmp_path / f"{name}{cut}.pcap"
        p.write_bytes(data)
        assert _records_c(str(p)) == _records_py(str(p)), name


def test_tcp_parser_builds_the_segment_or_falls_back():
    """``speedups.tcp_parser(TcpSegment, parse_tcp)`` (the parser the pipeline uses): a TcpSegment equal to Python's
    for the common packets, parse_tcp's own answer (None, Malformed, a segment) for the others."""
    parse = speedups.tcp_parser(TcpSegment, parse_tcp)
    pkt = tcp_ip("10.0.0.1", "10.0.0.2", 40000, 28002, 7, 9, 0x18, b"hello")
    for lt in (1, 101, 276):
        data = link_wrap(lt, pkt)
        seg = parse(lt, data)
        assert seg.__class__ is TcpSegment and seg == parse_tcp(lt, data)
        assert data[seg.payload_start:seg.payload_start + seg.payload_len] == b"hello"
    vlan = link_wrap(1, pkt, vlan=True)
    assert parse(1, vlan) == parse_tcp(1, vlan) and parse(1, vlan).__class__ is TcpSegment
    assert parse(1, b"\x00" * 10) == parse_tcp(1, b"\x00" * 10)  # Malformed
    assert parse(147, pkt) is None
    with pytest.raises(TypeError):
        speedups.tcp_parser(tuple, parse_tcp)  # not a class with the 13 slots of a TcpSegment
