"""Detail trees (``wsdissect show -V``): Frame, link layer, IP, TCP, HTTP and one WebSocket node per frame, with the
labels Wireshark uses, generated fields in brackets and expert info coloured by severity."""
from __future__ import annotations

from collections import deque

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from ..events import Finding, HttpRequest, HttpResponse, Message, Packet, Upgrade, WsFrame
from ..findings import KINDS, Severity
from ..rfc6455 import close_code_label, opcode_label
from .packets import SEVERITY_STYLE, tcp_flags
from .text import bitfield, hexdump, pretty_payload, safe

LINK_NAMES = {0: "Null/Loopback", 1: "Ethernet II", 101: "Raw packet data", 108: "Null/Loopback",
              113: "Linux cooked capture v1", 276: "Linux cooked capture v2", 228: "Raw packet data",
              229: "Raw packet data"}
HOLD_LIMIT = 2000  # packets held back at most while waiting for an HTTP response


def _t(s: str, style: str = "") -> Text:
    return Text(s, style=style)


def seconds(x: float) -> str:
    """Seconds with Wireshark's nine decimals.  Times are kept as float epoch seconds, exact to about 0.2 us, so
    they are shown rounded to the microsecond (the resolution of classic pcap)."""
    return f"{x:.6f}000"


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def full_uri(req: HttpRequest) -> str:
    """Wireshark's [Full request URI]: scheme + Host + request target."""
    if req.uri.lower().startswith(("http://", "https://", "ws://", "wss://")):  # absolute-form
        return req.uri
    host = next((v for k, v in req.headers if k.lower() == "host"), None)
    return f"http://{host}{req.uri}" if host else req.uri


