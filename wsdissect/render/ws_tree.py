"""The WebSocket node of the detail tree: Wireshark's bit-field lines of one frame, its payload (text, JSON, hex,
close code and reason, ping data) and reassembly, with the byte ranges of the header fields and the payload in the
packet when they are in it."""
from __future__ import annotations

import functools
from typing import Optional

from ..events import Message, WsFrame
from ..findings import Severity
from ..speedups import speedups
from ..rfc6455 import close_code_label, opcode_label
from .app_view import add_unit_nodes
from .nodes import Node, Pen, Span
from .packets import SEVERITY_STYLE
from .text import bitfield, hexdump, pretty_payload, safe

_EXT_BYTES = {126: 2, 127: 8}  # the 7-bit length code -> bytes of the extended length after it
JSON_LINES = 400  # lines of a JSON payload shown at most
JSON_TEXT = 20000  # characters of a JSON payload shown at most
_c_frame = getattr(speedups, "tree_frame", None)  # the C twin of _frame_text for pretty JSON, when built


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
    first_labels, second_labels = _header_labels(b0, b1, deflate)
    t.children += [Node(label, "", first) for label in first_labels]
    t.children += [Node(label, "", second) for label in second_labels]
    ext = _EXT_BYTES.get(f.length_code, 0)
    if ext:
        t.add(_ext_label(f, ext), span=sp.header(2, ext))
    if f.masked and f.mask_key is not None:
        t.add(f"Masking-Key: {f.mask_key.hex()}", span=sp.header(2 + ext, 4))
    if f.payload_len:
        if f.masked:
            t.add("Masked payload", span=sp.payload())
        _payload(t.add("Payload", span=sp.payload()), f, msg)
    if not f.complete:
        t.add("[Frame incomplete: bytes missing from the capture]", SEVERITY_STYLE[Severity.WARNING])
    if msg is not None and msg.fragments > 1:
        t.add(_reassembled_label(fragments))
    return t


def ws_text(f: WsFrame, msg: Message | None, fragments: list[tuple[int, int]], deflate: bool, pen: Pen,
            out: list[str]) -> bool:
    """Append to *out* what :func:`ws_node` draws, drawn by *pen* straight away, for a complete frame of a complete
    message without application units; False for the others or when a line does not fit."""
    if _c_frame is not None and msg is not None:  # (C: a whole message in one frame shown as pretty JSON)
        drawn = _c_frame(f, msg, pretty_payload, pen.memo, deflate, pen.guides, pen.width, JSON_LINES, JSON_TEXT)
        if drawn is not None:
            out += drawn
            return True
    data = f.opcode < 8 and msg is not None
    if not f.complete or (data and (not msg.complete or msg.app)):
        return False
    return _frame_text(f, msg, fragments, deflate, pen, out, _content_body(f, msg) if f.payload_len else None)


def _frame_text(f: WsFrame, msg: Message | None, fragments: list[tuple[int, int]], deflate: bool, pen: Pen,
                out: list[str], content: tuple[str, list[str] | str] | None) -> bool:
    """:func:`ws_text` in Python (the reference of the C ``tree_frame``), *content* made already (None: the frame
    has no payload)."""
    data = f.opcode < 8 and msg is not None
    head = _drawn_header(f, deflate, pen)
    if not head:
        return False
    lc = f.length_code
    more = [_ext_label(f, _EXT_BYTES[lc])] if lc >= 126 else []
    if f.masked and f.mask_key is not None:
        more.append(f"Masking-Key: {f.mask_key.hex()}")  # (the lines after the header's bit fields)
    tail = [_reassembled_label(fragments)] if msg is not None and msg.fragments > 1 else []
    if not f.payload_len:
        more += tail
        if not (more and pen.fit_plain(more, 1)):  # (none: the header's last line would end the node)
            return False
        out += head, pen.leaves("", more)
        return True
    if f.masked:
        more.append("Masked payload")
    if (more or tail) and not pen.fit_plain(more + tail, 1):
        return False
    label, body = content
    lead = _packed_lead(msg, label, not tail, pen) if data and msg.compressed else _lead(label, not tail, pen)
    if lead is None:
        return False
    under = _under(body, lead[1], lead[2], pen)
    if under is None:
        return False
    out += head, pen.leaves("", more, False) if more else "", lead[0], under, pen.leaves("", tail) if tail else ""
    return True


_CONSTANT_LABELS = frozenset(("Text (JSON):", "Close"))  # content lines whose drawing is kept (memo) per pen


def _lead(label: str, last: bool, pen: Pen) -> tuple[str, str, int] | None:
    """The ``Payload`` line and the content line *label* under it (the last of the node when *last*), the indent
    and depth of the lines under that; None when *label* needs rich and the pen has no wrap."""
    key = ("lead", label, last)
    lead = pen.memo.get(key, False)
    if lead is False:
        payload, inner = pen.branch("", "Payload", last)
        content = pen.long_branch(inner, label, True, 2)
        lead = None if content is None else (payload + content[0], content[1], 3)
        if label in _CONSTANT_LABELS:
            pen.memo[key] = lead
    return lead


def _packed_lead(msg: Message, label: str, last: bool, pen: Pen) -> tuple[str, str, int] | None:
    """:func:`_lead` of a compressed message: under Payload the size as sent, then the decompressed size with the
    content line under it."""
    packed = _compressed_labels(msg)
    if not pen.fit_plain(packed, 2):
        return None
    payload, inner = pen.branch("", "Payload", last)
    line, deeper = pen.branch(inner, packed[1], True)
    content = pen.long_branch(deeper, label, True, 3)
    if content is None:
        return None
    return payload + pen.leaves(inner, packed[:1], False) + line + content[0], content[1], 4


