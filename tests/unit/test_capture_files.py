"""wsdissect.capture.files: pcap / pcapng / gzip reading, written by hand with struct so every field is known."""
from __future__ import annotations

import gzip
import struct

import pytest

from wsdissect.capture.files import CaptureFile
from wsdissect.errors import CaptureError

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D


# -- builders --------------------------------------------------------------------------------------------------
def pcap_bytes(records, endian="<", magic=PCAP_MAGIC_US, linktype=1, snaplen=65535) -> bytes:
    """A classic pcap file; *records* are ``(sec, frac, data, orig_len)``."""
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for sec, frac, data, orig in records:
        out += struct.pack(endian + "IIII", sec, frac, len(data), orig) + data
    return out


def _pad4(b: bytes) -> bytes:
    return b + b"\x00" * (-len(b) % 4)


def ng_block(btype: int, body: bytes, endian="<") -> bytes:
    body = _pad4(body)
    n = 12 + len(body)
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def ng_option(code: int, value: bytes, endian="<") -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + _pad4(value)


def ng_shb(endian="<") -> bytes:
    body = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    return ng_block(0x0A0D0D0A, body, endian)


def ng_idb(linktype: int, tsresol: int | None = None, tsoffset: int | None = None, endian="<") -> bytes:
    body = struct.pack(endian + "HHI", linktype, 0, 65535)
    opts = b""
    if tsresol is not None:
        opts += ng_option(9, bytes([tsresol]), endian)
    if tsoffset is not None:
        opts += ng_option(14, struct.pack(endian + "q", tsoffset), endian)
    if opts:
        opts += ng_option(0, b"", endian)
    return ng_block(1, body + opts, endian)


def ng_epb(iface: int, ts_units: int, data: bytes, orig: int | None = None, endian="<") -> bytes:
    body = struct.pack(endian + "IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data),
                       len(data) if orig is None else orig) + _pad4(data)
    return ng_block(6, body, endian)


def ng_spb(data: bytes, endian="<") -> bytes:
    return ng_block(3, struct.pack(endian + "I", len(data)) + _pad4(data), endian)


def read_all(path) -> tuple[list, CaptureFile]:
    with CaptureFile(str(path)) as cap:
        records = list(cap)
    return records, cap


PKT_A = bytes(range(60))
PKT_B = bytes(range(100, 142))
PKT_C = b"\xaa" * 7


# -- classic pcap ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("endian", ["<", ">"], ids=["little", "big"])
@pytest.mark.parametrize("magic,frac,expected_frac", [
    (PCAP_MAGIC_US, 250_000, 0.25),
    (PCAP_MAGIC_NS, 250_000_000, 0.25),
    (PCAP_MAGIC_US, 1, 1e-6),
    (PCAP_MAGIC_NS, 1, 1e-9),
], ids=["micro", "nano", "micro-1", "nano-1"])
def test_pcap_byte_orders_and_resolutions(tmp_path, endian, magic, frac, expected_frac):
    recs = [(1_700_000_000, frac, PKT_A, 60), (1_700_000_001, 0, PKT_B, 1500), (1_700_000_002, frac, b"", 0)]
    path = tmp_path / "a.pcap"
    path.write_bytes(pcap_bytes(recs, endian, magic, linktype=113))
    records, cap = read_all(path)
    assert cap.format == "pcap"
    assert cap.problems == []
    assert [r[0] for r in records] == [1, 2, 3]
    assert [r[2] for r in records] == [113, 113, 113]
    assert [r[3] for r in records] == [PKT_A, PKT_B, b""]
    assert [r[4] for r in records] == [60, 1500, 0]
    assert records[0][1] == pytest.approx(1_700_000_000 + expected_frac, abs=1e-7)
    assert records[1][1] == pytest.approx(1_700_000_001.0, abs=1e-7)
    assert records[2][1] - records[0][1] == pytest.approx(2.0, abs=1e-6)
    assert cap.records_read == 3


