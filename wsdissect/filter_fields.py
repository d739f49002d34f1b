"""Field values of one packet, read from wsdissect's events: the ``values(name)`` a display filter asks for.

:class:`PacketFields` takes a :class:`~wsdissect.events.Packet` and the events that packet produced (its
``WsFrame``, ``Message``, ``HttpRequest``, ``HttpResponse`` and ``Finding`` events; others are ignored) and answers
``values(name)`` for every name in :data:`wsdissect.fields.FIELDS` with a list (empty when the packet does not have
the field).  Values are computed on demand, so a filter pays only for the fields it reads.  Nothing here renders.
"""
from __future__ import annotations

from typing import Callable, Sequence

from .events import Finding, HttpRequest, HttpResponse, Message, Packet, TlsRecordSeen, WsFrame
from .fields import EXPERT_SEVERITY

TCP_ACK = 0x10
_NONE: tuple = ()
_TRUE = (True,)

#: Finding codes that are Wireshark TCP analysis flags (tcp.analysis.*).
TCP_ANALYSIS = {"tcp.retransmission": "tcp.analysis.retransmission", "tcp.overlap": "tcp.analysis.retransmission",
                "tcp.out_of_order": "tcp.analysis.out_of_order", "tcp.gap": "tcp.analysis.lost_segment"}
_BUCKETS = {WsFrame: "frames", Message: "messages", HttpRequest: "requests", HttpResponse: "responses",
            Finding: "findings", TlsRecordSeen: "tls_records"}


class PacketFields:
    """``values(name)`` for one packet.  *t0* is the capture's first timestamp (for ``frame.time_relative``)."""

    __slots__ = ("packet", "t0", "frames", "messages", "requests", "responses", "findings", "tls_records")

    def __init__(self, packet: Packet, events: Sequence, t0: float):
        self.packet = packet
        self.t0 = t0
        self.frames: list[WsFrame] = []
        self.messages: list[Message] = []
        self.requests: list[HttpRequest] = []
        self.responses: list[HttpResponse] = []
        self.findings: list[Finding] = []
        self.tls_records: list[TlsRecordSeen] = []
        for ev in events:
            bucket = _BUCKETS.get(ev.__class__)
            if bucket is not None:
                getattr(self, bucket).append(ev)

    def values(self, name: str) -> Sequence:
        """The values of field *name* in this packet (empty when absent or not a known field)."""
        extract = _EXTRACTORS.get(name)
        return extract(self) if extract is not None else _NONE


def _header(heads: list, name: str) -> list[str]:
    return [v for h in heads for k, v in h.headers if k.lower() == name]


def _close_code(frames: list[WsFrame]) -> list[int]:
    return [int.from_bytes(f.payload[:2], "big") for f in frames if f.opcode == 8 and len(f.payload) >= 2]


def _close_reason(frames: list[WsFrame]) -> list[str]:
    return [f.payload[2:].decode("utf-8", "replace") for f in frames if f.opcode == 8 and len(f.payload) > 2]


def _payloads(x: PacketFields) -> list[bytes]:
    """Each frame's unmasked payload, and each message ending here that was fragmented or compressed, whole."""
    out = [f.payload for f in x.frames]
    out += [m.payload for m in x.messages if m.fragments > 1 or m.compressed]
    return out


def _tcp_payload(x: PacketFields) -> Sequence:
    p = x.packet
    if not p.payload_len:
        return _NONE
    start = p.tcp_offset + (p.data[p.tcp_offset + 12] >> 4) * 4
    return [bytes(p.data[start:start + p.payload_len])]


def _analysis(x: PacketFields, name: str | None) -> Sequence:
    hit = any(f.code in TCP_ANALYSIS and (name is None or TCP_ANALYSIS[f.code] == name) for f in x.findings)
    return _TRUE if hit else _NONE


def _flag(bit: int) -> Callable[[PacketFields], Sequence]:
    return lambda x: [bool(x.packet.flags & bit)]


def _v4(get: Callable[[Packet], Sequence]) -> Callable[[PacketFields], Sequence]:
    return lambda x: get(x.packet) if x.packet.ip_version == 4 else _NONE


def _v6(get: Callable[[Packet], Sequence]) -> Callable[[PacketFields], Sequence]:
    return lambda x: get(x.packet) if x.packet.ip_version == 6 else _NONE


