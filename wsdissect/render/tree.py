"""Detail trees (``wsdissect show -V``): Frame, link layer, IP, TCP, HTTP and one WebSocket node per frame, with the
labels Wireshark uses, generated fields in brackets and expert info coloured by severity."""
from __future__ import annotations

from collections import deque

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from .tls_tree import tls_nodes
from ..flow import TCP_FLAG_NAMES
from ..speedups import speedups
from ..events import (CaptureStart, Finding, HttpRequest, HttpResponse, Message, Packet, TlsRecordSeen, Upgrade,
                      WsFrame)
from ..findings import KINDS, Severity
from ..skim import Skimmed
from ..run.driver import Resumed
from .packets import SEVERITY_STYLE, tcp_flags
from .lines import LineWriter
from .nodes import Guides, Node, Pen, field_span, to_rich, tree_lines
from .hexdump import hex_dump
from .text import safe
from .ws_tree import frame_spans, ws_node, ws_text

LINK_NAMES = {0: "Null/Loopback", 1: "Ethernet II", 101: "Raw packet data", 108: "Null/Loopback",
              113: "Linux cooked capture v1", 276: "Linux cooked capture v2", 228: "Raw packet data",
              229: "Raw packet data"}
HOLD_LIMIT = 2000  # packets held back at most while waiting for an HTTP response
HTTP_LABEL = "Hypertext Transfer Protocol"

_c_head = None  # the C twin of packet_head, when the speedups are built
if speedups is not None and hasattr(speedups, "tree_head"):
    speedups.tree_configure(TCP_FLAG_NAMES)
    _c_head = speedups.tree_head


def seconds(x: float) -> str:
    """Seconds with Wireshark's nine decimals.  Times are kept as float epoch seconds, exact to about 0.2 us, so
    they are shown rounded to the microsecond (the resolution of classic pcap)."""
    return f"{x:.6f}000"


def _mac(b: bytes) -> str:
    return b.hex(":")


def full_uri(req: HttpRequest) -> str:
    """Wireshark's [Full request URI]: scheme + Host + request target."""
    if req.uri.lower().startswith(("http://", "https://", "ws://", "wss://")):  # absolute-form
        return req.uri
    host = next((v for k, v in req.headers if k.lower() == "host"), None)
    return f"http://{host}{req.uri}" if host else req.uri


