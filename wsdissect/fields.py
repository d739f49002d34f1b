"""The one table of field names wsdissect decodes: Wireshark's own names, types and labels, plus wsdissect's own.

Shared by the display filter (``-Y``), the detail tree and the exporters, so a field is spelled, typed and labelled
the same everywhere.  Names, types and labels follow tshark 4.0 (``tshark -G fields``); the fields Wireshark does not
have are marked ``wireshark=False``.  Value names (``value_names``) are Wireshark's value strings, usable in filters
(``websocket.opcode == "Ping"``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from .findings import Severity
from .rfc6455 import OPCODE_LABELS


class FieldType(enum.Enum):
    """What a field's values are (each maps to one Python type in the values a packet gives)."""

    UINT = "unsigned integer"  # int
    BOOL = "boolean"  # bool
    STRING = "character string"  # str
    BYTES = "byte sequence"  # bytes
    IPV4 = "IPv4 address"  # str, dotted quad
    IPV6 = "IPv6 address"  # str, as inet_ntop writes it
    FLOAT = "floating point"  # float
    TIME = "time offset"  # float seconds
    PROTOCOL = "protocol"  # presence only (the value is True)
    LABEL = "label"  # presence only, no value (Wireshark's FT_NONE)

    @property
    def has_value(self) -> bool:
        return self not in (FieldType.PROTOCOL, FieldType.LABEL)


@dataclass(frozen=True, slots=True)
class Field:
    """One filterable field."""

    name: str
    type: FieldType
    label: str  # Wireshark's label text (the tree shows "label: value")
    bits: int = 0  # width of an unsigned integer field (Wireshark refuses larger literals); 0: unbounded
    wireshark: bool = True  # False for wsdissect's own fields (ws.*)
    value_names: Mapping[int, str] = field(default_factory=dict)
    note: str = ""  # how wsdissect's value differs from Wireshark's, where it does

    @property
    def names_to_values(self) -> dict[str, int]:
        return {v: k for k, v in self.value_names.items()}


#: Wireshark's numeric expert severities (epan/proto.h PI_CHAT ... PI_ERROR) for wsdissect's severities.
EXPERT_SEVERITY = {Severity.CHAT: 0x00200000, Severity.NOTE: 0x00400000, Severity.WARNING: 0x00600000,
                   Severity.ERROR: 0x00800000}
_SEVERITY_NAMES = {0x00100000: "Comment", 0x00200000: "Chat", 0x00400000: "Note", 0x00600000: "Warning",
                   0x00800000: "Error"}
_CLOSE_CODE_NAMES = {1000: "Normal Closure", 1001: "Going Away", 1002: "Protocol error", 1003: "Unsupported Data",
                     1004: "---Reserved----", 1005: "No Status Rcvd", 1006: "Abnormal Closure",
                     1007: "Invalid frame payload data", 1008: "Policy Violation", 1009: "Message Too Big",
                     1010: "Mandatory Ext.", 1011: "Internal Server", 1015: "TLS handshake"}

_U, _B, _S, _BY, _V4, _V6, _T, _P, _L = (FieldType.UINT, FieldType.BOOL, FieldType.STRING, FieldType.BYTES,
                                          FieldType.IPV4, FieldType.IPV6, FieldType.TIME, FieldType.PROTOCOL,
                                          FieldType.LABEL)

