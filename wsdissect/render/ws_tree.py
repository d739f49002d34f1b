"""The WebSocket node of the detail tree: Wireshark's bit-field lines of one frame, its payload (text, JSON, hex,
close code and reason, ping data) and reassembly, with the byte ranges of the header fields and the payload in the
packet when they are in it."""
from __future__ import annotations

from typing import Optional

from ..events import Message, WsFrame
from ..findings import Severity
from ..rfc6455 import close_code_label, opcode_label
from .app_view import add_unit_nodes
from .nodes import Node, Span
from .packets import SEVERITY_STYLE
from .text import bitfield, hexdump, pretty_payload, safe


class FrameSpans:
    """Byte ranges of one frame's parts in the packet; None for a part that is not (verifiably) in it."""

    def __init__(self, f: WsFrame, start: int, floor: int, data_len: int, header_ok: bool):
        self.start, self.floor, self.limit, self.header_ok = start, floor, data_len, header_ok
        self.payload_start = start + len(f.header)
        self.payload_len = f.payload_len

    def header(self, offset: int, length: int) -> Optional[Span]:
        if not self.header_ok or offset + length > self.limit - self.start:
            return None
        return self.start + offset, self.start + offset + length

    def payload(self) -> Optional[Span]:
        begin, end = max(self.payload_start, self.floor), min(self.payload_start + self.payload_len, self.limit)
        if begin >= end or (not self.header_ok and self.start >= self.floor):
            return None
        return begin, end

    def frame(self) -> Optional[Span]:
        payload = self.payload()
        if self.header_ok:
            return self.start, payload[1] if payload else self.payload_start
        return payload


def frame_spans(f: WsFrame, start: int, floor: int, data: bytes) -> FrameSpans:
    """*start*: where the frame's header would begin in *data*, whose TCP payload begins at *floor*.  The header
    counts as there only when its bytes are; a frame that began in an earlier packet has only (the rest of) its
    payload here."""
    header_ok = floor <= start and bool(f.header) and data[start:start + len(f.header)] == f.header
    return FrameSpans(f, start, floor, len(data), header_ok)


def ws_node(f: WsFrame, msg: Message | None, fragments: list[tuple[int, int]], deflate: bool,
            spans: FrameSpans | None = None) -> Node:
    """The tree of one frame; *deflate*: permessage-deflate was negotiated on its connection."""
    sp = spans if spans is not None else FrameSpans(f, -1, 0, 0, False)
    t = Node("WebSocket", "bright_cyan", sp.frame())
    b0 = (0x80 if f.fin else 0) | (f.rsv << 4) | f.opcode
    b1 = (0x80 if f.masked else 0) | f.length_code
    first, second = sp.header(0, 1), sp.header(1, 1)
    t.add(f"{bitfield(b0, 0x80)} = Fin: {f.fin}", span=first)
    t.add(f"{bitfield(b0, 0x70)} = Reserved: 0x{f.rsv:x}", span=first)
    if deflate or f.rsv & 4:
        t.add(f"{bitfield(b0, 0x40)} = Per-Message Compressed: {bool(f.rsv & 4)}", span=first)
    t.add(f"{bitfield(b0, 0x0F)} = Opcode: {opcode_label(f.opcode)} ({f.opcode})", span=first)
    t.add(f"{bitfield(b1, 0x80)} = Mask: {f.masked}", span=second)
    lc = f.length_code
    ext = {126: 2, 127: 8}.get(lc, 0)
    if ext:
        bits = ext * 8
        t.add(f"{bitfield(b1, 0x7F)} = Payload length: {lc} Extended Payload Length ({bits} bits)", span=second)
        t.add(f"Extended Payload length ({bits} bits): {f.payload_len}", span=sp.header(2, ext))
    else:
        t.add(f"{bitfield(b1, 0x7F)} = Payload length: {lc}", span=second)
    if f.masked and f.mask_key is not None:
        t.add(f"Masking-Key: {f.mask_key.hex()}", span=sp.header(2 + ext, 4))
    if f.payload_len:
        if f.masked:
            t.add("Masked payload", span=sp.payload())
        _payload(t.add("Payload", span=sp.payload()), f, msg)
    if not f.complete:
        t.add("[Frame incomplete: bytes missing from the capture]", SEVERITY_STYLE[Severity.WARNING])
    if msg is not None and msg.fragments > 1:
        parts = [(fr, n) for fr, n in fragments if n]  # Wireshark lists the fragments that carry bytes
        t.add(f"[{len(parts)} Reassembled websocket Fragments ({sum(n for _, n in parts)} bytes): "
              + ", ".join(f"#{fr}({n})" for fr, n in parts) + "]")
    return t


def _payload(node: Node, f: WsFrame, msg: Message | None) -> None:
    op = f.opcode
    if op == 8:
        c = node.add("Close")
        if msg is not None and msg.close_code is not None:
            c.add(f"Status code: {close_code_label(msg.close_code)} ({msg.close_code})")
            if msg.close_reason:
                c.add(f"Reason: {safe(msg.close_reason, 500)}")
        return
    if op in (9, 10):
        node.add(f"{'Ping' if op == 9 else 'Pong'}: {f.payload.hex()}")
        return
    if msg is None:  # a fragment that does not finish its message
        node.add(f"Continue: {f.payload[:36].hex()}{'…' if len(f.payload) > 36 else ''}")
        return
    if msg.compressed:
        node.add(f"Compressed payload ({msg.wire_length} byte{'' if msg.wire_length == 1 else 's'})")
        node = node.add(f"[Decompressed payload ({len(msg.payload)} bytes)]")
    if not msg.complete:
        node.add(f"[Message incomplete: {msg.note or 'bytes missing'}]", SEVERITY_STYLE[Severity.WARNING])
    if msg.opcode == 1 and msg.text is not None:
        text, is_json = pretty_payload(msg.text)
        if is_json:
            node.add("Text (JSON):").children += [Node(line) for line in safe(text, 20000, newlines=True)
                                                  .split("\n")[:400]]
        else:
            node.add(f"Text: {safe(text, 2000)}")
    else:
        node.add(f"Data ({len(msg.payload)} bytes)").children += [Node(line) for line in hexdump(msg.payload)]
    if msg.app:
        add_unit_nodes(node, msg.app)
