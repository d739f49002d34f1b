"""Seeded, structure-aware mutation of capture files for fuzzing wsdissect.

Everything here is deterministic for a given ``random.Random``: :func:`make_input` turns ``(campaign seed,
input index)`` into the same mutant bytes every time, so a crash is reproducible from its index alone.

Pieces:

- a small capture model (:class:`Capture` of :class:`Record`) with its own struct-based pcap/pcapng reader and
  writers (independent of ``wsdissect.capture`` on purpose: the fuzzer must not share the bugs it hunts);
  the writers also return the *layer boundaries* of the file (file header, record header, link, IP, TCP,
  payload, WebSocket frame headers) so truncations and corruptions can aim at them;
- packet builders (Ethernet/SLL/raw IPv4/IPv6 + TCP) and :class:`Conv`, a TCP conversation writer used to
  synthesize seed conversations in-process (handshake, every opcode, fragmentation, permessage-deflate,
  HTTP keep-alive with chunked bodies, refused upgrades, IP fragments, several link types);
- structural mutators that work on the model (drop/duplicate/reorder segments, scramble TCP sequence numbers,
  rewrite WebSocket length fields, corrupt IP/TCP header fields, fragment IP packets, change the link type,
  cut packets to a snapshot length, switch pcap/pcapng/endianness/nanosecond formats...);
- byte mutators that work on the written file (bit flips, interesting values, insertions, deletions,
  truncation at random points and at every layer boundary, pcap/pcapng header and block-length corruption,
  gzip wrapping and truncated gzip).
"""
from __future__ import annotations

import glob
import gzip
import os
import random
import socket
import struct
import zlib
from dataclasses import dataclass, field, replace
from typing import Callable

from tests.support import upgrade_request as _upgrade_request
from tests.support import upgrade_response as _upgrade_response
from tests.support import ws_frame as _ws_frame

# ---------------------------------------------------------------------------------------------------------------
# The capture model
# ---------------------------------------------------------------------------------------------------------------
PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_BOM = 0x1A2B3C4D

SUPPORTED_LINKTYPES = (0, 1, 12, 14, 101, 108, 113, 228, 229, 276)


@dataclass
class Record:
    """One captured packet.  ``cut`` is how many bytes the snapshot length removed (orig_len - len(data))."""

    sec: int
    frac: int  # microseconds or nanoseconds, as the capture's resolution says
    data: bytes
    cut: int = 0
    orig_override: int | None = None  # a corrupt orig_len to write instead of len(data) + cut

    @property
    def orig(self) -> int:
        return self.orig_override if self.orig_override is not None else len(self.data) + self.cut


@dataclass
class Capture:
    fmt: str  # "pcap" or "pcapng"
    linktype: int
    records: list
    endian: str = "<"
    nano: bool = False
    snaplen: int = 262144

    def copy(self) -> "Capture":
        return replace(self, records=[replace(r) for r in self.records])


def parse_capture(raw: bytes) -> Capture | None:
    """Parse a (possibly gzip-compressed) pcap or pcapng file; stops quietly at damage.  None if not a capture."""
    if raw[:2] == b"\x1f\x8b":
        try:
            d = zlib.decompressobj(wbits=31)
            raw = d.decompress(raw)
        except zlib.error:
            return None
    if len(raw) < 4:
        return None
    magic_le = struct.unpack_from("<I", raw)[0]
    magic_be = struct.unpack_from(">I", raw)[0]
    if PCAP_MAGIC_US in (magic_le, magic_be) or PCAP_MAGIC_NS in (magic_le, magic_be):
        return _parse_pcap(raw)
    if raw[:4] == b"\x0a\x0d\x0d\x0a":
        return _parse_pcapng(raw)
    return None


def _parse_pcap(raw: bytes) -> Capture | None:
    if len(raw) < 24:
        return None
    m = struct.unpack_from("<I", raw)[0]
    endian = "<" if m in (PCAP_MAGIC_US, PCAP_MAGIC_NS) else ">"
    nano = struct.unpack_from(endian + "I", raw)[0] == PCAP_MAGIC_NS
    _maj, _min, _zone, _sig, snaplen, linktype = struct.unpack_from(endian + "HHiIII", raw, 4)
    recs = []
    pos = 24
    while pos + 16 <= len(raw):
        sec, frac, incl, orig = struct.unpack_from(endian + "IIII", raw, pos)
        if pos + 16 + incl > len(raw):
            break
        data = raw[pos + 16:pos + 16 + incl]
        recs.append(Record(sec, frac, data, max(0, orig - incl)))
        pos += 16 + incl
    return Capture("pcap", linktype, recs, endian, nano, snaplen)


