"""Plain lines written in large batches, styled with ANSI codes that rich rendered once per style.

The packet list's hot path: no rich object per line.  Each style's opening and closing codes come from rich
itself (rendered once through the console, so ``--color``, ``NO_COLOR`` and the terminal's colour system apply
as everywhere else); a line longer than the console is cut with ``…`` as rich's ``overflow="ellipsis"`` does.
"""
from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

BATCH = 512  # lines per write


class LineWriter:
    def __init__(self, console: Console):
        self.console = console
        self.width = console.width if console is not None else 80  # None: a view that never prints (live -q)
        self.direct = not isinstance(console, Console)  # a console-like collector (the TUI): lines as Text
        self.codes: dict[str, tuple[str, str]] = {}
        self.batch: list[str] = []

    def style(self, style: str) -> tuple[str, str]:
        """The ANSI codes that open and close *style* on this console ('' and '' without colour)."""
        codes = self.codes.get(style)
        if codes is None:
            if not style:
                codes = ("", "")
            else:
                with self.console.capture() as cap:
                    self.console.print(Text("\0", style=style), end="")
                codes = tuple(cap.get().split("\0", 1)) if "\0" in cap.get() else ("", "")
            self.codes[style] = codes
        return codes

    def write(self, main: str, main_style: str, tail: str = "", tail_style: str = "", cut: bool = True) -> None:
        """One line: *main* then *tail*, each in its style, cut to the console's width (unless not *cut*: the
        terminal wraps it)."""
        if self.direct:
            text = Text(main, style=main_style)
            if tail:
                text.append(tail, style=tail_style)
            self.console.print(text, soft_wrap=True, no_wrap=cut, overflow="ellipsis" if cut else None)
            return
        if cut:
            line = main + tail if tail else main
            width = self.width
            if len(line) > width or not line.isascii():
                narrow = line.isascii() or line.replace("→", "").isascii()  # one cell per character
                if (len(line) > width) if narrow else (cell_len(line) > width):
                    line = (line[:width - 1] if narrow else set_cell_size(line, width - 1)) + "…"
                    main, tail = line[:len(main)], line[len(main):]
        codes = self.codes
        on, off = codes[main_style] if main_style in codes else self.style(main_style)
        if tail:
            on2, off2 = codes[tail_style] if tail_style in codes else self.style(tail_style)
            out = f"{on}{main}{off}{on2}{tail}{off2}\n"
        else:
            out = f"{on}{main}{off}\n"
        batch = self.batch
        batch.append(out)
        if len(batch) >= BATCH:
            self.flush()

    def lines(self, lines: list[str]) -> None:
        """Finished lines (styled with :meth:`style`'s codes, each with its newline)."""
        batch = self.batch
        batch += lines
        if len(batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the batch (before anything rich prints, so the order is kept)."""
        if self.batch and not self.direct:
            self.console.file.write("".join(self.batch))
            self.batch.clear()