_FIELDS = [
    Field("frame", _P, "Frame"),
    Field("frame.number", _U, "Frame Number", bits=32),
    Field("frame.time_relative", _T, "Time since reference or first frame"),
    Field("frame.time_epoch", _T, "Epoch Time"),
    Field("frame.len", _U, "Frame length on the wire", bits=32),
    Field("frame.cap_len", _U, "Frame length stored into the capture file", bits=32),
    Field("ip", _P, "Internet Protocol Version 4"),
    Field("ip.addr", _V4, "Source or Destination Address"),
    Field("ip.src", _V4, "Source Address"),
    Field("ip.dst", _V4, "Destination Address"),
    Field("ipv6", _P, "Internet Protocol Version 6"),
    Field("ipv6.addr", _V6, "Source or Destination Address"),
    Field("ipv6.src", _V6, "Source Address"),
    Field("ipv6.dst", _V6, "Destination Address"),
    Field("ip.proto", _U, "Protocol", bits=8),
    Field("ipv6.nxt", _U, "Next Header", bits=8),
    Field("eth", _P, "Ethernet"),
    Field("vlan", _P, "802.1Q Virtual LAN", note="802.1Q and 802.1ad (QinQ) tags"),
    Field("vlan.id", _U, "ID", bits=16),
    Field("mpls", _P, "MultiProtocol Label Switching Header"),
    Field("mpls.label", _U, "MPLS Label", bits=32),
    Field("gre", _P, "Generic Routing Encapsulation"),
    Field("gre.key", _U, "Key", bits=32),
    Field("vxlan", _P, "Virtual eXtensible Local Area Network"),
    Field("vxlan.vni", _U, "VXLAN Network Identifier (VNI)", bits=24),
    Field("gtp", _P, "GPRS Tunneling Protocol"),
    Field("gtp.teid", _U, "TEID", bits=32),
    Field("udp", _P, "User Datagram Protocol"),
    Field("udp.port", _U, "Source or Destination Port", bits=16),
    Field("udp.srcport", _U, "Source Port", bits=16),
    Field("udp.dstport", _U, "Destination Port", bits=16),
    Field("udp.length", _U, "Length", bits=16),
    Field("icmp", _P, "Internet Control Message Protocol"),
    Field("icmp.type", _U, "Type", bits=8),
    Field("icmp.code", _U, "Code", bits=8),
    Field("icmpv6", _P, "Internet Control Message Protocol v6"),
    Field("icmpv6.type", _U, "Type", bits=8),
    Field("icmpv6.code", _U, "Code", bits=8),
    Field("arp", _P, "Address Resolution Protocol"),
    Field("arp.opcode", _U, "Opcode", bits=16),
    Field("arp.src.proto_ipv4", _V4, "Sender IP address"),
    Field("arp.dst.proto_ipv4", _V4, "Target IP address"),
    Field("igmp", _P, "Internet Group Management Protocol"),
    Field("igmp.type", _U, "Type", bits=8),
    Field("dns", _P, "Domain Name System"),
    Field("dns.id", _U, "Transaction ID", bits=16),
    Field("dns.flags.response", _B, "Response"),
    Field("dns.qry.name", _S, "Name"),
    Field("mdns", _P, "Multicast Domain Name System", note="its dns.* fields are filled too"),
    Field("llmnr", _P, "Link-local Multicast Name Resolution", note="its dns.* fields are filled too"),
    Field("dhcp", _P, "Dynamic Host Configuration Protocol"),
    Field("ntp", _P, "Network Time Protocol"),
    Field("ssdp", _P, "Simple Service Discovery Protocol", note="its http.request.* and http.host fields are filled"),
    Field("lldp", _P, "Link Layer Discovery Protocol"),
    Field("esp", _P, "Encapsulating Security Payload"),
    Field("esp.spi", _U, "ESP SPI", bits=32),
    Field("tcp", _P, "Transmission Control Protocol"),
    Field("tcp.port", _U, "Source or Destination Port", bits=16),
    Field("tcp.srcport", _U, "Source Port", bits=16),
    Field("tcp.dstport", _U, "Destination Port", bits=16),
    Field("tcp.stream", _U, "Stream index", bits=32),
    Field("tcp.len", _U, "TCP Segment Len", bits=32),
    Field("tcp.seq", _U, "Sequence Number", bits=32,
          note="relative to the first sequence number seen in that direction"),
    Field("tcp.seq_raw", _U, "Sequence Number (raw)", bits=32),
    Field("tcp.ack", _U, "Acknowledgment Number", bits=32, note="relative; present only when the ACK flag is set"),
    Field("tcp.ack_raw", _U, "Acknowledgment number (raw)", bits=32),
    Field("tcp.flags", _U, "Flags", bits=16),
    Field("tcp.flags.fin", _B, "Fin"),
    Field("tcp.flags.syn", _B, "Syn"),
    Field("tcp.flags.reset", _B, "Reset"),
    Field("tcp.flags.push", _B, "Push"),
    Field("tcp.flags.ack", _B, "Acknowledgment"),
    Field("tcp.flags.urg", _B, "Urgent"),
    Field("tcp.window_size_value", _U, "Window", bits=16),
    Field("tcp.payload", _BY, "TCP payload", note="the captured part of the segment's payload"),
    Field("tcp.analysis.flags", _L, "TCP Analysis Flags"),
    Field("tcp.analysis.retransmission", _L, "This frame is a (suspected) retransmission"),
    Field("tcp.analysis.out_of_order", _L, "This frame is a (suspected) out-of-order segment"),
    Field("tcp.analysis.lost_segment", _L, "Previous segment(s) not captured (common at capture start)"),
    Field("http", _P, "Hypertext Transfer Protocol",
          note="present on packets that end an HTTP request or response head"),
    Field("http.request", _B, "Request"),
    Field("http.response", _B, "Response"),
    Field("http.request.method", _S, "Request Method"),
    Field("http.request.uri", _S, "Request URI"),
    Field("http.request.version", _S, "Request Version"),
    Field("http.response.code", _U, "Status Code", bits=16),
    Field("http.response.phrase", _S, "Response Phrase"),
    Field("http.host", _S, "Host"),
    Field("http.user_agent", _S, "User-Agent"),
    Field("http.upgrade", _S, "Upgrade"),
    Field("websocket", _P, "WebSocket"),
    Field("websocket.fin", _B, "Fin"),
    Field("websocket.rsv", _U, "Reserved", bits=8),
    Field("websocket.opcode", _U, "Opcode", bits=8, value_names=MappingProxyType(dict(OPCODE_LABELS))),
    Field("websocket.mask", _B, "Mask"),
    Field("websocket.payload_length", _U, "Payload length", bits=8,
          note="the 7-bit length field as sent, as in Wireshark"),
    Field("websocket.payload_length_ext_16", _U, "Extended Payload length (16 bits)", bits=16),
    Field("websocket.payload_length_ext_64", _U, "Extended Payload length (64 bits)", bits=64),
    Field("websocket.masking_key", _BY, "Masking-Key"),
    Field("websocket.payload", _BY, "Payload",
          note="wsdissect: the unmasked payload bytes, so contains/matches work (Wireshark: a label, no value)"),
    Field("websocket.payload.text", _S, "Text", note="the text of a complete, valid UTF-8 text message (after "
          "permessage-deflate), on the packet where the message ends"),
    Field("websocket.payload.close.status_code", _U, "Status code", bits=16,
          value_names=MappingProxyType(_CLOSE_CODE_NAMES)),
    Field("websocket.payload.close.reason", _S, "Reason"),
    Field("websocket.payload.ping", _BY, "Ping"),
    Field("websocket.payload.pong", _BY, "Pong"),
    Field("_ws.expert", _P, "Expert Info", note="wsdissect's findings, not Wireshark's expert items"),
    Field("_ws.expert.severity", _U, "Severity level", bits=32, value_names=MappingProxyType(_SEVERITY_NAMES)),
    Field("_ws.expert.message", _S, "Message"),
    Field("ws.finding", _S, "Finding", wireshark=False, note="a finding code (see docs/expert.md)"),
    Field("ws.app.protocol", _S, "Application protocol", wireshark=False,
          note="socket.io, engine.io, mqtt, stomp, graphql-transport-ws, graphql-ws, json-rpc (docs/app.md)"),
    Field("ws.app.kind", _S, "Application message kind", wireshark=False, note="EVENT, PUBLISH, SEND, request..."),
    Field("ws.app.name", _S, "Application message name", wireshark=False,
          note="Socket.IO event, MQTT topic, STOMP destination, JSON-RPC method, GraphQL operationName"),
    Field("tls", _P, "Transport Layer Security"),
    Field("tls.handshake.extensions_server_name", _S, "Server Name"),
]

#: Every field by name, in table order.
FIELDS: Mapping[str, Field] = MappingProxyType({f.name: f for f in _FIELDS})


def lookup(name: str) -> Field | None:
    """The field called *name*, or None."""
    return FIELDS.get(name)


def markdown_table() -> str:
    """The fields as a Markdown table (docs/display-filter.md embeds it; a test keeps the two the same)."""
    rows = ["| Field | Type | Label | Notes |", "|---|---|---|---|"]
    for f in FIELDS.values():
        notes = f.note if f.wireshark else f"wsdissect's own; {f.note}" if f.note else "wsdissect's own"
        if f.value_names:
            notes = (notes + "; " if notes else "") + "value names: " + ", ".join(
                f'"{name}"' for name in f.value_names.values())
        rows.append(f"| `{f.name}` | {f.type.value} | {f.label} | {notes} |")
    return "\n".join(rows) + "\n"
