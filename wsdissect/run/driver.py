"""The one driver: capture records in, per-packet event lists out, filters applied on the way.

Every consumer goes through here: the views (``show``, ``show -V``, ``follow``, ``stats``, ``expert``), the
exporters (single file and ``export -j`` workers), ``live`` and the Python API (:func:`wsdissect.dissect`).  The
driver's jobs, each done once:

1. read captures (files, ``.gz``, ``-`` for stdin; the caller may wrap the records, e.g. for a progress bar);
2. decode them with a fresh :class:`~wsdissect.pipeline.Dissector` per capture;
3. turn file problems into ``Finding`` events (and tell ``on_problem``), then end the capture (``CaptureEnd``);
4. apply the :class:`~wsdissect.filters.EventFilter`, event by event or, for packet views, packet by packet.
   Filters only select what is handed on; they never change decoding.

Seams for new layers: decoding layers (TLS between TCP reassembly and HTTP, application decoders after the message
assembler) are chosen per connection by the :class:`~wsdissect.pipeline.Dissector` from ``Options``; a display
filter is any object with ``accepts(event) -> bool`` (and optionally ``packet_ok(packet, events) -> bool`` for
packet views) given as ``event_filter``; a new exporter is any ``sink(list_of_events)`` callable given to
:meth:`Driver.feed` (see :mod:`wsdissect.export.writer` for the JSON/JSONL one).
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple

from ..capture.files import CaptureFile
from ..capture.remote import is_url
from ..events import CaptureEnd, CaptureStart, Finding, Packet, WsFrame
from ..findings import KINDS
from ..options import Options
from ..pipeline import Dissector
from ..skim import SKIM_UNSAFE, resume, skim
from .regroup import Regrouper
from .selection import Selection

Sink = Callable[[list], None]


@dataclass(frozen=True, slots=True)
class CapturePart:
    """How one capture file is read when it is a shard of a larger capture (wsdissect.capture.split): the name
    its events carry, the whole capture's first time, the records (with their original frame numbers, given the
    shard's dissector so it can sweep at the whole capture's times) and the problems the split pass found."""

    name: str | None = None
    start_ts: float | None = None
    records: Callable[[CaptureFile, Dissector], Iterable] | None = None
    problems: tuple = ()


def event_selector(event_filter, per_packet: bool, display=None, ws_only: bool = False,
                   drop: tuple = ()) -> Callable[[list], list] | None:
    """The function that keeps the selected events of one packet's list, or None when everything is kept (see
    :class:`~wsdissect.run.selection.Selection`: packet views keep a packet whole or not at all, message views
    keep the events the filters accept, of the packets the display filter selects)."""
    return Selection(event_filter, display, per_packet=per_packet, ws_only=ws_only, drop=drop).function()


class Resumed(NamedTuple):
    """Skimming ended (:meth:`Feed.skimmed`): the fragments so far of each WebSocket message in progress, by
    (connection index, direction), as (frame, payload length)."""

    fragments: dict


class Feed:
    """One capture being decoded: records in (all at once with :meth:`records`, or one by one with :meth:`packet`
    as live capture does), selected event lists out to the sink."""

    def __init__(self, options: Options, sink: Sink, source: str = "", start_ts: float | None = None,
                 tls_secrets: list | None = None):
        """*tls_secrets*: the capture's list of pcapng Decryption Secrets Blocks, filled while it is read
        (``CaptureFile.tls_secrets``); its secrets are used as they appear."""
        self.dissector = Dissector(options)
        if tls_secrets is not None:
            self.dissector.tls_secrets.attach(tls_secrets)
        # packet views: each event on its packet, also when its bytes were held and decoded later (run.regroup)
        self.regroup = Regrouper(self.dissector) if options.packets else None
        self.out = sink  # where the lists go (the sink behind the regrouper)
        self.sink = sink if self.regroup is None or sink is None else self._regrouped(sink)
        self.source = source
        self.start_ts = start_ts  # the capture's first time when this feed is one shard of it (else its own)
        self.started = False
        self.resumed = False  # skimming ended with the state carried over (Feed.skimmed)

    def _regrouped(self, sink: Sink) -> Sink:
        add = self.regroup.add

        def regrouped(events: list) -> None:
            for ready in add(events):
                sink(ready)
        return regrouped

    def _start(self, rec: tuple) -> CaptureStart:
        self.started = True
        return CaptureStart(self.source, rec[1] if self.start_ts is None else self.start_ts)

    def packet(self, rec: tuple) -> None:
        """One ``(frame, ts, linktype, data, wire_len)`` record."""
        if not self.started:
            self.sink([self._start(rec)])
        events = self.dissector.packet(*rec)
        if events:
            self.sink(events)

    def records(self, records: Iterable) -> None:
        """Every record of an iterable, or of a capture file's batches (the hot path: no generator between the
        stages, one sink call per packet that produced events)."""
        batches = records.batches() if isinstance(records, CaptureFile) else (records,)
        packet, sink = self.dissector.packet, self.sink
        for batch in batches:
            it = iter(batch)
            if not self.started:
                for rec in it:
                    self.packet(rec)
                    break
            for frame, ts, linktype, data, wire_len in it:  # (named arguments: cheaper than packet(*rec))
                events = packet(frame, ts, linktype, data, wire_len)
                if events:
                    sink(events)

    def lists(self, records: Iterable, started: bool = False) -> Iterator[list]:
        """The same as :meth:`records` followed by :meth:`end`, pulled: one list per packet (views)."""
        it = iter(records)
        first = next(it, None)
        if first is not None:
            if not started:
                yield [self._start(first)]
            it = itertools.chain((first,), it)
        packet, regroup = self.dissector.packet, self.regroup
        if regroup is None:
            for frame, ts, linktype, data, wire_len in it:  # (named arguments: cheaper than packet(*rec))
                events = packet(frame, ts, linktype, data, wire_len)
                if events:
                    yield events
        else:
            add, queue, holding = regroup.add, regroup.queue, self.dissector.holding
            for frame, ts, linktype, data, wire_len in it:
                events = packet(frame, ts, linktype, data, wire_len)
                if events:
                    if queue or holding:  # a connection may hold bytes: the regrouper decides
                        yield from add(events)
                    else:  # nothing held nor waiting: the list is ready as it is (what add would return)
                        yield events
        if regroup is None:
            yield self.dissector.finish()
        else:
            yield from regroup.end(self.dissector.finish())

    def skimmed(self, records: Iterable, until: int) -> Iterator[list]:
        """:meth:`lists`, but the packets before frame *until* are only skimmed (``show --frame``: their trees are
        not drawn): each list starts with a :class:`~wsdissect.skim.Skimmed` in place of the Packet, and has no
        WsFrame events.  The list after the last skimmed packet is ``[Resumed(fragments)]``; when the state cannot
        be carried over exactly, ``resumed`` stays False and the lists stop there (decode the capture again)."""
        self.resumed = False
        dissector = self.dissector
        skim(dissector)
        unsafe: set[int] = set()  # connections with a finding after which fragments are not known exactly
        packet = dissector.packet
        first = True
        it = iter(records)
        for rec in it:
            if rec[0] >= until:
                fragments = resume(dissector, unsafe)
                if fragments is None:
                    return
                self.resumed = True
                yield [Resumed(fragments)]
                yield from self.lists(itertools.chain((rec,), it), started=not first)
                return
            if first:
                first = False
                yield [self._start(rec)]
            events = packet(*rec)
            for ev in events:
                if ev.__class__ is Finding and ev.code in SKIM_UNSAFE and ev.conn is not None:
                    unsafe.add(ev.conn.index)
            yield events
        self.resumed = True
        yield dissector.finish()

    def finding(self, finding: Finding) -> None:
        """A finding about the capture itself (live: packets the kernel dropped), through the filter to the sink."""
        self.sink([finding])

    def idle(self, now: float, idle: float) -> None:
        """Finish connections idle for *idle* seconds (long live runs)."""
        events = self.dissector.evict_idle(now, idle)
        if events:
            self.sink(events)

    def end(self) -> None:
        """The capture is over: flush every connection still open (and hand on every packet still held)."""
        events = self.dissector.finish()
        if self.regroup is None:
            self.sink(events)
            return
        for ready in self.regroup.end(events):
            self.out(ready)


class Driver:
    """Runs captures through the pipeline for one consumer (a view, an exporter, live, the API)."""

    def __init__(self, options: Options | None = None, event_filter=None, *, per_packet: bool = False,
                 on_problem: Callable[[str], None] | None = None,
                 records: Callable[[CaptureFile], Iterable] | None = None, display=None, ws_only: bool = False,
                 count: int | None = None):
        options = options or Options()
        drop: tuple = ()
        if display is not None or ws_only:  # the display filter reads packets and frames: decode them
            drop = tuple(c for c, wanted in ((Packet, options.packets), (WsFrame, options.frames)) if not wanted)
            options = dataclasses.replace(options, packets=True, frames=True)
        self.options = options
        self.per_packet = per_packet
        self.select = event_selector(event_filter, per_packet, display, ws_only, drop)
        self.count = count  # -c: packets shown (packet views) or packets read (the others), over all captures
        self.on_problem = on_problem  # told each file problem's message (the CLI warns on stderr)
        self.wrap_records = records  # e.g. a progress bar around a file's records
        self.damaged = False  # a capture had problems (the CLI's exit status 3)
        self.most_records = 0  # records of the longest capture read so far (checks --frame N against it)

    @staticmethod
    def open(paths: Iterable[str]) -> list[CaptureFile]:
        """Open every input now, so a bad one fails before any output exists."""
        return [CaptureFile(p) for p in paths]

    def selected(self, sink: Sink) -> Sink:
        """*sink* behind the filter."""
        select = self.select
        if select is None:
            return sink
        return lambda evs: sink(select(evs))

    def _opened(self, captures: Iterable) -> Iterator[CaptureFile]:
        for cf in captures:
            if not isinstance(cf, CaptureFile):
                cf = CaptureFile(cf)
            with cf:
                yield cf

    def _records(self, cf: CaptureFile) -> Iterable:
        records = self.wrap_records(cf) if self.wrap_records is not None else cf
        if self.count is None or self.per_packet:
            return records
        return self._counted(records)

    def _counted(self, records: Iterable) -> Iterator:
        """At most ``count`` records over every capture of the run (``-c`` for message views)."""
        for rec in itertools.islice(records, max(self.count, 0)):
            self.count -= 1
            yield rec

    def _ending(self, cf: CaptureFile, name: str | None = None, more_problems: Iterable = ()) -> list:
        """The file's damage as findings (capture-level: never filtered out), then its ``CaptureEnd``."""
        out = []
        problems = list(cf.problems) + list(more_problems)
        for code, message, frame in problems:
            if self.on_problem is not None:
                self.on_problem(message)
            self.damaged = True
            out.append(Finding(frame, 0.0, code, KINDS[code].severity, message))
        out.append(CaptureEnd(name or cf.name, cf.records_read, bool(problems)))
        self.most_records = max(self.most_records, cf.records_read)
        return out

    def feed(self, captures: Iterable, sink: Sink) -> None:
        """Decode every capture (paths or opened :class:`CaptureFile` objects) in turn, handing *sink* one list of
        selected events per packet, then each file's problems as findings and its ``CaptureEnd`` (push: the
        exporters' hot path)."""
        for cf in self._opened(captures):
            self.feed_capture(cf, sink)

    def feed_capture(self, cf: CaptureFile, sink: Sink, part: CapturePart | None = None) -> Feed:
        """One opened capture into *sink* (see :meth:`feed`); *part* describes it when it is one shard of a larger
        capture (the engines' split pass).  Returns the finished :class:`Feed` (its dissector's stream table)."""
        part = part or CapturePart()
        feed = Feed(self.options, self.selected(sink), part.name or cf.name, part.start_ts,
                    tls_secrets=cf.tls_secrets)
        feed.records(part.records(cf, feed.dissector) if part.records is not None else self._records(cf))
        feed.end()
        sink(self._ending(cf, part.name, part.problems))
        return feed

    def events(self, captures: Iterable) -> Iterator:
        """The same events as :meth:`feed`, pulled one by one (the API)."""
        for evs in self.lists(captures):
            yield from evs

    def lists(self, captures: Iterable, skim_until: int = 0) -> Iterator[list]:
        """The same events as :meth:`feed`, pulled one selected list per packet (views that group them by packet:
        each list holds at most one Packet).  *skim_until*: the packets before that frame are only skimmed
        (:meth:`Feed.skimmed`) when nothing is filtered or counted."""
        select = self.select
        counting = self.count is not None and self.per_packet  # -c in packet views: packets shown
        for cf in self._opened(captures):
            if counting and self.count <= 0:
                return
            if skim_until > 1 and select is None and self.count is None and _reopenable(cf.path):
                cf = yield from self._skimmed(cf, skim_until)
                yield self._ending(cf)
                continue
            lists = Feed(self.options, None, cf.name, tls_secrets=cf.tls_secrets).lists(self._records(cf))
            if select is None and not counting:
                yield from lists  # (delegated: no Python step per list)
                yield self._ending(cf)
                continue
            for evs in lists:
                if select is not None:
                    evs = select(evs)
                yield evs
                if counting and any(ev.__class__ is Packet for ev in evs):
                    self.count -= 1
                    if self.count <= 0:
                        return
            yield self._ending(cf)

    def _skimmed(self, cf: CaptureFile, until: int):
        """One capture's lists, skimmed up to frame *until*; when skimming cannot carry the state over exactly,
        the capture is decoded again from its start (a CaptureStart begins it afresh).  Returns the capture file
        that was read to its end."""
        feed = Feed(self.options, None, cf.name, tls_secrets=cf.tls_secrets)
        yield from feed.skimmed(self._records(cf), until)
        if feed.resumed:
            return cf
        with CaptureFile(cf.path) as again:
            yield from Feed(self.options, None, again.name, tls_secrets=again.tls_secrets).lists(self._records(again))
            return again

    def live(self, sink: Sink, source: str = "") -> Feed:
        """A :class:`Feed` for records that arrive one by one (live capture), behind the filter."""
        return Feed(self.options, self.selected(sink), source)


def _reopenable(path: str) -> bool:
    """A capture that can be read again from its start (a local file: not stdin, not a URL)."""
    return path not in ("-", "") and not is_url(path)


def dissect_files(paths: Iterable[str], options: Options | None = None) -> Iterator:
    """Events for each capture file in turn; file problems become findings, then a CaptureEnd (the Python API)."""
    return Driver(options).events(paths)


def dissect_records(records: Iterable, options: Options | None = None, source: str = "") -> Iterator:
    """Events for an iterable of ``(frame, ts, linktype, data, wire_len)`` records (no file, no CaptureEnd)."""
    for evs in Feed(options or Options(), None, source).lists(records):
        yield from evs
