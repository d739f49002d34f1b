"""Every header of a packet as tshark's views show it (views only: export never calls this).

:class:`PacketDescriber` walks a packet from its link layer through VLAN/QinQ tags, MPLS labels, IP, and the
tunnels of :mod:`wsdissect.capture.tunnels` down to the innermost protocol, and returns a :class:`Description`: the
:class:`~wsdissect.events.Layer` of each header (labels and display-filter values), the Protocol and Info columns and
the Source/Destination (innermost IP addresses, or MAC addresses for a packet that is not IP).  For a TCP packet the
walk stops at the TCP header (the TCP layer is drawn from the packet's own fields).  Nothing here raises.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

from ..events import Layer
from .layers import ip_str
from . import protocols
from .protocols import Top, mac
from .tunnels import ETHERNET, GTPU_PORT, MAX_NESTING, MPLS, TunnelMalformed, ip_payload_tunnel, mpls

ETHERTYPES = {0x0800: "IPv4", 0x86DD: "IPv6", 0x0806: "ARP", 0x88CC: "LLDP", 0x8847: "MPLS", 0x8848: "MPLS",
              0x88B5: "Local Experimental Ethertype 1", 0x88B6: "Local Experimental Ethertype 2", 0x888E: "802.1X Authentication",
              0x8863: "PPPoE Discovery", 0x8864: "PPPoE Session", 0x88F7: "PTPv2 over Ethernet (IEEE1588)"}
IP_PROTOCOLS = {0: "IPv6 Hop-by-Hop Option", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP", 41: "IPv6",
                43: "IPv6 Routing", 44: "IPv6 Fragment", 47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6",
                59: "IPv6 No Next Header", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP"}
LINK_LAYERS = {1: "Ethernet II", 113: "Linux cooked capture v1", 276: "Linux cooked capture v2", 0: "Null/Loopback",
               108: "Null/Loopback"}
RAW_IP = frozenset({12, 14, 101, 228, 229})
#: UDP services tshark names by port (QUIC on 443 is not decoded: listed as UDP)
UDP_PORTS = {53: protocols.dns, 5353: lambda d, o, e: protocols.dns(d, o, e, "MDNS"),
             5355: lambda d, o, e: protocols.dns(d, o, e, "LLMNR"), 67: protocols.dhcp, 68: protocols.dhcp,
             123: protocols.ntp, 1900: protocols.ssdp}


class Description(NamedTuple):
    """A packet's headers and columns (see the module docstring)."""

    layers: tuple[Layer, ...]
    protocol: str
    info: str
    src: str
    dst: str
    ip_version: int  # of the innermost IP header, 0 when there is none
    l3_offset: int  # where the innermost IP header starts (0 when there is none)
    sport: int  # UDP ports, 0 otherwise
    dport: int


def _ip(b: bytes) -> str:
    return ip_str(b)  # (inet_ntop's text; ``socket`` is imported only for IPv6: start-up)


