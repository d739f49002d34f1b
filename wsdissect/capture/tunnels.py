"""Tunnel headers tshark decodes by default, read by offset: MPLS label stacks, GRE, VXLAN and GTP-U.

Each decoder takes the packet bytes and the offset of its header (and, where the header says how long its payload
is, where the enclosing payload ends) and returns an :class:`Inner` (what follows the header and where, plus the
decoded fields for the detail tree), ``None`` when the header carries nothing decoded here (a GTP echo, a GRE
version 1 header), or a :class:`TunnelMalformed` reason when the header is cut short or inconsistent.  Nothing here
raises on any input.  IP-in-IP (protocol 4), IPv6-in-IPv4 (41) and IPv6-in-IPv6 have no header of their own: the
inner IP header follows the outer one (:func:`ip_in_ip`).

:mod:`wsdissect.capture.layers` follows these to the inner TCP segment (export and views); the views' layer walk
(:mod:`wsdissect.capture.describe`) labels them.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Union

ETHERNET, IP, MPLS = "eth", "ip", "mpls"  # what follows a tunnel header
VXLAN_PORT, GTPU_PORT = 4789, 2152
IP_IN_IP = frozenset({4, 41})  # IPv4 and IPv6 as the next header of an IP header
IPV6_IN_IP = 41
GRE_PROTO = 47
MAX_NESTING = 8  # tunnels inside tunnels followed at most (tunnel.malformed beyond)
ETH_TEB, ETH_IPV4, ETH_IPV6, ETH_MPLS = 0x6558, 0x0800, 0x86DD, 0x8847
GRE_INNER = {ETH_TEB: ETHERNET, ETH_IPV4: IP, ETH_IPV6: IP, ETH_MPLS: MPLS}
MPLS_RESERVED = {0: "IPv4 Explicit-Null", 1: "Router Alert", 2: "IPv6 Explicit-Null", 3: "Implicit-Null",
                 7: "Entropy Label Indicator (ELI)", 13: "Generic Associated Channel Label (GAL)", 14: "OAM Alert"}
GTP_G_PDU = 0xFF
GTP_MESSAGES = {1: "Echo request", 2: "Echo response", 26: "Error indication", 31: "Supported extension headers "
                "notification", 254: "End marker", 255: "T-PDU"}


class TunnelMalformed(str):
    """Why a tunnel header could not be followed (cut short or inconsistent): reported as ``tunnel.malformed``."""


class Inner(NamedTuple):
    """A tunnel header's result: what follows it (:data:`ETHERNET`, :data:`IP` or :data:`MPLS`) and where."""

    kind: str
    offset: int
    protocol: str  # the display filter's protocol name: "mpls", "gre", "vxlan", "gtp"
    label: str  # Wireshark's tree line for the header
    lines: tuple[str, ...] = ()  # its fields, as Wireshark labels them
    values: tuple[tuple[str, int], ...] = ()  # its display-filter fields: (("vxlan.vni", 42),)


Result = Union[Inner, TunnelMalformed, None]


def mpls(data: bytes, off: int) -> Result:
    """An MPLS label stack from *off* to its bottom entry; the payload is guessed by its first nibble as Wireshark
    does: 4 IPv4, 6 IPv6, 0 a pseudowire control word and an Ethernet frame; anything else is not decoded (None)."""
    n = len(data)
    lines = []
    while True:
        if n < off + 4:
            return TunnelMalformed("MPLS label stack cut short")
        entry = int.from_bytes(data[off:off + 4], "big")
        label, exp, bottom, ttl = entry >> 12, (entry >> 9) & 7, (entry >> 8) & 1, entry & 0xFF
        name = f" ({MPLS_RESERVED.get(label, 'Reserved - Unknown')})" if label < 16 else ""
        lines.append(f"MPLS Label: {label}{name}, Exp: {exp}, S: {bottom}, TTL: {ttl}")
        off += 4
        if bottom:
            break
        if len(lines) > 64:
            return TunnelMalformed("MPLS label stack without a bottom entry")
    if n <= off or data[off] >> 4 not in (0, 4, 6) or label in (13, 14):  # GAL, OAM alert: no IP packet
        return None
    if data[off] >> 4 == 0:  # a pseudowire control word, then Ethernet (Wireshark's default guess)
        return Inner(ETHERNET, off + 4, "mpls", "MultiProtocol Label Switching Header, " + lines[-1][5:], tuple(lines))
    return Inner(IP, off, "mpls", "MultiProtocol Label Switching Header, " + lines[-1][5:],
                 tuple(lines))


def gre(data: bytes, off: int) -> Result:
    """A GRE header (RFC 2784/2890: optional checksum, key and sequence number) carrying IPv4, IPv6, MPLS or
    Ethernet (transparent Ethernet bridging, 0x6558)."""
    if len(data) < off + 4:
        return TunnelMalformed("GRE header cut short")
    flags = (data[off] << 8) | data[off + 1]
    ptype = (data[off + 2] << 8) | data[off + 3]
    kind = GRE_INNER.get(ptype)
    if flags & 7 or flags & 0x4000 or kind is None:  # version 1 (PPTP), source routing, other payloads
        return None
    size = 4 + 4 * (bool(flags & 0x8000) + bool(flags & 0x2000) + bool(flags & 0x1000))
    if len(data) < off + size:
        return TunnelMalformed("GRE header cut short (optional fields)")
    lines = [f"Flags and Version: 0x{flags:04x}", f"Protocol Type: {_GRE_NAMES[ptype]} (0x{ptype:04x})"]
    at = off + 4
    if flags & 0x8000:
        lines.append(f"Checksum: 0x{data[at]:02x}{data[at + 1]:02x}")
        at += 4
    values: tuple = ()
    if flags & 0x2000:
        key = int.from_bytes(data[at:at + 4], "big")
        lines.append(f"Key: 0x{key:08x}")
        values = (("gre.key", key),)
        at += 4
    if flags & 0x1000:
        lines.append(f"Sequence Number: {int.from_bytes(data[at:at + 4], 'big')}")
    label = f"Generic Routing Encapsulation ({_GRE_NAMES[ptype]})"
    return Inner(kind, off + size, "gre", label, tuple(lines), values)