def _acked(get: Callable[[Packet], int]) -> Callable[[PacketFields], Sequence]:
    return lambda x: [get(x.packet)] if x.packet.flags & TCP_ACK else _NONE


def _units(x: PacketFields) -> list:
    """The application units of the messages ending in this packet."""
    return [u for m in x.messages if m.app for u in m.app]


def _layer_values(name: str) -> Callable[[PacketFields], Sequence]:
    """A field read from the packet's layers (tunnels, packets that are not TCP)."""
    return lambda x: [v for layer in x.packet.layers for k, v in layer.values if k == name]


def _layered(name: str, plain: Callable[[PacketFields], Sequence]) -> Callable[[PacketFields], Sequence]:
    """An IP field: from every IP header of a packet with layers (outer and inner, as Wireshark), else *plain*."""
    from_layers = _layer_values(name)
    return lambda x: from_layers(x) if x.packet.layers else plain(x)


def _also_layers(name: str, plain: Callable[[PacketFields], Sequence]) -> Callable[[PacketFields], Sequence]:
    """An HTTP field: from the packet's events, and from its layers (HTTP over UDP: SSDP)."""
    from_layers = _layer_values(name)
    return lambda x: [*plain(x), *from_layers(x)] if x.packet.layers else plain(x)


def _tcp_only(plain: Callable[[PacketFields], Sequence]) -> Callable[[PacketFields], Sequence]:
    """A TCP field: absent from packets that are not TCP."""
    return lambda x: plain(x) if x.packet.protocol is None else _NONE


def _unfilled(x: PacketFields) -> Sequence:
    return _NONE


