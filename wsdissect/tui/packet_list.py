"""The packet list pane: a virtual list over the rows of a :class:`~wsdissect.tui.model.CaptureIndex`.

Only the visible lines are drawn, each from its compact row by ``render.packets.packet_line`` (the line ``show``
prints), so a list of any length costs the same to show and grows while the worker fills it.
"""
from __future__ import annotations

from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..render.packets import packet_line
from .model import CaptureIndex

ADDR_WIDTH = 15
CURSOR = Style(bgcolor="#264f78", bold=True)


class PacketList(ScrollView, can_focus=True):
    """Rows ``0 .. shown - 1`` of the index; ``cursor`` is the selected row."""

    DEFAULT_CSS = "PacketList { overflow-x: hidden; }"
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    class Selected(Message):
        """The cursor moved to row *position*."""

        def __init__(self, position: int) -> None:
            super().__init__()
            self.position = position

    def __init__(self, index: CaptureIndex, **kw) -> None:
        super().__init__(**kw)
        self.index = index
        self.shown = 0  # rows currently in the list (frozen while paused)
        self.cursor = -1
        self.paused = False
        self.follow_tail = False  # live: keep the newest row in view

    def set_index(self, index: CaptureIndex) -> None:
        self.index, self.shown, self.cursor = index, 0, -1
        self.scroll_to(0, 0, animate=False)
        self.update_rows()

    def update_rows(self) -> None:
        """Take the rows the worker added (unless paused)."""
        if self.paused:
            return
        count = len(self.index.rows)
        if count == self.shown:
            return
        at_end = self.cursor < 0 or self.cursor >= self.shown - 1
        self.shown = count
        self.virtual_size = Size(self.size.width, count)
        if self.follow_tail and at_end:  # live: the newest rows stay in view unless the user looks elsewhere
            self.scroll_end(animate=False)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        pos = int(self.scroll_offset.y) + y
        width = self.size.width
        if pos >= self.shown:
            return Strip.blank(width, self.rich_style)
        text = packet_line(self.index.rows[pos], self._t0(), ADDR_WIDTH)
        text.no_wrap = True
        text.truncate(width, overflow="ellipsis")
        segments = list(text.render(self.app.console))
        base = self.rich_style + CURSOR if pos == self.cursor else self.rich_style
        return Strip(segments).apply_style(base).crop_extend(0, width, base)

    def _t0(self) -> float:
        first = self.index.first_ts
        return first if first is not None else self.index.rows[0].ts

    def select(self, position: int) -> None:
        if not self.shown:
            return
        position = max(0, min(position, self.shown - 1))
        old, self.cursor = self.cursor, position
        top, height = int(self.scroll_offset.y), self.scrollable_content_region.height
        if position < top:
            self.scroll_to(y=position, animate=False)
        elif position >= top + height:
            self.scroll_to(y=position - height + 1, animate=False)
        self.refresh()
        if old != position:
            self.post_message(self.Selected(position))

    def action_move(self, delta: int) -> None:
        self.select(self.cursor + delta if self.cursor >= 0 else 0)

    def action_page(self, direction: int) -> None:
        self.select(max(self.cursor, 0) + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self.select(where if where >= 0 else self.shown - 1)

    def on_click(self, event: Click) -> None:
        self.focus()
        self.select(int(self.scroll_offset.y) + event.y)
