"""The cheap raw split pass: one large capture -> flow-consistent shards, decoded as separate tasks.

Only record headers and the IP/TCP 4-tuple are read (the same offset parser the pipeline uses, C when built);
nothing is reassembled or decoded.  Every packet of a TCP 4-tuple (both directions, reused ports included, and
the IPv4 fragments of its segments) goes to one shard; a new 4-tuple goes to the shard with the fewest bytes so far.
Packets that are not TCP, malformed ones and IPv6 fragments (which the pipeline reports and skips) go to shard 0,
which also carries the damage met while reading the input.

A shard is a classic pcap file (nanosecond timestamps, for people who want to open one) plus a sidecar *index*:
for each record its original frame number, its exact timestamp and link type.  :func:`shard_records` reads both
and yields the whole capture's records again, so the pipeline sees the original frame numbers and times.
Two more pieces make a shard decode exactly as its packets decode inside the whole capture:

- ``ticks``: the times at which the whole capture's pipeline sweeps finished connections (every 8192nd frame);
  the shard's dissector sweeps at the same moments (``Dissector.sweep``);
- ``end``: the whole capture's last frame and time, where connections still open are flushed.

tcp.stream numbers are the one thing a shard cannot know alone; each shard's dissector reports the frame that
opened each of its connections (``Dissector.stream_frames``), and the engine renumbers the shard's parts by the
rank of that frame among all shards' (engines/parts.py).  Exact up to two documented bounds: with more than
``--max-connections`` connections open at once, or more than 1024 unfinished IPv4 datagrams, the whole capture
evicts state a shard may keep.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from ..pipeline import SWEEP_EVERY
from .files import CaptureFile
from .layers import l3_offset, tcp_parser


INDEX = struct.Struct("<QdH")  # original frame number, timestamp (seconds), link type
_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")
PCAP_NS_MAGIC = 0xA1B23C4D
OTHER_SHARD = 0


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard of a split capture and what its decoder needs to match the whole capture."""

    path: str  # pcap file of the shard's records
    index_path: str  # INDEX records, one per packet, in the shard's order
    first_ts: float  # the whole capture's first packet time (origin of relative times)
    end: tuple[int, float]  # the whole capture's last frame number and its time
    ticks: tuple[tuple[int, float], ...]  # (frame, time) of every sweep point of the whole capture
    problems: tuple[tuple[str, str, int], ...] = ()  # the input's damage (shard 0 only): (code, message, frame)


@dataclass(frozen=True, slots=True)
class SplitResult:
    shards: tuple[Shard, ...]
    packets: int
    bytes_read: int


class _ShardFile:
    """One shard being written: its pcap file and its index."""

    __slots__ = ("path", "index_path", "f", "index", "bytes")

    def __init__(self, path: str):
        self.path = path
        self.index_path = path + ".idx"
        self.f: BinaryIO = open(path, "wb", buffering=1 << 20)
        self.f.write(_PCAP_HEADER.pack(PCAP_NS_MAGIC, 2, 4, 0, 0, 0x40000, 1))
        self.index = bytearray()
        self.bytes = 0

    def add(self, frame: int, ts: float, linktype: int, data: bytes, wire_len: int) -> None:
        sec = int(ts)
        self.f.write(_PCAP_RECORD.pack(sec & 0xFFFFFFFF, max(0, min(int((ts - sec) * 1e9), 999_999_999)), len(data),
                                       wire_len))
        self.f.write(data)
        self.index += INDEX.pack(frame, ts, linktype)
        self.bytes += 16 + len(data)

    def close(self) -> None:
        self.f.close()
        with open(self.index_path, "wb") as f:
            f.write(self.index)


def _fragment_key(linktype: int, data: bytes) -> tuple | None:
    """(src, dst, IP ID) of an IPv4 fragment, and its TCP ports when it is the first fragment."""
    l3 = l3_offset(linktype, data)
    if l3.__class__ is not int or len(data) < l3 + 20:
        return None
    key = (data[l3 + 12:l3 + 20], data[l3 + 4:l3 + 6])
    offset = ((data[l3 + 6] << 8) | data[l3 + 7]) & 0x1FFF
    t = l3 + (data[l3] & 0x0F) * 4
    if offset == 0 and len(data) >= t + 4:
        sport, dport = (data[t] << 8) | data[t + 1], (data[t + 2] << 8) | data[t + 3]
        return key, (data[l3 + 12:l3 + 16], sport, data[l3 + 16:l3 + 20], dport)
    return key, None


