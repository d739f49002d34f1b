"""Expert-info registry: every finding code with its severity, RFC reference and one-line summary.

A finding is data, never an exception: stages record them and decoding goes on.  Codes are stable, dotted and
short (``ws.frame.unmasked_client``), like Wireshark's ``ei`` fields and Zeek's named weirds.  Groups:
``capture.*`` and ``tcp.*`` describe the capture itself; ``http.*``, ``ws.*`` describe what the peers did.
"""
from __future__ import annotations

import enum

from .record import frozen_record


class Severity(enum.IntEnum):
    """Wireshark's expert severities, ordered."""

    CHAT = 1
    NOTE = 2
    WARNING = 3
    ERROR = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@frozen_record
class FindingKind:
    code: str
    severity: Severity
    summary: str
    reference: str = ""


_C, _N, _W, _E = Severity.CHAT, Severity.NOTE, Severity.WARNING, Severity.ERROR

_KINDS = [
    # The capture file and the link/IP layers.
    FindingKind("capture.truncated", _W, "capture file ends in the middle of a record"),
    FindingKind("internal", _E, "internal error in wsdissect while decoding a connection (please report)"),
    FindingKind("capture.corrupt", _E, "capture file is damaged; reading stopped here"),
    FindingKind("capture.dropped", _W, "the kernel dropped packets during live capture (PACKET_STATISTICS); the "
                "capture itself is incomplete"),
    FindingKind("capture.unreadable", _E, "input cannot be opened or is not a capture; nothing decoded from it"),
    FindingKind("capture.linktype", _N, "packet of an unsupported link type skipped"),
    FindingKind("capture.snaplen", _N, "packet truncated by the capture's snapshot length; its payload is missing"),
    FindingKind("ip.fragment", _N, "fragmented IP packet"),
    FindingKind("ip.malformed", _W, "malformed IP or TCP header"),
    FindingKind("tunnel.malformed", _W, "tunnel header (MPLS, GRE, VXLAN, GTP-U, IP-in-IP) cut short or "
                "inconsistent; the packet inside is not decoded", "RFC 3032, RFC 2784/2890, RFC 7348, 3GPP TS 29.281"),
    # TCP reassembly.
    FindingKind("tcp.midstream", _N, "connection started before the capture (no SYN seen)"),
    FindingKind("tcp.retransmission", _C, "retransmitted TCP data (already seen)"),
    FindingKind("tcp.overlap", _C, "overlapping TCP retransmission"),
    FindingKind("tcp.overlap_conflict", _W, "overlapping TCP data differs from what was seen first"),
    FindingKind("tcp.out_of_order", _C, "TCP segment arrived out of order"),
    FindingKind("tcp.gap", _W, "bytes missing from the capture (lost segment)"),
    FindingKind("tcp.buffer_limit", _W, "out-of-order buffer limit reached; missing bytes declared lost"),
    FindingKind("tcp.data_after_fin", _W, "data sent after FIN"),
    FindingKind("tcp.rst", _N, "connection reset (RST)"),
    FindingKind("tcp.evicted", _N, "idle or excess connection evicted from tracking"),
    # HTTP and the upgrade handshake.
    FindingKind("http.header_too_large", _W, "HTTP header block exceeds the size limit; connection not decoded"),
    FindingKind("http.malformed", _W, "malformed HTTP message"),
    FindingKind("http.gap", _N, "HTTP stream has bytes missing from the capture; the rest is not decoded"),
    FindingKind("ws.handshake.refused", _N, "WebSocket upgrade refused by the server", "RFC 6455 4.2.2"),
    FindingKind("ws.handshake.key", _W, "Sec-WebSocket-Key is not base64 of 16 bytes", "RFC 6455 4.1"),
    FindingKind("ws.handshake.accept", _E, "Sec-WebSocket-Accept does not match the key", "RFC 6455 4.2.2"),
    FindingKind("ws.handshake.version", _W, "Sec-WebSocket-Version is not 13", "RFC 6455 4.1"),
    FindingKind("ws.handshake.upgrade", _W, "Upgrade/Connection headers do not request websocket", "RFC 6455 4.1"),
    FindingKind("ws.handshake.method", _W, "WebSocket upgrade request is not GET HTTP/1.1", "RFC 6455 4.1"),
    FindingKind("ws.handshake.host", _W, "WebSocket upgrade request has no Host header", "RFC 6455 4.1"),
    FindingKind("ws.handshake.subprotocol", _W, "server chose a subprotocol the client did not offer",
                "RFC 6455 4.1"),
    FindingKind("ws.handshake.extension", _W, "server accepted an extension the client did not offer, or with "
                "invalid parameters", "RFC 6455 9.1, RFC 7692 7"),
    FindingKind("ws.handshake.no_101", _W, "WebSocket frames without a 101 Switching Protocols", "RFC 6455 4.1"),
    FindingKind("ws.handshake.missing", _N, "WebSocket traffic decoded without its handshake "
                "(extensions and subprotocol unknown)"),
    FindingKind("ws.decode_as.unneeded", _N, "--decode-as names this connection's port but its handshake is in the "
                "capture: decoded from the handshake"),
    # Frames.
    FindingKind("ws.frame.unmasked_client", _E, "client frame is not masked", "RFC 6455 5.1"),
    FindingKind("ws.frame.masked_server", _E, "server frame is masked", "RFC 6455 5.1"),
    FindingKind("ws.frame.rsv", _E, "RSV bit set without an extension that defines it", "RFC 6455 5.2"),
    FindingKind("ws.frame.rsv1_continuation", _E, "RSV1 set on a continuation or control frame",
                "RFC 7692 6"),
    FindingKind("ws.frame.reserved_opcode", _E, "reserved opcode", "RFC 6455 5.2"),
    FindingKind("ws.frame.control_length", _E, "control frame payload longer than 125 bytes", "RFC 6455 5.5"),
    FindingKind("ws.frame.control_fragmented", _E, "control frame with FIN=0", "RFC 6455 5.5"),
    FindingKind("ws.frame.length_encoding", _W, "payload length not in its minimal encoding", "RFC 6455 5.2"),
    FindingKind("ws.frame.length_msb", _E, "64-bit payload length with the most significant bit set",
                "RFC 6455 5.2"),
    FindingKind("ws.frame.after_close", _W, "frame sent after a Close frame in the same direction",
                "RFC 6455 5.5.1"),
    FindingKind("ws.frame.incomplete", _W, "frame incomplete: bytes missing from the capture"),
    FindingKind("ws.resync", _N, "frame decoder resynchronised after undecodable bytes"),
    # Messages.
    FindingKind("ws.message.continuation", _E, "continuation frame without a message in progress",
                "RFC 6455 5.4"),
    FindingKind("ws.message.interleaved", _E, "new data frame while a fragmented message is unfinished",
                "RFC 6455 5.4"),
    FindingKind("ws.message.utf8", _E, "text message is not valid UTF-8", "RFC 6455 8.1"),
    FindingKind("ws.message.too_large", _W, "message larger than the buffering limit; payload truncated"),
    FindingKind("ws.message.incomplete", _W, "message incomplete: bytes missing from the capture"),
    FindingKind("ws.deflate.error", _E, "permessage-deflate decompression failed", "RFC 7692 7.2.2"),
    FindingKind("ws.deflate.limit", _W, "decompressed size or ratio limit reached (possible deflate bomb)"),
    FindingKind("ws.deflate.no_context", _N, "compressed message references data sent before the capture "
                "(context takeover); cannot be inflated", "RFC 7692 7.2.3"),
    # Control frames.
    FindingKind("ws.close.length", _E, "close payload of length 1", "RFC 6455 5.5.1"),
    FindingKind("ws.close.code", _E, "close code that must not be sent", "RFC 6455 7.4"),
    FindingKind("ws.close.reason_utf8", _E, "close reason is not valid UTF-8", "RFC 6455 5.5.1"),
    FindingKind("ws.pong.unsolicited", _N, "pong whose payload matches no ping", "RFC 6455 5.5.3"),
    # TLS (wss://): decryption with a key log.
    FindingKind("tls.no_keys", _N, "TLS connection not decrypted: its secrets are not in the key log"),
    FindingKind("tls.no_handshake", _N, "TLS connection without its handshake in the capture; not decrypted"),
    FindingKind("tls.decrypt_failed", _E, "TLS record does not authenticate (AEAD tag, MAC or padding); its "
                "content is not used", "RFC 8446 5.2, RFC 5246 6.2.3"),
    FindingKind("tls.gap", _W, "bytes missing from the TLS stream (lost segment); the record is lost"),
    FindingKind("tls.truncated", _W, "TLS stream ends inside a record"),
    FindingKind("tls.malformed", _W, "not a TLS record header, or a record longer than TLS allows; the rest "
                "of the direction is not decoded", "RFC 8446 5.1, RFC 5246 6.2"),
    FindingKind("tls.handshake.malformed", _W, "malformed or oversized TLS handshake message", "RFC 8446 4"),
    FindingKind("tls.alert", _W, "TLS alert other than close_notify", "RFC 8446 6"),
    FindingKind("tls.unsupported_version", _N, "TLS version that is not decrypted (only TLS 1.2 and 1.3)"),
    FindingKind("tls.unsupported_cipher", _N, "TLS cipher suite that is not decrypted"),
    FindingKind("tls.early_data", _N, "0-RTT early data not decrypted (no CLIENT_EARLY_TRAFFIC_SECRET, or refused)",
                "RFC 8446 4.2.10"),
    FindingKind("tls.alpn_h2", _N, "ALPN h2 negotiated: WebSocket over HTTP/2 is not decoded", "RFC 8441"),
    # Application protocols over WebSocket messages (wsdissect/app).
    FindingKind("app.incomplete", _N, "incomplete WebSocket message not decoded at the application layer"),
    FindingKind("app.unfinished", _W, "connection ended inside an application packet (or before its "
                "attachments)"),
    FindingKind("app.buffer_limit", _W, "application packet larger than the buffering limit; skipped"),
    FindingKind("engineio.packet_type", _E, "unknown Engine.IO packet type", "Engine.IO protocol v4, Packet types"),
    FindingKind("socketio.packet_type", _E, "unknown Socket.IO packet type", "Socket.IO protocol v5, Packet types"),
    FindingKind("socketio.malformed", _E, "malformed Socket.IO packet (attachment count or JSON payload)",
                "Socket.IO protocol v5, Packet encoding"),
    FindingKind("socketio.ack_unknown", _W, "Socket.IO ACK that answers no event with that id",
                "Socket.IO protocol v5, Acknowledgement"),
    FindingKind("socketio.attachment_unexpected", _W, "binary message that is no pending attachment and no "
                "msgpack Socket.IO packet", "Socket.IO protocol v5, BINARY_EVENT"),
    FindingKind("socketio.attachments_missing", _W, "binary packet followed by a new packet before all its "
                "attachments", "Socket.IO protocol v5, BINARY_EVENT"),
    FindingKind("mqtt.remaining_length", _E, "malformed MQTT Remaining Length (more than 4 bytes)",
                "MQTT 3.1.1 2.2.3, MQTT 5.0 1.5.5"),
    FindingKind("mqtt.text_message", _E, "MQTT control packets in a text WebSocket message",
                "MQTT 3.1.1 6, MQTT 5.0 6"),
    FindingKind("mqtt.malformed", _E, "malformed MQTT control packet (fields past its end, reserved type, bad "
                "property)", "MQTT 3.1.1 2, MQTT 5.0 2"),
    FindingKind("mqtt.flags", _E, "MQTT fixed header flags invalid for the packet type (or QoS 3)",
                "MQTT 3.1.1 2.2.2, MQTT 5.0 2.1.3"),
    FindingKind("mqtt.packet_id_zero", _E, "MQTT packet identifier 0", "MQTT 3.1.1 2.3.1, MQTT 5.0 2.2.1"),
    FindingKind("mqtt.packet_id_reuse", _W, "MQTT packet identifier reused while its flow is unacknowledged",
                "MQTT 3.1.1 2.3.1, MQTT 5.0 2.2.1"),
    FindingKind("stomp.missing_nul", _E, "STOMP frame does not end with a NUL octet", "STOMP 1.2 Augmented BNF"),
    FindingKind("stomp.content_length", _E, "STOMP content-length does not match the body",
                "STOMP 1.2 Header content-length"),
    FindingKind("stomp.malformed", _E, "malformed STOMP frame (no blank line after headers, header without colon)",
                "STOMP 1.2 STOMP Frames"),
    FindingKind("stomp.escape", _E, "undefined escape sequence in a STOMP header", "STOMP 1.2 Value Encoding"),
    FindingKind("graphql.invalid", _E, "GraphQL over WebSocket message is not an object with a known type",
                "graphql-transport-ws PROTOCOL.md"),
    FindingKind("graphql.before_ack", _E, "graphql-transport-ws message before the server's connection_ack",
                "graphql-transport-ws PROTOCOL.md ConnectionAck"),
    FindingKind("jsonrpc.invalid", _E, "text message is not a JSON-RPC 2.0 object or batch", "JSON-RPC 2.0 4"),
    FindingKind("jsonrpc.duplicate_id", _W, "JSON-RPC request id reused while its response is pending",
                "JSON-RPC 2.0 4"),
    FindingKind("jsonrpc.response_unknown", _W, "JSON-RPC response or error for an id no request is waiting for",
                "JSON-RPC 2.0 5"),
]

KINDS: dict[str, FindingKind] = {k.code: k for k in _KINDS}


def kind(code: str) -> FindingKind:
    """The registered kind of *code* (KeyError for an unknown code: a programming error)."""
    return KINDS[code]
