"""Grouping events by packet, and the Wireshark-style packet list (``wsdissect show``)."""
from __future__ import annotations

import functools
from typing import Iterable, Iterator, NamedTuple

from rich.console import Console
from rich.text import Text

from ..events import CaptureStart, Finding, HttpRequest, HttpResponse, Message, Packet, TlsRecordSeen, WsFrame
from ..findings import Severity
from ..flow import TCP_FLAG_NAMES
from ..skim import Skimmed
from ..rfc6455 import opcode_label
from ..speedups import speedups
from .app_view import protocol_label, units_info
from .hexdump import hex_dump
from .lines import BATCH, LineWriter
from .text import safe
from .timefmt import TimeColumn

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan",
                  Severity.CHAT: "dim"}
PROTOCOL_STYLE = {"HTTP": "green", "WebSocket": "bright_cyan", "TCP": "", "TLSv1.2": "magenta", "TLSv1.3": "magenta"}


def group_by_packet(events: Iterable) -> Iterator[tuple[Packet | None, list]]:
    """``(packet, events it produced)``: a packet's events are those after it up to the next packet; events before
    the first packet come with ``None``."""
    return group_lists([ev] for ev in events)


def group_lists(lists: Iterable[list]) -> Iterator[tuple[Packet | None, list]]:
    """:func:`group_by_packet` of the driver's per-packet lists (``Driver.lists``: at most one Packet in each), a
    list at a time where it starts with its packet."""
    pkt = None
    cur: list = []
    done: list = []
    for evs in lists:
        if evs and (evs[0].__class__ is Packet or evs[0].__class__ is Skimmed):
            if pkt is not None or cur:
                yield pkt, cur
            pkt, cur = evs[0], evs[1:]
            continue
        pkt, cur = merge_list(pkt, cur, evs, done)
        if done:
            yield from done
            done.clear()
    if pkt is not None or cur:
        yield pkt, cur


def merge_list(pkt: Packet | None, cur: list, evs: list, done: list) -> tuple[Packet | None, list]:
    """:func:`group_lists`' rule for a list that does not start with its packet (a packet after other events: a
    finding about its connection; or no packet): the groups it finishes are appended to *done*, the group still
    open is returned."""
    for ev in evs:
        if ev.__class__ is Packet or ev.__class__ is Skimmed:
            if pkt is not None or cur:
                done.append((pkt, cur))
            pkt, cur = ev, []
        elif ev.__class__ is CaptureStart and pkt is not None:  # (a capture decoded again: not the last packet's)
            done.append((pkt, cur))
            pkt, cur = None, [ev]
        else:
            cur.append(ev)
    return pkt, cur


HTTP_HEADS = (HttpRequest, HttpResponse)


@functools.lru_cache(maxsize=512)
def tcp_flags(flags: int) -> str:
    return ", ".join(name for bit, name in TCP_FLAG_NAMES if flags & bit)


def ws_frame_info(f: WsFrame) -> str:
    """Wireshark's Info text for a WebSocket frame."""
    return FRAME_INFOS[f.opcode][f.fin][f.masked]


def _frame_info(opcode: int, fin: bool, masked: bool) -> str:
    parts = [f"WebSocket {opcode_label(opcode)}", "[FIN]" if fin else "[FRAGMENT]"]
    if masked:
        parts.append("[MASKED]")
    return " ".join(parts)


# every frame's Info text, by opcode (4 bits), FIN bit and mask bit: read inline on the packet list's path
FRAME_INFOS = tuple(tuple(tuple(_frame_info(opcode, fin, masked) for masked in (False, True)) for fin in (False, True))
                    for opcode in range(16))

if speedups is not None:  # the C list_line: the line of a common packet (what PacketListView.group writes for it)
    speedups.list_configure(Packet, WsFrame, Message, (Finding, HttpRequest, HttpResponse, TlsRecordSeen),
                            FRAME_INFOS, TCP_FLAG_NAMES)