class TreeBuilder:
    """The detail nodes of packets fed in capture order.  ``observe`` every packet's events when they arrive (it
    pairs requests with responses and learns what was negotiated), ``track`` every packet in order (fragments of
    messages), then ``nodes`` builds the tree of a packet."""

    def __init__(self) -> None:
        self.response_frame: dict[tuple[int, int], int] = {}  # (connection, request number) -> its response's frame
        self.request_totals: dict[int, int] = {}  # connection index -> requests seen
        self.response_totals: dict[int, int] = {}
        self.deflate: set[int] = set()  # connections with permessage-deflate negotiated
        self.fragments: dict[tuple[int, str], list[tuple[int, int]]] = {}  # (frame, length) of the message so far

    def observe(self, events: list) -> list:
        """Learn from a packet's events; returns the HTTP requests still waiting for their response."""
        requests = []
        for ev in events:
            cls = ev.__class__
            if cls is Upgrade and ev.deflate is not None:
                self.deflate.add(ev.conn.index)
            if cls is HttpRequest:
                requests.append(ev)
                self.request_totals[ev.conn.index] = max(self.request_totals.get(ev.conn.index, 0), ev.number)
            elif cls is HttpResponse:
                self.response_totals[ev.conn.index] = max(self.response_totals.get(ev.conn.index, 0), ev.number)
                if ev.request is not None:
                    self.response_frame[_request_key(ev.request)] = ev.frame
        return requests

    def answered(self, request: HttpRequest) -> bool:
        return _request_key(request) in self.response_frame

    def track(self, events: list) -> list[list[tuple[int, int]]]:
        """The fragments so far of the message of each WebSocket frame of the packet (call for every packet)."""
        out = []
        for e in events:
            if e.__class__ is WsFrame:
                if 0 < e.opcode < 8 and e.fin and not self.fragments:  # a whole message, no other one under way
                    out.append([(e.frame, e.payload_len)])  # (what _fragments gives it)
                else:
                    out.append(self._fragments(e))
        return out

    def nodes(self, p: Packet, events: list, fragments: list, prev: float | None, t0: float) -> list[Node]:
        """The tree of packet *p*: Frame, link layer, IP, TCP, HTTP heads, WebSocket frames, expert info."""
        frames = [e for e in events if e.__class__ is WsFrame]
        heads = [e for e in events if e.__class__ in (HttpRequest, HttpResponse) and e.frame == p.frame]
        findings = [e for e in events if e.__class__ is Finding]
        completed = _pair(events)
        upgrades = [e for e in events if e.__class__ is Upgrade]
        if p.layers:  # tunnelled, tagged or not TCP: a node per header
            out = [self._frame_node(p, prev, t0)] + layer_nodes(p)
            if p.protocol is None:
                out.append(_tcp_node(p, [f for f in findings if f.code.startswith("tcp.")]))
        else:
            out = [self._frame_node(p, prev, t0), _link_node(p), _ip_node(p),
                   _tcp_node(p, [f for f in findings if f.code.startswith("tcp.")])]
        tls = tls_nodes(p.frame, events)
        out += tls
        out += [self._http_node(p, h, upgrades) for h in heads]
        for f, frags in zip(frames, fragments):
            spans = None if tls else frame_spans(f, ws_offset(p, f), payload_start(p), p.data)
            out.append(ws_node(f, completed.get(id(f)), frags, f.conn.index in self.deflate, spans))
        rest = [f for f in findings if not f.code.startswith("tcp.")]
        if rest:
            expert = Node("Expert Info", "bold")
            expert.children += [expert_node(f) for f in rest]
            out.append(expert)
        return out

    def text(self, p: Packet, events: list, fragments: list, prev: float | None, t0: float,
             pen: Pen) -> list[str] | None:
        """The tree of packet *p* drawn by *pen* (pieces of text that make its lines), when it has only the
        common parts (Frame, a plain link layer, IP, TCP, HTTP heads, WebSocket frames of complete messages) and
        every line fits; None: draw :meth:`nodes` instead (the same text, or rich's where a line must wrap)."""
        if p.layers:
            return None
        frames = []  # [frame, the message it completed or None] (as _pair pairs them)
        last = heads = None
        for ev in events:
            cls = ev.__class__
            if cls is WsFrame:
                last = [ev, None]
                frames.append(last)
            elif cls is Message:
                if last is not None and ev.last_frame == last[0].frame:
                    last[1] = ev
                    last = None
            elif cls is HttpRequest or cls is HttpResponse:
                heads = heads or []
                heads.append(ev)
            elif cls is Finding or cls is TlsRecordSeen:
                return None
        head = _c_head(p, prev, t0, pen.fork, pen.end, pen.width) if _c_head is not None else None
        if head is None:
            head = packet_head(p, prev, t0, pen)
            if head is None:
                return None
        out = [head]
        if heads and not self._http_text(p, heads, events, pen, out):
            return None
        deflate = self.deflate
        for (f, msg), frags in zip(frames, fragments):
            if not ws_text(f, msg, frags, f.conn.index in deflate, pen, out):
                return None
        return out

    def _http_text(self, p: Packet, heads: list, events: list, pen: Pen, out: list[str]) -> bool:
        """Append the nodes of the HTTP heads of packet *p* among *heads* drawn by *pen*; False when a line does
        not fit."""
        upgrades = [e for e in events if e.__class__ is Upgrade]
        for h in heads:
            if h.frame == p.frame:
                labels = self.http_labels(h, upgrades)
                if not (pen.fit_plain([HTTP_LABEL], 0) and pen.fits(labels, 1)):
                    return False
                out.append(pen.styled(HTTP_LABEL, "green") + pen.leaves("", labels))
        return True

    @staticmethod
    def _frame_node(p: Packet, prev: float | None, t0: float) -> Node:
        root, labels = frame_labels(p, prev, t0)
        t = Node(root, span=(0, p.cap_len) if p.cap_len else None)
        t.children = [Node(label) for label in labels]
        return t

    def _http_node(self, p: Packet, h, upgrades: list) -> Node:
        start = p.data.find(h.raw, payload_start(p)) if h.first_frame == p.frame else -1
        t = Node(HTTP_LABEL, "green", (start, start + len(h.raw)) if start >= 0 else None)
        spans = _line_spans(h.raw, start) if start >= 0 else []
        labels = self.http_labels(h, upgrades)
        t.children = [Node(label, "", spans[i] if i < len(spans) else None) for i, label in enumerate(labels)]
        return t

    def http_labels(self, h, upgrades: list) -> list[str]:
        """The lines of the node of HTTP head *h*: its lines as sent (escaped), then Wireshark's generated ones."""
        out = []
        for raw_line in h.raw.split(b"\n"):
            if raw_line:
                line = raw_line.decode("utf-8", "backslashreplace")
                out.append(safe(line.rstrip("\r"), 1000) + ("\\r\\n" if line.endswith("\r") else "\\n"))
        conn = h.conn.index
        if h.__class__ is HttpRequest:
            out.append(f"[Full request URI: {safe(full_uri(h), 1000)}]")
            out.append(f"[HTTP request {h.number}/{self.request_totals.get(conn, h.number)}]")
            rf = self.response_frame.get(_request_key(h))
            if rf is not None:
                out.append(f"[Response in frame: {rf}]")
            return out
        out.append(f"[HTTP response {h.number}/{self.response_totals.get(conn, h.number)}]")
        if h.request is not None:
            out.append(f"[Time since request: {seconds(h.ts - h.request.ts)} seconds]")
            out.append(f"[Request in frame: {h.request.frame}]")
            out.append(f"[Request URI: {safe(full_uri(h.request), 1000)}]")
        for up in upgrades:
            if up.response is h:
                out.append(f"[WebSocket subprotocol: {safe(up.subprotocol or '(none)')}]")
                out.append(f"[WebSocket extensions: {safe(', '.join(up.extensions) or '(none)')}]")
        return out

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


