"""The rows of the follow transcript as UTF-8 bytes, written in large batches.

A conversation is mostly pretty JSON under a head line.  orjson already gives the JSON as UTF-8, so each row is
built as bytes and the batch goes straight to the console file's binary buffer: no decode, no join of wide
(non-ASCII: the arrows) strings, no encode.  Styles are the ANSI codes rich rendered once (:class:`LineWriter`);
a file without a UTF-8 binary buffer (a StringIO, another encoding) gets the same text as ``str``.
"""
from __future__ import annotations

import codecs

from ..speedups import speedups
from .lines import BATCH, LineWriter

PARTS = 8 * BATCH  # pieces of rows per write (a row is 5 to 10 pieces, or one built in C)


class TranscriptRows:
    """Message rows: a head line in one style, an unstyled block of lines under it, then styled lines."""

    def __init__(self, out: LineWriter):
        self.out = out
        self.codes: dict[str, tuple[bytes, bytes]] = {}
        self.batch: list[bytes] = []  # pieces of rows
        self._prefix: str | None = None  # the last head prefix, and its bytes, indent and newline-then-indent
        self._prefix_bytes = self._indent = self._newline = b""
        self._text_heads: dict[int, bytes] = {}  # payload length -> b"text   N B" (formatting numbers is slow)
        # the C rows of plain text messages (not for a collector: it prints rich items), and what frames them: the
        # prefix and style they were made for, then the head's opening bytes, closing bytes and the lines' indent
        self._c_row = None if out.direct else getattr(speedups, "text_row", None)
        self._c_rows = None if out.direct else getattr(speedups, "text_rows", None)
        self.fast = self._c_row is not None and self._c_rows is not None  # whether C may take rows at all
        self._frame_prefix: str | None = None
        self._frame_style: str | None = None
        self._frame = (b"", b"", b"")

    def style(self, style: str) -> tuple[bytes, bytes]:
        """The ANSI codes that open and close *style*, as bytes."""
        codes = self.codes.get(style)
        if codes is None:
            on, off = self.out.style(style)
            codes = self.codes[style] = (on.encode(), off.encode())
        return codes

    def text_head(self, length: int, flag_text: str = "") -> bytes:
        """``text   N B`` and *flag_text*: what a text message's head line says after its prefix."""
        head = None if flag_text else self._text_heads.get(length)
        if head is None:
            head = f"text   {length:>8} B{flag_text}".encode()
            if not flag_text:
                if len(self._text_heads) >= 4096:
                    self._text_heads.clear()
                self._text_heads[length] = head
        return head

    def row(self, prefix: str, body: bytes, style: str, block: bytes | None = None,
            extra: list[tuple[str, str]] = (), rtt: str = "") -> None:
        """*prefix* (time and arrow) and *body* in *style* (then *rtt* dimmed), the lines of *block* indented under
        them, unstyled, then ``(text, style)`` lines (*extra*) indented too; no padding after the text."""
        if prefix is not self._prefix:
            self._prefix = prefix
            self._prefix_bytes = prefix.encode()
            self._indent = b" " * len(prefix)
            self._newline = b"\n" + self._indent
        on, off = self.codes.get(style) or self.style(style)
        if rtt:  # the codes rich gives such a line: prefix and body as two pieces of one style, then rtt dimmed
            dim_on, dim_off = self.style(f"{style} dim")
            parts = [on, self._prefix_bytes, off, on, body, off, dim_on, rtt.encode(), dim_off, b"\n"] if body else \
                [on, self._prefix_bytes, off, dim_on, rtt.encode(), dim_off, b"\n"]
        else:
            parts = [on, self._prefix_bytes, body, off, b"\n"]
        if block is not None:
            parts += (self._indent, block.replace(b"\n", self._newline), b"\n")
        for line, line_style in extra:
            on, off = self.style(line_style)
            parts += (on, self._indent, line.encode(), off, b"\n")
        batch = self.batch
        batch += parts  # (joined once per batch)
        if len(batch) >= PARTS:
            self.flush()

    def _set_frame(self, prefix: str, style: str) -> tuple[bytes, bytes, bytes]:
        """What frames C-built rows under *prefix* in *style*: the head's opening and closing bytes, the indent."""
        on, off = self.codes.get(style) or self.style(style)
        self._frame_prefix, self._frame_style = prefix, style
        self._frame = (on + prefix.encode(), off + b"\n", b" " * len(prefix))
        return self._frame

    def text_row(self, prefix: str, style: str, text: str, payload: bytes) -> bool:
        """The row of a text message with nothing to flag and nothing cut, built whole by the C speedups: the bytes
        :meth:`row` writes for *prefix*, :meth:`text_head` and :func:`~.text.transcript_text`'s text (limit:
        8 characters per character and 64 more) of *text*, which is *payload* decoded; False (nothing written) where
        they leave it to that Python path."""
        if not self.fast:
            return False
        frame = self._frame
        if prefix is not self._frame_prefix or style is not self._frame_style:
            frame = self._set_frame(prefix, style)
        row = self._c_row(text, payload, len(text) * 8 + 64, *frame)
        if row is None:
            return False
        batch = self.batch
        batch.append(row)
        if len(batch) >= PARTS:
            self.flush()
        return True

    def text_rows(self, evs: list, start: int, head: tuple, prefix: str, style: str, rules: tuple) -> int:
        """:meth:`text_row` for each event from ``evs[start]`` on that is a text message under *head* (its time,
        connection and direction; shown under *prefix* in *style*) with nothing to flag, and (*rules*: units,
        limit) no application units to show instead and at most *limit* characters; the index of the first event
        left to the caller."""
        frame = self._frame
        if prefix is not self._frame_prefix or style is not self._frame_style:
            frame = self._set_frame(prefix, style)
        batch = self.batch
        end = self._c_rows(evs, start, head, rules, frame, batch)
        if len(batch) >= PARTS:
            self.flush()
        return end

    def line(self, text: str, style: str) -> None:
        """A line of one style."""
        on, off = self.style(style)
        self.batch += (on, text.encode(), off, b"\n")

    def flush(self) -> None:
        """Write the batch (before anything else is written, so the order is kept)."""
        if not self.batch:
            return
        data = b"".join(self.batch)
        self.batch.clear()
        file = self.out.console.file
        buffer = getattr(file, "buffer", None)
        if buffer is not None and codecs.lookup(getattr(file, "encoding", None) or "ascii").name == "utf-8":
            file.flush()  # what was written as text first
            buffer.write(data)
        else:
            file.write(data.decode())
