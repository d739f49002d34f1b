"""Events: what the protocol stages report.  Frozen, slotted, and free of presentation logic.

Every event names its connection (``conn``) where it has one, and the capture frame number(s) it comes from.
Renderers and exporters consume these; they never re-parse bytes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any, Callable, Optional

from .findings import Severity
from .flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Conn
from .record import frozen_record


@frozen_record
class Layer:
    """One protocol header of a packet as the detail tree shows it (views only; see :class:`Packet.layers`)."""

    protocol: str  # the display filter's protocol name: "eth", "vlan", "mpls", "ip", "ipv6", "gre", "udp", "gtp"...
    label: str  # Wireshark's tree line ("User Datagram Protocol, Src Port: 53, Dst Port: 40000")
    start: int  # the header's bytes in the packet: [start, end)
    end: int
    lines: tuple[str, ...] = ()  # the lines under it, Wireshark's labels
    values: tuple[tuple[str, Any], ...] = ()  # display-filter fields of this header: (("udp.srcport", 53), ...)


@frozen_record
class Packet:
    """One captured packet (emitted only when a consumer asks for packets: views, not export)."""

    frame: int
    ts: float
    wire_len: int
    cap_len: int
    linktype: int
    data: bytes  # the raw captured bytes, for detail views
    l3_offset: int  # where the IP header starts in ``data``
    ip_version: int
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    tcp_offset: int  # where the TCP header starts in ``data``
    payload_len: int  # TCP payload length from the IP header (may exceed what was captured)
    conn: Optional[Conn] = None
    direction: Optional[str] = None
    rel_seq: Optional[int] = None  # relative to the direction's first sequence number, as tshark computes it
    rel_ack: Optional[int] = None
    stream_start: Optional[int] = None  # offset of the payload in its direction's reassembled stream, when known
    analysis: tuple[str, ...] = ()  # tshark's TCP analysis labels ("TCP Retransmission", "TCP Dup ACK 5#1"...)
    window_size: Optional[int] = None  # the window scaled as the SYNs announced (tshark's Win=)
    # Packets that are not plain Ethernet/IP/TCP (views only).  ``layers``: every header before TCP of a tunnelled
    # or tagged TCP packet, or every header of a packet that is not TCP; empty for a plain packet.  ``protocol`` and
    # ``info`` are set only on packets that are not TCP (their Protocol and Info columns; TCP fields are then 0;
    # src/dst are the innermost IP addresses, or the MAC addresses of a packet that is not IP; sport/dport UDP's).
    layers: tuple[Layer, ...] = ()
    protocol: Optional[str] = None
    info: Optional[str] = None


@frozen_record
class Finding:
    """Expert info: something wrong or noteworthy, at a frame."""

    frame: int
    ts: float
    code: str
    severity: Severity
    message: str
    conn: Optional[Conn] = None
    direction: Optional[str] = None


@frozen_record
class HttpRequest:
    """An HTTP request head on a connection (the WebSocket upgrade or a plain request before it)."""

    conn: Conn
    frame: int  # frame where the header block ended
    first_frame: int
    ts: float
    method: str
    uri: str
    version: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes  # the header block as sent, for detail views
    number: int  # 1-based index of this request on the connection
    is_upgrade: bool


@frozen_record
class HttpResponse:
    """An HTTP response head, paired with its request."""

    conn: Conn
    frame: int
    first_frame: int
    ts: float
    version: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes
    number: int
    request: Optional[HttpRequest]


@frozen_record
class Upgrade:
    """A completed WebSocket handshake: from here on both directions carry frames."""

    conn: Conn
    request: HttpRequest
    response: HttpResponse
    subprotocol: Optional[str]
    extensions: tuple[str, ...]  # as the server accepted them, one string each
    deflate: Optional[dict]  # negotiated permessage-deflate parameters, or None


@frozen_record
class WsFrame:
    """One RFC 6455 frame, decoded.  ``payload`` is unmasked (and truncated to the buffering limit)."""

    conn: Conn
    direction: str
    first_frame: int
    frame: int  # capture frame in which the WebSocket frame completed
    ts: float
    fin: bool
    rsv: int  # RSV1..3 as a 3-bit number (RSV1 = 4)
    opcode: int
    masked: bool
    mask_key: Optional[bytes]
    length_code: int  # the 7-bit length field as sent (0-127)
    payload_len: int  # the declared payload length
    header: bytes
    payload: bytes
    complete: bool  # False when bytes are missing (gap) or the payload was truncated by a limit
    stream_offset: int  # offset of the header's first byte in this direction's byte stream


@frozen_record
class Message:
    """One WebSocket message: a data message reassembled from its fragments, or one control frame."""

    conn: Conn
    direction: str
    opcode: int  # of the first frame
    payload: bytes  # unmasked, reassembled, decompressed
    complete: bool
    first_frame: int
    last_frame: int
    first_ts: float
    last_ts: float
    fragments: int
    compressed: bool
    wire_length: int  # payload bytes on the wire (compressed size, all fragments)
    frames: tuple[int, ...] = field(default=())  # capture frames where each fragment completed
    close_code: Optional[int] = None
    close_reason: Optional[str] = None
    text: Optional[str] = None  # ``payload`` decoded as UTF-8, for complete text messages that are valid UTF-8
    truncated: bool = False  # payload cut by a size limit
    note: Optional[str] = None  # why it is incomplete, when it is
    raw: Optional[bytes] = None  # the payload as it was on the wire (unmasked), when ``payload`` could not be made
    app: Optional[tuple] = None  # application units (wsdissect.app.AppUnit) when an application decoder read it


@frozen_record
class ConnectionEnd:
    """A connection's lifecycle summary, emitted when it ends (or at the end of the capture)."""

    conn: Conn
    websocket: bool
    upgrade: Optional[Upgrade]
    requests: tuple[HttpRequest, ...]
    responses: tuple[HttpResponse, ...]
    first_frame: int
    last_frame: int
    start_ts: float
    end_ts: float
    ended_by: str  # "close+fin", "rst", "fin without close", "capture ended", "evicted"
    first_close: Optional[str]  # direction of the first Close frame
    close_codes: dict  # direction -> (code, reason)
    midstream: bool
    stats: dict  # per direction counters: messages, bytes, per opcode
    ping_rtt: Optional[tuple[int, float, float, float]]  # answered pings: (count, min, avg, max) seconds
    handshake_ms: Optional[float] = None
    tls: Any = None  # wsdissect.tls.TlsInfo of a wss:// connection (version, cipher suite, SNI, ALPN, decrypted)


