"""The full-screen views over the packet list: follow a connection, statistics, expert info, the keys.

Each reuses the renderer of its command (``render.follow``, ``render.stats``, ``render.expert``) through
:class:`LogConsole`, which hands what they print to a Textual ``RichLog``.
"""
from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from ..events import CaptureStart
from ..options import Options
from ..render.follow import FollowView
from .filter_text import BarFilter
from .model import CaptureIndex
from .redecode import connection_groups

FOLLOW_LIMIT = 5000  # lines shown by the follow screen; `wsdissect follow` prints everything


class Enough(Exception):
    """Raised by a :class:`Collector` that is full: the producer can stop."""


class Collector:
    """The part of rich's Console the renderers use (``print``, ``width``): it collects what they print (thread-
    safe: nothing touches the screen).  Strings become Text (never parsed as markup); past *limit* items it
    raises :class:`Enough`."""

    def __init__(self, width: int, limit: int | None = None):
        self.width, self.limit = width, limit
        self.items: list = []
        self.full = False

    def print(self, *objects, **_kw) -> None:
        if self.limit is not None and len(self.items) >= self.limit:
            self.full = True
            raise Enough()
        self.items.append(Text("") if not objects else
                          Group(*(Text(o) if isinstance(o, str) else o for o in objects)))


class LogScreen(Screen):
    """A title line and a scrolling log; Escape goes back."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("q", "app.quit", "Quit")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.pending: list[tuple[Collector, str]] = []  # shown once mounted
        self.ready = False

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text, style="bold"), id="screen-title")
        yield RichLog(markup=False, highlight=False, wrap=True, id="screen-log")
        yield Footer()

    @property
    def log_widget(self) -> RichLog:
        return self.query_one(RichLog)

    def collector(self, limit: int | None = None) -> Collector:
        return Collector(max(40, self.app.size.width - 2), limit)

    def on_mount(self) -> None:
        self.ready = True
        for collected, rest_hint in self.pending:
            self.show(collected, rest_hint)
        self.pending.clear()

    def show(self, collected: Collector, rest_hint: str = "") -> None:
        if not self.ready:
            self.pending.append((collected, rest_hint))
            return
        log = self.log_widget
        for item in collected.items:
            log.write(item, expand=True)
        if collected.full:
            log.write(Text(f"… more: {rest_hint}", style="dim"), expand=True)


KEYS = (
    ("↑ ↓ PgUp PgDn Home End", "move in the packet list (or the tree); the mouse selects and scrolls too"),
    ("Tab / Shift+Tab", "next / previous pane: list, tree, bytes"),
    ("Enter", "open or close the selected tree node"),
    ("/ or Ctrl+F", "filter bar: a Wireshark display filter (as -Y), or stream 3, opcode text, match TEXT, "
                    "regex RE, client IP[:PORT], server ..., direction c2s|s2c, time-from S, time-to S (the filters "
                    "of `show`; -Y EXPR adds a display filter); empty: no filter"),
    ("Escape", "close the filter bar or a screen"),
    ("f", "follow the selected packet's connection"),
    ("s", "statistics (as `wsdissect stats`)"),
    ("e", "expert information (as `wsdissect expert -v`)"),
    ("space", "live capture: pause / resume the view (the capture goes on)"),
    ("?", "this list"),
    ("q", "quit"),
)


class HelpScreen(LogScreen):
    def __init__(self) -> None:
        super().__init__("Keys")

    def on_mount(self) -> None:
        super().on_mount()
        for key, what in KEYS:
            line = Text(f"{key:<24}", style="bold")
            line.append(what)
            self.log_widget.write(line, expand=True)


class FollowScreen(LogScreen):
    """``wsdissect follow`` of one connection, decoded again in a worker (the first FOLLOW_LIMIT lines)."""

    def __init__(self, index: CaptureIndex, stream: int, options: Options, bar_filter: BarFilter | None):
        super().__init__(f"Follow stream {stream}")
        self.index, self.stream, self.options, self.filter = index, stream, options, bar_filter

    def on_mount(self) -> None:
        super().on_mount()
        self._follow()

    @work(thread=True, group="follow")
    def _follow(self) -> None:
        index = self.index
        collected = self.collector(FOLLOW_LIMIT)
        view = FollowView(collected)
        try:
            if index.first_ts is not None:
                view.event(CaptureStart(index.source, index.first_ts))
            for _pkt, events in connection_groups(index, self.stream, index.last_frame, self.options, self.filter):
                for ev in events:
                    view.event(ev)
            view.end()
        except Enough:
            pass
        self.app.call_from_thread(self.show, collected, f"wsdissect follow {index.source} --stream {self.stream}")