def test_pcap_nanosecond_precision_is_kept(tmp_path):
    path = tmp_path / "ns.pcap"
    path.write_bytes(pcap_bytes([(10, 123_456_789, PKT_C, 7)], magic=PCAP_MAGIC_NS))
    (rec,), _ = read_all(path)
    assert rec[1] == pytest.approx(10.123456789, abs=1e-12)


def test_pcap_fcs_bits_in_linktype_are_masked(tmp_path):
    path = tmp_path / "fcs.pcap"
    path.write_bytes(pcap_bytes([(1, 0, PKT_A, 60)], linktype=0x10000001))
    (rec,), _ = read_all(path)
    assert rec[2] == 1


def test_first_frame_numbering(tmp_path):
    path = tmp_path / "n.pcap"
    path.write_bytes(pcap_bytes([(1, 0, PKT_A, 60), (2, 0, PKT_B, 42)]))
    with CaptureFile(str(path), first_frame=41) as cap:
        assert [r[0] for r in cap] == [41, 42]


def test_pcap_snaplen_cut_record_keeps_orig_len(tmp_path):
    path = tmp_path / "snap.pcap"
    path.write_bytes(pcap_bytes([(1, 0, PKT_A[:20], 60)], snaplen=20))
    (rec,), cap = read_all(path)
    assert rec[3] == PKT_A[:20] and rec[4] == 60
    assert cap.problems == []


def test_gzip_compressed_pcap(tmp_path):
    recs = [(1_600_000_000 + i, i, bytes([i]) * (i + 1), i + 1) for i in range(50)]
    path = tmp_path / "a.pcap.gz"
    path.write_bytes(gzip.compress(pcap_bytes(recs, ">", PCAP_MAGIC_NS, linktype=101)))
    records, cap = read_all(path)
    assert cap.format == "pcap"
    assert cap.problems == []
    assert [r[0] for r in records] == list(range(1, 51))
    assert [r[3] for r in records] == [bytes([i]) * (i + 1) for i in range(50)]
    assert {r[2] for r in records} == {101}
    assert records[7][1] == pytest.approx(1_600_000_007 + 7e-9, abs=1e-7)


def test_gzip_compressed_pcapng(tmp_path):
    data = ng_shb() + ng_idb(1) + ng_epb(0, 5_000_000, PKT_A)
    path = tmp_path / "a.pcapng.gz"
    path.write_bytes(gzip.compress(data))
    records, cap = read_all(path)
    assert cap.format == "pcapng"
    assert [(r[0], r[2], r[3]) for r in records] == [(1, 1, PKT_A)]
    assert records[0][1] == pytest.approx(5.0)


@pytest.mark.parametrize("cut", [1, 8, 15, 16, 17, 30, 75])
def test_pcap_cut_mid_record(tmp_path, cut):
    """Records before the cut are yielded; the cut is reported as capture.truncated, never raised."""
    recs = [(1, 0, PKT_A, 60), (2, 0, PKT_B, 42), (3, 0, PKT_A, 60)]
    data = pcap_bytes(recs)
    third = 24 + 2 * 16 + 60 + 42  # where the third record header starts
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:third + cut])
    records, cap = read_all(path)
    assert [r[3] for r in records] == [PKT_A, PKT_B]
    assert [p[0] for p in cap.problems] == ["capture.truncated"]
    assert cap.problems[0][2] == 3  # the frame number the damage is in
    assert "3" in cap.problems[0][1]


def test_pcap_header_only_and_header_cut(tmp_path):
    path = tmp_path / "h.pcap"
    path.write_bytes(pcap_bytes([]))
    records, cap = read_all(path)
    assert records == [] and cap.problems == []
    path.write_bytes(pcap_bytes([])[:10])
    records, cap = read_all(path)
    assert records == []
    assert [p[0] for p in cap.problems] == ["capture.truncated"]


