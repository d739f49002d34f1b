"""The bytes pane's text: ``render.text.hexdump``'s lines with the selected node's byte range highlighted."""
from __future__ import annotations

from typing import Optional

from rich.text import Text

from ..render.nodes import Span
from ..render.text import hexdump

HIGHLIGHT = "reverse bold"
ASCII_GAP = 50  # from the first hex byte to the ASCII part: 16 bytes of "xx ", the gap after the eighth, a space


def _hex_column(offset: int, i: int) -> int:
    """Column of byte *i* (0-15) of the line at *offset* in its hex part (after the offset and two spaces)."""
    return len(f"{offset:04x}") + 2 + 3 * i + (1 if i >= 8 else 0)


def hex_text(data: bytes, span: Optional[Span] = None) -> tuple[Text, int]:
    """The dump of *data* and the line where *span* starts (0 without one)."""
    lines = hexdump(data, limit=len(data))
    text = Text("\n".join(lines), no_wrap=True)
    if span is None or span[0] >= span[1]:
        return text, 0
    start, end = max(span[0], 0), min(span[1], len(data))
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line) + 1)
    for offset in range(start - start % 16, end, 16):
        row = offset // 16
        first, last = max(start, offset) - offset, min(end, offset + 16) - offset - 1
        base = line_starts[row]
        text.stylize(HIGHLIGHT, base + _hex_column(offset, first), base + _hex_column(offset, last) + 2)
        ascii_start = base + _hex_column(offset, 0) + ASCII_GAP
        text.stylize(HIGHLIGHT, ascii_start + first, ascii_start + last + 1)
    return text, start // 16
