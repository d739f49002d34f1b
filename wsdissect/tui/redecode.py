"""Details on demand: the capture is read again and only the selected packet's connection is decoded.

A connection's decoding depends only on its own packets, so feeding a fresh :class:`~wsdissect.pipeline.Dissector`
the frames of that connection (numbered as in the full run) gives the same events as the full run; the packet's
detail tree is then built by the same :class:`~wsdissect.render.tree.TreeBuilder` as ``show -V``.  When the packet
cannot be found that way (a segment rebuilt from IP fragments), every packet up to it is decoded instead.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Iterator, NamedTuple, Optional

from ..capture.files import CaptureFile
from ..events import CaptureStart, HttpRequest, Packet
from ..options import Options
from ..pipeline import Dissector
from ..run.regroup import Regrouper
from ..render.nodes import Node
from ..render.packets import PacketRow
from ..render.tree import HOLD_LIMIT, TreeBuilder
from .filter_text import BarFilter
from .model import CaptureIndex, view_options


class PacketDetail(NamedTuple):
    """What the tree and bytes panes show for one packet."""

    packet: Packet
    nodes: list[Node]


def _records(path: str, frames: Optional[set[int]], last: int) -> Iterator[tuple]:
    """The records of *frames* (all when None) up to frame *last*."""
    with CaptureFile(path) as cf:
        for rec in cf:
            if rec[0] > last:
                return
            if frames is None or rec[0] in frames:
                yield rec


def connection_groups(index: CaptureIndex, stream: Optional[int], last: int, options: Options,
                      bar_filter: BarFilter | None, per_packet: bool = False
                      ) -> Iterator[tuple[Packet | None, list]]:
    """``(packet, events after the filter)`` of connection *stream* (every connection when None) up to frame
    *last*; the end-of-capture events come with the last packet when it is the capture's last.  The filter
    selects as the driver does (:func:`~wsdissect.run.driver.event_selector`): as message views do, or, with
    *per_packet*, each packet whole or not at all like ``show``."""
    d = Dissector(view_options(options))
    frames = None
    if stream is not None:
        d.connections = stream  # the connection gets the index it has in the full run
        all_frames = index.conn_frames.get(stream, ())
        frames = set(all_frames[:bisect_right(all_frames, last)])
    select = bar_filter.selector(per_packet) if bar_filter is not None else None
    if select is not None and index.first_ts is not None:
        select([CaptureStart(index.source, index.first_ts)])  # the time origin of --time-from/--time-to
    regroup = Regrouper(d)  # frames decoded late from held bytes go to their own packets, as in show
    rec = None
    for rec in _records(index.source, frames, last):
        events = d.packet(*rec)
        ended = rec[0] == index.last_frame and index.done
        for ready in regroup.end(events + d.finish()) if ended else regroup.add(events):
            yield from _by_packet(select(ready) if select is not None else ready)
    if stream is not None and (rec is None or rec[0] < index.last_frame or not index.done):
        events = d.finish()  # the connection as far as the capture goes (follow needs its end)
        for ready in regroup.end(events):
            yield from _by_packet(select(ready) if select is not None else ready)


def _by_packet(events: list) -> Iterator[tuple[Packet | None, list]]:
    """One packet's list as ``(packet, its events)``, after ``(None, events)`` for what came before the packet (a
    connection seen without its SYN starts with a finding), as :func:`~wsdissect.render.packets.group_by_packet`."""
    for i, ev in enumerate(events):
        if ev.__class__ is Packet:
            if i:
                yield None, events[:i]
            yield ev, events[i + 1:]
            return
    yield None, events


def packet_detail(index: CaptureIndex, position: int, options: Options,
                  bar_filter: BarFilter | None = None) -> Optional[PacketDetail]:
    """The detail of the packet in row *position*, or None when it cannot be decoded again."""
    row = index.rows[position]
    prev = index.rows[position - 1].ts if position else None
    t0 = index.rows[0].ts
    frames = index.conn_frames.get(row.stream, ()) if row.stream is not None else ()
    at = bisect_right(frames, row.frame)
    if at and frames[at - 1] == row.frame:
        last = frames[min(at + HOLD_LIMIT, len(frames)) - 1]
        found = _build(index, row, row.stream, last, options, bar_filter, prev, t0)
        if found is not None:
            return found
    return _build(index, row, None, row.frame + HOLD_LIMIT, options, bar_filter, prev, t0)


def _build(index: CaptureIndex, row: PacketRow, stream: Optional[int], last: int, options: Options,
           bar_filter: BarFilter | None, prev: float | None, t0: float) -> Optional[PacketDetail]:
    """Feed packets in order; once the target is in, go on until its HTTP requests have their responses (for
    ``[Response in frame]``) or HOLD_LIMIT packets went by, then build its tree."""
    builder = TreeBuilder()
    target = None
    waiting: list[HttpRequest] = []
    after = 0
    for pkt, events in connection_groups(index, stream, last, options, bar_filter, per_packet=True):
        pending = builder.observe(events)
        fragments = builder.track(events) if pkt is not None else []
        if target is None:
            waiting += [r for r in pending if stream is None or r.conn.index == stream]
            if pkt is not None and pkt.frame == row.frame:
                target = (pkt, events, fragments)
        else:
            after += 1
        waiting = [r for r in waiting if not builder.answered(r)]
        if target is not None and (not waiting or after >= HOLD_LIMIT):
            break
    if target is None:
        return None
    pkt, events, fragments = target
    return PacketDetail(pkt, builder.nodes(pkt, events, fragments, prev, t0))