#: How each field of wsdissect.fields.FIELDS is read (a test keeps the two tables in step).
_EXTRACTORS: dict[str, Callable[[PacketFields], Sequence]] = {
    "frame": lambda x: _TRUE,
    "frame.number": lambda x: [x.packet.frame],
    "frame.time_relative": lambda x: [x.packet.ts - x.t0],
    "frame.time_epoch": lambda x: [x.packet.ts],
    "frame.len": lambda x: [x.packet.wire_len],
    "frame.cap_len": lambda x: [x.packet.cap_len],
    "ip": _v4(lambda p: _TRUE),
    "ip.addr": _v4(lambda p: [p.src, p.dst]),
    "ip.src": _v4(lambda p: [p.src]),
    "ip.dst": _v4(lambda p: [p.dst]),
    "ip.proto": _v4(lambda p: [p.data[p.l3_offset + 9]]),
    "ipv6": _v6(lambda p: _TRUE),
    "ipv6.addr": _v6(lambda p: [p.src, p.dst]),
    "ipv6.src": _v6(lambda p: [p.src]),
    "ipv6.dst": _v6(lambda p: [p.dst]),
    "ipv6.nxt": _v6(lambda p: [p.data[p.l3_offset + 6]]),
    "tcp": lambda x: _TRUE,
    "tcp.port": lambda x: [x.packet.sport, x.packet.dport],
    "tcp.srcport": lambda x: [x.packet.sport],
    "tcp.dstport": lambda x: [x.packet.dport],
    "tcp.stream": lambda x: [x.packet.conn.index] if x.packet.conn is not None else _NONE,
    "tcp.len": lambda x: [x.packet.payload_len],
    "tcp.seq": lambda x: [x.packet.seq if x.packet.rel_seq is None else x.packet.rel_seq],
    "tcp.seq_raw": lambda x: [x.packet.seq],
    "tcp.ack": _acked(lambda p: p.ack if p.rel_ack is None else p.rel_ack),
    "tcp.ack_raw": _acked(lambda p: p.ack),
    "tcp.flags": lambda x: [x.packet.flags],
    "tcp.flags.fin": _flag(0x01),
    "tcp.flags.syn": _flag(0x02),
    "tcp.flags.reset": _flag(0x04),
    "tcp.flags.push": _flag(0x08),
    "tcp.flags.ack": _flag(0x10),
    "tcp.flags.urg": _flag(0x20),
    "tcp.window_size_value": lambda x: [x.packet.window],
    "tcp.payload": _tcp_payload,
    "tcp.analysis.flags": lambda x: _analysis(x, None),
    "tcp.analysis.retransmission": lambda x: _analysis(x, "tcp.analysis.retransmission"),
    "tcp.analysis.out_of_order": lambda x: _analysis(x, "tcp.analysis.out_of_order"),
    "tcp.analysis.lost_segment": lambda x: _analysis(x, "tcp.analysis.lost_segment"),
    "http": lambda x: _TRUE if x.requests or x.responses else _NONE,
    "http.request": lambda x: [True for _ in x.requests],
    "http.response": lambda x: [True for _ in x.responses],
    "http.request.method": lambda x: [r.method for r in x.requests],
    "http.request.uri": lambda x: [r.uri for r in x.requests],
    "http.request.version": lambda x: [r.version for r in x.requests],
    "http.response.code": lambda x: [r.status for r in x.responses],
    "http.response.phrase": lambda x: [r.reason for r in x.responses],
    "http.host": lambda x: _header(x.requests, "host"),
    "http.user_agent": lambda x: _header(x.requests, "user-agent"),
    "http.upgrade": lambda x: _header(x.requests, "upgrade") + _header(x.responses, "upgrade"),
    "websocket": lambda x: _TRUE if x.frames else _NONE,
    "websocket.fin": lambda x: [f.fin for f in x.frames],
    "websocket.rsv": lambda x: [f.rsv for f in x.frames],
    "websocket.opcode": lambda x: [f.opcode for f in x.frames],
    "websocket.mask": lambda x: [f.masked for f in x.frames],
    "websocket.payload_length": lambda x: [f.length_code for f in x.frames],
    "websocket.payload_length_ext_16": lambda x: [f.payload_len for f in x.frames if f.length_code == 126],
    "websocket.payload_length_ext_64": lambda x: [f.payload_len for f in x.frames if f.length_code == 127],
    "websocket.masking_key": lambda x: [f.mask_key for f in x.frames if f.mask_key is not None],
    "websocket.payload": _payloads,
    "websocket.payload.text": lambda x: [m.text for m in x.messages if m.text is not None],
    "websocket.payload.close.status_code": lambda x: _close_code(x.frames),
    "websocket.payload.close.reason": lambda x: _close_reason(x.frames),
    "websocket.payload.ping": lambda x: [f.payload for f in x.frames if f.opcode == 9],
    "websocket.payload.pong": lambda x: [f.payload for f in x.frames if f.opcode == 10],
    "_ws.expert": lambda x: _TRUE if x.findings else _NONE,
    "_ws.expert.severity": lambda x: [EXPERT_SEVERITY[f.severity] for f in x.findings],
    "_ws.expert.message": lambda x: [f.message for f in x.findings],
    "ws.finding": lambda x: [f.code for f in x.findings],
    "ws.app.protocol": lambda x: [u.protocol for u in _units(x)],
    "ws.app.kind": lambda x: [u.kind for u in _units(x)],
    "ws.app.name": lambda x: [u.name for u in _units(x) if u.name is not None],
    "tls": lambda x: _TRUE if any(r.frame == x.packet.frame for r in x.tls_records) else _NONE,
    "tls.handshake.extensions_server_name": lambda x: [r.server_name for r in x.tls_records
                                                       if r.server_name is not None and r.frame == x.packet.frame],
}

#: Fields of the headers only packets with layers have (UDP, ICMP, ARP, DNS, tunnels...): read from their layers.
LAYER_FIELDS = ("vlan", "vlan.id", "mpls", "mpls.label", "gre", "gre.key", "vxlan", "vxlan.vni", "gtp", "gtp.teid",
                "udp", "udp.port", "udp.srcport", "udp.dstport", "udp.length", "icmp", "icmp.type", "icmp.code",
                "icmpv6", "icmpv6.type", "icmpv6.code", "arp", "arp.opcode", "arp.src.proto_ipv4",
                "arp.dst.proto_ipv4", "igmp", "igmp.type", "dns", "dns.id", "dns.flags.response", "dns.qry.name",
                "mdns", "llmnr", "dhcp", "ntp", "ssdp",
                "lldp", "esp", "esp.spi")
for _name in list(_EXTRACTORS):
    if _name.startswith("http"):
        _EXTRACTORS[_name] = _also_layers(_name, _EXTRACTORS[_name])
    elif _name.startswith("tcp"):
        _EXTRACTORS[_name] = _tcp_only(_EXTRACTORS[_name])
    elif _name.startswith("ip"):
        _EXTRACTORS[_name] = _layered(_name, _EXTRACTORS[_name])
for _name in LAYER_FIELDS:
    _EXTRACTORS[_name] = _layer_values(_name)
_EXTRACTORS["eth"] = lambda x: _TRUE if x.packet.linktype == 1 else _NONE
