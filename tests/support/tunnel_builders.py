"""Tunnel headers built from their specifications (not from wsdissect): wrap an IP packet or an Ethernet frame in
QinQ, MPLS, GRE, VXLAN, GTP-U, IP-in-IP, 6in4 or IPv6-in-IPv6.  Shared by the unit tests and
``tools/make_tunnel_pcaps.py``.  Checksums of the outer IPv4 headers are computed; UDP checksums are 0 (allowed for
IPv4, RFC 768) or computed for IPv6."""
from __future__ import annotations

import ipaddress
import struct

MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
OUTER_V4 = ("10.1.0.1", "10.1.0.2")
OUTER_V6 = ("2001:db8:1::1", "2001:db8:1::2")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ethernet(payload: bytes, ethertype: int, dst: bytes = MAC_B, src: bytes = MAC_A) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def vlan_tags(payload: bytes, ethertype: int, tags: list[tuple[int, int]]) -> bytes:
    """Ethernet payload behind VLAN tags: *tags* is [(TPID, VLAN ID)] outermost first; returns the bytes after the
    MAC addresses (first TPID, ...)."""
    out = b""
    for i, (tpid, vid) in enumerate(tags):
        nxt = tags[i + 1][0] if i + 1 < len(tags) else ethertype
        out += struct.pack("!HHH", tpid, vid & 0xFFF, nxt)[0 if i == 0 else 2:]
    return out + payload


def qinq(ip_packet: bytes, outer_vid: int = 100, inner_vid: int = 200, tpid: int = 0x88A8) -> bytes:
    """An Ethernet frame with an 802.1ad service tag and an 802.1Q customer tag around an IPv4/IPv6 packet."""
    ethertype = 0x0800 if ip_packet[0] >> 4 == 4 else 0x86DD
    return MAC_B + MAC_A + vlan_tags(ip_packet, ethertype, [(tpid, outer_vid), (0x8100, inner_vid)])


def mpls(ip_packet: bytes, labels: tuple[int, ...] = (100, 200), ttl: int = 64) -> bytes:
    """An MPLS label stack (bottom-of-stack bit on the last label) in front of *ip_packet*."""
    out = b""
    for i, label in enumerate(labels):
        out += struct.pack("!I", label << 12 | (1 << 8 if i == len(labels) - 1 else 0) | ttl)
    return out + ip_packet


def ipv4(payload: bytes, proto: int, src: str = OUTER_V4[0], dst: str = OUTER_V4[1], ident: int = 1) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return head[:10] + struct.pack("!H", checksum(head)) + head[12:] + payload


def ipv6(payload: bytes, next_header: int, src: str = OUTER_V6[0], dst: str = OUTER_V6[1]) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, ipaddress.IPv6Address(src).packed,
                       ipaddress.IPv6Address(dst).packed) + payload


def udp(payload: bytes, sport: int, dport: int) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def gre(payload: bytes, proto: int, checksum_field: bool = False, key: int | None = None,
        seq: int | None = None) -> bytes:
    """A GRE header (RFC 2784 with the RFC 2890 key and sequence number)."""
    flags = (0x8000 if checksum_field else 0) | (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    opt = b""
    if key is not None:
        opt += struct.pack("!I", key)
    if seq is not None:
        opt += struct.pack("!I", seq)
    if checksum_field:
        body = struct.pack("!HH", flags, proto) + b"\x00\x00\x00\x00" + opt + payload
        return body[:4] + struct.pack("!HH", checksum(body), 0) + body[8:]
    return struct.pack("!HH", flags, proto) + opt + payload


def vxlan(frame: bytes, vni: int = 42) -> bytes:
    return struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + frame


def gtpu(ip_packet: bytes, teid: int = 0x1234, seq: int | None = None, extensions: tuple[bytes, ...] = (),
         message_type: int = 0xFF) -> bytes:
    """A GTP-U v1 header; *extensions*: each extension header's content (2 + 4k bytes: the length and next-type
    bytes are added), e.g. a PDU session container."""
    flags = 0x30 | (0x02 if seq is not None else 0) | (0x04 if extensions else 0)
    opt = b""
    if seq is not None or extensions:
        first = 0x85 if extensions else 0
        opt = struct.pack("!HBB", seq or 0, 0, first)
        for i, content in enumerate(extensions):
            body = content + b"\x00" * ((-(len(content) + 2)) % 4)
            nxt = 0x85 if i + 1 < len(extensions) else 0
            opt += bytes([(len(body) + 2) // 4]) + body + bytes([nxt])
    payload = opt + ip_packet
    return struct.pack("!BBHI", flags, message_type, len(payload), teid) + payload


def ipv4_to_ipv6(ip_packet: bytes, prefix: str = "2001:db8:2::") -> bytes:
    """An IPv4 packet carrying TCP as IPv6 (addresses mapped under *prefix*, TCP checksum recomputed)."""
    ihl = (ip_packet[0] & 0x0F) * 4
    total = (ip_packet[2] << 8) | ip_packet[3]
    segment = bytearray(ip_packet[ihl:total])
    src, dst = (ipaddress.IPv6Address(prefix).packed[:12] + ip_packet[i:i + 4] for i in (12, 16))
    segment[16:18] = b"\x00\x00"
    pseudo = src + dst + struct.pack("!IxxxB", len(segment), ip_packet[9])
    segment[16:18] = struct.pack("!H", checksum(pseudo + bytes(segment)))
    return struct.pack("!IHBB16s16s", 6 << 28, len(segment), ip_packet[9], ip_packet[8], src, dst) + bytes(segment)


def wrap(kind: str, frame: bytes) -> bytes:
    """The Ethernet/IPv4 *frame* (untagged) with its IP packet carried by tunnel *kind* (see KINDS)."""
    packet = frame[14:]
    if kind == "qinq":
        return qinq(packet)
    if kind == "mpls":
        return ethernet(mpls(packet), 0x8847)
    if kind == "gre":
        return ethernet(ipv4(gre(packet, 0x0800, checksum_field=True, key=7, seq=1), 47), 0x0800)
    if kind == "gre_eth":
        return ethernet(ipv4(gre(frame, 0x6558, key=9), 47), 0x0800)
    if kind == "vxlan":
        return ethernet(ipv4(udp(vxlan(frame), 49152, 4789), 17), 0x0800)
    if kind == "gtpu":
        return ethernet(ipv4(udp(gtpu(packet, seq=1, extensions=(b"\x00\x09",)), 2152, 2152), 17), 0x0800)
    if kind == "gtpu_qinq":
        return qinq(ipv4(udp(gtpu(packet, seq=5, extensions=(b"\x10\x01",)), 2152, 2152), 17))
    if kind == "ipip":
        return ethernet(ipv4(packet, 4), 0x0800)
    if kind == "6in4":
        return ethernet(ipv4(ipv4_to_ipv6(packet), 41), 0x0800)
    if kind == "6in6":
        return ethernet(ipv6(ipv4_to_ipv6(packet), 41), 0x86DD)
    raise ValueError(kind)


KINDS = ("qinq", "mpls", "gre", "gre_eth", "vxlan", "gtpu", "gtpu_qinq", "ipip", "6in4", "6in6")
