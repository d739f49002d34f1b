"""Test support for display filters: a capture's packets as PacketFields, each with the events of its frame."""
from __future__ import annotations

import collections

from wsdissect.events import CaptureStart, Message, Packet
from wsdissect.filter_fields import PacketFields
from wsdissect.pipeline import Options, dissect_files


def packet_fields(path: str, decode_as: frozenset = frozenset()) -> list[PacketFields]:
    """Every packet of *path* in frame order, with the events whose ``frame`` (a message: ``last_frame``) is its
    number: where tshark shows a reassembled PDU, whatever order the pipeline emitted the events in."""
    pkts, events, t0 = {}, collections.defaultdict(list), None
    for ev in dissect_files([path], Options(packets=True, frames=True, decode_as=decode_as)):
        cls = ev.__class__
        if cls is CaptureStart:
            t0 = ev.ts if t0 is None else t0
        elif cls is Packet:
            pkts[ev.frame] = ev
        else:
            frame = ev.last_frame if cls is Message else getattr(ev, "frame", None)
            if frame is not None:
                events[frame].append(ev)
    return [PacketFields(p, events[n], t0) for n, p in sorted(pkts.items())]
