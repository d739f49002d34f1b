"""The top protocols of packets that are not TCP, as tshark's packet list and tree name them: DNS, ICMP, ICMPv6
(with neighbour discovery), ARP, IGMP, LLDP, ESP.  Each function reads one header at an offset and returns a
:class:`Top` (Protocol column, Info column, the tree layer); nothing here raises on any input (a header cut short
is described as such).  Used by :mod:`wsdissect.capture.describe` (views only)."""
from __future__ import annotations

from typing import NamedTuple, Optional

from ..events import Layer
from .layers import ip_str
from .tunnels import GTP_MESSAGES

ICMP_TYPES = {0: "Echo (ping) reply", 3: "Destination unreachable", 4: "Source quench", 5: "Redirect",
              8: "Echo (ping) request", 9: "Router advertisement", 10: "Router solicitation", 11: "Time-to-live exceeded",
              12: "Parameter problem", 13: "Timestamp request", 14: "Timestamp reply"}
UNREACHABLE = {0: "Network unreachable", 1: "Host unreachable", 2: "Protocol unreachable", 3: "Port unreachable",
               4: "Fragmentation needed", 5: "Source route failed", 9: "Network administratively prohibited",
               10: "Host administratively prohibited", 13: "Communication administratively filtered"}
ICMPV6_TYPES = {1: "Destination Unreachable", 2: "Packet Too Big", 3: "Time Exceeded", 4: "Parameter Problem",
                128: "Echo (ping) request", 129: "Echo (ping) reply", 130: "Multicast Listener Query",
                131: "Multicast Listener Report", 133: "Router Solicitation", 134: "Router Advertisement",
                135: "Neighbor Solicitation", 136: "Neighbor Advertisement", 137: "Redirect",
                143: "Multicast Listener Report Message v2"}
DNS_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
             65: "HTTPS", 255: "ANY"}
DNS_RCODES = {1: "Format error", 2: "Server failure", 3: "No such name", 4: "Not implemented", 5: "Refused"}
IGMP_TYPES = {0x11: "Membership Query", 0x12: "Membership Report", 0x16: "Membership Report",
              0x17: "Leave Group", 0x22: "Membership Report / Join group"}
LLDP_CHASSIS = {1: "CO", 2: "IA", 3: "PC", 4: "MA", 5: "NA", 6: "IN", 7: "LA"}
LLDP_PORT = {1: "IA", 2: "PC", 3: "MA", 4: "NA", 5: "IN", 6: "AC", 7: "LA"}


class Top(NamedTuple):
    """The highest protocol of a packet: its Protocol and Info columns and its tree layer."""

    protocol: str
    info: str
    layer: Layer


def mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ip(b: bytes) -> str:
    return ip_str(b)  # (inet_ntop's text; ``socket`` is imported only for IPv6: start-up)


def cut(protocol: str, label: str, start: int, end: int, values: tuple = ()) -> Top:
    """A header too short to read."""
    return Top(protocol, "[Malformed Packet]", Layer(protocol.lower(), label, start, max(start, end),
                                                     ("[Malformed Packet]",), values))


def _type_code(data: bytes, off: int, protocol: str) -> tuple[int, int, tuple]:
    """An ICMP or ICMPv6 message's type and code, and its display-filter values."""
    kind, code = data[off], data[off + 1]
    return kind, code, ((protocol, True), (f"{protocol}.type", kind), (f"{protocol}.code", code))


def icmp(data: bytes, off: int, end: int, ttl: int) -> Top:
    """An ICMP message (RFC 792); echo id/seq as tshark prints them (seq big- and little-endian)."""
    label = "Internet Control Message Protocol"
    if end < off + 4:
        return cut("ICMP", label, off, end, (("icmp", True),))
    kind, code, values = _type_code(data, off, "icmp")
    name = ICMP_TYPES.get(kind, "Unknown ICMP (obsolete or malformed?)")
    lines = (f"Type: {kind} ({name})", f"Code: {code}")
    if kind in (0, 8) and end >= off + 8:
        ident = (data[off + 4] << 8) | data[off + 5]
        seq = (data[off + 6] << 8) | data[off + 7]
        info = f"{name:<21}id=0x{ident:04x}, seq={seq}/{int.from_bytes(data[off + 6:off + 8], 'little')}, ttl={ttl}"
        lines += (f"Identifier (BE): {ident} (0x{ident:04x})", f"Sequence Number (BE): {seq} (0x{seq:04x})")
    elif kind == 3:
        info = f"{name} ({UNREACHABLE.get(code, code)})"
    else:
        info = name
    return Top("ICMP", info, Layer("icmp", label, off, end, lines, values))