def http_info(ev) -> str:
    if ev.__class__ is HttpRequest:
        return f"{ev.method} {ev.uri} {ev.version}"
    line = f"{ev.version} {ev.status} {ev.reason}".rstrip()
    ctype = next((v for k, v in ev.headers if k.lower() == "content-type"), None)
    if ctype and ev.status != 101:
        line += f"  ({ctype.split(';')[0].strip()})"
    return line


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
        self._interned: dict[str, str] = {}

    def row(self, p: Packet, events: list) -> PacketRow:
        protocol, info, worst, codes = self.columns(p, events)
        intern = self._interned.setdefault
        return PacketRow(frame=p.frame, ts=p.ts, src=intern(p.src, p.src), dst=intern(p.dst, p.dst),
                         protocol=protocol, length=p.wire_len, info=info, worst=worst, codes=codes,
                         stream=p.conn.index if p.conn is not None else None, direction=p.direction)

    def columns(self, p: Packet, events: list) -> tuple[str, str, Severity | None, tuple[str, ...]]:
        """Protocol, Info (escaped and cut: safe to show as is), the worst finding's severity and the codes of
        warnings and errors."""
        protocol, info, worst, codes = self.describe(p, events) if p.protocol is None else other_describe(p, events)
        if p.layers:
            protocol = tunnel_protocol(p.layers, protocol)
        if not (info.isprintable() and len(info) <= 400):  # (else safe() would return it as it is)
            info = safe(info, 400)
        return protocol, info, worst, codes

    def describe(self, p: Packet, events: list) -> tuple[str, str, Severity | None, tuple[str, ...]]:
        """Protocol, Info, the worst finding's severity and the codes of warnings and errors (one pass)."""
        http: list[str] | None = None
        frames: list[str] = []
        records: list | None = None
        worst = None
        codes: set[str] | None = None
        app = None
        app_on_http = None  # units of a message before any frame: they replace the last HTTP head's text
        for ev in events:
            cls = ev.__class__
            if cls is WsFrame:
                frames.append(FRAME_INFOS[ev.opcode][ev.fin][ev.masked])
            elif cls is Message:
                if ev.app and (frames or any(e.__class__ in HTTP_HEADS and e.frame == p.frame for e in events)):
                    if frames:
                        frames[-1] = units_info(ev.app)
                    else:
                        app_on_http = units_info(ev.app)
                    app = app or protocol_label(ev.app[0].protocol)
            elif cls is Finding:
                if worst is None or ev.severity > worst:
                    worst = ev.severity
                if ev.severity >= Severity.WARNING:
                    codes = codes or set()
                    codes.add(ev.code)
            elif cls in HTTP_HEADS:
                if ev.frame == p.frame:
                    http = http or []
                    http.append(http_info(ev))
            elif cls is TlsRecordSeen and ev.frame == p.frame:
                records = records or []
                records.append(ev)
        code_list = tuple(sorted(codes)) if codes else ()
        prefix = "".join(f"[{flag}] " for flag in p.analysis) if p.analysis else ""
        if frames or http:
            if app_on_http is not None:
                http[-1] = app_on_http
            return (app or ("WebSocket" if frames else "HTTP")), prefix + ", ".join(http + frames if http else
                                                                                      frames), worst, code_list
        if records:
            return records[-1].protocol, prefix + ", ".join(r.info for r in records), worst, code_list
        return "TCP", prefix + tcp_info(p), worst, code_list


def tcp_info(p: Packet) -> str:
    """tshark's Info text of a TCP packet without a higher protocol (no analysis flags)."""
    flags = p.flags
    info = f"{p.sport} → {p.dport} [{tcp_flags(flags)}] Seq={p.seq if p.rel_seq is None else p.rel_seq}"
    if flags & 16:
        info += f" Ack={p.rel_ack if p.rel_ack is not None else p.ack}"
    return info + f" Win={p.window if p.window_size is None else p.window_size} Len={p.payload_len}"


def other_describe(p: Packet, events: list) -> tuple[str, str, Severity | None, list[str]]:
    """The columns of a packet that is not TCP (its Protocol and Info were made with its layers)."""
    findings = [ev for ev in events if ev.__class__ is Finding]
    worst = max((f.severity for f in findings), default=None)
    return p.protocol or "", p.info or "", worst, sorted({f.code for f in findings if f.severity >= Severity.WARNING})


def tunnel_protocol(layers: tuple, protocol: str) -> str:
    """tshark names a packet carried by GTP ``GTP <inner protocol>``."""
    if protocol == "GTP" or not any(layer.protocol == "gtp" for layer in layers):
        return protocol
    return f"GTP <{protocol}>"


def list_header(addr_width: int = 15, time_width: int = 10) -> str:
    w = addr_width
    return (f"{'No.':>6} {'Time':>{time_width}} {'Source':<{w}} {'Destination':<{w}} {'Protocol':<9} "
            f"{'Length':>6} Info")


def packet_line(row: PacketRow, t0: float, addr_width: int = 15, time_text: str | None = None) -> Text:
    """The packet list line of *row*, coloured by protocol, its warning codes by severity (*time_text*: the Time
    column in another format than seconds since *t0*)."""
    w = max(addr_width, len(row.src), len(row.dst))
    style = PROTOCOL_STYLE.get(row.protocol, "")
    when = time_text if time_text is not None else f"{row.ts - t0:.6f}"
    line = Text(f"{row.frame:>6} {when:>10} {row.src:<{w}} {row.dst:<{w}} {row.protocol:<9} "
                f"{row.length:>6} ", style=style)
    line.append(row.info, style=style)
    if row.worst is not None and row.worst >= Severity.WARNING:
        line.append("  " + " ".join(f"[{c}]" for c in row.codes), style=SEVERITY_STYLE[row.worst])
    return line


NARROW = 100  # columns: below this the list leaves out Source, Destination and Length