class DetailView:
    """Prints one tree per packet.  Packets after an HTTP request are held until its response is seen (at most
    ``HOLD_LIMIT`` packets) so the request's tree can say ``[Response in frame: N]`` as Wireshark does."""

    def __init__(self, console: Console, frames: set[int] | None = None, websocket_only: bool = False):
        self.console = console
        self.frames = frames
        self.websocket_only = websocket_only
        self.held: deque = deque()
        self.waiting: set[int] = set()  # id() of requests whose response is not seen yet
        self.response_frame: dict[int, int] = {}
        self.request_totals: dict[int, int] = {}  # connection index -> requests seen
        self.response_totals: dict[int, int] = {}
        self.t0: float | None = None
        self.prev_ts: float | None = None
        self.printed = 0
        self.deflate: set[int] = set()  # connections with permessage-deflate negotiated
        self.fragments: dict[tuple[int, str], list[tuple[int, int]]] = {}  # (frame, length) of the message so far

    def group(self, pkt: Packet | None, events: list) -> None:
        for ev in events:
            cls = ev.__class__
            if cls is Upgrade and ev.deflate is not None:
                self.deflate.add(ev.conn.index)
            if cls is HttpRequest:
                self.waiting.add(id(ev))
                self.request_totals[ev.conn.index] = max(self.request_totals.get(ev.conn.index, 0), ev.number)
            elif cls is HttpResponse:
                self.response_totals[ev.conn.index] = max(self.response_totals.get(ev.conn.index, 0), ev.number)
                if ev.request is not None:
                    self.response_frame[id(ev.request)] = ev.frame
                    self.waiting.discard(id(ev.request))
        if pkt is None:
            return
        self.held.append((pkt, events))
        if len(self.held) > HOLD_LIMIT:
            self.waiting.clear()  # an unanswered request: stop waiting for its response
        if not self.waiting:
            while self.held:
                self._render(*self.held.popleft())

    def end(self) -> None:
        while self.held:
            self._render(*self.held.popleft())
        if not self.printed:
            self.console.print(Text("(no packets matched)", style="dim"))

    # -- one packet -----------------------------------------------------------------------------------------
    def _render(self, p: Packet, events: list) -> None:
        if self.t0 is None:
            self.t0 = p.ts
        prev, self.prev_ts = self.prev_ts, p.ts
        frames = [e for e in events if e.__class__ is WsFrame]
        fragments = [self._fragments(f) for f in frames]  # tracked for every packet, shown or not
        if self.frames is not None and p.frame not in self.frames:
            return
        heads = [e for e in events if e.__class__ in (HttpRequest, HttpResponse) and e.frame == p.frame]
        if self.websocket_only and not frames and not heads:
            return
        findings = [e for e in events if e.__class__ is Finding]
        completed = self._pair(events)
        upgrades = [e for e in events if e.__class__ is Upgrade]
        con = self.console
        if self.printed:
            con.print()
        self.printed += 1
        con.print(self._frame_node(p, prev))
        con.print(_link_line(p))
        con.print(_ip_line(p))
        con.print(self._tcp_node(p, [f for f in findings if f.code.startswith("tcp.")]))
        for h in heads:
            con.print(self._http_node(h, upgrades))
        for f, frags in zip(frames, fragments):
            con.print(self._ws_node(f, completed.get(id(f)), frags))
        rest = [f for f in findings if not f.code.startswith("tcp.")]
        if rest:
            tree = Tree(_t("Expert Info", "bold"))
            for f in rest:
                tree.add(_expert_text(f))
            con.print(tree)

    @staticmethod
    def _pair(events: list) -> dict[int, Message]:
        """The message each frame completed: the assembler emits it right after the frame's event."""
        paired: dict[int, Message] = {}
        last = None
        for ev in events:
            if ev.__class__ is WsFrame:
                last = ev
            elif ev.__class__ is Message and last is not None and ev.last_frame == last.frame:
                paired[id(last)] = ev
                last = None
        return paired

    def _frame_node(self, p: Packet, prev: float | None) -> Tree:
        t = Tree(_t(f"Frame {p.frame}: {p.wire_len} bytes on wire ({p.wire_len * 8} bits), {p.cap_len} bytes "
                    f"captured ({p.cap_len * 8} bits)"))
        t.add(_t(f"Epoch Time: {seconds(p.ts)} seconds"))
        t.add(_t(f"[Time delta from previous captured frame: {seconds(0.0 if prev is None else p.ts - prev)} "
                 "seconds]"))
        t.add(_t(f"[Time since reference or first frame: {seconds(p.ts - self.t0)} seconds]"))
        t.add(_t(f"Frame Number: {p.frame}"))
        t.add(_t(f"Frame Length: {p.wire_len} bytes ({p.wire_len * 8} bits)"))
        t.add(_t(f"Capture Length: {p.cap_len} bytes ({p.cap_len * 8} bits)"))
        return t

    def _tcp_node(self, p: Packet, findings: list) -> Tree:
        seq = p.rel_seq if p.rel_seq is not None else p.seq
        label = f"Transmission Control Protocol, Src Port: {p.sport}, Dst Port: {p.dport}, Seq: {seq}"
        if p.flags & 16:
            label += f", Ack: {p.rel_ack if p.rel_ack is not None else p.ack}"
        label += f", Len: {p.payload_len}"
        t = Tree(_t(label))
        t.add(_t(f"Source Port: {p.sport}"))
        t.add(_t(f"Destination Port: {p.dport}"))
        if p.conn is not None:
            t.add(_t(f"[Stream index: {p.conn.index}]"))
        t.add(_t(f"[TCP Segment Len: {p.payload_len}]"))
        t.add(_t(f"Sequence Number: {seq}    (relative sequence number)"))
        t.add(_t(f"Sequence Number (raw): {p.seq}"))
        if p.flags & 16:
            t.add(_t(f"Acknowledgment Number: {p.rel_ack if p.rel_ack is not None else p.ack}    "
                     "(relative ack number)"))
        else:
            t.add(_t(f"Acknowledgment Number: {p.ack}"))
        t.add(_t(f"Acknowledgment number (raw): {p.ack}"))
        t.add(_t(f"Flags: 0x{p.flags:03x} ({tcp_flags(p.flags)})"))
        t.add(_t(f"Window: {p.window}"))
        for f in findings:
            t.add(_expert_text(f))
        return t

    def _http_node(self, h, upgrades: list) -> Tree:
        t = Tree(_t("Hypertext Transfer Protocol", "green"))
        lines = h.raw.decode("utf-8", "backslashreplace").split("\n")
        for line in lines:
            if not line:
                continue
            t.add(_t(safe(line.rstrip("\r"), 1000) + ("\\r\\n" if line.endswith("\r") else "\\n")))
        conn = h.conn.index
        if h.__class__ is HttpRequest:
            t.add(_t(f"[Full request URI: {safe(full_uri(h), 1000)}]"))
            t.add(_t(f"[HTTP request {h.number}/{self.request_totals.get(conn, h.number)}]"))
            rf = self.response_frame.get(id(h))
            if rf is not None:
                t.add(_t(f"[Response in frame: {rf}]"))
        else:
            t.add(_t(f"[HTTP response {h.number}/{self.response_totals.get(conn, h.number)}]"))
            if h.request is not None:
                t.add(_t(f"[Time since request: {seconds(h.ts - h.request.ts)} seconds]"))
                t.add(_t(f"[Request in frame: {h.request.frame}]"))
                t.add(_t(f"[Request URI: {safe(full_uri(h.request), 1000)}]"))
            for up in upgrades:
                if up.response is h:
                    t.add(_t(f"[WebSocket subprotocol: {safe(up.subprotocol or '(none)')}]"))
                    t.add(_t(f"[WebSocket extensions: {safe(', '.join(up.extensions) or '(none)')}]"))
        return t

    def _fragments(self, f: WsFrame) -> list[tuple[int, int]]:
        """(frame, payload length) of the data frames of *f*'s message so far, *f* included."""
        if f.opcode >= 8:
            return []
        key = (f.conn.index, f.direction)
        if f.opcode != 0 or key not in self.fragments:
            self.fragments[key] = []
        frags = self.fragments[key]
        frags.append((f.frame, f.payload_len))
        if f.fin:
            del self.fragments[key]
        return frags

    def _ws_node(self, f: WsFrame, msg: Message | None, fragments: list[tuple[int, int]]) -> Tree:
        t = Tree(_t("WebSocket", "bright_cyan"))
        b0 = (0x80 if f.fin else 0) | (f.rsv << 4) | f.opcode
        b1 = (0x80 if f.masked else 0) | f.length_code
        t.add(_t(f"{bitfield(b0, 0x80)} = Fin: {f.fin}"))
        t.add(_t(f"{bitfield(b0, 0x70)} = Reserved: 0x{f.rsv:x}"))
        if f.conn.index in self.deflate or f.rsv & 4:
            t.add(_t(f"{bitfield(b0, 0x40)} = Per-Message Compressed: {bool(f.rsv & 4)}"))
        t.add(_t(f"{bitfield(b0, 0x0F)} = Opcode: {opcode_label(f.opcode)} ({f.opcode})"))
        t.add(_t(f"{bitfield(b1, 0x80)} = Mask: {f.masked}"))
        lc = f.length_code
        if lc == 126:
            t.add(_t(f"{bitfield(b1, 0x7F)} = Payload length: 126 Extended Payload Length (16 bits)"))
            t.add(_t(f"Extended Payload length (16 bits): {f.payload_len}"))
        elif lc == 127:
            t.add(_t(f"{bitfield(b1, 0x7F)} = Payload length: 127 Extended Payload Length (64 bits)"))
            t.add(_t(f"Extended Payload length (64 bits): {f.payload_len}"))
        else:
            t.add(_t(f"{bitfield(b1, 0x7F)} = Payload length: {lc}"))
        if f.masked and f.mask_key is not None:
            t.add(_t(f"Masking-Key: {f.mask_key.hex()}"))
        if f.payload_len:
            if f.masked:
                t.add(_t("Masked payload"))
            self._payload(t.add(_t("Payload")), f, msg)
        if not f.complete:
            t.add(_t("[Frame incomplete: bytes missing from the capture]", SEVERITY_STYLE[Severity.WARNING]))
        if msg is not None and msg.fragments > 1:
            parts = [(fr, n) for fr, n in fragments if n]  # Wireshark lists the fragments that carry bytes
            t.add(_t(f"[{len(parts)} Reassembled websocket Fragments ({sum(n for _, n in parts)} bytes): "
                     + ", ".join(f"#{fr}({n})" for fr, n in parts) + "]"))
        return t

    def _payload(self, node: Tree, f: WsFrame, msg: Message | None) -> None:
        op = f.opcode
        if op == 8:
            c = node.add(_t("Close"))
            if msg is not None and msg.close_code is not None:
                c.add(_t(f"Status code: {close_code_label(msg.close_code)} ({msg.close_code})"))
                if msg.close_reason:
                    c.add(_t(f"Reason: {safe(msg.close_reason, 500)}"))
            return
        if op in (9, 10):
            node.add(_t(f"{'Ping' if op == 9 else 'Pong'}: {f.payload.hex()}"))
            return
        if msg is None:  # a fragment that does not finish its message
            node.add(_t(f"Continue: {f.payload[:36].hex()}{'…' if len(f.payload) > 36 else ''}"))
            return
        if msg.compressed:
            node.add(_t(f"Compressed payload ({msg.wire_length} byte{'' if msg.wire_length == 1 else 's'})"))
            node = node.add(_t(f"[Decompressed payload ({len(msg.payload)} bytes)]"))
        if not msg.complete:
            node.add(_t(f"[Message incomplete: {msg.note or 'bytes missing'}]", SEVERITY_STYLE[Severity.WARNING]))
        if msg.opcode == 1 and msg.text is not None:
            text, is_json = pretty_payload(msg.text)
            if is_json:
                j = node.add(_t("Text (JSON):"))
                for line in safe(text, 20000, newlines=True).split("\n")[:400]:
                    j.add(_t(line))
            else:
                node.add(_t(f"Text: {safe(text, 2000)}"))
        else:
            d = node.add(_t(f"Data ({len(msg.payload)} bytes)"))
            for line in hexdump(msg.payload):
                d.add(_t(line))


def _link_line(p: Packet) -> Text:
    name = LINK_NAMES.get(p.linktype, f"Link type {p.linktype}")
    if p.linktype == 1 and len(p.data) >= 12:
        src, dst = _mac(p.data[6:12]), _mac(p.data[0:6])
        return _t(f"{name}, Src: {src} ({src}), Dst: {dst} ({dst})")
    return _t(name)


def _ip_line(p: Packet) -> Text:
    return _t(f"Internet Protocol Version {p.ip_version}, Src: {p.src}, Dst: {p.dst}")


def _expert_text(f: Finding) -> Text:
    sev = Severity(f.severity)
    ref = KINDS[f.code].reference if f.code in KINDS else ""
    return _t(f"[Expert Info ({sev.name.title()}): {safe(f.message, 500)}] {f.code}"
              + (f" ({ref})" if ref else ""), SEVERITY_STYLE[sev])
