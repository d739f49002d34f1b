"""``wsdissect tui``: Wireshark's three panes in a terminal (Textual): packet list, detail tree, bytes.

A worker thread decodes the capture into a :class:`~wsdissect.tui.model.CaptureIndex` while the list shows what is
there; the tree and bytes of the selected packet are rebuilt on demand (:mod:`wsdissect.tui.redecode`) in another
worker.  Everything from the capture is shown through rich ``Text`` objects, never markup.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Static, Tree
from textual.worker import get_current_worker

from ..errors import UsageError
from ..findings import Severity
from ..options import Options
from ..render.expert import render_expert
from ..render.nodes import Node, Span
from ..render.packets import list_header
from ..render.stats import render_stats
from ..render.text import safe
from .filter_text import BarFilter
from .hexview import hex_text
from .model import CaptureIndex, IndexFeeder, decode_file, decode_live, live_records
from .packet_list import ADDR_WIDTH, PacketList
from .redecode import PacketDetail, packet_detail
from .detail import DetailTree
from .screens import FollowScreen, HelpScreen, LogScreen

RECENT_DETAILS = 32  # details kept for going back to a packet at once


@dataclass
class LiveSource:
    """A live capture (already open) and the pcap file its packets are spooled to."""

    capture: object  # wsdissect.capture.afpacket.LiveCapture
    spool: object  # wsdissect.capture.pcapwriter.PcapWriter
    spool_path: str
    name: str


class WsdissectApp(App):
    TITLE = "wsdissect"
    CSS = """
    #status { height: 1; background: $primary-background; }
    #list-header { height: 1; text-style: bold; }
    PacketList { height: 2fr; border-bottom: solid $secondary; }
    DetailTree { height: 2fr; border-bottom: solid $secondary; }
    #hex-pane { height: 1fr; }
    #filter { display: none; }
    #filter.visible { display: block; }
    #filter-error { height: auto; color: $error; display: none; }
    #filter-error.visible { display: block; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("slash", "open_filter", "Filter"),
        Binding("ctrl+f", "open_filter", "Filter", show=False),
        Binding("f", "follow", "Follow"),
        Binding("s", "stats", "Stats"),
        Binding("e", "expert", "Expert"),
        Binding("space", "pause", "Pause"),
        Binding("question_mark", "help", "Keys"),
        Binding("escape", "close_filter", "Close filter", show=False),
    ]

    def __init__(self, source: str | LiveSource, options: Callable[[], Options],
                 parse_filter: Callable[[str], Optional[BarFilter]], filter_text: str = ""):
        super().__init__()
        self.source = source
        self.options = options
        self.parse_filter = parse_filter
        self.filter_text = filter_text
        self.live = isinstance(source, LiveSource)
        path = source.spool_path if isinstance(source, LiveSource) else source
        self.index = CaptureIndex(path)
        self.stop = threading.Event()
        self.feeder = IndexFeeder(self.index, parse_filter(filter_text) if filter_text else None, self.stop)
        self.detail: Optional[PacketDetail] = None
        self.recent: dict[tuple[str, int], Optional[PacketDetail]] = {}  # the last details shown, oldest first
        self.reselect: Optional[int] = None  # frame to select again once a new filter's rows reach it
        self.started = time.monotonic()

    # -- layout and the decoding worker ---------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(Text(list_header(ADDR_WIDTH)), id="list-header")
        yield PacketList(self.index)
        yield DetailTree(Text("(no packet selected)"), id="tree")
        with VerticalScroll(id="hex-pane"):
            yield Static(id="hex")
        yield Input(placeholder="filter: a display filter (websocket.opcode == 1 && tcp.stream == 3) or stream N, "
                                "opcode text, match TEXT, regex RE, client/server IP[:PORT], direction c2s|s2c, "
                                "time-from/time-to S (Enter applies, Escape closes)",
                    id="filter", value=self.filter_text)
        yield Static(id="filter-error")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(DetailTree)
        tree.show_root = False
        self.query_one("#filter", Input).cursor_blink = False  # a steady cursor (and stable snapshots)
        packets = self.query_one(PacketList)
        packets.follow_tail = self.live
        packets.focus()
        self.set_interval(0.2, self.tick)
        self.start_decoding()
        self.tick()

    def start_decoding(self) -> None:
        if self.live:
            self._decode_live()
        else:
            self._decode_file(self.feeder)

    @work(thread=True, group="decode")
    def _decode_file(self, feeder: IndexFeeder) -> None:
        decode_file(self.source, self.options(), feeder)

    @work(thread=True, group="decode")
    def _decode_live(self) -> None:
        src = self.source
        decode_live(live_records(src.capture, src.spool, self.stop), self.options(), self.feeder, src.name)

    def tick(self) -> None:
        """Take new rows, select the first (or the re-selected) packet once there, refresh the status line."""
        try:
            packets, status = self.query_one(PacketList), self.query_one("#status", Static)
        except NoMatches:  # the app is closing: its widgets are going
            return
        packets.update_rows()
        if self.reselect is not None and packets.shown and (
                self.index.done or self.index.rows[packets.shown - 1].frame >= self.reselect):
            packets.select(min(self.index.position(self.reselect), packets.shown - 1))
            self.reselect = None
        elif packets.cursor < 0 and packets.shown and not self.live:
            packets.select(0)
        status.update(self.status_text())

    def status_text(self) -> Text:
        packets = self.query_one(PacketList)
        name = self.source.name if isinstance(self.source, LiveSource) else os.path.basename(self.source)
        state = "all read" if self.index.done else \
            f"{'capturing' if self.live else 'reading'}, {time.monotonic() - self.started:.0f} s"
        return status_line(name, self.index, state, packets.shown if packets.paused else None,
                           self.filter_text if self.feeder.filter is not None else None)

    MAIN_SCREEN_ACTIONS = frozenset({"open_filter", "close_filter", "follow", "stats", "expert", "pause"})

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """The main screen's keys do nothing (and are not listed) over the follow, statistics... screens."""
        return not (action in self.MAIN_SCREEN_ACTIONS and len(self.screen_stack) > 1)

    @property
    def packet_list(self) -> PacketList:
        return self.query_one(PacketList)

    @property
    def tree(self) -> DetailTree:
        return self.query_one(DetailTree)

    def workers_busy(self) -> bool:
        """A detail or follow worker is still running (tests wait for them)."""
        return any(w.group in ("detail", "follow") and not w.is_finished for w in self.workers)

    # -- the selected packet: tree and bytes ----------------------------------------------------------------
    def on_packet_list_selected(self, message: PacketList.Selected) -> None:
        self.load_detail(message.position, self.index)

    @work(thread=True, exclusive=True, group="detail")
    def load_detail(self, position: int, index: CaptureIndex) -> None:
        key = (self.filter_text, index.rows[position].frame)  # what the detail depends on
        detail = self.recent.get(key)
        if detail is None:
            time.sleep(0.03)  # a held arrow key: decode only where the cursor stops
            if get_current_worker().is_cancelled:
                return
            detail = packet_detail(index, position, self.options(), self.fresh_filter())
            if index.done:  # live or still reading: a later packet may change it ([Response in frame])
                self.recent[key] = detail
            while len(self.recent) > RECENT_DETAILS:
                self.recent.pop(next(iter(self.recent)))
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self.show_detail, detail)

    def show_detail(self, detail: Optional[PacketDetail]) -> None:
        self.detail = detail
        tree = self.query_one(DetailTree)
        if detail is None:
            tree.show_nodes([Node("(this packet could not be decoded again)", "red")])
        else:
            tree.show_nodes(detail.nodes)
        self.show_bytes(None)

    def show_bytes(self, span: Optional[Span]) -> None:
        data = self.detail.packet.data if self.detail is not None else b""
        text, line = hex_text(data, span)
        self.query_one("#hex", Static).update(text)
        if span is not None:
            self.query_one("#hex-pane", VerticalScroll).scroll_to(y=max(0, line - 1), animate=False)

    def on_tree_node_highlighted(self, message: Tree.NodeHighlighted) -> None:
        self.show_bytes(message.node.data)

    # -- filter -----------------------------------------------------------------------------------------------
    def fresh_filter(self) -> Optional[BarFilter]:
        """A new filter object each time (filters keep the time origin of the run they filter)."""
        return self.parse_filter(self.filter_text) if self.filter_text else None

    def action_open_filter(self) -> None:
        bar = self.query_one("#filter", Input)
        bar.add_class("visible")
        bar.focus()

    def action_close_filter(self) -> None:
        self.query_one("#filter", Input).remove_class("visible")
        self.query_one("#filter-error", Static).remove_class("visible")
        self.query_one(PacketList).focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        error = self.query_one("#filter-error", Static)
        try:
            new = self.parse_filter(message.value)
        except UsageError as e:
            error.update(Text(str(e)))
            error.add_class("visible")
            return
        self.filter_text = message.value.strip() if new is not None else ""
        self.action_close_filter()
        if self.live:  # the capture goes on: the filter applies from the next packet
            self.feeder.set_filter(new)
            return
        packets = self.query_one(PacketList)
        if packets.cursor >= 0:
            self.reselect = self.index.rows[packets.cursor].frame
        self.stop.set()
        self.stop = threading.Event()
        self.index = CaptureIndex(self.index.source)
        self.feeder = IndexFeeder(self.index, new, self.stop)
        packets.set_index(self.index)
        self.show_detail_empty()
        self.started = time.monotonic()
        self._decode_file(self.feeder)

    def show_detail_empty(self) -> None:
        self.detail = None
        self.query_one(DetailTree).show_nodes([])
        self.show_bytes(None)

    # -- screens ----------------------------------------------------------------------------------------------
    def action_pause(self) -> None:
        packets = self.query_one(PacketList)
        packets.paused = not packets.paused
        packets.update_rows()
        self.tick()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_stats(self) -> None:
        screen = LogScreen("Statistics" + ("" if self.index.done else " (so far: still decoding)"))
        self.push_screen(screen)
        collected = screen.collector()
        render_stats(collected, self.index.stats)
        screen.show(collected)

    def action_expert(self) -> None:
        screen = LogScreen("Expert Information" + ("" if self.index.done else " (so far: still decoding)"))
        self.push_screen(screen)
        collected = screen.collector()
        render_expert(collected, self.index.expert, verbose=True)
        screen.show(collected)

    def action_follow(self) -> None:
        packets = self.query_one(PacketList)
        if packets.cursor < 0 or self.index.rows[packets.cursor].stream is None:
            self.notify("Select a packet of a TCP connection first.")
            return
        stream = self.index.rows[packets.cursor].stream
        self.push_screen(FollowScreen(self.index, stream, self.options(), self.fresh_filter()))

    async def action_quit(self) -> None:
        self.stop.set()
        self.exit(0)

    def on_unmount(self) -> None:
        self.stop.set()  # however the app ends, the decoding worker stops



def status_line(name: str, index: CaptureIndex, state: str, paused_at: Optional[int],
                filter_text: Optional[str]) -> Text:
    """The top line: source, rows and state, pause, filter, findings of note and above, the first problem."""
    line = Text(f" {safe(name, 200)}: ", style="bold")
    line.append(f"{len(index.rows)} packets ({state})")
    if paused_at is not None:
        line.append(f"  PAUSED at {paused_at} rows", style="bold yellow")
    if filter_text is not None:
        line.append(f"  filter: {safe(filter_text, 200)}", style="cyan")
    counts = [f"{n} {s.label}" for s, n in sorted(index.findings().items(), reverse=True) if n and s >= Severity.NOTE]
    if counts:
        line.append("  findings: " + ", ".join(counts), style="yellow")
    if index.error or index.warnings:
        line.append(f"  {safe(index.error or index.warnings[0], 300)}", style="bold red")
    return line