def _under(body: list[str] | str, indent: str, depth: int, pen: Pen) -> str | None:
    """The lines under the content line (*body* as :func:`_content_body` gives it) drawn by *pen*; None when one
    does not fit."""
    if body.__class__ is str:  # pretty JSON: as it is when it needs no escape (the common case), else escaped
        if len(body) <= JSON_TEXT:
            drawn = pen.leaves_text(indent, body, depth, JSON_LINES)
            if drawn is not None:
                return drawn
        body = _json_lines(body)
    return pen.leaves(indent, body) if pen.fits(body, depth) else None


def _drawn_header(f: WsFrame, deflate: bool, pen: Pen) -> str:
    """The ``WebSocket`` line and the bit-field lines of *f*'s header, drawn by *pen* with more lines to come
    ('' when a line does not fit); drawn once per header and pen."""
    b0, b1 = (0x80 if f.fin else 0) | (f.rsv << 4) | f.opcode, (0x80 if f.masked else 0) | f.length_code
    key = b0 << 9 | b1 << 1 | deflate if b0 | b1 < 256 else (b0, b1, deflate)  # (the C tree_frame's key)
    drawn = pen.memo.get(key)
    if drawn is None:
        first, second = _header_labels(b0, b1, deflate)
        labels = first + second
        drawn = pen.memo[key] = (pen.styled("WebSocket", "bright_cyan") + pen.leaves("", labels, False)
                                 if pen.fits(labels, 1) else "")
    return drawn


def _ext_label(f: WsFrame, ext: int) -> str:
    return f"Extended Payload length ({ext * 8} bits): {f.payload_len}"


def _reassembled_label(fragments: list[tuple[int, int]]) -> str:
    """Wireshark's line listing the fragments of a message (those that carry bytes)."""
    parts = [(fr, n) for fr, n in fragments if n]
    return (f"[{len(parts)} Reassembled websocket Fragments ({sum(n for _, n in parts)} bytes): "
            + ", ".join(f"#{fr}({n})" for fr, n in parts) + "]")


@functools.lru_cache(maxsize=2048)
def _header_labels(b0: int, b1: int, deflate: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The bit-field lines of a frame's first header byte and of its second (the same for every frame with those
    bytes: made once)."""
    fin, rsv, opcode, lc = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, b1 & 0x7F
    first = [f"{bitfield(b0, 0x80)} = Fin: {fin}", f"{bitfield(b0, 0x70)} = Reserved: 0x{rsv:x}"]
    if deflate or rsv & 4:
        first.append(f"{bitfield(b0, 0x40)} = Per-Message Compressed: {bool(rsv & 4)}")
    first.append(f"{bitfield(b0, 0x0F)} = Opcode: {opcode_label(opcode)} ({opcode})")
    second = [f"{bitfield(b1, 0x80)} = Mask: {bool(b1 & 0x80)}"]
    ext = _EXT_BYTES.get(lc, 0)
    if ext:
        second.append(f"{bitfield(b1, 0x7F)} = Payload length: {lc} Extended Payload Length ({ext * 8} bits)")
    else:
        second.append(f"{bitfield(b1, 0x7F)} = Payload length: {lc}")
    return tuple(first), tuple(second)


def _payload(node: Node, f: WsFrame, msg: Message | None) -> None:
    data = f.opcode < 8 and msg is not None  # (else a control frame, or a fragment that does not end its message)
    if data and msg.compressed:
        compressed, decompressed = _compressed_labels(msg)
        node.add(compressed)
        node = node.add(decompressed)
    if data and not msg.complete:
        node.add(f"[Message incomplete: {msg.note or 'bytes missing'}]", SEVERITY_STYLE[Severity.WARNING])
    label, lines = _content(f, msg)
    node.add(label).children += [Node(line) for line in lines]
    if data and msg.app:
        add_unit_nodes(node, msg.app)


def _compressed_labels(msg: Message) -> tuple[str, str]:
    """The lines of a compressed message's sizes: as sent, and decompressed (the payload is shown under it)."""
    return (f"Compressed payload ({msg.wire_length} byte{'' if msg.wire_length == 1 else 's'})",
            f"[Decompressed payload ({len(msg.payload)} bytes)]")


def _content(f: WsFrame, msg: Message | None) -> tuple[str, list[str]]:
    """The line that shows the payload (close code, ping data, text, JSON, hex) and the lines under it."""
    label, body = _content_body(f, msg)
    return label, _json_lines(body) if body.__class__ is str else body


def _json_lines(pretty: str) -> list[str]:
    """The lines shown of pretty-printed JSON, escaped."""
    return safe(pretty, JSON_TEXT, newlines=True).split("\n")[:JSON_LINES]


def _content_body(f: WsFrame, msg: Message | None) -> tuple[str, list[str] | str]:
    """:func:`_content`, with pretty JSON left as its text (:func:`_json_lines` makes its lines)."""
    op = f.opcode
    if op == 8:
        if msg is None or msg.close_code is None:
            return "Close", []
        lines = [f"Status code: {close_code_label(msg.close_code)} ({msg.close_code})"]
        if msg.close_reason:
            lines.append(f"Reason: {safe(msg.close_reason, 500)}")
        return "Close", lines
    if op in (9, 10):
        return f"{'Ping' if op == 9 else 'Pong'}: {f.payload.hex()}", []
    if msg is None:  # a fragment that does not finish its message
        return f"Continue: {f.payload[:36].hex()}{'…' if len(f.payload) > 36 else ''}", []
    if msg.opcode == 1 and msg.text is not None:
        text, is_json = pretty_payload(msg.text)
        if is_json:
            return "Text (JSON):", text
        return f"Text: {safe(text, 2000)}", []
    return f"Data ({len(msg.payload)} bytes)", hexdump(msg.payload)