def icmpv6(data: bytes, off: int, end: int, hop_limit: int) -> Top:
    """An ICMPv6 message (RFC 4443), neighbour discovery (RFC 4861) with its link-layer address options."""
    label = "Internet Control Message Protocol v6"
    if end < off + 4:
        return cut("ICMPv6", label, off, end, (("icmpv6", True),))
    kind, code, values = _type_code(data, off, "icmpv6")
    name = ICMPV6_TYPES.get(kind, f"Unknown ({kind})")
    info = name
    if kind in (128, 129) and end >= off + 8:
        info += (f" id=0x{(data[off + 4] << 8) | data[off + 5]:04x}, seq={(data[off + 6] << 8) | data[off + 7]}, "
                 f"hop limit={hop_limit}")
    elif kind in (135, 136) and end >= off + 24:
        target, lladdr = _ip(data[off + 8:off + 24]), _nd_lladdr(data, off + 24, end, 1 if kind == 135 else 2)
        if kind == 135:
            info += f" for {target}" + (f" from {lladdr}" if lladdr else "")
        else:
            flags = [n for bit, n in ((0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")) if data[off + 4] & bit]
            info += f" {target}" + (f" ({', '.join(flags)})" if flags else "") + (f" is at {lladdr}" if lladdr else "")
    elif kind == 133:
        lladdr = _nd_lladdr(data, off + 8, end, 1)
        info += f" from {lladdr}" if lladdr else ""
    return Top("ICMPv6", info, Layer("icmpv6", label, off, end, (f"Type: {name} ({kind})", f"Code: {code}"), values))


def _nd_lladdr(data: bytes, at: int, end: int, want: int) -> Optional[str]:
    """The source (1) or target (2) link-layer address option of a neighbour discovery message."""
    while at + 2 <= end:
        kind, size = data[at], data[at + 1] * 8
        if size == 0:
            return None
        if kind == want and size >= 8 and at + 8 <= end:
            return mac(data[at + 2:at + 8])
        at += size
    return None


def arp(data: bytes, off: int, end: int) -> Top:
    """An ARP request or reply for IPv4 over Ethernet (RFC 826)."""
    label = "Address Resolution Protocol"
    if end < off + 28 or data[off + 4] != 6 or data[off + 5] != 4:
        return cut("ARP", label, off, end, (("arp", True),))
    op = (data[off + 6] << 8) | data[off + 7]
    sha, spa, tpa = mac(data[off + 8:off + 14]), _ip(data[off + 14:off + 18]), _ip(data[off + 24:off + 28])
    values = (("arp", True), ("arp.opcode", op), ("arp.src.proto_ipv4", spa), ("arp.dst.proto_ipv4", tpa))
    if op == 1 and spa == tpa:
        info, kind = f"Gratuitous ARP for {spa} (Request)", "request"
    elif op == 1:
        info, kind = f"Who has {tpa}? Tell {spa}", "request"
    elif op == 2:
        info, kind = f"{spa} is at {sha}", "reply"
    else:
        info, kind = f"ARP opcode {op}", f"opcode {op}"
    lines = (f"Opcode: {kind} ({op})", f"Sender MAC address: {sha}", f"Sender IP address: {spa}",
             f"Target MAC address: {mac(data[off + 18:off + 24])}", f"Target IP address: {tpa}")
    return Top("ARP", info, Layer("arp", f"{label} ({kind})", off, off + 28, lines, values))


def igmp(data: bytes, off: int, end: int) -> Top:
    """An IGMP message (v1/v2 RFC 2236, v3 reports RFC 3376)."""
    label = "Internet Group Management Protocol"
    if end < off + 8:
        return cut("IGMP", label, off, end, (("igmp", True),))
    kind = data[off]
    version = 3 if kind == 0x22 or kind == 0x11 and end - off > 8 else 1 if kind == 0x12 else 2
    group = _ip(data[off + 4:off + 8])
    name = IGMP_TYPES.get(kind, f"Unknown Type:0x{kind:02x}")
    info = name if kind == 0x22 else f"{name} group {group}" if group != "0.0.0.0" or kind != 0x11 else name
    values = (("igmp", True), ("igmp.type", kind), ("igmp.version", version))
    return Top(f"IGMPv{version}", info, Layer("igmp", label, off, end, (f"[IGMP Version: {version}]",
                                                                        f"Type: {name} (0x{kind:02x})"), values))


DNS_FLAVOURS = {"DNS": "Domain Name System", "MDNS": "Multicast Domain Name System",
                "LLMNR": "Link-local Multicast Name Resolution"}


def dns(data: bytes, off: int, end: int, protocol: str = "DNS") -> Top:
    """A DNS message (RFC 1035; mDNS RFC 6762 and LLMNR RFC 4795 as *protocol*): the questions, and the answers'
    A/AAAA/CNAME/PTR data as tshark lists them."""
    label = DNS_FLAVOURS[protocol]
    if end < off + 12:
        return cut(protocol, label, off, end, ((protocol.lower(), True),))
    ident, flags = (data[off] << 8) | data[off + 1], (data[off + 2] << 8) | data[off + 3]
    qd, an = (data[off + 4] << 8) | data[off + 5], (data[off + 6] << 8) | data[off + 7]
    response = bool(flags & 0x8000)
    parts = ["Standard query" + (" response" if response else ""), f"0x{ident:04x}"]
    if response and flags & 0xF:
        parts.append(DNS_RCODES.get(flags & 0xF, f"Unknown error ({flags & 0xF})"))
    values: list = [(protocol.lower(), True), ("dns.id", ident), ("dns.flags.response", response)]
    at = off + 12
    for _ in range(min(qd, 16)):
        name, at = _dns_name(data, at, off, end)
        if name is None or at + 4 > end:
            return cut(protocol, label, off, end, tuple(values))
        qtype = (data[at] << 8) | data[at + 1]
        parts += [DNS_TYPES.get(qtype, f"Unknown ({qtype})"), name]
        if protocol == "MDNS":  # the unicast-response bit of the question's class
            parts[-1] += ', "QU" question' if data[at + 2] & 0x80 else ', "QM" question'
        values.append(("dns.qry.name", name))
        at += 4
    for _ in range(min(an, 64) if response else 0):
        answer = _dns_answer(data, at, off, end)
        if answer is None:
            break
        text, at = answer
        parts.append(text)
    layer = Layer("dns", f"{label} ({'response' if response else 'query'})", off, end,
                  (f"Transaction ID: 0x{ident:04x}", f"Flags: 0x{flags:04x}", f"Questions: {qd}",
                   f"Answer RRs: {an}"), tuple(values))
    return Top(protocol, " ".join(parts), layer)


def _dns_answer(data: bytes, at: int, base: int, end: int) -> Optional[tuple[str, int]]:
    name, at = _dns_name(data, at, base, end)
    if name is None or at + 10 > end:
        return None
    rtype = (data[at] << 8) | data[at + 1]
    size = (data[at + 8] << 8) | data[at + 9]
    rdata = at + 10
    if rdata + size > end:
        return None
    text = DNS_TYPES.get(rtype, f"Unknown ({rtype})")
    if rtype in (1, 28) and size in (4, 16):
        text += " " + _ip(data[rdata:rdata + size])
    elif rtype in (2, 5, 12):
        target = _dns_name(data, rdata, base, end)[0]
        text += f" {target}" if target is not None else ""
    return text, rdata + size


def _dns_name(data: bytes, at: int, base: int, end: int) -> tuple[Optional[str], int]:
    """A (possibly compressed) domain name at *at*: (name, offset after it) or (None, at) when malformed."""
    labels: list[str] = []
    after, jumps = None, 0
    while at < end:
        size = data[at]
        if size == 0:
            return ".".join(labels) or "<Root>", after if after is not None else at + 1
        if size & 0xC0 == 0xC0:
            if at + 1 >= end or jumps > 32:
                return None, at
            after = at + 2 if after is None else after
            at, jumps = base + (((size & 0x3F) << 8) | data[at + 1]), jumps + 1
            continue
        if at + 1 + size > end:
            return None, at
        labels.append(data[at + 1:at + 1 + size].decode("ascii", "backslashreplace"))
        at += 1 + size
    return None, at


def lldp(data: bytes, off: int, end: int) -> Top:
    """An LLDPDU (IEEE 802.1AB): chassis ID, port ID, TTL and system name as tshark's Info shows them."""
    parts, at = [], off
    while at + 2 <= end:
        kind, size = data[at] >> 1, ((data[at] & 1) << 8) | data[at + 1]
        body = data[at + 2:min(at + 2 + size, end)]
        if kind == 0:
            break
        if kind in (1, 2) and body:
            names = LLDP_CHASSIS if kind == 1 else LLDP_PORT
            value = mac(body[1:]) if body[0] == (4 if kind == 1 else 3) else body[1:].decode("utf-8", "replace")
            parts.append(f"{names.get(body[0], 'Reserved')}/{value}")
        elif kind == 3 and len(body) >= 2:
            parts.append(str((body[0] << 8) | body[1]))
        elif kind == 5:
            parts.append("SysN=" + body.decode("utf-8", "replace"))
        at += 2 + size
    info = " ".join(parts) + " "
    return Top("LLDP", info, Layer("lldp", "Link Layer Discovery Protocol", off, end, (), (("lldp", True),)))


def esp(data: bytes, off: int, end: int) -> Top:
    label = "Encapsulating Security Payload"
    if end < off + 8:
        return cut("ESP", label, off, end, (("esp", True),))
    spi, seq = int.from_bytes(data[off:off + 4], "big"), int.from_bytes(data[off + 4:off + 8], "big")
    return Top("ESP", f"ESP (SPI=0x{spi:08x})", Layer("esp", label, off, end, (f"ESP SPI: 0x{spi:08x} ({spi})",
                                                                              f"ESP Sequence: {seq}"),
                                                      (("esp", True), ("esp.spi", spi))))


def gtp_message(data: bytes, off: int, end: int) -> Top:
    """A GTP message that carries no packet (echo, error indication, end marker...), named by its type."""
    label = "GPRS Tunneling Protocol"
    if end < off + 8:
        return cut("GTP", label, off, end, (("gtp", True),))
    kind = data[off + 1]
    name = GTP_MESSAGES.get(kind, f"Unknown message ({kind})")
    return Top("GTP", name, Layer("gtp", label, off, end, (f"Message Type: {name} (0x{kind:02x})",), (("gtp", True),)))


DHCP_TYPES = {1: "Discover", 2: "Offer", 3: "Request", 4: "Decline", 5: "ACK", 6: "NAK", 7: "Release", 8: "Inform"}
NTP_MODES = {0: "reserved", 1: "symmetric active", 2: "symmetric passive", 3: "client", 4: "server", 5: "broadcast",
             6: "reserved for NTP control message", 7: "reserved for private use"}


def dhcp(data: bytes, off: int, end: int) -> Top:
    """A DHCP message (RFC 2131): its type (option 53) and transaction ID."""
    label = "Dynamic Host Configuration Protocol"
    if end < off + 240 or data[off + 236:off + 240] != b"\x63\x82\x53\x63":
        return cut("DHCP", label, off, end, (("dhcp", True),))
    xid = int.from_bytes(data[off + 4:off + 8], "big")
    kind, at = None, off + 240
    while at + 2 <= end and data[at] != 255:
        if data[at] == 0:
            at += 1
            continue
        if data[at] == 53 and data[at + 1] >= 1 and at + 2 < end:
            kind = data[at + 2]
        at += 2 + data[at + 1]
    name = DHCP_TYPES.get(kind, "Unknown")
    info = f"DHCP {name:<8} - Transaction ID 0x{xid:08x}"
    return Top("DHCP", info, Layer("dhcp", f"{label} ({name})", off, end, (f"Transaction ID: 0x{xid:08x}",),
                                   (("dhcp", True),)))


def ntp(data: bytes, off: int, end: int) -> Top:
    """An NTP packet (RFC 5905): version and mode."""
    label = "Network Time Protocol"
    if end < off + 1:
        return cut("NTP", label, off, end, (("ntp", True),))
    version, mode = (data[off] >> 3) & 7, data[off] & 7
    info = f"NTP Version {version}, {NTP_MODES[mode]}"
    return Top("NTP", info, Layer("ntp", f"{label} ({info})", off, end, (), (("ntp", True),)))


def ssdp(data: bytes, off: int, end: int) -> Top:
    """An SSDP message (HTTP over UDP): its first line; its HTTP fields for the display filter."""
    head = data[off:end].split(b"\r\n\r\n", 1)[0].decode("utf-8", "backslashreplace").split("\r\n")
    line, values = head[0], [("ssdp", True)]  # tshark: http.* fields, but no http protocol
    words = line.split(" ", 2)
    if line.startswith("HTTP/") and len(words) >= 2 and words[1].isdigit():
        values += [("http.response", True), ("http.response.code", int(words[1]))]
    elif len(words) == 3:
        values += [("http.request", True), ("http.request.method", words[0]), ("http.request.uri", words[1]),
                   ("http.request.version", words[2])]
    values += [("http.host", h.split(":", 1)[1].strip()) for h in head[1:] if h.lower().startswith("host:")]
    return Top("SSDP", line, Layer("ssdp", "Simple Service Discovery Protocol", off, end, tuple(head),
                                   tuple(values)))