def test_pcap_absurd_record_length_is_corrupt(tmp_path):
    data = pcap_bytes([(1, 0, PKT_A, 60)]) + struct.pack("<IIII", 2, 0, 0x7FFFFFF0, 60) + b"x" * 40
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(data)
    records, cap = read_all(path)
    assert [r[3] for r in records] == [PKT_A]
    assert [p[0] for p in cap.problems] == ["capture.corrupt"]


def test_gzip_cut_mid_stream_yields_records_before_the_cut(tmp_path):
    recs = [(1_000 + i, 0, bytes(60), 60) for i in range(2000)]
    g = gzip.compress(pcap_bytes(recs))
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(g[:len(g) // 2])
    records, cap = read_all(path)
    assert "capture.truncated" in [p[0] for p in cap.problems]
    assert len(records) > 500  # about half of the records are in the surviving compressed bytes
    assert [r[0] for r in records] == list(range(1, len(records) + 1))


def test_gzip_cut_mid_stream_reports_truncation(tmp_path):
    recs = [(1_000 + i, 0, bytes(60), 60) for i in range(200)]
    g = gzip.compress(pcap_bytes(recs))
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(g[:-6])
    records, cap = read_all(path)  # must not raise
    assert "capture.truncated" in [p[0] for p in cap.problems]
    assert len(records) <= 200


# -- pcapng ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("endian", ["<", ">"], ids=["little", "big"])
def test_pcapng_two_interfaces_epb_and_spb(tmp_path, endian):
    ns_ts = 1_700_000_000_123_456_789
    us_ts = 1_700_000_001_250_000
    data = (ng_shb(endian)
            + ng_idb(1, endian=endian)                     # interface 0: Ethernet, microseconds (default)
            + ng_idb(113, tsresol=9, endian=endian)        # interface 1: Linux SLL, nanoseconds
            + ng_epb(1, ns_ts, PKT_B, endian=endian)
            + ng_epb(0, us_ts, PKT_A, orig=1514, endian=endian)
            + ng_block(5, b"\x00" * 8, endian)          # interface statistics: skipped
            + ng_spb(PKT_C, endian)                       # simple packet: interface 0, no timestamp
            + ng_block(4, b"\x00\x00\x00\x00", endian))  # name resolution: skipped
    path = tmp_path / "a.pcapng"
    path.write_bytes(data)
    records, cap = read_all(path)
    assert cap.format == "pcapng"
    assert cap.problems == []
    assert [r[0] for r in records] == [1, 2, 3]
    assert [r[2] for r in records] == [113, 1, 1]
    assert [r[3] for r in records] == [PKT_B, PKT_A, PKT_C]
    assert [r[4] for r in records] == [len(PKT_B), 1514, len(PKT_C)]
    assert records[0][1] == pytest.approx(1_700_000_000.123456789, abs=1e-6)
    assert records[1][1] == pytest.approx(1_700_000_001.25, abs=1e-6)
    assert records[2][1] == 0.0


def test_pcapng_tsresol_power_of_two_and_tsoffset(tmp_path):
    data = ng_shb() + ng_idb(101, tsresol=0x80 | 10, tsoffset=1000) + ng_epb(0, 3 * 1024 + 512, PKT_C)
    path = tmp_path / "b.pcapng"
    path.write_bytes(data)
    (rec,), cap = read_all(path)
    assert rec[2] == 101
    assert rec[1] == pytest.approx(1000 + 3.5)


def test_pcapng_new_section_resets_interfaces(tmp_path):
    data = (ng_shb() + ng_idb(1) + ng_epb(0, 1_000_000, PKT_A)
            + ng_shb(">") + ng_idb(101, tsresol=9, endian=">") + ng_epb(0, 2_000_000_000, PKT_B, endian=">"))
    path = tmp_path / "c.pcapng"
    path.write_bytes(data)
    records, cap = read_all(path)
    assert cap.problems == []
    assert [(r[0], r[2], r[3]) for r in records] == [(1, 1, PKT_A), (2, 101, PKT_B)]
    assert [r[1] for r in records] == [pytest.approx(1.0), pytest.approx(2.0)]


def test_pcapng_cut_mid_block(tmp_path):
    data = ng_shb() + ng_idb(1) + ng_epb(0, 1, PKT_A) + ng_epb(0, 2, PKT_B)
    path = tmp_path / "cut.pcapng"
    path.write_bytes(data[:-10])
    records, cap = read_all(path)
    assert [r[3] for r in records] == [PKT_A]
    assert [p[0] for p in cap.problems] == ["capture.truncated"]
    assert cap.problems[0][2] == 2


def test_pcapng_bad_trailer_and_unknown_interface_are_corrupt(tmp_path):
    good = ng_shb() + ng_idb(1) + ng_epb(0, 1, PKT_A)
    bad_trailer = bytearray(ng_epb(0, 2, PKT_B))
    bad_trailer[-4:] = struct.pack("<I", 999)
    path = tmp_path / "bad.pcapng"
    path.write_bytes(good + bytes(bad_trailer))
    records, cap = read_all(path)
    assert [r[3] for r in records] == [PKT_A]
    assert [p[0] for p in cap.problems] == ["capture.corrupt"]

    path.write_bytes(good + ng_epb(5, 2, PKT_B))
    records, cap = read_all(path)
    assert [r[3] for r in records] == [PKT_A]
    assert [p[0] for p in cap.problems] == ["capture.corrupt"]


def test_pcapng_packet_before_interface_is_corrupt(tmp_path):
    path = tmp_path / "noif.pcapng"
    path.write_bytes(ng_shb() + ng_spb(PKT_C))
    records, cap = read_all(path)
    assert records == []
    assert [p[0] for p in cap.problems] == ["capture.corrupt"]


# -- what is not a capture -------------------------------------------------------------------------------------
def test_empty_file_raises(tmp_path):
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(CaptureError, match="empty"):
        CaptureFile(str(path))


def test_empty_gzip_raises(tmp_path):
    path = tmp_path / "empty.pcap.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(CaptureError, match="empty"):
        CaptureFile(str(path))


@pytest.mark.parametrize("content", [b"GET / HTTP/1.1\r\n\r\n", b"\x00\x00\x00\x00" * 8, b"\xd4\xc3"],
                         ids=["text", "zeros", "short"])
def test_bad_magic_raises(tmp_path, content):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match="not a pcap or pcapng") as info:
        CaptureFile(str(path))
    assert str(path) in str(info.value)


def test_gzip_of_non_capture_raises(tmp_path):
    path = tmp_path / "text.gz"
    path.write_bytes(gzip.compress(b"hello world, not a capture"))
    with pytest.raises(CaptureError, match="not a pcap or pcapng"):
        CaptureFile(str(path))


def test_damaged_gzip_header_raises(tmp_path):
    path = tmp_path / "damaged.gz"
    path.write_bytes(b"\x1f\x8b\x99\x00garbage garbage garbage")
    with pytest.raises(CaptureError):
        CaptureFile(str(path))


def test_damaged_gzip_header_message_names_the_file(tmp_path):
    path = tmp_path / "damaged.gz"
    path.write_bytes(b"\x1f\x8b\x99\x00garbage garbage garbage")
    with pytest.raises(CaptureError) as info:
        CaptureFile(str(path))
    assert str(path) in str(info.value) and "gzip" in str(info.value)


def test_directory_raises(tmp_path):
    with pytest.raises(CaptureError, match="directory"):
        CaptureFile(str(tmp_path))


def test_missing_file_raises(tmp_path):
    path = tmp_path / "nope.pcap"
    with pytest.raises(CaptureError, match="no such file") as info:
        CaptureFile(str(path))
    assert "nope.pcap" in str(info.value)
