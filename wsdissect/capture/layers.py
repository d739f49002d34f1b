"""Link, IP and TCP headers parsed by offset from raw packet bytes (no scapy ``Packet`` on the hot path).

Contract: ``parse_tcp(linktype, data)`` returns ``None`` for packets that are not TCP over IP (ARP, UDP...),
a :class:`Malformed` for a header that cannot be read, or a :class:`TcpSegment`.  (The optional C parser builds
the same TcpSegment for the common packets and hands the others to :func:`parse_tcp`: :func:`tcp_parser` gives the
function to use; ``speedups.parse_tcp`` returns the same fields as a plain tuple, or False, for tests.)

``payload_len`` comes from the IP header, so it may exceed what was captured (snaplen); Ethernet padding is
excluded.  IPv4 fragments are reassembled by :class:`IpDefragmenter` before TCP parsing.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional, Union

from ..events import fast_constructor
from ..flow import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN  # noqa: F401 - defined in flow.py; re-exported for old imports
from ..speedups import speedups
from .tunnels import ETHERNET, MAX_NESTING, MPLS, Inner, TunnelMalformed, ip_payload_tunnel, mpls

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

LINKTYPE_NAMES = {
    0: "BSD loopback", 1: "Ethernet", 12: "Raw IP", 14: "Raw IP", 101: "Raw IP", 108: "OpenBSD loopback",
    113: "Linux cooked-mode capture v1", 228: "Raw IPv4", 229: "Raw IPv6", 276: "Linux cooked-mode capture v2",
}
SUPPORTED_LINKTYPES = frozenset(LINKTYPE_NAMES)
#: where the IP header of an untagged, untunnelled packet starts, per link type (views draw other packets by layers)
PLAIN_L3 = {0: 4, 1: 14, 12: 0, 14: 0, 101: 0, 108: 4, 113: 16, 228: 0, 229: 0, 276: 20}

ETH_VLAN = frozenset({0x8100, 0x88A8, 0x9100})
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
ETH_MPLS = frozenset({0x8847, 0x8848})
TUNNEL_PROTOCOLS = frozenset({4, 41, 47})  # IP protocols of tunnels: their IPv4 fragments are reassembled first
INNER_FRAGMENT = "IP fragment inside a tunnel (not reassembled)"
IPV6_EXT = frozenset({0, 43, 60, 135, 139, 140})  # hop-by-hop, routing, dest opts, mobility, HIP, shim6
IPV6_FRAGMENT, IPV6_AH = 44, 51
BSD_AF_INET6 = frozenset({24, 28, 30})

_tcp = struct.Struct("!HHIIBBH")
_ip4 = struct.Struct("!BxHHHBB")


@dataclass(frozen=True, slots=True)
class TcpSegment:
    """The IP and TCP header fields of one packet (slotted: its fields are read as attributes on the per-packet
    path; the C parser fills the slots itself)."""

    ip_version: int
    src: bytes  # address bytes (4 or 16)
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload_start: int  # offset of the TCP payload in the packet
    payload_len: int  # from the IP header (may exceed what was captured)
    l3_offset: int
    tcp_offset: int


_new_segment = fast_constructor(TcpSegment)


class Malformed(str):
    """A reason why a packet's headers could not be read (a ``str`` so it is cheap to test and show)."""


