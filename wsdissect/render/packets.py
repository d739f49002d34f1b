"""Grouping events by packet, and the Wireshark-style packet list (``wsdissect show``)."""
from __future__ import annotations

from typing import Iterable, Iterator, NamedTuple

from rich.console import Console
from rich.text import Text

from ..capture.layers import tcp_window_scale
from ..events import CaptureStart, Finding, HttpRequest, HttpResponse, Message, Packet, WsFrame
from ..findings import Severity
from ..flow import TCP_FLAG_NAMES
from ..rfc6455 import opcode_label
from .app_view import protocol_label, units_info
from .text import safe

TCP_INFO_PREFIX = {"tcp.retransmission": "[TCP Retransmission] ", "tcp.out_of_order": "[TCP Out-Of-Order] ",
                   "tcp.gap": "[TCP Previous segment not captured] ", "tcp.overlap": "[TCP Retransmission] "}
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan",
                  Severity.CHAT: "dim"}
PROTOCOL_STYLE = {"HTTP": "green", "WebSocket": "bright_cyan", "TCP": ""}


def group_by_packet(events: Iterable) -> Iterator[tuple[Packet | None, list]]:
    """``(packet, events it produced)``; events before the first packet come with ``None``."""
    pkt = None
    cur: list = []
    for ev in events:
        if ev.__class__ is Packet:
            if pkt is not None or cur:
                yield pkt, cur
            pkt, cur = ev, []
        else:
            cur.append(ev)
    if pkt is not None or cur:
        yield pkt, cur


def tcp_flags(flags: int) -> str:
    return ", ".join(name for bit, name in TCP_FLAG_NAMES if flags & bit)


def ws_frame_info(f: WsFrame) -> str:
    """Wireshark's Info text for a WebSocket frame."""
    parts = [f"WebSocket {opcode_label(f.opcode)}", "[FIN]" if f.fin else "[FRAGMENT]"]
    if f.masked:
        parts.append("[MASKED]")
    return " ".join(parts)


def http_info(ev) -> str:
    if ev.__class__ is HttpRequest:
        return f"{ev.method} {ev.uri} {ev.version}"
    line = f"{ev.version} {ev.status} {ev.reason}".rstrip()
    ctype = next((v for k, v in ev.headers if k.lower() == "content-type"), None)
    if ctype and ev.status != 101:
        line += f"  ({ctype.split(';')[0].strip()})"
    return line


class WindowScales:
    """Per-connection TCP window scaling learnt from SYN options, to print Win= as Wireshark does."""

    def __init__(self) -> None:
        self.shifts: dict[tuple[int, str], int | None] = {}

    def window(self, p: Packet) -> int:
        if p.conn is None:
            return p.window
        key = (p.conn.index, p.direction)
        if p.flags & 2:
            if len(self.shifts) > 200_000:  # long live runs: forget old connections
                self.shifts.clear()
            self.shifts[key] = tcp_window_scale(p.data, p.tcp_offset)
            return p.window  # never scaled in a SYN
        other = (p.conn.index, "server_to_client" if p.direction == "client_to_server" else "client_to_server")
        mine, theirs = self.shifts.get(key), self.shifts.get(other)
        if mine is not None and theirs is not None:
            return p.window << mine
        return p.window


class PacketRow(NamedTuple):
    """One line of the packet list, compact (plain values only): what ``show`` prints and the TUI lists."""

    frame: int
    ts: float
    src: str
    dst: str
    protocol: str
    length: int
    info: str  # escaped and cut: safe to show as is
    worst: Severity | None  # the most severe finding of the packet
    codes: tuple[str, ...]  # finding codes of warning severity and above
    stream: int | None  # the connection (tcp.stream) index
    direction: str | None