_GRE_NAMES = {ETH_TEB: "Transparent Ethernet bridging", ETH_IPV4: "IP", ETH_IPV6: "IPv6", ETH_MPLS: "MPLS label switched packet"}


def vxlan(data: bytes, off: int) -> Result:
    """A VXLAN header (RFC 7348): 8 bytes, then an Ethernet frame."""
    if len(data) < off + 8:
        return TunnelMalformed("VXLAN header cut short")
    flags = (data[off] << 8) | data[off + 1]
    vni = int.from_bytes(data[off + 4:off + 7], "big")
    lines = (f"Flags: 0x{flags:04x}", f"VXLAN Network Identifier (VNI): {vni}")
    return Inner(ETHERNET, off + 8, "vxlan", "Virtual eXtensible Local Area Network", lines, (("vxlan.vni", vni),))


def gtpu(data: bytes, off: int, end: int) -> Result:
    """A GTP-U header (3GPP TS 29.281): version 1, with the optional sequence number, N-PDU number and extension
    headers; a G-PDU carries an IP packet, other messages (echo, end marker...) carry none (None).  *end*: where
    the UDP payload ends."""
    n = min(len(data), end)
    if n < off + 8:
        return TunnelMalformed("GTP-U header cut short")
    flags, mtype = data[off], data[off + 1]
    length = (data[off + 2] << 8) | data[off + 3]
    if flags >> 5 != 1 or not flags & 0x10:
        return None  # GTP' or GTPv2 on this port: not a tunnel
    teid = int.from_bytes(data[off + 4:off + 8], "big")
    lines = [f"Flags: 0x{flags:02x}", f"Message Type: {GTP_MESSAGES.get(mtype, 'Unknown')} (0x{mtype:02x})",
             f"Length: {length}", f"TEID: 0x{teid:08x} ({teid})"]
    at = off + 8
    if flags & 0x07:
        at = _gtp_optional(data, at, n, lines)
        if at.__class__ is TunnelMalformed:
            return at
    if off + 8 + length < at:
        return TunnelMalformed(f"GTP-U length {length} shorter than its own header")
    if mtype != GTP_G_PDU:
        return None
    if n <= at:
        return TunnelMalformed("GTP-U G-PDU without a payload")
    return Inner(IP, at, "gtp", "GPRS Tunneling Protocol", tuple(lines), (("gtp.teid", teid),))


def _gtp_optional(data: bytes, at: int, n: int, lines: list) -> Union[int, TunnelMalformed]:
    """The sequence number, N-PDU number and extension headers after the mandatory GTP-U header."""
    if n < at + 4:
        return TunnelMalformed("GTP-U optional fields cut short")
    lines.append(f"Sequence number: 0x{(data[at] << 8) | data[at + 1]:04x}")
    lines.append(f"N-PDU Number: 0x{data[at + 2]:02x}")
    nxt = data[at + 3]
    at += 4
    while nxt:
        if n < at + 1:
            return TunnelMalformed("GTP-U extension header cut short")
        size = data[at] * 4
        if size == 0:
            return TunnelMalformed("GTP-U extension header of length 0")
        if n < at + size:
            return TunnelMalformed("GTP-U extension header cut short")
        lines.append(f"Extension header (type 0x{nxt:02x}, {size} bytes)")
        nxt = data[at + size - 1]
        at += size
    return at


def ip_in_ip(proto: int, data: bytes, off: int) -> Result:
    """The IP header inside IP (protocol 4 or 41): it follows the outer header; its version must match."""
    if len(data) <= off:
        return TunnelMalformed("IP-in-IP: inner header missing")
    want = 6 if proto == IPV6_IN_IP else 4
    if data[off] >> 4 != want:
        return TunnelMalformed(f"IP-in-IP: inner header is not IPv{want}")
    return Inner(IP, off, "ip", "", ())


def udp_tunnel(data: bytes, off: int, end: int) -> Result:
    """The tunnel of a UDP datagram whose header is at *off* (VXLAN on 4789, GTP-U on 2152), or None."""
    if len(data) < off + 8:
        return None  # a cut UDP header is not known to be a tunnel
    dport = (data[off + 2] << 8) | data[off + 3]
    if dport == VXLAN_PORT:
        return vxlan(data, off + 8)
    sport = (data[off] << 8) | data[off + 1]
    if GTPU_PORT in (dport, sport):
        return gtpu(data, off + 8, end)
    if sport == VXLAN_PORT:
        return vxlan(data, off + 8)
    return None


def ip_payload_tunnel(proto: int, data: bytes, off: int, end: int) -> Optional[Result]:
    """The tunnel an IP payload of protocol *proto* at *off* (ending at *end*) is, or None when it is none."""
    if proto == 17:
        return udp_tunnel(data, off, end)
    if proto in IP_IN_IP:
        return ip_in_ip(proto, data, off)
    if proto == GRE_PROTO:
        return gre(data, off)
    return None