class Splitter:
    """Routes records to shards: a 4-tuple's packets to one shard, new 4-tuples to the least loaded one."""

    def __init__(self, directory: str, count: int):
        self.files = [_ShardFile(os.path.join(directory, f"shard-{i:04d}.pcap")) for i in range(count + 1)]
        self.flows: dict[tuple, _ShardFile] = {}
        self.fragments: dict[tuple, _ShardFile] = {}  # (addresses, IP ID) -> shard of its first fragment
        self.held: dict[tuple, list] = {}  # fragments seen before their first fragment
        self.parse = tcp_parser()  # -> TcpSegment, Malformed or None

    def _flow_shard(self, src: bytes, sport: int, dst: bytes, dport: int) -> _ShardFile:
        a, b = (src, sport), (dst, dport)
        key = (a, b) if a <= b else (b, a)
        shard = self.flows.get(key)
        if shard is None:
            shard = self.flows[key] = min(self.files[1:], key=lambda s: s.bytes)
        return shard

    def add(self, rec: tuple) -> None:
        r = self.parse(rec[2], rec[3])
        if r is None or isinstance(r, str):  # not TCP, or a Malformed/TunnelMalformed reason
            if r == "IPv4 fragment":
                self._fragment(rec)
            else:
                self.files[OTHER_SHARD].add(*rec)
            return
        self._flow_shard(r.src, r.sport, r.dst, r.dport).add(*rec)

    def _fragment(self, rec: tuple) -> None:
        found = _fragment_key(rec[2], rec[3])
        if found is None:
            self.files[OTHER_SHARD].add(*rec)
            return
        key, ports = found
        shard = self.fragments.get(key)
        if shard is None and ports is not None:
            shard = self.fragments[key] = self._flow_shard(*ports)
            for held in self.held.pop(key, ()):  # fragments that came before the first: just before it
                shard.add(*held)
        if shard is None:
            self.held.setdefault(key, []).append(rec)
        else:
            shard.add(*rec)

    def close(self) -> list[_ShardFile]:
        for recs in self.held.values():  # never completed: the pipeline keeps them and emits nothing
            for rec in recs:
                self.files[OTHER_SHARD].add(*rec)
        for f in self.files:
            f.close()
        return self.files


def split_capture(source: str, directory: str, count: int) -> SplitResult:
    """Split *source* into *count* flow shards plus shard 0 (everything else) under *directory*."""
    os.makedirs(directory, exist_ok=True)
    splitter = Splitter(directory, count)
    ticks: list[tuple[int, float]] = []
    first_ts, last = None, (0, 0.0)
    with CaptureFile(source) as cf:
        try:
            for rec in cf:
                if not rec[0] & SWEEP_EVERY:
                    ticks.append((rec[0], rec[1]))
                if first_ts is None:
                    first_ts = rec[1]
                last = (rec[0], rec[1])
                splitter.add(rec)
        finally:
            files = splitter.close()
    shards = tuple(Shard(f.path, f.index_path, first_ts or 0.0, last, tuple(ticks),
                         tuple(cf.problems) if i == OTHER_SHARD else ()) for i, f in enumerate(files))
    return SplitResult(shards, cf.records_read, cf.bytes_read)


def shard_records(cf: CaptureFile, shard: Shard, dissector) -> Iterator[tuple]:
    """The records of a shard file with their original frame numbers, times and link types; the dissector sweeps
    at the whole capture's sweep points and ends at its last frame."""
    with open(shard.index_path, "rb") as f:
        index = f.read()
    ticks = iter(shard.ticks)
    tick = next(ticks, None)
    sweep = dissector.sweep
    for (frame, ts, linktype), rec in zip(INDEX.iter_unpack(index), cf):
        while tick is not None and tick[0] <= frame:
            if tick[0] < frame:  # at its own frame the pipeline sweeps by itself
                sweep(tick[1])
            tick = next(ticks, None)
        yield (frame, ts, linktype, rec[3], rec[4])
    dissector.last_frame, dissector.last_ts = shard.end
