"""A live capture session: the capture source, the pipeline, a view and the outputs, until stopped.

Stops cleanly on Ctrl-C (SIGINT), SIGTERM, ``--count`` or ``--duration``: every output file is flushed and closed
and a summary is returned.  Memory stays bounded: idle connections are finished and forgotten.
"""
from __future__ import annotations

import signal
import time

from .capture.afpacket import LiveCapture
from .capture.pcapwriter import PcapWriter
from .errors import UsageError
from .events import Finding, Message
from .filters import EventFilter
from .findings import KINDS, Severity
from .options import Options
from .run import Driver, event_selector


class _Stop(Exception):
    pass


class LiveSession:
    def __init__(self, capture: LiveCapture, options: Options, event_filter: EventFilter, console, mode: str,
                 idle_timeout: float = 300.0, quiet: bool = False):
        self.capture = capture  # the packet source (capture/afpacket.py), opened by the caller
        # the one driver; its filter selection, event by event for the counts and the export, packet by packet
        # for packet views
        self.feed = Driver(options).live(self._handle, getattr(capture, "iface", ""))
        self.select_events = event_selector(event_filter, per_packet=False)
        self.select_view = event_selector(event_filter, per_packet=mode != "messages")
        self.console = console
        self.mode = mode
        self.idle_timeout = idle_timeout
        self.quiet = quiet  # no per-packet output: counts, outputs and the summary only
        self.pcap: PcapWriter | None = None
        self.export = None
        self._export_file = None
        self.packets = 0
        self.reported_drops = 0  # packets the kernel dropped, as reported so far
        self.messages = 0
        self.findings = {s: 0 for s in Severity}
        if mode == "messages":
            from .render.follow import FollowView
            self.view = FollowView(console)
        elif mode == "detail":
            from .render.tree import DetailView
            self.view = DetailView(console)
        else:
            from .render.packets import PacketListView
            self.view = PacketListView(console)

    def open_outputs(self, pcap_path: str | None, export_path: str | None) -> None:
        """Open the output files now, so an unwritable path fails before capturing starts."""
        try:
            if pcap_path:
                self.pcap = PcapWriter(open(pcap_path, "wb"), self.capture.linktype, self.capture.snaplen)
            if export_path:
                from .export.writer import RecordWriter
                self._export_file = open(export_path, "ab")
                self.export = RecordWriter(self._export_file, "jsonl", Severity.NOTE, flush_each=True)
        except OSError as e:
            self.close()
            raise UsageError(f"{e.filename}: cannot write: {e.strerror}") from None

    def _count(self, events: list) -> None:
        for ev in events:
            cls = ev.__class__
            if cls is Message:
                self.messages += 1
            elif cls is Finding:
                self.findings[Severity(ev.severity)] += 1

    def _handle(self, events: list) -> None:
        """One packet's events: the selected ones counted, exported, shown."""
        selected = events if self.select_events is None else self.select_events(events)
        self._count(selected)
        if self.export is not None:
            for ev in selected:
                self.export.event(ev)
        if self.quiet:
            return
        if self.select_view is not None:
            events = self.select_view(events)
        if self.mode == "messages":
            for ev in events:
                self.view.event(ev)
        else:
            pkt = events[0] if events and events[0].__class__.__name__ == "Packet" else None
            self.view.group(pkt, events[1:] if pkt is not None else events)

    def run(self, count: int | None, duration: float | None, on_ready=None) -> str:
        """Capture until stopped; *on_ready* is called once signals are handled and packets are being read."""

        def on_term(signum, frame):
            raise _Stop()

        old = signal.signal(signal.SIGTERM, on_term)
        start = time.monotonic()
        last_evict = last_drops = start
        feed = self.feed
        try:
            if on_ready is not None:
                on_ready()
            while True:
                if duration is not None and time.monotonic() - start >= duration:
                    break
                for rec in self.capture.read(0.2):
                    self.packets += 1
                    if self.pcap is not None:
                        self.pcap.write(rec[1], rec[3], rec[4])
                    feed.packet(rec)
                    if count is not None and self.packets >= count:
                        raise _Stop()
                if self.pcap is not None:
                    self.pcap.flush()
                now = time.monotonic()
                if now - last_drops >= 1.0:
                    last_drops = now
                    self._report_drops()
                if now - last_evict > min(10.0, self.idle_timeout):
                    last_evict = now
                    feed.idle(time.time(), self.idle_timeout)
        except (KeyboardInterrupt, _Stop):
            pass
        finally:
            signal.signal(signal.SIGTERM, old)
            try:
                self._report_drops()
                feed.end()
                if not self.quiet:
                    self.view.end()
            finally:
                self.close()
        dropped = self.reported_drops
        sev = ", ".join(f"{n} {s.label}" for s, n in sorted(self.findings.items(), reverse=True) if n)
        return (f"{self.packets} packets captured, {dropped} dropped by the kernel, "
                f"{feed.dissector.connections} connections, "
                f"{self.messages} messages" + (f", findings: {sev}" if sev else ""))

    def _report_drops(self) -> None:
        """Packets the kernel dropped since the last look (PACKET_STATISTICS): a ``capture.dropped`` finding."""
        _received, dropped = self.capture.stats()
        if dropped > self.reported_drops:
            new, self.reported_drops = dropped - self.reported_drops, dropped
            self.feed.finding(Finding(self.capture.frame, time.time(), "capture.dropped", KINDS["capture.dropped"]
                                      .severity, f"the kernel dropped {new} packets ({dropped} in all) before "
                                      "wsdissect read them: the capture is incomplete"))

    def close(self) -> None:
        if self.export is not None:
            self.export.close()
            self.export = None
        if self._export_file is not None:
            self._export_file.close()
            self._export_file = None
        if self.pcap is not None:
            self.pcap.close()
            self.pcap = None
        self.capture.close()