def frame_labels(p: Packet, prev: float | None, t0: float) -> tuple[str, list[str]]:
    """The Frame node's line and the lines under it."""
    wire, cap = p.wire_len, p.cap_len
    return (f"Frame {p.frame}: {wire} bytes on wire ({wire * 8} bits), {cap} bytes captured ({cap * 8} bits)", [
        f"Epoch Time: {seconds(p.ts)} seconds",
        f"[Time delta from previous captured frame: {seconds(0.0 if prev is None else p.ts - prev)} seconds]",
        f"[Time since reference or first frame: {seconds(p.ts - t0)} seconds]",
        f"Frame Number: {p.frame}",
        f"Frame Length: {wire} bytes ({wire * 8} bits)",
        f"Capture Length: {cap} bytes ({cap * 8} bits)"])


def packet_head(p: Packet, prev: float | None, t0: float, pen: Pen) -> str | None:
    """The Frame, link layer, IP and TCP nodes of a plain packet drawn by *pen* (None when a line does not fit):
    the reference of the C ``tree_head``."""
    root, labels = frame_labels(p, prev, t0)
    tcp_root, tcp = tcp_labels(p)
    tops = [root, link_label(p), ip_label(p), tcp_root]
    if not (pen.fit_plain(tops, 0) and pen.fit_plain(labels + tcp, 1)):
        return None
    return "".join([root, "\n", pen.leaves("", labels), tops[1], "\n", tops[2], "\n", tcp_root, "\n",
                    pen.leaves("", tcp)])


def _line_spans(raw: bytes, start: int) -> list[tuple[int, int]]:
    """The byte ranges of the lines (each with its newline) of an HTTP head found at *start* in its packet, but for
    empty ones."""
    spans = []
    pos = start
    for raw_line in raw.split(b"\n"):
        end = pos + len(raw_line) + 1
        if raw_line:
            spans.append((pos, min(end, start + len(raw))))
        pos = end
    return spans


def _request_key(request: HttpRequest) -> tuple[int, int]:
    """A request's key that outlives it (an id() is reused once the request is gone: another request would seem
    answered, by the wrong frame)."""
    return request.conn.index, request.number


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


def _tcp_header_len(p: Packet) -> int:
    """The TCP header's length from its data offset field (20 when that byte was not captured)."""
    return (p.data[p.tcp_offset + 12] >> 4) * 4 if len(p.data) > p.tcp_offset + 12 else 20


def payload_start(p: Packet) -> int:
    """Where the TCP payload starts in ``p.data``."""
    return p.tcp_offset + _tcp_header_len(p)


def ws_offset(p: Packet, f: WsFrame) -> int:
    """Where *f*'s header starts in ``p.data`` (negative or past the end when it is in another packet), from
    the stream offsets: the packet's payload starts at stream offset ``stream_start``."""
    if p.stream_start is None:
        return -1 << 62  # unknown: before any packet's start, so no range is claimed
    return payload_start(p) + f.stream_offset - p.stream_start