def _parse_pcapng(raw: bytes) -> Capture | None:
    endian = "<"
    linktype = None
    nano = False
    recs = []
    pos = 0
    while pos + 12 <= len(raw):
        if raw[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if raw[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack_from(endian + "II", raw, pos)
        if blen < 12 or blen % 4 or pos + blen > len(raw):
            break
        body = pos + 8
        if btype == 1 and linktype is None and blen >= 20:
            linktype = struct.unpack_from(endian + "H", raw, body)[0]
            opt = body + 8
            while opt + 4 <= pos + blen - 4:
                code, length = struct.unpack_from(endian + "HH", raw, opt)
                if code == 0:
                    break
                if code == 9 and length >= 1 and raw[opt + 4] == 9:
                    nano = True
                opt += 4 + ((length + 3) & ~3)
        elif btype == 6 and blen >= 32:
            _iface, hi, lo, caplen, wirelen = struct.unpack_from(endian + "IIIII", raw, body)
            data = raw[body + 20:body + 20 + caplen]
            t = (hi << 32) | lo
            div = 10 ** 9 if nano else 10 ** 6
            recs.append(Record(t // div, t % div, data, max(0, wirelen - len(data))))
        pos += blen
    return Capture("pcapng", 1 if linktype is None else linktype, recs, endian, nano)


# -- writing, with layer boundaries ----------------------------------------------------------------------------
# A boundary is (file offset, kind).  Kinds: "file" (end of the file header), "rec" (start of a record or block),
# "rec_data" (start of a record's packet bytes), "l3", "l4", "payload", "ws" (a WebSocket frame header start),
# "rec_end" (end of a record or block), "shb"/"idb" (pcapng header blocks).
Boundary = tuple


def write(cap: Capture) -> tuple[bytes, list[Boundary]]:
    return write_pcapng(cap) if cap.fmt == "pcapng" else write_pcap(cap)


def write_pcap(cap: Capture) -> tuple[bytes, list[Boundary]]:
    e = cap.endian
    out = [struct.pack(e + "IHHiIII", PCAP_MAGIC_NS if cap.nano else PCAP_MAGIC_US, 2, 4, 0, 0,
                       cap.snaplen & 0xFFFFFFFF, cap.linktype & 0xFFFFFFFF)]
    bounds: list[Boundary] = [(24, "file")]
    pos = 24
    for r in cap.records:
        out.append(struct.pack(e + "IIII", r.sec & 0xFFFFFFFF, r.frac & 0xFFFFFFFF, len(r.data),
                               r.orig & 0xFFFFFFFF))
        out.append(r.data)
        bounds.append((pos, "rec"))
        bounds.append((pos + 16, "rec_data"))
        bounds.extend((pos + 16 + o, k) for o, k in packet_boundaries(cap.linktype, r.data))
        pos += 16 + len(r.data)
        bounds.append((pos, "rec_end"))
    return b"".join(out), bounds


def _opt(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(e: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def write_pcapng(cap: Capture) -> tuple[bytes, list[Boundary]]:
    e = cap.endian
    shb = _block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", PCAPNG_BOM, 1, 0, -1) + _opt(e, 4, b"wsdissect-fuzz")
                 + _opt(e, 0, b""))
    idb_opts = (_opt(e, 9, b"\x09") if cap.nano else b"") + _opt(e, 0, b"")
    idb = _block(e, 1, struct.pack(e + "HHI", cap.linktype & 0xFFFF, 0, cap.snaplen & 0xFFFFFFFF) + idb_opts)
    out = [shb, idb]
    bounds: list[Boundary] = [(0, "shb"), (len(shb), "idb"), (len(shb) + len(idb), "file")]
    pos = len(shb) + len(idb)
    mult = 10 ** 9 if cap.nano else 10 ** 6
    for r in cap.records:
        t = (r.sec * mult + r.frac) & 0xFFFFFFFFFFFFFFFF
        blk = _block(e, 6, struct.pack(e + "IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(r.data), r.orig & 0xFFFFFFFF)
                     + r.data)
        out.append(blk)
        bounds.append((pos, "rec"))
        bounds.append((pos + 28, "rec_data"))
        bounds.extend((pos + 28 + o, k) for o, k in packet_boundaries(cap.linktype, r.data))
        pos += len(blk)
        bounds.append((pos, "rec_end"))
    return b"".join(out), bounds


# ---------------------------------------------------------------------------------------------------------------
# Packets: parsing offsets and building
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Layers:
    l3: int
    ver: int
    l4: int  # TCP header start
    payload: int  # TCP payload start
    end: int  # end of the IP datagram as its header says (clipped to the data)


def link_len(linktype: int, data: bytes) -> int | None:
    if linktype == 1:
        off = 12
        while len(data) >= off + 2 and data[off:off + 2] in (b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
            off += 4
        return off + 2 if len(data) >= off + 2 else None
    if linktype == 113:
        return 16
    if linktype == 276:
        return 20
    if linktype in (12, 14, 101, 228, 229):
        return 0
    if linktype in (0, 108):
        return 4
    return None


def layers(linktype: int, data: bytes) -> Layers | None:
    """Offsets of a TCP packet's layers, None when it is not a well-formed TCP packet."""
    l3 = link_len(linktype, data)
    if l3 is None or len(data) < l3 + 20:
        return None
    ver = data[l3] >> 4
    if ver == 4:
        ihl = (data[l3] & 0x0F) * 4
        if ihl < 20 or data[l3 + 9] != 6:
            return None
        total = struct.unpack_from("!H", data, l3 + 2)[0]
        l4 = l3 + ihl
        end = l3 + total
    elif ver == 6:
        if len(data) < l3 + 40 or data[l3 + 6] != 6:
            return None
        l4 = l3 + 40
        end = l4 + struct.unpack_from("!H", data, l3 + 4)[0]
    else:
        return None
    if len(data) < l4 + 20:
        return None
    hl = (data[l4 + 12] >> 4) * 4
    if hl < 20:
        return None
    return Layers(l3, ver, l4, l4 + hl, min(end, len(data)))


def ws_frame_offsets(payload: bytes, limit: int = 64) -> list[tuple[int, int]]:
    """(start, header length) of what parses as a chain of WebSocket frames from the payload's first byte."""
    out = []
    p = 0
    n = len(payload)
    while p + 2 <= n and len(out) < limit:
        b0, b1 = payload[p], payload[p + 1]
        if b0 & 0x0F not in (0, 1, 2, 8, 9, 10) or b0 & 0x30:
            break
        lc = b1 & 0x7F
        hl = 2 + (2 if lc == 126 else 8 if lc == 127 else 0) + (4 if b1 & 0x80 else 0)
        if p + hl > n:
            break
        plen = lc if lc < 126 else int.from_bytes(payload[p + 2:p + (4 if lc == 126 else 10)], "big")
        out.append((p, hl))
        p += hl + plen
    return out


def packet_boundaries(linktype: int, data: bytes) -> list[tuple[int, str]]:
    lay = layers(linktype, data)
    if lay is None:
        l3 = link_len(linktype, data)
        return [(l3, "l3")] if l3 is not None and l3 < len(data) else []
    out = [(lay.l3, "l3"), (lay.l4, "l4"), (lay.payload, "payload")]
    payload = data[lay.payload:lay.end]
    for start, hl in ws_frame_offsets(payload):
        out.append((lay.payload + start, "ws"))
        out.append((lay.payload + start + hl, "ws_payload"))
    return out


def ip_aton(addr: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in addr else socket.AF_INET, addr)


def tcp_ip(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes,
           window: int = 65535, ident: int = 0, tcp_opts: bytes = b"") -> bytes:
    """An IPv4 or IPv6 packet carrying one TCP segment (checksums left zero: wsdissect does not check them)."""
    tcp_opts += b"\x01" * (-len(tcp_opts) % 4)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + len(tcp_opts) // 4) << 4,
                      flags, window, 0, 0) + tcp_opts + payload
    if ":" in src:
        return struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + ip_aton(src) + ip_aton(dst) + tcp
    return struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(tcp), ident & 0xFFFF, 0x4000, 64, 6, 0) + ip_aton(src) + \
        ip_aton(dst) + tcp


def link_wrap(linktype: int, ip: bytes, vlan: bool = False) -> bytes:
    v6 = ip[0] >> 4 == 6
    etype = b"\x86\xdd" if v6 else b"\x08\x00"
    if linktype == 1:
        return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + (b"\x81\x00\x00\x07" if vlan else b"") + etype + ip
    if linktype == 113:
        return b"\x00\x00\x03\x04\x00\x06\x02\0\0\0\0\x01\0\0" + etype + ip
    if linktype == 276:
        return etype + b"\0\0" + b"\0\0\0\x01" + b"\x03\x04\x00\x06" + b"\x02\0\0\0\0\x01\0\0" + ip
    if linktype in (0, 108):
        return struct.pack("<I", 24 if v6 else 2) + ip
    return ip  # raw IP link types


def set_payload(linktype: int, data: bytes, payload: bytes) -> bytes:
    """The packet with its TCP payload replaced and the IP length fields fixed."""
    lay = layers(linktype, data)
    if lay is None:
        return data
    b = bytearray(data[:lay.payload] + payload)
    tcp_len = lay.payload - lay.l4 + len(payload)
    if lay.ver == 4:
        struct.pack_into("!H", b, lay.l3 + 2, min(0xFFFF, lay.l4 - lay.l3 + tcp_len))
    else:
        struct.pack_into("!H", b, lay.l3 + 4, min(0xFFFF, tcp_len))
    return bytes(b)


def tcp_payload(linktype: int, data: bytes) -> bytes | None:
    lay = layers(linktype, data)
    return None if lay is None else data[lay.payload:lay.end]


# ---------------------------------------------------------------------------------------------------------------
# WebSocket bytes
# ---------------------------------------------------------------------------------------------------------------
def ws_frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, mask: bytes | None = None,
             form: int | None = None) -> bytes:
    """One RFC 6455 frame (the tests' builder; *form* forces the 7/16/64-bit length form)."""
    return _ws_frame(opcode, payload, fin, rsv, mask, form)


def deflate_message(data: bytes, comp=None) -> bytes:
    """permessage-deflate compression of one message (RFC 7692 7.2.1): sync flush, tail removed."""
    c = comp or zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


def _headers(extra: tuple) -> list[tuple[str, str]]:
    return [tuple(line.split(": ", 1)) for line in extra]  # type: ignore[misc]


def upgrade_request(key: str = "dGhlIHNhbXBsZSBub25jZQ==", extra: tuple = (), path: str = "/ws") -> bytes:
    """The shared builder (tests.support) with this module's defaults; *extra* as ``"Name: value"`` lines."""
    return _upgrade_request(path=path, key=key, extra=_headers(extra))


def upgrade_response(key: str = "dGhlIHNhbXBsZSBub25jZQ==", extra: tuple = (), status: str = "101 Switching Protocols"
                     ) -> bytes:
    """The shared builder (tests.support) with this module's defaults; *extra* as ``"Name: value"`` lines."""
    return _upgrade_response(key, extra=_headers(extra), status=status)


# ---------------------------------------------------------------------------------------------------------------
# Synthesized conversations
# ---------------------------------------------------------------------------------------------------------------
SYN, FIN, RST, PSH, ACK = 2, 1, 4, 8, 16


class Conv:
    """A TCP conversation written straight into :class:`Record` objects (no scapy)."""

    def __init__(self, records: list, client=("10.0.0.1", 50000), server=("10.0.0.2", 8080), linktype: int = 1,
                 mss: int = 1400, isn=(1000, 5000), t0: float = 1_700_000_000.0, handshake: bool = True,
                 vlan: bool = False):
        self.records = records
        self.client, self.server = client, server
        self.linktype = linktype
        self.mss = mss
        self.vlan = vlan
        self.seq = {True: isn[0], False: isn[1]}
        self.t = int(t0 * 1_000_000)
        self.ident = 1
        if handshake:
            self.pkt(True, SYN, b"", syn=True)
            self.pkt(False, SYN | ACK, b"", syn=True)
            self.pkt(True, ACK, b"")

    def pkt(self, from_client: bool, flags: int, data: bytes, syn: bool = False, seq: int | None = None,
            fragment: int = 0) -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        s = self.seq[from_client] if seq is None else seq
        ip = tcp_ip(src[0], dst[0], src[1], dst[1], s, self.seq[not from_client] if flags & ACK else 0, flags, data,
                    ident=self.ident)
        self.ident += 1
        self.t += 137
        if fragment and ip[0] >> 4 == 4:
            for frag in ip_fragments(ip, fragment):
                self.records.append(Record(self.t // 1_000_000, self.t % 1_000_000,
                                           link_wrap(self.linktype, frag, self.vlan)))
        else:
            self.records.append(Record(self.t // 1_000_000, self.t % 1_000_000, link_wrap(self.linktype, ip,
                                                                                            self.vlan)))
        if seq is None:
            self.seq[from_client] = (s + len(data) + (1 if syn or flags & FIN else 0)) & 0xFFFFFFFF

    def send(self, from_client: bool, data: bytes, ack: bool = True, fragment: int = 0) -> None:
        for i in range(0, len(data), self.mss):
            self.pkt(from_client, PSH | ACK, data[i:i + self.mss], fragment=fragment)
        if ack and data:
            self.pkt(not from_client, ACK, b"")

    def close(self, first_client: bool = True) -> None:
        self.pkt(first_client, FIN | ACK, b"")
        self.pkt(not first_client, FIN | ACK, b"")
        self.pkt(first_client, ACK, b"")


def ip_fragments(ip: bytes, size: int) -> list[bytes]:
    """Split an IPv4 packet into fragments of *size* payload bytes (multiple of 8)."""
    ihl = (ip[0] & 0x0F) * 4
    head, payload = ip[:ihl], ip[ihl:]
    size = max(8, size - size % 8)
    out = []
    for off in range(0, len(payload), size):
        part = payload[off:off + size]
        more = off + size < len(payload)
        h = bytearray(head)
        struct.pack_into("!H", h, 2, ihl + len(part))
        struct.pack_into("!H", h, 6, (0x2000 if more else 0) | (off // 8))
        out.append(bytes(h) + part)
    return out


MASK = b"\x37\xfa\x21\x3d"


def _every_opcode(c: Conv, big: bool = True) -> None:
    c.send(True, ws_frame(1, b"hello", mask=MASK))
    c.send(False, ws_frame(1, "h\u00e9llo w\u00f6rld \u2603".encode()))
    c.send(True, ws_frame(2, bytes(range(256)), mask=MASK))
    c.send(False, ws_frame(2, b"\x00\xff" * 70))
    # fragmented text with a ping in the middle, and an empty continuation
    c.send(True, ws_frame(1, b"frag-1 ", fin=False, mask=MASK) + ws_frame(9, b"mid-ping", mask=MASK)
           + ws_frame(0, b"frag-2 ", fin=False, mask=MASK))
    c.send(True, ws_frame(0, b"", fin=False, mask=MASK) + ws_frame(0, b"frag-3", mask=MASK))
    c.send(False, ws_frame(10, b"mid-ping"))
    c.send(False, ws_frame(9, b"p"))
    c.send(True, ws_frame(10, b"p", mask=MASK))
    c.send(False, ws_frame(10, b"unsolicited"))
    if big:
        c.send(False, ws_frame(2, b"B" * 3000, form=16))  # 16-bit length, spans segments
        c.send(True, ws_frame(2, b"L" * 70000, mask=MASK))  # 64-bit length
    c.send(False, ws_frame(1, b"x", form=64))  # non-minimal length encoding
    c.send(True, ws_frame(3, b"reserved", mask=MASK))  # reserved opcodes
    c.send(False, ws_frame(0xB, b"reserved-control"))
    c.send(False, ws_frame(1, b"\xff\xfe not utf-8"))
    c.send(True, ws_frame(8, b"\x03\xe8bye", mask=MASK))
    c.send(False, ws_frame(8, b"\x03\xe8"))


def synth_plain() -> Capture:
    recs: list = []
    c = Conv(recs)
    req = upgrade_request(extra=("Sec-WebSocket-Protocol: chat, superchat",))
    c.send(True, req)
    c.send(False, upgrade_response(extra=("Sec-WebSocket-Protocol: chat",)))
    _every_opcode(c)
    c.close()
    return Capture("pcap", 1, recs)


def synth_deflate(no_context: bool = False) -> Capture:
    recs: list = []
    c = Conv(recs, client=("192.168.7.1", 41000), server=("192.168.7.2", 443))
    offer = "permessage-deflate; client_max_window_bits"
    accept = "permessage-deflate" + ("; server_no_context_takeover; client_no_context_takeover" if no_context else "")
    c.send(True, upgrade_request(extra=(f"Sec-WebSocket-Extensions: {offer}",)))
    c.send(False, upgrade_response(extra=(f"Sec-WebSocket-Extensions: {accept}",)))
    cc = None if no_context else zlib.compressobj(6, zlib.DEFLATED, -15)
    sc = None if no_context else zlib.compressobj(6, zlib.DEFLATED, -15)
    for i in range(4):
        text = (f"message {i} " + "repeated text " * (i * 20 + 1)).encode()
        c.send(True, ws_frame(1, deflate_message(text, cc), rsv=4, mask=MASK))
        c.send(False, ws_frame(1, deflate_message(text[::-1], sc), rsv=4))
    # a compressed message split over three fragments (RSV1 on the first only)
    body = deflate_message(b"fragmented compressed " * 50, sc)
    third = max(1, len(body) // 3)
    c.send(False, ws_frame(1, body[:third], fin=False, rsv=4) + ws_frame(0, body[third:2 * third], fin=False)
           + ws_frame(0, body[2 * third:]))
    c.send(True, ws_frame(2, b"uncompressed binary", mask=MASK))
    c.send(False, ws_frame(2, deflate_message(bytes(4000), sc), rsv=4))  # compresses very well
    c.send(True, ws_frame(9, b"", mask=MASK))
    c.send(False, ws_frame(10, b""))
    c.send(False, ws_frame(8, b"\x03\xe9going away"))
    c.send(True, ws_frame(8, b"\x03\xe9", mask=MASK))
    c.close(first_client=False)
    return Capture("pcap", 1, recs)


def synth_ipv6_small_mss() -> Capture:
    recs: list = []
    c = Conv(recs, client=("fd00::1", 51000), server=("fd00::2", 9000), mss=7, isn=(0xFFFFFFF0, 0x7FFFFFFA))
    c.send(True, upgrade_request())
    c.send(False, upgrade_response())
    _every_opcode(c, big=False)
    c.close()
    return Capture("pcapng", 1, recs, nano=True)


def synth_http_then_upgrade() -> Capture:
    """Keep-alive HTTP with chunked and sized bodies, a refused upgrade, then an accepted one on a second
    connection, interleaved with the first."""
    recs: list = []
    a = Conv(recs, client=("10.1.0.1", 40001), server=("10.1.0.2", 80))
    b = Conv(recs, client=("10.1.0.1", 40002), server=("10.1.0.2", 80))
    a.send(True, b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n")
    a.send(False, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n"
           b"Trailer: x\r\n\r\n")
    a.send(True, b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello=world")
    a.send(False, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
    a.send(True, upgrade_request(path="/refused"))
    b.send(True, upgrade_request(key="x3JJHMbDL1EzLkh9GBhXDw=="))
    a.send(False, b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden")
    b.send(False, upgrade_response(key="x3JJHMbDL1EzLkh9GBhXDw==") + ws_frame(1, b"server speaks first"))
    b.send(True, ws_frame(1, b"client", mask=MASK))
    a.send(True, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    a.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    a.close()
    b.send(False, ws_frame(8, b""))
    b.send(True, ws_frame(8, b"", mask=MASK))
    b.pkt(True, RST, b"")
    return Capture("pcap", 1, recs)


def synth_fragments_and_links(linktype: int = 113) -> Capture:
    """IPv4 fragments, a VLAN-free cooked link type, a midstream connection and a connection with no handshake."""
    recs: list = []
    c = Conv(recs, client=("172.16.0.1", 33000), server=("172.16.0.2", 8765), linktype=linktype)
    c.send(True, upgrade_request(), fragment=64)
    c.send(False, upgrade_response(), fragment=200)
    c.send(True, ws_frame(1, b"fragmented at the IP layer " * 10, mask=MASK), fragment=96)
    c.send(False, ws_frame(2, bytes(600)), fragment=512)
    m = Conv(recs, client=("172.16.0.3", 33001), server=("172.16.0.2", 8765), linktype=linktype, handshake=False)
    m.send(False, ws_frame(1, b"midstream one") + ws_frame(1, b"midstream two") + ws_frame(1, b"midstream three"))
    m.send(True, ws_frame(1, b"client midstream", mask=MASK))
    c.close()
    return Capture("pcap", linktype, recs)


def synth_raw_ip_concurrent() -> Capture:
    recs: list = []
    convs = [Conv(recs, client=(f"10.9.0.{i + 1}", 45000 + i), server=("10.9.0.100", 8000), linktype=101)
             for i in range(4)]
    for c in convs:
        c.send(True, upgrade_request(key=f"AAAAAAAAAAAAAAAAAAAAA{c.client[1] % 10}A=="[:22] + "=="))
    for i, c in enumerate(convs):
        c.send(False, upgrade_response(key=f"AAAAAAAAAAAAAAAAAAAAA{c.client[1] % 10}A=="[:22] + "=="))
    for n in range(3):
        for i, c in enumerate(convs):
            c.send(bool((n + i) % 2), ws_frame(1, f"conn {i} msg {n}".encode(), mask=MASK if (n + i) % 2 else None))
    for c in convs:
        c.close()
    return Capture("pcap", 101, recs)


def synth_loopback_vlan() -> list[Capture]:
    caps = []
    for lt, vlan in ((0, False), (1, True), (276, False)):
        recs: list = []
        c = Conv(recs, client=("127.0.0.1", 50100), server=("127.0.0.1", 8765), linktype=lt, vlan=vlan, mss=300)
        c.send(True, upgrade_request())
        c.send(False, upgrade_response())
        c.send(False, ws_frame(1, b"a" * 1000))
        c.send(True, ws_frame(1, b"b" * 1000, mask=MASK))
        c.close()
        caps.append(Capture("pcap" if lt else "pcapng", lt, recs, endian=">" if lt == 276 else "<"))
    return caps


def synthesized() -> dict[str, Capture]:
    caps = {
        "synth_plain": synth_plain(),
        "synth_deflate": synth_deflate(),
        "synth_deflate_no_context": synth_deflate(no_context=True),
        "synth_ipv6_small_mss": synth_ipv6_small_mss(),
        "synth_http_then_upgrade": synth_http_then_upgrade(),
        "synth_fragments_sll": synth_fragments_and_links(113),
        "synth_raw_ip_concurrent": synth_raw_ip_concurrent(),
    }
    for i, c in enumerate(synth_loopback_vlan()):
        caps[f"synth_link_{c.linktype}_{i}"] = c
    return caps


# ---------------------------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------------------------
MAX_SEED_BYTES = 1 << 20
MAX_SEED_RECORDS = 400


@dataclass
class Seed:
    name: str
    cap: Capture
    raw: bytes  # the file bytes as they are (corpus) or as written (synthesized / cut down)
    weight: float = 1.0
    options: dict = field(default_factory=dict)  # pipeline options the seed needs (meta.json export_args)


def _meta_options(case_dir: str) -> dict:
    """``--decode-as tcp.port==N`` from a corpus case's meta.json ``export_args``."""
    import json
    try:
        with open(os.path.join(case_dir, "meta.json")) as f:
            args = json.load(f).get("export_args") or []
    except (OSError, ValueError):
        return {}
    ports = [int(a.split("==", 1)[1]) for a in args if isinstance(a, str) and a.startswith("tcp.port==")]
    opts: dict = {"decode_as": ports} if ports else {}
    keylog = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--tls-keylog"]
    if keylog:
        opts["tls_keylog"] = [os.path.join(case_dir, k) for k in keylog]
    return opts


def tls_seeds() -> list[Seed]:
    """wss:// captures with their key logs (decrypted while fuzzed): the project's samples and ../shared/corpus-tls."""
    here = os.path.dirname(os.path.abspath(__file__))
    samples = os.path.join(here, "..", "sample_pcaps")
    found = [(p, p[:-len(".pcap")] + ".keys.log") for p in sorted(glob.glob(os.path.join(samples, "wss_*.pcap")))]
    corpus = os.path.normpath(os.path.join(here, "..", "..", "shared", "corpus-tls"))
    found += [(p, os.path.join(os.path.dirname(p), "keys.log"))
              for p in sorted(glob.glob(os.path.join(corpus, "*", "capture.pcap*")))]
    seeds = []
    for path, keys in found:
        with open(path, "rb") as f:
            raw = f.read()
        cap = parse_capture(raw)
        if cap is None or not os.path.exists(keys):
            continue
        if len(cap.records) > MAX_SEED_RECORDS:
            cap.records = cap.records[:MAX_SEED_RECORDS]
            raw = write(cap)[0]
        name = "tls:" + os.path.basename(path if "sample_pcaps" in path else os.path.dirname(path))
        seeds.append(Seed(name, cap, raw, weight=1.0, options={"tls_keylog": [os.path.abspath(keys)]}))
    return seeds


def default_corpus_dir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "shared", "corpus"))


def load_seeds(corpus_dir: str | None = None, synth: bool = True) -> list[Seed]:
    """Every ``corpus_dir/*/capture.pcap*`` (large ones cut to their first records) plus synthesized captures."""
    seeds: list[Seed] = []
    corpus_dir = corpus_dir or os.environ.get("WSDISSECT_CORPUS") or default_corpus_dir()
    for path in sorted(glob.glob(os.path.join(corpus_dir, "*", "capture.pcap*"))):
        with open(path, "rb") as f:
            raw = f.read()
        cap = parse_capture(raw)
        if cap is None:
            continue
        name = os.path.basename(os.path.dirname(path))
        if len(raw) > MAX_SEED_BYTES or len(cap.records) > MAX_SEED_RECORDS * 2:
            cap.records = cap.records[:MAX_SEED_RECORDS]
            while cap.records and sum(len(r.data) for r in cap.records) > MAX_SEED_BYTES:
                cap.records = cap.records[: len(cap.records) * 3 // 4]
            raw = write(cap)[0]
            name += f"[:{len(cap.records)}]"
        # big seeds are slow to mutate and run: pick them less often
        seeds.append(Seed(name, cap, raw, weight=1.0 / (1.0 + len(raw) / 100_000),
                          options=_meta_options(os.path.dirname(path))))
    if synth:
        for name, cap in synthesized().items():
            seeds.append(Seed(name, cap, write(cap)[0], weight=2.0))
        seeds += tls_seeds()
    return seeds


# ---------------------------------------------------------------------------------------------------------------
# Interesting values
# ---------------------------------------------------------------------------------------------------------------
INT8 = (0, 1, 0x7E, 0x7F, 0x80, 0x81, 0xFE, 0xFF)
INT16 = (0, 1, 0x7D, 0x7E, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF)
INT32 = (0, 1, 4, 8, 11, 12, 13, 16, 20, 24, 28, 32, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
         (256 << 20), (256 << 20) + 1, (256 << 20) - 4, 1 << 30, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFC, 0xFFFFFFFF)
INT64 = (0, 125, 126, 127, 0xFFFF, 0x10000, 1 << 31, 1 << 32, 1 << 62, (1 << 63) - 1, 1 << 63, (1 << 64) - 1)
WS_LENGTHS = (0, 125, 126, 127, 65535, 65536, 1 << 63, (1 << 64) - 1)

TOKENS = (
    b"\r\n", b"\r\n\r\n", b"\n\n", b"\r", b"\n", b"\x00", b" ", b":", b";", b",", b"\"", b"=", b"\t",
    b"\xb2", b"\xb3", b"\xb9", b"\xbd", b"\xff", b"\xc3\xa9", b"\xed\xa0\x80",
    b"HTTP/1.1 ", b"HTTP/1.0 ", b"HTTP/2 ", b"GET / HTTP/1.1\r\n", b"HTTP/1.1 101 Switching Protocols\r\n",
    b"HTTP/1.1 \xb2\xb2\xb2 OK\r\n", b"HTTP/1.1 101\r\n", b"HTTP/1.1 100 Continue\r\n\r\n",
    b"Content-Length: ", b"Content-Length: 0\r\n", b"Content-Length: -1\r\n", b"Content-Length: 99999999999\r\n",
    b"Content-Length: 1_0\r\n", b"Content-Length: \xb9\r\n", b"Content-Length: 5, 7\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: gzip, chunked\r\n",
    b"ffffffffffffffff\r\n", b"-5\r\n", b"0x10\r\n", b"\xb9\r\n", b"0\r\n\r\n",
    b"Upgrade: websocket\r\n", b"Connection: Upgrade\r\n", b"Upgrade: h2c\r\n",
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", b"Sec-WebSocket-Key: \xff\xfe\r\n",
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", b"Sec-WebSocket-Version: 8\r\n",
    b"Sec-WebSocket-Protocol: a,b\r\n", b"Sec-WebSocket-Protocol: \r\n",
    b"Sec-WebSocket-Extensions: permessage-deflate\r\n",
    b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=\xb9\r\n",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99999999999999999999\r\n",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n",
    b"Sec-WebSocket-Extensions: \"permessage-deflate\r\n", b"Sec-WebSocket-Extensions: ;;,,\r\n",
    b" folded continuation\r\n", b"X" * 300, b"A: " + b"v" * 70000 + b"\r\n",
    bytes([0x81, 0x7E, 0xFF, 0xFF]), bytes([0x82, 0x7F]) + b"\xff" * 8, bytes([0x88, 0x01, 0x03]),
    bytes([0xC1, 0x05]) + b"\xff" * 5, bytes([0x89, 0xFE, 0x00, 0x10]), bytes([0x01, 0x00, 0x80, 0x00]),
    bytes([0x88, 0x02, 0x03, 0xED]), bytes([0x88, 0x04, 0x03, 0xE8, 0xC3, 0x28]),
)


def _u32(rng: random.Random, current: int | None = None) -> int:
    r = rng.random()
    if current is not None and r < 0.3:
        return (current + rng.choice((-1, 1, -4, 4, -12, 12, 16, rng.randint(-100, 100)))) & 0xFFFFFFFF
    if r < 0.75:
        return rng.choice(INT32)
    return rng.getrandbits(32)


# ---------------------------------------------------------------------------------------------------------------
# Structural mutators (in place, on a Capture; return a short description)
# ---------------------------------------------------------------------------------------------------------------
def _tcp_records(cap: Capture) -> list[int]:
    return [i for i, r in enumerate(cap.records) if layers(cap.linktype, r.data) is not None]


def _payload_records(cap: Capture) -> list[int]:
    out = []
    for i, r in enumerate(cap.records):
        lay = layers(cap.linktype, r.data)
        if lay is not None and lay.end > lay.payload:
            out.append(i)
    return out


def s_drop(cap: Capture, rng: random.Random) -> str:
    if not cap.records:
        return "drop:none"
    k = rng.choice((1, 1, 1, 2, 3))
    idx = [rng.randrange(len(cap.records)) for _ in range(k)]
    for i in sorted(set(idx), reverse=True):
        del cap.records[i]
    return f"drop{sorted(set(idx))}"


def s_duplicate(cap: Capture, rng: random.Random) -> str:
    if not cap.records:
        return "dup:none"
    cand = _payload_records(cap) or list(range(len(cap.records)))
    i = rng.choice(cand)
    j = min(len(cap.records), max(0, i + rng.choice((1, 1, 2, 3, -1, -3, rng.randint(-20, 20)))))
    times = rng.choice((1, 1, 1, 2, 5))
    for _ in range(times):
        cap.records.insert(j, replace(cap.records[i]))
    return f"dup{i}->{j}x{times}"


def s_reorder(cap: Capture, rng: random.Random) -> str:
    n = len(cap.records)
    if n < 2:
        return "reorder:none"
    mode = rng.randrange(3)
    i = rng.randrange(n - 1)
    if mode == 0:
        j = min(n - 1, i + rng.choice((1, 1, 2, 3, 5, 8)))
        cap.records[i], cap.records[j] = cap.records[j], cap.records[i]
        return f"swap{i},{j}"
    j = min(n, i + rng.randint(2, 10))
    part = cap.records[i:j]
    if mode == 1:
        part.reverse()
    else:
        rng.shuffle(part)
    cap.records[i:j] = part
    return f"{'reverse' if mode == 1 else 'shuffle'}{i}:{j}"


def _set_tcp_u32(cap: Capture, i: int, field_off: int, value: int) -> None:
    r = cap.records[i]
    lay = layers(cap.linktype, r.data)
    b = bytearray(r.data)
    struct.pack_into("!I", b, lay.l4 + field_off, value & 0xFFFFFFFF)
    r.data = bytes(b)


def s_seq(cap: Capture, rng: random.Random) -> str:
    """Scramble TCP sequence (or acknowledgment) numbers: one segment, or a whole direction shifted near 2^32."""
    recs = _tcp_records(cap)
    if not recs:
        return "seq:none"
    if rng.random() < 0.3:
        # shift every segment of one direction of one connection by a constant (sequence wrap-around)
        i = rng.choice(recs)
        lay = layers(cap.linktype, cap.records[i].data)
        key = _flow_key(cap.records[i].data, lay)
        delta = rng.choice((0xFFFFFFFF - 100, 1 << 31, (1 << 32) - 1, rng.getrandbits(32)))
        for j in recs:
            d = cap.records[j].data
            lj = layers(cap.linktype, d)
            kj = _flow_key(d, lj)
            if kj == key:
                _set_tcp_u32(cap, j, 4, struct.unpack_from("!I", d, lj.l4 + 4)[0] + delta)
            elif kj == (key[1], key[0]):
                _set_tcp_u32(cap, j, 8, struct.unpack_from("!I", d, lj.l4 + 8)[0] + delta)
        return f"seqshift{i}+{delta}"
    out = []
    for _ in range(rng.choice((1, 1, 2, 4))):
        i = rng.choice(recs)
        lay = layers(cap.linktype, cap.records[i].data)
        fo = rng.choice((4, 4, 8))
        cur = struct.unpack_from("!I", cap.records[i].data, lay.l4 + fo)[0]
        r = rng.random()
        if r < 0.4:
            v = cur + rng.choice((-1, 1, -2, 2, -1448, 1448, 1 << 31, -(1 << 31), rng.randint(-5000, 5000)))
        else:
            v = _u32(rng, cur)
        _set_tcp_u32(cap, i, fo, v)
        out.append(f"{'seq' if fo == 4 else 'ack'}{i}={v & 0xFFFFFFFF}")
    return ",".join(out)


def _flow_key(data: bytes, lay: Layers) -> tuple:
    if lay.ver == 4:
        src, dst = data[lay.l3 + 12:lay.l3 + 16], data[lay.l3 + 16:lay.l3 + 20]
    else:
        src, dst = data[lay.l3 + 8:lay.l3 + 24], data[lay.l3 + 24:lay.l3 + 40]
    sp, dp = struct.unpack_from("!HH", data, lay.l4)
    return ((src, sp), (dst, dp))


def s_tcp_flags(cap: Capture, rng: random.Random) -> str:
    recs = _tcp_records(cap)
    if not recs:
        return "flags:none"
    i = rng.choice(recs)
    r = cap.records[i]
    lay = layers(cap.linktype, r.data)
    b = bytearray(r.data)
    flag = rng.choice((SYN, FIN, RST, ACK, SYN | ACK, FIN | ACK, 0xFF, 0))
    if flag in (0, 0xFF):
        b[lay.l4 + 13] = flag
    else:
        b[lay.l4 + 13] ^= flag
    r.data = bytes(b)
    return f"flags{i}^{flag}"


def s_ws_length(cap: Capture, rng: random.Random) -> str:
    """Rewrite a WebSocket frame's length: in place (same header size) or re-encoded (the segment grows or
    shrinks and the IP length is fixed)."""
    cands = []
    for i in _payload_records(cap):
        payload = tcp_payload(cap.linktype, cap.records[i].data)
        for start, hl in ws_frame_offsets(payload, 8):
            cands.append((i, start, hl))
    if not cands:
        return "wslen:none"
    i, start, hl = rng.choice(cands)
    r = cap.records[i]
    payload = bytearray(tcp_payload(cap.linktype, r.data))
    b1 = payload[start + 1]
    lc = b1 & 0x7F
    value = rng.choice(WS_LENGTHS) if rng.random() < 0.8 else rng.choice(INT64)
    if rng.random() < 0.5:
        # in place: rewrite the field of the form the frame uses
        if lc < 126:
            payload[start + 1] = (b1 & 0x80) | rng.choice((0, 125, 126, 127, value & 0x7F))
        elif lc == 126:
            struct.pack_into("!H", payload, start + 2, value & 0xFFFF if value <= 0xFFFF else rng.choice(INT16))
        else:
            struct.pack_into("!Q", payload, start + 2, value & 0xFFFFFFFFFFFFFFFF)
        how = "inplace"
    else:
        ext = {126: 2, 127: 8}.get(lc, 0)
        key = bytes(payload[start + 2 + ext:start + hl])
        form = rng.choice((7, 16, 64)) if value <= 125 else (rng.choice((16, 64)) if value <= 0xFFFF else 64)
        if form == 7:
            new = bytes([payload[start], (b1 & 0x80) | value])
        elif form == 16:
            new = bytes([payload[start], (b1 & 0x80) | 126]) + struct.pack("!H", value)
        else:
            new = bytes([payload[start], (b1 & 0x80) | 127]) + struct.pack("!Q", value & 0xFFFFFFFFFFFFFFFF)
        payload[start:start + hl] = new + key
        how = f"form{form}"
    r.data = set_payload(cap.linktype, r.data, bytes(payload))
    return f"wslen{i}@{start}={value}/{how}"


def s_ws_header_bits(cap: Capture, rng: random.Random) -> str:
    """Flip FIN/RSV/opcode/mask bits of a frame header."""
    cands = []
    for i in _payload_records(cap):
        payload = tcp_payload(cap.linktype, cap.records[i].data)
        for start, _hl in ws_frame_offsets(payload, 8):
            cands.append((i, start))
    if not cands:
        return "wsbits:none"
    i, start = rng.choice(cands)
    r = cap.records[i]
    payload = bytearray(tcp_payload(cap.linktype, r.data))
    which = rng.randrange(4)
    if which == 0:
        payload[start] ^= 0x80  # FIN
    elif which == 1:
        payload[start] ^= rng.choice((0x40, 0x20, 0x10, 0x70))
    elif which == 2:
        payload[start] = (payload[start] & 0xF0) | rng.randrange(16)
    else:
        payload[start + 1] ^= 0x80  # mask bit: header length changes, later bytes shift meaning
    r.data = set_payload(cap.linktype, r.data, bytes(payload))
    return f"wsbits{i}@{start}:{which}"


def s_payload_token(cap: Capture, rng: random.Random) -> str:
    """Insert or overwrite with an interesting token inside a TCP payload (HTTP heads get most of them)."""
    cands = _payload_records(cap)
    if not cands:
        return "token:none"
    http = [i for i in cands if b"HTTP/1." in cap.records[i].data]
    i = rng.choice(http) if http and rng.random() < 0.7 else rng.choice(cands)
    r = cap.records[i]
    payload = bytearray(tcp_payload(cap.linktype, r.data))
    tok = rng.choice(TOKENS)
    lines = [k + 2 for k in range(len(payload) - 1) if payload[k:k + 2] == b"\r\n"]
    pos = rng.choice(lines) if lines and rng.random() < 0.6 else rng.randint(0, len(payload))
    mode = rng.randrange(3)
    if mode == 0:
        payload[pos:pos] = tok
    elif mode == 1:
        payload[pos:pos + len(tok)] = tok
    else:  # replace the rest of the line
        eol = payload.find(b"\r\n", pos)
        payload[pos:eol if eol >= 0 else len(payload)] = tok
    r.data = set_payload(cap.linktype, r.data, bytes(payload))
    return f"token{i}@{pos}:{mode}:{tok[:12]!r}"


def s_payload_resize(cap: Capture, rng: random.Random) -> str:
    """Cut or extend a segment's payload (fixing IP lengths): frames end early, or trailing garbage."""
    cands = _payload_records(cap)
    if not cands:
        return "resize:none"
    i = rng.choice(cands)
    r = cap.records[i]
    payload = tcp_payload(cap.linktype, r.data)
    if rng.random() < 0.5:
        new = payload[:rng.randint(0, len(payload))]
    else:
        new = payload + (bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))) if rng.random() < 0.5
                         else payload[:rng.randint(1, max(1, len(payload)))])
    r.data = set_payload(cap.linktype, r.data, new)
    return f"resize{i}:{len(payload)}->{len(new)}"


def s_ip_fields(cap: Capture, rng: random.Random) -> str:
    """Corrupt IP/TCP header fields: IPv4 IHL, total length, fragment bits, protocol; IPv6 payload length and
    next header; TCP data offset."""
    recs = _tcp_records(cap)
    if not recs:
        return "ip:none"
    i = rng.choice(recs)
    r = cap.records[i]
    lay = layers(cap.linktype, r.data)
    b = bytearray(r.data)
    choice = rng.randrange(6)
    if choice == 0:  # TCP data offset
        b[lay.l4 + 12] = (rng.randrange(16) << 4) | (b[lay.l4 + 12] & 0x0F)
        what = "doff"
    elif lay.ver == 4:
        if choice == 1:
            b[lay.l3] = 0x40 | rng.randrange(16)
            what = "ihl"
        elif choice == 2:
            struct.pack_into("!H", b, lay.l3 + 2, rng.choice(INT16 + (len(b) - lay.l3 + rng.randint(-30, 30),))
                             & 0xFFFF)
            what = "total"
        elif choice == 3:
            struct.pack_into("!H", b, lay.l3 + 6, rng.choice((0x2000, 0x2001, 0x1FFF, 0x3FFF, 0x0001, 0x4000,
                                                             rng.getrandbits(16))))
            what = "frag"
        elif choice == 4:
            b[lay.l3 + 9] = rng.choice((17, 1, 0, 255, 6))
            what = "proto"
        else:
            b[lay.l3] = (rng.randrange(16) << 4) | (b[lay.l3] & 0x0F)
            what = "version"
    else:
        if choice in (1, 2):
            struct.pack_into("!H", b, lay.l3 + 4, rng.choice(INT16) & 0xFFFF)
            what = "plen6"
        elif choice in (3, 4):
            # insert an extension header chain before TCP
            nh = rng.choice((0, 43, 44, 51, 60, 135, 59))
            ext = bytes([6, rng.choice((0, 1, 255))]) + bytes(6)
            if nh == 44:
                ext = bytes([6, 0]) + struct.pack("!HI", rng.choice((0, 1, 8, 0xFFF8, 0x0009)), 7)
            b[lay.l3 + 6] = nh
            b[lay.l4:lay.l4] = ext
            struct.pack_into("!H", b, lay.l3 + 4, (struct.unpack_from("!H", b, lay.l3 + 4)[0] + len(ext)) & 0xFFFF)
            what = f"ext{nh}"
        else:
            b[lay.l3] = (rng.randrange(16) << 4) | (b[lay.l3] & 0x0F)
            what = "version"
    r.data = bytes(b)
    return f"ip{i}:{what}"


def s_ip_fragment(cap: Capture, rng: random.Random) -> str:
    """Split an IPv4 TCP packet into fragments; sometimes lose one, overlap them or push offsets to the limit."""
    recs = [i for i in _payload_records(cap) if layers(cap.linktype, cap.records[i].data).ver == 4]
    if not recs:
        return "ipfrag:none"
    i = rng.choice(recs)
    r = cap.records[i]
    lay = layers(cap.linktype, r.data)
    link, ip = r.data[:lay.l3], r.data[lay.l3:lay.end]
    frags = ip_fragments(ip, rng.choice((8, 16, 64, 256, 1024)))
    mode = rng.choice((0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5))
    if mode == 1 and len(frags) > 1:
        del frags[rng.randrange(len(frags))]
    elif mode == 2:
        rng.shuffle(frags)
    elif mode == 3:
        # a fragment near the 16-bit limit: reassembled length can exceed 65535
        f = bytearray(frags[-1])
        struct.pack_into("!H", f, 6, rng.choice((0x1FFF, 0x1FF0, 0x1000, 0x1FFE)))
        frags[-1] = bytes(f)
    elif mode == 4 and frags:
        frags.insert(rng.randrange(len(frags)), frags[rng.randrange(len(frags))])
    elif mode == 5:
        # two fragments whose reassembled datagram is longer than IPv4 allows (65535 bytes)
        ihl = (ip[0] & 0x0F) * 4
        body = ip[ihl:] + bytes(65400 - len(ip) + ihl) if len(ip) - ihl < 65400 else ip[ihl:65400 + ihl]
        first, last = bytearray(ip[:ihl]), bytearray(ip[:ihl])
        struct.pack_into("!H", first, 2, ihl + len(body))
        struct.pack_into("!H", first, 6, 0x2000)
        tail = bytes(rng.choice((8, 200, 1000)))
        struct.pack_into("!H", last, 2, ihl + len(tail))
        struct.pack_into("!H", last, 6, len(body) // 8)
        frags = [bytes(first) + body, bytes(last) + tail]
    new = [replace(r, data=link + f, cut=0, orig_override=None) for f in frags]
    cap.records[i:i + 1] = new
    return f"ipfrag{i}:{len(frags)}:{mode}"


def s_linktype(cap: Capture, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        cap.linktype = rng.choice(SUPPORTED_LINKTYPES)
    elif r < 0.8:
        cap.linktype = rng.getrandbits(16)
    else:
        cap.linktype = rng.getrandbits(32)
    return f"linktype={cap.linktype}"


def s_snaplen(cap: Capture, rng: random.Random) -> str:
    """Cut packets to a snapshot length (orig_len kept): headers or payloads go missing."""
    n = rng.choice((14, 20, 34, 40, 54, 60, 66, 74, 80, 96, 120, 200, 1500))
    for r in cap.records:
        if len(r.data) > n and (rng.random() < 0.6):
            r.cut += len(r.data) - n
            r.data = r.data[:n]
    cap.snaplen = n
    return f"snaplen{n}"


def s_orig_len(cap: Capture, rng: random.Random) -> str:
    if not cap.records:
        return "orig:none"
    i = rng.randrange(len(cap.records))
    cap.records[i].orig_override = _u32(rng, len(cap.records[i].data))
    return f"orig{i}={cap.records[i].orig_override}"


def s_timestamps(cap: Capture, rng: random.Random) -> str:
    if not cap.records:
        return "ts:none"
    for _ in range(rng.choice((1, 3))):
        r = cap.records[rng.randrange(len(cap.records))]
        r.sec, r.frac = _u32(rng), rng.choice((0, 999999, 1000000, 0xFFFFFFFF, rng.getrandbits(32)))
    return "ts"


def s_format(cap: Capture, rng: random.Random) -> str:
    r = rng.randrange(4)
    if r == 0:
        cap.fmt = "pcapng" if cap.fmt == "pcap" else "pcap"
    elif r == 1:
        cap.endian = ">" if cap.endian == "<" else "<"
    elif r == 2:
        cap.nano = not cap.nano
    else:
        cap.snaplen = _u32(rng)
    return f"format:{cap.fmt}{cap.endian}{'ns' if cap.nano else 'us'}/{cap.snaplen}"


def s_splice_conn(cap: Capture, rng: random.Random) -> str:
    """Replay a slice of the capture again (same connections re-used: a second SYN, stale state)."""
    n = len(cap.records)
    if n < 2:
        return "splice:none"
    i = rng.randrange(n)
    j = min(n, i + rng.randint(1, 30))
    at = rng.randrange(n)
    cap.records[at:at] = [replace(r) for r in cap.records[i:j]]
    return f"splice{i}:{j}@{at}"


def _tls_record_offsets(payload: bytes, limit: int = 16) -> list[int]:
    """Where what parses as a chain of TLS record headers starts in a segment's payload."""
    out, pos = [], 0
    while pos + 5 <= len(payload) and len(out) < limit and 20 <= payload[pos] <= 24 and payload[pos + 1] == 3:
        out.append(pos)
        pos += 5 + int.from_bytes(payload[pos + 3:pos + 5], "big")
    return out


def s_tls_record(cap: Capture, rng: random.Random) -> str:
    """Damage a TLS record (keys present, so the AEAD/MAC checks and the handshake parser are exercised): its
    type, version or length field, a byte of its body (a handshake field, or ciphertext/tag), or cut it short."""
    cands = [(i, off) for i in _payload_records(cap)
             for off in _tls_record_offsets(tcp_payload(cap.linktype, cap.records[i].data))]
    if not cands:
        return "tls:none"
    i, off = rng.choice(cands)
    r = cap.records[i]
    payload = bytearray(tcp_payload(cap.linktype, r.data))
    what = rng.choice(("type", "version", "length", "body", "cut"))
    if what == "type":
        payload[off] = rng.choice((0, 20, 21, 22, 23, 24, 25, 0xFF))
    elif what == "version":
        payload[off + 2] = rng.choice((0, 1, 3, 4, 5, 0xFF))
    elif what == "length":
        struct.pack_into("!H", payload, off + 3, rng.choice(INT16 + (0x4000, 0x4100, 0x4800, 0x4801)))
    elif what == "body" and len(payload) > off + 5:
        at = rng.randrange(off + 5, len(payload))
        payload[at] = rng.choice(INT8) if rng.random() < 0.5 else payload[at] ^ (1 << rng.randrange(8))
    else:
        del payload[rng.randrange(off, len(payload)):]
    r.data = set_payload(cap.linktype, r.data, bytes(payload))
    return f"tls{i}@{off}/{what}"


STRUCT_MUTATORS: list[tuple[Callable, float]] = [
    (s_drop, 1.0), (s_duplicate, 1.2), (s_reorder, 1.2), (s_seq, 1.5), (s_tcp_flags, 0.7), (s_ws_length, 2.0),
    (s_ws_header_bits, 1.0), (s_payload_token, 2.0), (s_payload_resize, 0.8), (s_ip_fields, 1.0),
    (s_ip_fragment, 0.6), (s_linktype, 0.4), (s_snaplen, 0.4), (s_orig_len, 0.3), (s_timestamps, 0.3),
    (s_format, 0.6), (s_splice_conn, 0.5), (s_tls_record, 1.5),
]


# ---------------------------------------------------------------------------------------------------------------
# Byte mutators (on the written file; return (new bytes, description))
# ---------------------------------------------------------------------------------------------------------------
def b_bitflip(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "flip:none"
    b = bytearray(data)
    k = rng.choice((1, 1, 2, 4, 8, 32))
    for _ in range(k):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b), f"flip{k}"


def b_interesting(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "int:none"
    b = bytearray(data)
    # aim near a boundary half the time: that is where length fields live
    if bounds and rng.random() < 0.5:
        i = min(len(b) - 1, rng.choice(bounds)[0] + rng.randint(0, 12))
    else:
        i = rng.randrange(len(b))
    width = rng.choice((1, 2, 4, 8))
    e = rng.choice("<>")
    if width == 1:
        val = bytes([rng.choice(INT8)])
    elif width == 2:
        val = struct.pack(e + "H", rng.choice(INT16))
    elif width == 4:
        val = struct.pack(e + "I", rng.choice(INT32))
    else:
        val = struct.pack(e + "Q", rng.choice(INT64))
    b[i:i + width] = val
    return bytes(b[:max(len(data), i + width)]), f"int{width}@{i}"


def b_insert(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    i = rng.randint(0, len(data))
    r = rng.random()
    if r < 0.4:
        ins = bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 1, 2, 3, 4, 8, 17, 64))))
    elif r < 0.7 and data:
        a = rng.randrange(len(data))
        ins = data[a:a + rng.randint(1, 256)]
    else:
        ins = rng.choice(TOKENS)
    return data[:i] + ins + data[i:], f"ins{len(ins)}@{i}"


def b_delete(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "del:none"
    i = rng.randrange(len(data))
    n = rng.choice((1, 1, 2, 3, 4, 8, 16, 100, rng.randint(1, 2000)))
    return data[:i] + data[i + n:], f"del{n}@{i}"


def b_truncate(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    if rng.random() < 0.6 and bounds:
        off, kind = rng.choice(bounds)
        off = max(0, off + rng.choice((0, 0, 0, -1, 1, 2)))
        return data[:off], f"cut@{kind}:{off}"
    n = rng.randint(0, len(data))
    return data[:n], f"cut{n}"


def b_boundary_garble(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    """Overwrite the bytes that start a layer (a header's first fields) with random bytes."""
    if not bounds or not data:
        return data, "garble:none"
    off, kind = rng.choice(bounds)
    n = rng.choice((1, 2, 4))
    b = bytearray(data)
    for k in range(off, min(len(b), off + n)):
        b[k] = rng.getrandbits(8)
    return bytes(b), f"garble@{kind}:{off}"


def b_file_header(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    b = bytearray(data)
    if fmt == "pcap" and len(b) >= 24:
        e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        field = rng.randrange(5)
        if field == 0:
            b[0:4] = rng.choice((b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                                 b"\x0a\x0d\x0d\x0a", b"\x1f\x8b\x08\x00", b"\0\0\0\0", b"\xd4\xc3\xb2"))
        elif field == 1:
            struct.pack_into(e + "HH", b, 4, rng.choice(INT16), rng.choice(INT16))
        elif field == 2:
            struct.pack_into(e + "I", b, 16, _u32(rng))  # snaplen
        elif field == 3:
            struct.pack_into(e + "I", b, 20, rng.choice((rng.getrandbits(32), rng.getrandbits(16),
                                                         rng.choice(SUPPORTED_LINKTYPES) | 0x10000000,
                                                         rng.choice(SUPPORTED_LINKTYPES))))  # link type
        else:
            struct.pack_into(e + "iI", b, 8, rng.choice((0, -1, 0x7FFFFFFF)), _u32(rng))
        return bytes(b), f"pcaphdr{field}"
    if fmt == "pcapng" and len(b) >= 28:
        e = "<" if b[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        field = rng.randrange(5)
        if field == 0:
            b[8:12] = rng.choice((b"\x1a\x2b\x3c\x4d", b"\x4d\x3c\x2b\x1a", b"\0\0\0\0"))
        elif field == 1:
            struct.pack_into(e + "I", b, 4, _u32(rng, struct.unpack_from(e + "I", b, 4)[0]))
        elif field == 2:
            # the IDB: link type, snaplen, options (if_tsresol, if_tsoffset)
            idb = next((o for o, k in bounds if k == "idb"), None)
            if idb is not None and idb + 16 <= len(b):
                struct.pack_into(e + "H", b, idb + 8, rng.choice((rng.getrandbits(16),) + SUPPORTED_LINKTYPES))
        elif field == 3:
            idb = next((o for o, k in bounds if k == "idb"), None)
            if idb is not None:
                opt = rng.choice((_opt(e, 9, bytes([rng.choice((0, 6, 9, 0x80, 0x8A, 0xFF, 0x7F, 200))])),
                                  _opt(e, 14, struct.pack(e + "q", rng.choice((0, -1, 1 << 62, -(1 << 63))))),
                                  _opt(e, 9, b""), struct.pack(e + "HH", 9, 0xFFFF)))
                blen = struct.unpack_from(e + "I", b, idb + 4)[0]
                body = bytes(b[idb + 8:idb + 16]) + opt + bytes(b[idb + 16:idb + blen - 4])
                body += b"\0" * (-len(body) % 4)
                blk = _block(e, 1, body)
                b[idb:idb + blen] = blk
        else:
            # an unknown or another SHB block in the middle
            at = rng.choice([o for o, k in bounds if k in ("rec", "rec_end")] or [len(b)])
            ins = rng.choice((_block(e, rng.getrandbits(32), b"\0" * rng.choice((0, 4, 8))),
                              data[:bounds[2][0]] if len(bounds) > 2 else b"",
                              _block(e, 3, struct.pack(e + "I", rng.choice((0, 60, 0xFFFFFFFF))) + bytes(8)),
                              _block(e, 2, struct.pack(e + "HHIIII", rng.choice((0, 5)), 0, 0, 0, 4, 4) + b"abcd"),
                              _block(e, 6, struct.pack(e + "IIIII", rng.choice((0, 1, 7)), 0, 0, 60, 60))))
            b[at:at] = ins
        return bytes(b), f"ngshb{field}"
    return b_bitflip(data, bounds, fmt, rng)


def b_record_len(data: bytes, bounds: list, fmt: str, rng: random.Random) -> tuple[bytes, str]:
    """Corrupt a record's incl_len/orig_len (pcap) or a block's total length/trailer/caplen/interface (pcapng)."""
    starts = [o for o, k in bounds if k == "rec"]
    if not starts:
        return b_bitflip(data, bounds, fmt, rng)
    at = rng.choice(starts)
    b = bytearray(data)
    if fmt == "pcap":
        e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        fo = rng.choice((8, 8, 12))
        if at + fo + 4 > len(b):
            return data, "reclen:none"
        cur = struct.unpack_from(e + "I", b, at + fo)[0]
        struct.pack_into(e + "I", b, at + fo, _u32(rng, cur))
        return bytes(b), f"{'incl' if fo == 8 else 'orig'}@{at}"
    e = "<" if b[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    if at + 28 > len(b):
        return data, "reclen:none"
    blen = struct.unpack_from(e + "I", b, at + 4)[0]
    which = rng.randrange(5)
    if which == 0:
        struct.pack_into(e + "I", b, at + 4, _u32(rng, blen))
    elif which == 1 and at + blen <= len(b):
        struct.pack_into(e + "I", b, at + blen - 4, _u32(rng, blen))
    elif which == 2:
        struct.pack_into(e + "I", b, at + 20, _u32(rng, struct.unpack_from(e + "I", b, at + 20)[0]))  # caplen
    elif which == 3:
        struct.pack_into(e + "I", b, at + 8, rng.choice((1, 2, 0xFFFFFFFF)))  # interface id
    else:
        struct.pack_into(e + "I", b, at, rng.choice((2, 3, 1, 5, 0x0A0D0D0A, 0xFFFFFFFF)))  # block type
    return bytes(b), f"blk{which}@{at}"


BYTE_MUTATORS: list[tuple[Callable, float]] = [
    (b_bitflip, 1.5), (b_interesting, 1.0), (b_insert, 0.8), (b_delete, 0.8), (b_truncate, 1.5),
    (b_boundary_garble, 0.8), (b_file_header, 1.0), (b_record_len, 1.5),
]


def _pick(rng: random.Random, table: list[tuple[Callable, float]]) -> Callable:
    return rng.choices([f for f, _ in table], [w for _, w in table])[0]


# ---------------------------------------------------------------------------------------------------------------
# Options variations: resource limits small enough to be reached by small inputs
# ---------------------------------------------------------------------------------------------------------------
def random_options(rng: random.Random) -> dict:
    opts: dict = {}
    if rng.random() < 0.25:
        for name, values in (("max_message", (0, 1, 10, 125, 1000)), ("max_inflated", (0, 1, 100, 5000)),
                             ("max_ratio", (1, 2, 10)), ("max_tcp_buffer", (0, 1, 100, 4096)),
                             ("max_connections", (1, 2, 3)), ("max_http_head", (0, 10, 100, 300))):
            if rng.random() < 0.3:
                opts[name] = rng.choice(values)
    if rng.random() < 0.15:
        opts["decode_as"] = sorted(rng.sample((80, 443, 8000, 8080, 8765, 9000, 20105, 50000), rng.randint(1, 3)))
    return opts


# ---------------------------------------------------------------------------------------------------------------
# One input
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Mutant:
    index: int
    seed_name: str
    data: bytes
    options: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)


def make_input(seeds: list[Seed], campaign_seed: int, index: int) -> Mutant:
    """The *index*-th input of a campaign: deterministic in (campaign_seed, index, seeds)."""
    rng = random.Random(f"wsdissect-fuzz:{campaign_seed}:{index}")
    seed = rng.choices(seeds, [s.weight for s in seeds])[0]
    steps: list[str] = []
    if rng.random() < 0.06:
        data, bounds, fmt = seed.raw, [], "pcapng" if seed.raw[:4] == b"\x0a\x0d\x0d\x0a" else "pcap"
        if data[:2] == b"\x1f\x8b":
            fmt = "gzip"
    else:
        cap = seed.cap.copy()
        if rng.random() < 0.8:
            for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6))):
                steps.append(_pick(rng, STRUCT_MUTATORS)(cap, rng))
        data, bounds = write(cap)
        fmt = cap.fmt
    if rng.random() < (0.5 if steps else 0.95):
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            data, what = _pick(rng, BYTE_MUTATORS)(data, bounds, fmt, rng)
            steps.append(what)
            if "cut" in what or "del" in what or "ins" in what:
                bounds = [b for b in bounds if b[0] <= len(data)]
    if rng.random() < 0.05:
        gz = gzip.compress(data, compresslevel=1, mtime=0)
        if rng.random() < 0.4:
            gz = gz[:rng.randint(2, max(2, len(gz) - 1))]
            steps.append("gzip-truncated")
        else:
            steps.append("gzip")
        data = gz
    options = dict(seed.options)
    options.update(random_options(rng))
    return Mutant(index, seed.name, data, options, steps)
