"""Hand-made inputs for bugs the fuzzer found (or that reading its results pointed at), small and explainable.

``python -m fuzz.crafted DIR`` writes them as ``DIR/<name>.pcap[.gz]``; tests/fuzz/regressions holds copies.
Each function returns the capture bytes; the docstring says what the input does.
"""
from __future__ import annotations

import gzip
import os
import struct
import sys
import zlib

from fuzz.mutate import (ACK, PSH, Capture, Conv, Record, link_wrap, tcp_ip, upgrade_request,
                         upgrade_response, write, ws_frame)


def http_status_unicode_digit() -> bytes:
    """A response status line ``HTTP/1.1 ¹² OK`` (latin-1 superscripts): ``str.isdigit()`` accepts them, ``int()``
    does not."""
    recs: list = []
    c = Conv(recs)
    c.send(True, upgrade_request())
    c.send(False, b"HTTP/1.1 \xb9\xb2 OK\r\n\r\n")
    c.close()
    return write(Capture("pcap", 1, recs))[0]


def deflate_window_bits_unicode_digit() -> bytes:
    """A 101 whose permessage-deflate parameter is ``client_max_window_bits=¹`` (a superscript one)."""
    recs: list = []
    c = Conv(recs)
    c.send(True, upgrade_request(extra=("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",)))
    c.send(False, upgrade_response(extra=("Sec-WebSocket-Extensions: permessage-deflate; "
                                          "client_max_window_bits=\u00b9",)).replace(b"\xc2\xb9", b"\xb9"))
    c.close()
    return write(Capture("pcap", 1, recs))[0]


def request_line_starting_with_http() -> bytes:
    """A client request whose first token is ``HTTP/1.1`` (``HTTP/1.1 x HTTP/1.1``): parsed as a request, then
    ``body_kind`` takes it for a response and calls ``int('x')``."""
    recs: list = []
    c = Conv(recs)
    c.send(True, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    c.send(True, b"HTTP/1.1 x HTTP/1.1\r\nHost: h\r\n\r\n")
    c.close()
    return write(Capture("pcap", 1, recs))[0]


def pcapng_short_block(btype: int = 6) -> bytes:
    """A pcapng file ending with a 12-byte Enhanced Packet Block (type 6) or Packet Block (type 2): the reader
    unpacks the 20-byte packet header past the end of the buffer (``struct.error``)."""
    cap = Capture("pcapng", 1, [Record(1, 0, link_wrap(1, tcp_ip("10.0.0.1", "10.0.0.2", 1, 2, 0, 0, ACK, b"")))])
    return write(cap)[0] + struct.pack("<III", btype, 12, 12)


def ipv4_fragments_over_64k() -> bytes:
    """Two IPv4 fragments whose reassembled datagram is 65,620 bytes: ``IpDefragmenter.add`` writes the new total
    length with ``int.to_bytes(2)`` (``OverflowError``).  Gzip-compressed (the first fragment is 65 kB)."""
    ip = tcp_ip("10.0.0.1", "10.0.0.2", 50000, 8080, 1001, 5001, ACK | PSH, bytes(65380))
    payload = ip[20:]
    first, last = bytearray(ip[:20]), bytearray(ip[:20])
    struct.pack_into("!HH", first, 2, 20 + len(payload), 1)
    struct.pack_into("!H", first, 6, 0x2000)
    tail = b"y" * 200
    struct.pack_into("!HH", last, 2, 20 + len(tail), 1)
    struct.pack_into("!H", last, 6, len(payload) // 8)
    cap = Capture("pcap", 1, [Record(1, 0, link_wrap(1, bytes(first) + payload)),
                              Record(1, 1, link_wrap(1, bytes(last) + tail))])
    return gzip.compress(write(cap)[0], mtime=0)


def resync_quadratic(size: int = 200_000) -> bytes:
    """After a lost segment, the server sends *size* undecodable bytes (a 64-bit-length frame header, then 0xFF)
    in 1448-byte segments: ``FrameParser._find_start`` rescans the whole resync buffer on every segment, so the
    time grows with the square of *size* (200 kB: ~8 s; 400 kB: ~35 s; the 1 MiB buffer limit: minutes).
    Gzip-compressed."""
    recs: list = []
    c = Conv(recs, mss=1448)
    c.send(True, upgrade_request())
    c.send(False, upgrade_response())
    c.send(False, ws_frame(2, b"a" * 10))
    c.seq[False] += 100  # 100 bytes lost from the capture
    c.send(False, b"\x82\x7f\x00\x00\x01\x00\x00\x00\x00\x00" + b"\xff" * size, ack=False)
    c.close()
    return gzip.compress(write(Capture("pcap", 1, recs))[0], mtime=0)


def wire_length_over_64_bits() -> bytes:
    """A client text message, then a fragment ``FIN=0`` of 10 bytes and a continuation frame declaring
    2^64-1 payload bytes that the capture ends inside: the message's ``wire_length`` and the connection's
    ``stats[...]["wire_bytes"]`` add *declared* lengths and pass 2^64, which orjson cannot serialize."""
    recs: list = []
    c = Conv(recs)
    c.send(True, upgrade_request())
    c.send(False, upgrade_response())
    mask = b"\x01\x02\x03\x04"
    c.send(True, ws_frame(1, b"hello", mask=mask))
    c.send(True, ws_frame(2, b"0123456789", fin=False, mask=mask))
    c.send(True, bytes([0x80, 0xFF]) + struct.pack("!Q", (1 << 64) - 1) + mask + b"abc")
    c.close()
    return write(Capture("pcap", 1, recs))[0]


def gzip_cut_inside_pcap_header() -> bytes:
    """A gzip stream that ends (no final block, no trailer) after the first 6 bytes of a pcap file header: the
    magic is read, then reading the rest of the 24-byte header raises ``EOFError`` from ``GzipFile.read``."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    header = write(Capture("pcap", 1, []))[0]
    return c.compress(header[:6]) + c.flush(zlib.Z_SYNC_FLUSH)


CRAFTED = {
    "http_status_unicode_digit.pcap": http_status_unicode_digit,
    "deflate_window_bits_unicode_digit.pcap": deflate_window_bits_unicode_digit,
    "request_line_starting_with_http.pcap": request_line_starting_with_http,
    "pcapng_short_epb.pcapng": lambda: pcapng_short_block(6),
    "pcapng_short_packet_block.pcapng": lambda: pcapng_short_block(2),
    "ipv4_fragments_over_64k.pcap.gz": ipv4_fragments_over_64k,
    "resync_quadratic_200k.pcap.gz": resync_quadratic,
    "wire_length_over_64_bits.pcap": wire_length_over_64_bits,
    "gzip_cut_inside_pcap_header.pcap.gz": gzip_cut_inside_pcap_header,
}


def main(argv: list[str]) -> int:
    out = argv[0] if argv else "."
    os.makedirs(out, exist_ok=True)
    for name, fn in CRAFTED.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(fn())
        print(os.path.join(out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