class _Walk:
    """One packet's walk: the layers so far and the columns of the innermost addresses."""

    def __init__(self, data: bytes, echo: dict) -> None:
        self.data = data
        self.echo = echo  # ICMP echo requests seen: (src, dst, id, seq) -> frame, for tshark's "(request in N)"
        self.frame = 0
        self.layers: list[Layer] = []
        self.src = self.dst = ""
        self.ip_version = self.l3 = self.sport = self.dport = self.ttl = self.depth = 0
        self.quoting = False  # inside the packet an ICMP error quotes

    def top(self, protocol: str, info: str) -> Top:
        return Top(protocol, info, None)

    def link(self, linktype: int) -> Top:
        d = self.data
        if linktype == 1:
            return self.ethernet(0)
        if linktype in RAW_IP:
            return self.ip(0, len(d))
        name = LINK_LAYERS.get(linktype)
        if name is None:
            return self.top("Unknown", f"link type {linktype}")
        if linktype == 113 and len(d) >= 16:
            self.layers.append(Layer("sll", name, 0, 16))
            self.src = mac(d[6:12]) if d[5] == 6 else ""  # the sender's address: tshark's Source of non-IP
            return self.ethertype((d[14] << 8) | d[15], 16)
        if linktype == 276 and len(d) >= 20:
            self.layers.append(Layer("sll", name, 0, 20))
            self.src = mac(d[12:18]) if d[11] == 6 else ""
            return self.ethertype((d[0] << 8) | d[1], 20)
        if linktype in (0, 108) and len(d) >= 4:
            self.layers.append(Layer("null", name, 0, 4))
            return self.ip(4, len(d))
        return self.top(name, "[Malformed Packet]")

    def ethernet(self, off: int) -> Top:
        d = self.data
        if len(d) < off + 14:
            return self.top("Ethernet", "[Malformed Packet]")
        dst, src = mac(d[off:off + 6]), mac(d[off + 6:off + 12])
        self.src, self.dst = src, dst
        self.layers.append(Layer("eth", f"Ethernet II, Src: {src} ({src}), Dst: {dst} ({dst})", off, off + 14,
                                 (f"Destination: {dst}", f"Source: {src}",
                                  f"Type: 0x{(d[off + 12] << 8) | d[off + 13]:04x}"), (("eth", True),)))
        return self.ethertype((d[off + 12] << 8) | d[off + 13], off + 14)

    def ethertype(self, etype: int, off: int) -> Top:
        d = self.data
        while etype in (0x8100, 0x88A8, 0x9100):
            if len(d) < off + 4:
                return self.top("VLAN", "[Malformed Packet]")
            tci, nxt = (d[off] << 8) | d[off + 1], (d[off + 2] << 8) | d[off + 3]
            if etype == 0x88A8:  # Wireshark's ieee8021ad, not vlan
                self.layers.append(Layer("ieee8021ad", f"IEEE 802.1ad, ID: {tci & 0xFFF}", off, off + 4,
                                         (f"Type: 0x{nxt:04x}",)))
            else:
                self.layers.append(Layer("vlan", f"802.1Q Virtual LAN, PRI: {tci >> 13}, DEI: {(tci >> 12) & 1}, "
                                         f"ID: {tci & 0xFFF}", off, off + 4, (f"Type: 0x{nxt:04x}",),
                                         (("vlan", True), ("vlan.id", tci & 0xFFF))))
            etype, off = nxt, off + 4
        end = len(d)
        if etype in (0x0800, 0x86DD):
            return self.ip(off, end)
        if etype in (0x8847, 0x8848):
            return self.tunnel(mpls(d, off), off, end, "MPLS")
        if etype == 0x0806:
            return protocols.arp(d, off, end)
        if etype == 0x88CC:
            return protocols.lldp(d, off, end)
        return self.top(f"0x{etype:04x}", ETHERTYPES.get(etype, "Ethernet II"))

    def ip(self, off: int, end: int) -> Top:
        d = self.data
        if len(d) <= off:
            return self.top("IP", "[Malformed Packet]")
        if d[off] >> 4 == 6:
            return self.ipv6(off)
        if d[off] >> 4 != 4 or len(d) < off + 20 or (d[off] & 15) < 5:
            return self.top("IPv4", "[Malformed Packet]")
        ihl, total, proto = (d[off] & 15) * 4, (d[off + 2] << 8) | d[off + 3], d[off + 9]
        self._addresses(4, off, d[off + 12:off + 16], d[off + 16:off + 20], d[off + 8])
        self.layers.append(Layer("ip", f"Internet Protocol Version 4, Src: {self.src}, Dst: {self.dst}", off,
                                 off + ihl, (f"Total Length: {total}", f"Time to Live: {d[off + 8]}",
                                             f"Protocol: {IP_PROTOCOLS.get(proto, 'Unknown')} ({proto})"),
                                 (("ip", True), ("ip.src", self.src), ("ip.dst", self.dst), ("ip.addr", self.src),
                                  ("ip.addr", self.dst), ("ip.proto", proto))))
        frag = (d[off + 6] << 8) | d[off + 7]
        if frag & 0x3FFF:
            ident = (d[off + 4] << 8) | d[off + 5]
            return self.top("IPv4", f"Fragmented IP protocol (proto={IP_PROTOCOLS.get(proto, 'Unknown')} {proto}, "
                                    f"off={(frag & 0x1FFF) * 8}, ID={ident:04x})")
        return self.transport(proto, off + ihl, max(off + ihl, min(len(d), off + total)))

    def ipv6(self, off: int) -> Top:
        d = self.data
        if len(d) < off + 40:
            return self.top("IPv6", "[Malformed Packet]")
        plen, nh = (d[off + 4] << 8) | d[off + 5], d[off + 6]
        self._addresses(6, off, d[off + 8:off + 24], d[off + 24:off + 40], d[off + 7])
        self.layers.append(Layer("ipv6", f"Internet Protocol Version 6, Src: {self.src}, Dst: {self.dst}", off,
                                 off + 40, (f"Payload Length: {plen}", f"Next Header: "
                                            f"{IP_PROTOCOLS.get(nh, 'Unknown')} ({nh})", f"Hop Limit: {d[off + 7]}"),
                                 (("ipv6", True), ("ipv6.src", self.src), ("ipv6.dst", self.dst),
                                  ("ipv6.addr", self.src), ("ipv6.addr", self.dst), ("ipv6.nxt", nh))))
        at = off + 40
        while nh in (0, 43, 60) and len(d) >= at + 2:  # extension headers
            nh, at = d[at], at + (d[at + 1] + 1) * 8
        return self.transport(nh, at, max(at, min(len(d), off + 40 + plen)))

    def _addresses(self, version: int, off: int, src: bytes, dst: bytes, ttl: int) -> None:
        self.ip_version, self.l3, self.ttl = version, off, ttl
        self.src, self.dst = _ip(src), _ip(dst)

    def transport(self, proto: int, off: int, end: int) -> Top:
        d = self.data
        if proto == 6:
            return self.top("TCP", "")
        if proto == 17:
            return self.udp(off, end)
        if proto in (4, 41, 47):
            return self.tunnel(ip_payload_tunnel(proto, d, off, end), off, end, IP_PROTOCOLS[proto])
        if proto == 1:
            return self.icmp(off, end)
        if proto == 58:
            return self.echo_pair(protocols.icmpv6(d, off, end, self.ttl), off, end, 128, 129)
        if proto == 2:
            return protocols.igmp(d, off, end)
        if proto == 50:
            return protocols.esp(d, off, end)
        name = IP_PROTOCOLS.get(proto)
        return self.top(name or f"IPv{self.ip_version}", name or f"Unknown ({proto})")

    def icmp(self, off: int, end: int) -> Top:
        top = self.echo_pair(protocols.icmp(self.data, off, end, self.ttl), off, end, 8, 0)
        if self.data[off] in (3, 4, 5, 11, 12) and end > off + 8 and not self.quoting:
            top = self.quoted(top, off + 8, end)
        return top

    def quoted(self, top: Top, off: int, end: int) -> Top:
        """*top* (an ICMP error) with the headers of the packet it quotes under it, as Wireshark nests them (their
        filter values count: ``udp`` is in a port unreachable); the packet's own columns stay.  A quote inside a
        quote is not followed."""
        kept = (self.src, self.dst, self.ip_version, self.l3, self.ttl, self.sport, self.dport)
        own, self.layers, self.quoting = self.layers, [], True
        inner = self.ip(off, end)
        quoted = self.layers + ([inner.layer] if inner.layer is not None else [])
        self.layers, self.quoting = own, False
        self.src, self.dst, self.ip_version, self.l3, self.ttl, self.sport, self.dport = kept
        layer = dataclasses.replace(top.layer, lines=top.layer.lines + tuple(q.label for q in quoted),
                                    values=top.layer.values + tuple(v for q in quoted for v in q.values))
        return top._replace(layer=layer)

    def echo_pair(self, top: Top, off: int, end: int, request: int, reply: int) -> Top:
        """An echo request is remembered; its reply says "(request in N)" as tshark's single pass does."""
        d = self.data
        if end < off + 8 or d[off] not in (request, reply):
            return top
        ident = d[off + 4:off + 8]
        if d[off] == request:
            if len(self.echo) < 65536:
                self.echo[(self.src, self.dst, request, ident)] = self.frame
            return top
        asked = self.echo.get((self.dst, self.src, request, ident))
        return top if asked is None else top._replace(info=f"{top.info} (request in {asked})")

    def udp(self, off: int, end: int) -> Top:
        d = self.data
        if len(d) < off + 8:
            return self.top("UDP", "[Malformed Packet]")
        sport, dport, length = (d[off] << 8) | d[off + 1], (d[off + 2] << 8) | d[off + 3], (d[off + 4] << 8) | d[off + 5]
        self.sport, self.dport = sport, dport
        self.layers.append(Layer("udp", f"User Datagram Protocol, Src Port: {sport}, Dst Port: {dport}", off, off + 8,
                                 (f"Source Port: {sport}", f"Destination Port: {dport}", f"Length: {length}"),
                                 (("udp", True), ("udp.srcport", sport), ("udp.dstport", dport), ("udp.port", sport),
                                  ("udp.port", dport), ("udp.length", length))))
        inner = ip_payload_tunnel(17, d, off, end)
        if inner is not None:
            return self.tunnel(inner, off + 8, end, "UDP")
        if GTPU_PORT in (sport, dport):
            return protocols.gtp_message(d, off + 8, end)
        for port in sorted((sport, dport)):  # the lower port first, as tshark tries them
            decode = UDP_PORTS.get(port)
            if decode is not None:
                return decode(d, off + 8, end)
        return self.top("UDP", f"{sport} → {dport} Len={max(0, length - 8)}")

    def tunnel(self, inner, off: int, end: int, name: str) -> Top:
        """Into a tunnel's payload (*inner*: the tunnels module's result for the header at *off*; *name*: the
        protocol the packet is shown as when the header carries nothing decoded here)."""
        if inner is None:
            return self.top(name, name)
        if inner.__class__ is TunnelMalformed:
            return self.top("Tunnel", f"[Malformed Packet: {inner}]")
        self.depth += 1
        if self.depth > MAX_NESTING:
            return self.top("Tunnel", f"[more than {MAX_NESTING} tunnels nested]")
        if inner.protocol == "mpls":
            for i, line in enumerate(inner.lines):
                label = int.from_bytes(self.data[off + 4 * i:off + 4 * i + 3], "big") >> 4
                self.layers.append(Layer("mpls", "MultiProtocol Label Switching Header, " + line[5:], off + 4 * i,
                                         off + 4 * i + 4, (line,), (("mpls", True), ("mpls.label", label))))
        elif inner.label:
            self.layers.append(Layer(inner.protocol, inner.label, off, inner.offset, inner.lines,
                                     ((inner.protocol, True),) + inner.values))
        if inner.kind == ETHERNET:
            return self.ethernet(inner.offset)
        if inner.kind == MPLS:
            return self.tunnel(mpls(self.data, inner.offset), inner.offset, end, "MPLS")
        return self.ip(inner.offset, end)


class PacketDescriber:
    """Describes packets in capture order (it remembers ICMP echo requests for the replies' "(request in N)")."""

    def __init__(self) -> None:
        self.echo: dict = {}

    def describe(self, frame: int, linktype: int, data: bytes) -> Description:
        walk = _Walk(data, self.echo)
        walk.frame = frame
        try:
            top = walk.link(linktype)
        except (IndexError, ValueError) as e:  # a header this walk misread: shown, never raised
            top = Top("Malformed", f"[Malformed Packet: {type(e).__name__}]", None)
        layers = walk.layers + ([top.layer] if top.layer is not None else [])
        return Description(tuple(layers), top.protocol, top.info, walk.src, walk.dst, walk.ip_version, walk.l3,
                           walk.sport, walk.dport)