def l3_offset(linktype: int, data: bytes) -> Union[int, None, Malformed]:
    """Offset of the IP header, None if the packet is not IP, Malformed if the link header is cut."""
    if linktype == LINKTYPE_ETHERNET:
        return ethernet_l3(data, 0)
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return Malformed("Linux cooked header cut short")
        etype = (data[14] << 8) | data[15]
        return 16 if etype in (ETH_IPV4, ETH_IPV6) else None
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return Malformed("Linux cooked v2 header cut short")
        etype = (data[0] << 8) | data[1]
        return 20 if etype in (ETH_IPV4, ETH_IPV6) else None
    if linktype in (LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return 0
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(data) < 4:
            return Malformed("loopback header cut short")
        fam_le = int.from_bytes(data[:4], "little")
        fam_be = int.from_bytes(data[:4], "big")
        if 2 in (fam_le, fam_be) or fam_le in BSD_AF_INET6 or fam_be in BSD_AF_INET6:
            return 4
        return None
    return None


def ethernet_l3(data: bytes, off: int) -> Union[int, None, Malformed, TunnelMalformed]:
    """Offset of the IP header of the Ethernet frame at *off* (after VLAN/QinQ tags and an MPLS label stack), None
    if it is not IP, Malformed if the header is cut (TunnelMalformed for a cut label stack)."""
    at = off + 12
    n = len(data)
    nested = 0
    while True:
        if n < at + 2:
            return Malformed("Ethernet header cut short")
        etype = (data[at] << 8) | data[at + 1]
        if etype in ETH_VLAN:
            at += 4
            continue
        if etype == ETH_IPV4 or etype == ETH_IPV6:
            return at + 2
        if etype in ETH_MPLS:
            inner = mpls(data, at + 2)
            if inner.__class__ is not Inner or inner.kind != ETHERNET:
                return inner.offset if inner.__class__ is Inner else inner
            nested += 1  # Ethernet over an MPLS pseudowire: its own header follows
            if nested > MAX_NESTING:
                return TunnelMalformed(f"more than {MAX_NESTING} tunnels nested")
            at = inner.offset + 12
            continue
        return None


def parse_tcp(linktype: int, data: bytes, l3: Optional[int] = None, depth: int = 0):
    """Parse IP and TCP headers, through tunnels (*depth*: tunnels already entered); see the module docstring for
    the result (a tunnel header that cannot be followed gives a :class:`~wsdissect.capture.tunnels.TunnelMalformed`,
    a fragment inside a tunnel the Malformed :data:`INNER_FRAGMENT`)."""
    if l3 is None and linktype == 1 and data[12:14] == b"\x08\x00":
        l3 = 14  # the common case: untagged Ethernet + IPv4
    if l3 is None:
        l3 = l3_offset(linktype, data)
        if l3.__class__ is not int:
            return l3
    n = len(data)
    if n <= l3:
        return Malformed("no IP header")
    ver = data[l3] >> 4
    if ver == 4:
        if n < l3 + 20:
            return Malformed("IPv4 header cut short")
        vihl, total, _ident, frag, _ttl, proto = _ip4.unpack_from(data, l3)
        ihl = (vihl & 0x0F) * 4
        if ihl < 20 or total < ihl:
            return Malformed("bad IPv4 header length")
        if frag & 0x3FFF:
            if proto == 6 or proto in TUNNEL_PROTOCOLS:
                return Malformed("IPv4 fragment")  # callers reassemble first (IpDefragmenter)
            return None
        if proto != 6:
            return _tunnelled(linktype, data, proto, l3 + ihl, l3 + total, depth)
        src, dst = data[l3 + 12:l3 + 16], data[l3 + 16:l3 + 20]
        t = l3 + ihl
        ip_end = l3 + total
    elif ver == 6:
        if n < l3 + 40:
            return Malformed("IPv6 header cut short")
        plen = (data[l3 + 4] << 8) | data[l3 + 5]
        nh = data[l3 + 6]
        src, dst = data[l3 + 8:l3 + 24], data[l3 + 24:l3 + 40]
        ip_end = l3 + 40 + plen
        t = l3 + 40
        if nh != 6:
            found = _ipv6_payload(data, t, nh)
            if found.__class__ is Malformed:
                return found
            nh, t = found
            if nh != 6:
                return _tunnelled(linktype, data, nh, t, ip_end, depth)
    else:
        return Malformed(f"IP version {ver}")
    if n < t + 20:
        return Malformed("TCP header cut short")
    sport, dport, seq, ack, doff, flags, win = _tcp.unpack_from(data, t)
    hl = (doff >> 4) * 4
    if hl < 20:
        return Malformed("bad TCP header length")
    start = t + hl
    plen = ip_end - start
    if plen < 0:
        return Malformed("TCP header longer than the IP payload")
    return _new_segment(ip_version=ver, src=src, dst=dst, sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
                        window=win, payload_start=start, payload_len=plen, l3_offset=l3, tcp_offset=t)


def _ipv6_payload(data: bytes, t: int, nh: int) -> tuple[int, int] | Malformed:
    """Walk IPv6 extension headers from offset *t* (next header *nh*): ``(protocol, offset)`` of the payload."""
    n = len(data)
    while True:
        if nh in IPV6_EXT:
            if n < t + 2:
                return Malformed("IPv6 extension header cut short")
            nh, t = data[t], t + (data[t + 1] + 1) * 8
        elif nh == IPV6_AH:
            if n < t + 2:
                return Malformed("IPv6 AH header cut short")
            nh, t = data[t], t + (data[t + 1] + 2) * 4
        elif nh == IPV6_FRAGMENT:
            if n < t + 8:
                return Malformed("IPv6 fragment header cut short")
            if ((data[t + 2] << 8) | data[t + 3]) & 0xFFF9:
                return Malformed("IPv6 fragment")
            nh, t = data[t], t + 8
        else:
            return nh, t


def _tunnelled(linktype: int, data: bytes, proto: int, off: int, end: int, depth: int):
    """parse_tcp's result for the packet inside the tunnel whose header (IP protocol *proto*) is at *off*; None when
    the payload is no tunnel."""
    inner = ip_payload_tunnel(proto, data, off, end)
    if inner is None or inner.__class__ is TunnelMalformed:
        return inner
    if depth >= MAX_NESTING:
        return TunnelMalformed(f"more than {MAX_NESTING} tunnels nested")
    l3 = inner_l3(data, inner)
    if l3.__class__ is not int:
        return l3
    seg = parse_tcp(linktype, data, l3, depth + 1)
    if seg == "IPv4 fragment" or seg == "IPv6 fragment":
        return Malformed(INNER_FRAGMENT)
    return seg


def inner_l3(data: bytes, inner: Inner) -> Union[int, None, Malformed, TunnelMalformed]:
    """Where the IP header of a tunnel's payload starts (through its Ethernet header or MPLS labels)."""
    if inner.kind == ETHERNET:
        return ethernet_l3(data, inner.offset)
    if inner.kind == MPLS:
        below = mpls(data, inner.offset)
        if below.__class__ is not Inner:
            return below
        return ethernet_l3(data, below.offset) if below.kind == ETHERNET else below.offset
    return inner.offset


# the C parser builds each TcpSegment itself (no Python wrapping per packet); the rest goes to parse_tcp
_parse_tcp_c = speedups.tcp_parser(TcpSegment, parse_tcp) if speedups is not None else None


def tcp_parser():
    """The function ``(linktype, data) -> parse_tcp's result`` to use per packet: the C parser (which hands the
    packets it does not take to :func:`parse_tcp`) when the speedups are there, else :func:`parse_tcp`."""
    return _parse_tcp_c if _parse_tcp_c is not None else parse_tcp


def parse_tcp_fast(linktype: int, data: bytes):
    """:func:`parse_tcp`, through the C parser for the common packets when it is there."""
    return tcp_parser()(linktype, data)


def ip_str(addr: bytes, _cache: dict = {}) -> str:  # noqa: B006 - deliberate memo
    """Printable IPv4/IPv6 address (IPv4 dotted-decimal as inet_ntop writes it; ``socket``, slow to import, only
    for IPv6)."""
    s = _cache.get(addr)
    if s is None:
        if len(addr) == 4:
            s = "%d.%d.%d.%d" % (addr[0], addr[1], addr[2], addr[3])
        else:
            import socket

            s = socket.inet_ntop(socket.AF_INET6, addr)
        if len(_cache) < 65536:
            _cache[addr] = s
    return s


class IpDefragmenter:
    """Reassemble IPv4 fragments of TCP packets into whole packets (bounded: ``max_pending`` datagrams).

    ``add(data, l3)`` returns the reassembled raw packet (link header kept, IP header rewritten
    as unfragmented) once all fragments are in, else None.
    """

    def __init__(self, max_pending: int = 1024):
        self.max_pending = max_pending
        self.pending: dict[tuple, dict] = {}

    def add(self, data: bytes, l3: int) -> Optional[bytes]:
        ihl = (data[l3] & 0x0F) * 4
        total = (data[l3 + 2] << 8) | data[l3 + 3]
        ident = data[l3 + 4:l3 + 6]
        frag = (data[l3 + 6] << 8) | data[l3 + 7]
        more, offset = bool(frag & 0x2000), (frag & 0x1FFF) * 8
        key = (data[l3 + 12:l3 + 20], ident, data[l3 + 9])
        entry = self.pending.get(key)
        if entry is None:
            if len(self.pending) >= self.max_pending:
                self.pending.pop(next(iter(self.pending)))
            entry = self.pending[key] = {"parts": {}, "end": None, "head": None}
        entry["parts"][offset] = data[l3 + ihl:l3 + total]
        if offset == 0:
            entry["head"] = data[:l3 + ihl]
        if not more:
            entry["end"] = offset + total - ihl
        if entry["end"] is None or entry["head"] is None:
            return None
        payload = bytearray()
        for off in sorted(entry["parts"]):
            part = entry["parts"][off]
            if off > len(payload):
                return None  # still a hole
            payload[off:off + len(part)] = part
        if len(payload) < entry["end"]:
            return None
        del self.pending[key]
        if l3 + len(entry["head"]) - l3 + entry["end"] > 0xFFFF + l3:
            return None  # larger than any IPv4 datagram: malformed fragments
        head = bytearray(entry["head"])
        new_total = len(head) - l3 + entry["end"]
        head[l3 + 2:l3 + 4] = new_total.to_bytes(2, "big")
        head[l3 + 6:l3 + 8] = b"\x00\x00"
        return bytes(head) + bytes(payload[:entry["end"]])


def tcp_window_scale(data: bytes, tcp_offset: int) -> int | None:
    """The window-scale shift from a SYN's TCP options, or None."""
    if len(data) < tcp_offset + 20:
        return None
    end = min(len(data), tcp_offset + (data[tcp_offset + 12] >> 4) * 4)
    i = tcp_offset + 20
    while i < end:
        kind = data[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end:
            break
        length = data[i + 1]
        if length < 2:
            break
        if kind == 3 and length == 3 and i + 2 < end:
            return min(data[i + 2], 14)
        i += length
    return None