class PacketSummaries:
    """Turns a packet and its events into a :class:`PacketRow` (keeps the TCP window scales seen so far)."""

    def __init__(self) -> None:
        self.scales = WindowScales()
        self._interned: dict[str, str] = {}

    def row(self, p: Packet, events: list) -> PacketRow:
        protocol, info, worst, codes = self.describe(p, events)
        intern = self._interned.setdefault
        return PacketRow(p.frame, p.ts, intern(p.src, p.src), intern(p.dst, p.dst), protocol, p.wire_len,
                         safe(info, 400), worst, tuple(codes), p.conn.index if p.conn is not None else None,
                         p.direction)

    def describe(self, p: Packet, events: list) -> tuple[str, str, Severity | None, list[str]]:
        http = [ev for ev in events if ev.__class__ in (HttpRequest, HttpResponse) and ev.frame == p.frame]
        frames = [ev for ev in events if ev.__class__ is WsFrame]
        findings = [ev for ev in events if ev.__class__ is Finding]
        worst = max((f.severity for f in findings), default=None)
        codes = sorted({f.code for f in findings if f.severity >= Severity.WARNING})
        prefix = "".join(dict.fromkeys(TCP_INFO_PREFIX[f.code] for f in findings if f.code in TCP_INFO_PREFIX))
        if frames or http:
            parts, app = [http_info(h) for h in http], None
            for ev in events:  # a message follows the frame that completed it: its units replace that frame's text
                if ev.__class__ is WsFrame:
                    parts.append(ws_frame_info(ev))
                elif ev.__class__ is Message and ev.app and parts:
                    parts[-1] = units_info(ev.app)
                    app = app or protocol_label(ev.app[0].protocol)
            return (app or ("WebSocket" if frames else "HTTP")), prefix + ", ".join(parts), worst, codes
        seq = p.rel_seq if p.rel_seq is not None else p.seq
        info = f"{p.sport} → {p.dport} [{tcp_flags(p.flags)}] Seq={seq}"
        if p.flags & 16:
            info += f" Ack={p.rel_ack if p.rel_ack is not None else p.ack}"
        info += f" Win={self.scales.window(p)} Len={p.payload_len}"
        return "TCP", prefix + info, worst, codes


def list_header(addr_width: int = 15) -> str:
    w = addr_width
    return f"{'No.':>6} {'Time':>10} {'Source':<{w}} {'Destination':<{w}} {'Protocol':<9} {'Length':>6} Info"


def packet_line(row: PacketRow, t0: float, addr_width: int = 15) -> Text:
    """The packet list line of *row*, coloured by protocol, its warning codes by severity."""
    w = max(addr_width, len(row.src), len(row.dst))
    style = PROTOCOL_STYLE.get(row.protocol, "")
    line = Text(f"{row.frame:>6} {row.ts - t0:>10.6f} {row.src:<{w}} {row.dst:<{w}} {row.protocol:<9} "
                f"{row.length:>6} ", style=style)
    line.append(row.info, style=style)
    if row.worst is not None and row.worst >= Severity.WARNING:
        line.append("  " + " ".join(f"[{c}]" for c in row.codes), style=SEVERITY_STYLE[row.worst])
    return line


class PacketListView:
    """One line per packet: No., Time, Source, Destination, Protocol, Length, Info."""

    def __init__(self, console: Console, websocket_only: bool = False):
        self.console = console
        self.websocket_only = websocket_only
        self.t0: float | None = None
        self.summaries = PacketSummaries()
        self.addr_width = 15
        self.rows = 0

    def header(self) -> None:
        self.console.print(Text(list_header(self.addr_width), style="bold"), soft_wrap=True)

    def group(self, pkt: Packet | None, events: list) -> None:
        for ev in events:
            if ev.__class__ is CaptureStart and self.t0 is None:
                self.t0 = ev.ts
        if pkt is None:
            return
        if self.t0 is None:
            self.t0 = pkt.ts
        row = self.summaries.row(pkt, events)
        if self.websocket_only and row.protocol == "TCP":
            return
        if not self.rows:
            self.header()
        self.rows += 1
        self.console.print(packet_line(row, self.t0, self.addr_width), soft_wrap=True, no_wrap=True,
                           overflow="ellipsis")

    def end(self) -> None:
        if not self.rows:
            self.console.print(Text("(no packets matched)", style="dim"))