def layer_nodes(p: Packet) -> list[Node]:
    """One node per header of a packet drawn by its layers, with its lines under it (escaped: names, hosts and
    other texts in them come from the wire)."""
    out = []
    for layer in p.layers:
        node = Node(safe(layer.label, None), span=field_span(layer.start, layer.end - layer.start, len(p.data)))
        for line in layer.lines:
            node.add(safe(line, None))
        out.append(node)
    return out


def link_label(p: Packet) -> str:
    """The link layer's line (the hardware addresses of Ethernet)."""
    name = LINK_NAMES.get(p.linktype, f"Link type {p.linktype}")
    if p.linktype == 1 and len(p.data) >= 12:
        src, dst = _mac(p.data[6:12]), _mac(p.data[0:6])
        return f"{name}, Src: {src} ({src}), Dst: {dst} ({dst})"
    return name


def _link_node(p: Packet) -> Node:
    return Node(link_label(p), span=(0, p.l3_offset) if 0 < p.l3_offset <= len(p.data) else None)


def ip_label(p: Packet) -> str:
    return f"Internet Protocol Version {p.ip_version}, Src: {p.src}, Dst: {p.dst}"


def _ip_node(p: Packet) -> Node:
    return Node(ip_label(p), span=field_span(p.l3_offset, p.tcp_offset - p.l3_offset, len(p.data)))


def tcp_labels(p: Packet) -> tuple[str, list[str]]:
    """The TCP node's line and the field lines under it (its expert findings aside)."""
    seq = p.rel_seq if p.rel_seq is not None else p.seq
    acked = p.flags & 16
    ack = p.rel_ack if p.rel_ack is not None else p.ack
    label = (f"Transmission Control Protocol, Src Port: {p.sport}, Dst Port: {p.dport}, Seq: {seq}"
             + (f", Ack: {ack}" if acked else "") + f", Len: {p.payload_len}")
    lines = [f"Source Port: {p.sport}", f"Destination Port: {p.dport}"]
    if p.conn is not None:
        lines.append(f"[Stream index: {p.conn.index}]")
    lines += [f"[TCP Segment Len: {p.payload_len}]", f"Sequence Number: {seq}    (relative sequence number)",
              f"Sequence Number (raw): {p.seq}",
              f"Acknowledgment Number: {ack}    (relative ack number)" if acked else f"Acknowledgment Number: {p.ack}",
              f"Acknowledgment number (raw): {p.ack}", f"Flags: 0x{p.flags:03x} ({tcp_flags(p.flags)})",
              f"Window: {p.window}"]
    return label, lines


def _tcp_node(p: Packet, findings: list) -> Node:
    label, lines = tcp_labels(p)
    o, n = p.tcp_offset, len(p.data)
    t = Node(label, span=field_span(o, _tcp_header_len(p), n))
    if 0 <= o and o + 16 <= n:  # the fixed header fields are all captured (the common case)
        ports, dports, seqs, ack, flags, window = (o, o + 2), (o + 2, o + 4), (o + 4, o + 8), (o + 8, o + 12), \
            (o + 12, o + 14), (o + 14, o + 16)
    else:
        ports, dports, seqs, ack = field_span(o, 2, n), field_span(o + 2, 2, n), field_span(o + 4, 4, n), \
            field_span(o + 8, 4, n)
        flags, window = field_span(o + 12, 2, n), field_span(o + 14, 2, n)
    spans = [ports, dports] + ([None] if p.conn is not None else []) + [None, seqs, seqs, ack, ack, flags, window]
    t.children = [Node(line, "", span) for line, span in zip(lines, spans)]
    t.children += [expert_node(f) for f in findings]
    return t


def expert_node(f: Finding) -> Node:
    sev = Severity(f.severity)
    ref = KINDS[f.code].reference if f.code in KINDS else ""
    return Node(f"[Expert Info ({sev.name.title()}): {safe(f.message, 500)}] {f.code}" + (f" ({ref})" if ref else ""),
                SEVERITY_STYLE[sev])


