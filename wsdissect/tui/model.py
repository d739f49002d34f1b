"""What the TUI keeps of a capture, and how it is filled: no Textual here (testable without a screen).

Memory stays small per packet: one :class:`~wsdissect.render.packets.PacketRow` (plain values) for the list and the
frame numbers of each connection.  The detail tree, the bytes and the follow view of a packet are rebuilt on
demand by :mod:`wsdissect.tui.redecode`, which reads the capture again for that one connection.
"""
from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

from ..events import CaptureStart, Packet
from ..findings import Severity
from ..options import Options
from .filter_text import BarFilter
from ..run.driver import Feed, dissect_records
from ..render.expert import ExpertCollector
from ..render.packets import PacketRow, PacketSummaries, group_by_packet
from ..render.stats import StatsCollector


@dataclass
class CaptureIndex:
    """The rows shown (after the filter) and what is needed to find a packet again.

    Filled by one worker thread while the screen reads it: rows are only appended (``list.append`` is atomic), and
    ``done`` is set last.
    """

    source: str  # the capture file read again for details (live: the spool file)
    rows: list[PacketRow] = field(default_factory=list)
    conn_frames: dict[int, array] = field(default_factory=dict)  # connection index -> all its frames, in order
    first_ts: Optional[float] = None  # the capture's first packet (time origin of filters and the list)
    last_frame: int = 0  # the last frame read so far
    stats: StatsCollector = field(default_factory=StatsCollector)
    expert: ExpertCollector = field(default_factory=ExpertCollector)
    warnings: list[str] = field(default_factory=list)  # damage met while reading, as one line each
    error: Optional[str] = None  # reading stopped on this error
    done: bool = False

    def position(self, frame: int) -> int:
        """Index of the row of *frame*, or of the first row after it (``len(rows)`` when none)."""
        rows, lo, hi = self.rows, 0, len(self.rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if rows[mid].frame < frame:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def findings(self) -> dict[Severity, int]:
        counts = {s: 0 for s in Severity}
        for sev, count, _items in list(self.expert.groups.values()):  # a copy: the worker adds groups
            counts[Severity(sev)] += count
        return counts


class IndexFeeder:
    """Consumes events and fills a :class:`CaptureIndex`; *stop* ends the work early (a new filter, quitting)."""

    def __init__(self, index: CaptureIndex, bar_filter: BarFilter | None, stop: threading.Event):
        self.index = index
        self.stop = stop
        self.summaries = PacketSummaries()
        self.set_filter(bar_filter)

    def set_filter(self, bar_filter: BarFilter | None) -> None:
        """Select with *bar_filter* from now on (live: from the next packet)."""
        self.filter = bar_filter
        self.select_rows = bar_filter.selector(per_packet=True) if bar_filter is not None else None
        self.select_events = bar_filter.selector(per_packet=False) if bar_filter is not None else None

    def tap(self, events: Iterable) -> Iterator:
        """Note every packet's connection (before the filter: details need all of a connection's packets)."""
        index = self.index
        for ev in events:
            cls = ev.__class__
            if cls is Packet:
                index.last_frame = ev.frame
                if ev.conn is not None:
                    frames = index.conn_frames.get(ev.conn.index)
                    if frames is None:
                        frames = index.conn_frames[ev.conn.index] = array("I")
                    frames.append(ev.frame)
            elif cls is CaptureStart and index.first_ts is None:
                index.first_ts = ev.ts
            yield ev

    def group(self, pkt: Packet | None, events: list) -> None:
        """One packet and the events it produced (``None``: events outside any packet), before the filter.

        The filter selects as the commands do (through the driver's selection): statistics and expert info take
        the events it selects as message views do (like ``stats`` and ``expert``), the list takes the packet whole
        or not at all (like ``show``)."""
        stats, expert = self.index.stats.event, self.index.expert.event
        if self.filter is None:
            for ev in events:
                stats(ev)
                expert(ev)
            if pkt is not None:
                self.index.rows.append(self.summaries.row(pkt, events))
            return
        whole = [pkt, *events] if pkt is not None else events
        for ev in self.select_events(whole):
            if ev.__class__ is not Packet:
                stats(ev)
                expert(ev)
        if pkt is not None:
            shown = self.select_rows(whole)  # the packet first and whole, or nothing
            if shown and shown[0] is pkt:
                self.index.rows.append(self.summaries.row(pkt, events))

    def packet_events(self, events: list) -> None:
        """A packet's worth of events, as the live path hands them over (``Feed.records``)."""
        events = list(self.tap(events))
        pkt = events[0] if events and events[0].__class__ is Packet else None
        self.group(pkt, events[1:] if pkt is not None else events)


def view_options(options: Options) -> Options:
    """*options* with the packet and frame events the views need."""
    options.packets = options.frames = True
    return options


def decode_file(path: str, options: Options, feeder: IndexFeeder) -> None:
    """The worker's body for a capture file: fill the feeder's index like ``show`` lists the packets, until done
    or stopped."""
    from ..capture.files import CaptureFile
    from ..errors import WsdissectError

    index, stop = feeder.index, feeder.stop
    try:
        with CaptureFile(path) as cf:
            events = feeder.tap(dissect_records(cf, view_options(options), cf.name))
            for n, (pkt, evs) in enumerate(group_by_packet(events)):
                feeder.group(pkt, evs)
                if not n & 0xFF and stop.is_set():
                    return
            index.warnings += [message for _code, message, _frame in cf.problems]
    except WsdissectError as e:
        index.error = str(e)
    finally:
        index.done = True


def decode_live(records: Iterable, options: Options, feeder: IndexFeeder, source: str = "live") -> None:
    """The worker's body for live records (spooled to ``index.source`` by *records*, see :func:`live_records`)."""
    from ..errors import WsdissectError

    try:
        feed = Feed(view_options(options), feeder.packet_events, source)
        feed.records(records)
        feed.end()
    except WsdissectError as e:
        feeder.index.error = str(e)
    finally:
        feeder.index.done = True


def live_records(capture, spool, stop: threading.Event, on_batch: Callable[[], None] | None = None) -> Iterator:
    """Records from a :class:`~wsdissect.capture.afpacket.LiveCapture` until *stop*, each written to the *spool*
    pcap writer first (flushed per batch) so that details can read it back."""
    while not stop.is_set():
        batch = capture.read(0.2)
        for rec in batch:
            spool.write(rec[1], rec[3], rec[4])
        if batch:
            spool.flush()
            if on_batch is not None:
                on_batch()
        yield from batch