class PacketListView:
    """One line per packet: No., Time, Source, Destination, Protocol, Length, Info."""

    def __init__(self, console: Console, times: TimeColumn | None = None, hex_bytes: bool = False):
        self.console = console
        self.times = times or TimeColumn("r")
        self.hex_bytes = hex_bytes  # -x: each packet's bytes after its line, as tshark prints them
        self.t0: float | None = None
        self.summaries = PacketSummaries()
        self.addr_width = 15
        self.middles: dict[tuple[str, str, str], str] = {}
        self.rows = 0
        self.header_due = True
        self.out = LineWriter(console)  # the rows: plain lines in batches, styles rendered once
        self.narrow = self.out.width < NARROW  # no Source, Destination and Length: No., Time, Protocol, Info stay

    def header(self) -> None:
        self.out.flush()
        header = (f"{'No.':>6} {'Time':>{self.times.width}} {'Protocol':<9} Info" if self.narrow
                  else list_header(self.addr_width, self.times.width))
        self.console.print(Text(header, style="bold"), soft_wrap=True)

    def group(self, pkt: Packet | None, events: list) -> None:
        """One packet's line (its events make the Info column); *pkt* None: events before the first packet, or a
        new capture's ``CaptureStart`` (it comes in a group of its own: ``group_lists`` and ``live`` hand it so)."""
        if pkt is None:
            for ev in events:
                if ev.__class__ is CaptureStart:  # a new capture: times from its start, the column header again
                    self.t0 = self.times.t0 = ev.ts
                    self.times.prev = None
                    self.header_due = True
            return
        if self.t0 is None:
            self.t0 = self.times.t0 = pkt.ts
        protocol, info, worst, codes = self.summaries.columns(pkt, events)
        if self.header_due:
            self.header_due = False
            self.header()
        self.rows += 1
        if self.narrow:
            main = f"{pkt.frame:>6} {self.times.text(pkt.ts):>10} {protocol:<9} {info}"
        else:
            middle = self.middles.get((pkt.src, pkt.dst, protocol)) or self._middle(pkt.src, pkt.dst, protocol)
            main = f"{pkt.frame:>6} {self.times.text(pkt.ts):>10} {middle}{pkt.wire_len:>6} {info}"
        if worst is not None and worst >= Severity.WARNING:
            self.out.write(main, PROTOCOL_STYLE.get(protocol, ""), "  " + " ".join(f"[{c}]" for c in codes),
                           SEVERITY_STYLE[worst])
        else:
            self.out.write(main, PROTOCOL_STYLE.get(protocol, ""))
        if self.hex_bytes:
            self.out.flush()
            self.console.print(hex_dump(pkt.data), soft_wrap=True)

    def lists(self, lists: Iterable[list]) -> None:
        """The lines of the driver's per-packet lists (``Driver.lists``): what :func:`group_lists` and :meth:`group`
        make of them; the C ``list_line`` writes a common packet's line at once (None: the Python way)."""
        line, styles = self._line_maker()
        width, batch, flush = self.out.width, self.out.batch, self.out.flush
        t0 = None  # the Time column's start while list_line may write the lines, else None
        whole: list | None = None  # the list of the packet being collected, as the driver gave it
        pkt, cur = None, []  # or the group being collected from several lists
        written = 0
        for evs in lists:
            if evs and evs[0].__class__ is Packet:
                if whole is not None:
                    text = line(whole, t0, width, styles) if t0 is not None else None
                    if text is None:
                        self.group(whole[0], whole[1:])
                        t0 = self._line_t0(line)
                    else:
                        batch.append(text)
                        written += 1
                        if len(batch) >= BATCH:
                            flush()
                elif pkt is not None or cur:
                    self.group(pkt, cur)
                    pkt, cur = None, []
                    t0 = self._line_t0(line)
                whole = evs
            elif evs:  # a list that does not start with its packet: group_lists' rules
                if whole is not None:
                    pkt, cur, whole = whole[0], whole[1:], None
                done: list = []
                pkt, cur = merge_list(pkt, cur, evs, done)
                for group in done:
                    self.group(*group)
                t0 = self._line_t0(line)
        self.rows += written
        if whole is not None:
            pkt, cur = whole[0], whole[1:]
        if pkt is not None or cur:
            self.group(pkt, cur)

    def _line_maker(self) -> tuple:
        """The C ``list_line`` and its style codes (TCP's, WebSocket's) when it can write this view's lines:
        the default relative times, not narrow, no hex dumps, a real console; (None, None) otherwise."""
        if speedups is None or self.narrow or self.hex_bytes or self.times.kind != "r" or self.out.direct:
            return None, None
        style = self.out.style
        return speedups.list_line, (*style(PROTOCOL_STYLE["TCP"]), *style(PROTOCOL_STYLE["WebSocket"]))

    def _line_t0(self, line) -> float | None:
        """The Time column's start for ``list_line`` (None: it may not write the next line)."""
        return self.t0 if line is not None and not self.header_due else None

    def _middle(self, src: str, dst: str, protocol: str) -> str:
        """The Source, Destination and Protocol columns (made once per address pair and protocol)."""
        w = max(self.addr_width, len(src), len(dst))
        text = f"{src:<{w}} {dst:<{w}} {protocol:<9} "
        if len(self.middles) < 4096:
            self.middles[(src, dst, protocol)] = text
        return text

    def end(self) -> None:
        self.out.flush()
        if not self.rows:
            self.console.print(Text("(no packets matched)", style="dim"))