class DetailView:
    """Prints one tree per packet.  Packets after an HTTP request are held until its response is seen (at most
    ``HOLD_LIMIT`` packets) so the request's tree can say ``[Response in frame: N]`` as Wireshark does."""

    def __init__(self, console: Console, frames: set[int] | None = None, hex_bytes: bool = False):
        self.console = console
        self.frames = frames
        self.missing: set[int] = set(frames or ())  # requested frames of this capture not drawn yet
        self.found_all = False  # some capture had every requested frame
        self.hex_bytes = hex_bytes  # -x: the packet's bytes after its tree
        self.builder = TreeBuilder()
        self.held: deque = deque()
        self.waiting: list = []  # requests whose response is not seen yet
        self.t0: float | None = None
        self.prev_ts: float | None = None
        self.printed = 0
        self.out = LineWriter(console)  # the trees' lines in batches, styles rendered once
        self.guides = Guides.of(console.options.ascii_only) if isinstance(console, Console) else None
        self.pen = Pen(self.out.width, self.guides, self.out.style, self._wrap) if self.guides is not None else None

    def group(self, pkt: Packet | Skimmed | None, events: list) -> None:
        if pkt.__class__ is Skimmed and not self.held and not self.waiting and self._skip(pkt, events):
            return
        for ev in events:
            if ev.__class__ is CaptureStart:  # a new capture: its times and streams from its start
                self.end_held()
                self.t0 = self.prev_ts = None
                self.builder = TreeBuilder()
                self.missing = set(self.frames or ())
                break
        requests = self.builder.observe(events)
        if requests or self.waiting:
            self.waiting = [r for r in self.waiting + requests if not self.builder.answered(r)]
        if pkt is None:
            return
        if pkt.__class__ is Skimmed:
            for ev in events:
                if ev.__class__ is Resumed:  # skimming ended: the fragments its frames would have told
                    self.builder.fragments.update(ev.fragments)
        if not self.held and not self.waiting:  # nothing to wait for: drawn at once
            self._render(pkt, events)
            return
        self.held.append((pkt, events))
        if len(self.held) > HOLD_LIMIT:
            self.waiting.clear()  # an unanswered request: stop waiting for its response
        if not self.waiting:
            while self.held:
                self._render(*self.held.popleft())

    def _skip(self, pkt: Skimmed, events: list) -> bool:
        """A skimmed packet with nothing held and nothing to learn from: only its time counts (what :meth:`group`
        would do, cheaper).  False when :meth:`group` must take it."""
        for ev in events:
            cls = ev.__class__
            if cls is HttpRequest or cls is HttpResponse or cls is Upgrade or cls is CaptureStart or cls is Resumed:
                return False
        if self.t0 is None:
            self.t0 = pkt.ts
        self.prev_ts = pkt.ts
        return True

    @property
    def complete(self) -> bool:
        """Only given frames are shown and every one of this capture's is drawn: the rest need not be read (a
        frame's events all come with its own packet's group, which ends when the next packet arrives)."""
        return self.frames is not None and not self.missing

    def end_held(self) -> None:
        while self.held:
            self._render(*self.held.popleft())

    def end(self) -> None:
        self.end_held()
        self.out.flush()
        if not self.printed:
            self.console.print(Text("(no packets matched)", style="dim"))

    def _render(self, p: Packet, events: list) -> None:
        if self.t0 is None:
            self.t0 = p.ts
        prev, self.prev_ts = self.prev_ts, p.ts
        if p.__class__ is Skimmed:  # (decoded for its state only: never in --frame's set)
            return
        fragments = self.builder.track(events)  # tracked for every packet, shown or not
        if self.frames is not None:
            if p.frame not in self.frames:
                return
            self.missing.discard(p.frame)
            self.found_all = self.found_all or not self.missing
        out = self.out
        gap = self.printed > 0  # a blank line between trees
        self.printed += 1
        drawn = self.builder.text(p, events, fragments, prev, self.t0, self.pen) if self.pen is not None else None
        if drawn is not None:
            if gap:
                drawn.insert(0, "\n")
            out.lines(drawn)
        else:
            if gap:
                out.write("", "")
            for node in self.builder.nodes(p, events, fragments, prev, self.t0):
                self.draw(node)
        if self.hex_bytes:
            out.write("", "")
            out.flush()
            self.console.print(hex_dump(p.data), soft_wrap=True)

    def _wrap(self, label: str, room: int) -> list[str]:
        """*label* as rich lays out the label of a tree's node *room* cells wide: its lines, with their newlines."""
        with self.console.capture() as cap:
            self.console.print(Tree(Text(label)), width=room)
        return [line + "\n" for line in cap.get().split("\n")[:-1]]

    def draw(self, node: Node) -> None:
        """One top-level node: plain lines with rich's guides, or rich's Tree when a label must wrap."""
        out = self.out
        lines = tree_lines(node, out.width, self.guides, out.style) if self.guides is not None else None
        if lines is None:
            out.flush()
            self.console.print(to_rich(node))
        else:
            out.lines(lines)