@frozen_record
class TlsRecordSeen:
    """One TLS record of a wss:// connection (views only: emitted when ``Options.packets``); *record* is a
    :class:`wsdissect.tls.TlsRecord` (content type, version, length, handshake messages, decrypted or not)."""

    frame: int  # the frame that carried the record's last byte
    ts: float
    conn: Conn
    record: Any
    protocol: str  # Wireshark's Protocol column: "TLSv1.3" once negotiated, the record's version before
    info: str  # Wireshark's Info text: "Client Hello (SNI=example.com)", "Application Data"...
    details: tuple[str, ...] = ()  # handshake facts of this record: "Server Name: ...", "Cipher Suite: ..."
    plaintext: int = 0  # decrypted application data bytes handed on from this record
    server_name: Optional[str] = None  # the SNI of a Client Hello record

    @property
    def direction(self) -> str:
        return CLIENT_TO_SERVER if self.record.from_client else SERVER_TO_CLIENT


@frozen_record
class CaptureStart:
    """The first packet of one capture source: its time is the origin of relative times."""

    source: str
    ts: float


@frozen_record
class CaptureEnd:
    """The end of one capture source."""

    source: str
    packets: int
    truncated: bool


def fast_constructor(cls: type) -> Callable:
    """A constructor for frozen slotted dataclass *cls* that is about five times faster than ``cls(...)``.

    A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``; on the per-message path that
    is a measurable share of the run time.  This makes a plain twin class with the same slots, a ``build`` function
    with the dataclass's own parameters (names, defaults, default factories) that fills a twin instance, and
    re-labels it as *cls* (allowed because the layouts are identical).  The result is a genuine, frozen instance of
    *cls*; arguments are the same as for ``cls``, and a keyword call is matched by the interpreter directly.
    """
    namespace: dict = {"__cls": cls, "__new": object.__new__, "__MISSING": dataclasses.MISSING,
                       "__twin": type(cls.__name__ + "Builder", (), {"__slots__": cls.__slots__})}
    params, body = [], ["obj = __new(__twin)"]
    for f in dataclasses.fields(cls):
        n = f.name
        if f.kw_only:
            raise TypeError(f"fast_constructor: keyword-only field {cls.__name__}.{n} is not supported")
        if f.default is not dataclasses.MISSING:
            namespace[f"__d_{n}"] = f.default
            params.append(f"{n}=__d_{n}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"__f_{n}"] = f.default_factory
            params.append(f"{n}=__MISSING")
            body.append(f"if {n} is __MISSING: {n} = __f_{n}()")
        else:
            params.append(n)
        body.append(f"obj.{n} = {n}")
    lines = "".join(f"    {line}\n" for line in body + ["obj.__class__ = __cls", "return obj"])
    exec(f"def build({', '.join(params)}):\n{lines}", namespace)  # noqa: S102 - made from the dataclass's fields
    build = namespace["build"]
    build.__doc__ = f"Build a {cls.__name__} (see fast_constructor)."
    return build


new_message = fast_constructor(Message)
new_frame = fast_constructor(WsFrame)
new_packet = fast_constructor(Packet)
