"""The pipeline: raw packet records in, events out.  Tracks connections and dispatches segments to them.

``Dissector.packet(frame, ts, linktype, data, wire_len)`` returns the events that packet produced (a
:class:`~wsdissect.events.Packet` first when ``options.packets``); ``finish()`` flushes every connection at the end.
:func:`dissect_files` runs it over capture files.  This module is the one place that contains an unexpected stage
error: a bug in a stage becomes an ``internal`` finding on that connection and decoding goes on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .capture.layers import SUPPORTED_LINKTYPES, IpDefragmenter, Malformed, ip_str, l3_offset, parse_tcp
from .connection import TCP_ACK, TCP_SYN, Connection, Ended, Pending
from .events import CaptureEnd, CaptureStart, Finding, new_packet
from .findings import KINDS
from .flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT
from .speedups import speedups

# the C parser for the common packets; it answers False when the Python parser must decide
_parse_tcp_fast = speedups.parse_tcp if speedups is not None else parse_tcp


SWEEP_EVERY = 0x1FFF  # frame-number mask: sweep finished connections every 8192 packets
FINISHED_LINGER = 30.0  # seconds a finished connection is kept for its late packets (final ACKs, RST)


@dataclass
class Options:
    """What to decode and emit, and the resource bounds (each reported as a finding when hit)."""

    decode_as: frozenset = frozenset()  # server TCP ports to decode as WebSocket without a handshake
    packets: bool = False  # emit a Packet event per TCP packet (views)
    frames: bool = False  # emit a WsFrame event per WebSocket frame (views)
    max_message: int = 64 << 20  # bytes of one message kept; beyond it the payload is truncated
    max_inflated: int = 64 << 20  # decompressed bytes per message
    max_ratio: int = 1000  # decompressed/compressed ratio per message
    max_tcp_buffer: int = 8 << 20  # out-of-order bytes buffered per direction
    max_connections: int = 100_000  # connections tracked at once (oldest evicted)
    max_http_head: int = 64 << 10  # bytes of one HTTP header block
    detect: bool = True  # recognise WebSocket without a handshake from the frames themselves (strict heuristic)
    extra: dict = field(default_factory=dict)


class Dissector:
    def __init__(self, options: Options | None = None):
        self.opts = options or Options()
        self.flows: dict[tuple, Connection | Pending | Ended] = {}  # both orientations of each 4-tuple
        self.connections = 0
        self.defrag = IpDefragmenter()
        self.reported_linktypes: set[int] = set()
        self.last_frame = 0
        self.last_ts = 0.0
        self.stream_frames: list[int] = []  # the frame that opened each tcp.stream index (shards are renumbered by it)

    def _finding(self, out: list, code: str, message: str, frame: int, ts: float) -> None:
        out.append(Finding(frame, ts, code, KINDS[code].severity, message))

    def packet(self, frame: int, ts: float, linktype: int, data: bytes, wire_len: int) -> list:
        out: list = []
        self.last_frame, self.last_ts = frame, ts
        if not frame & SWEEP_EVERY:
            self.sweep(ts)
        r = _parse_tcp_fast(linktype, data)
        if r is False:
            r = parse_tcp(linktype, data)
        if r is None or r.__class__ is Malformed:
            r = self._odd_packet(r, frame, ts, linktype, data, wire_len, out)
            if r is None:
                return out
            data = r[-1]
            r = r[0]
        ver, src, dst, sport, dport, seq, ack, flags, win, start, plen, l3, toff = r
        payload = data[start:start + plen]
        key = (src, sport, dst, dport)
        conn_state = self.flows.get(key)
        if conn_state is None or (flags & TCP_SYN and conn_state.finished):
            conn_state = self._new_connection(key, flags, sport, dport, frame, ts, out)
        from_client = key == conn_state.keys[0]
        if conn_state.__class__ is Pending and not conn_state.finished:
            if not plen:
                conn_state.control(from_client, seq, flags, ts)
                if self.opts.packets:
                    out.append(self._packet_event(frame, ts, wire_len, linktype, data, l3, ver, src, dst, sport,
                                                  dport, seq, ack, flags, win, toff, plen, conn_state, from_client))
                return out
            conn_state = conn_state.promote(self.opts)
            self.flows[conn_state.keys[0]] = self.flows[conn_state.keys[1]] = conn_state
        if conn_state.finished:
            if self.opts.packets:
                out.append(self._packet_event(frame, ts, wire_len, linktype, data, l3, ver, src, dst, sport, dport,
                                              seq, ack, flags, win, toff, plen, conn_state, from_client))
            return out
        if len(payload) < plen:
            out.append(Finding(frame, ts, "capture.snaplen", KINDS["capture.snaplen"].severity,
                               f"{plen - len(payload)} of {plen} TCP payload bytes not captured", conn_state.conn))
        if self.opts.packets:
            out.append(self._packet_event(frame, ts, wire_len, linktype, data, l3, ver, src, dst, sport, dport, seq,
                                          ack, flags, win, toff, plen, conn_state, from_client))
        try:
            conn_state.segment(from_client, seq, ack, flags, payload, plen, frame, ts, out)
        except Exception as e:  # noqa: BLE001 - a stage bug must not lose the rest of the capture
            out.append(Finding(frame, ts, "internal", KINDS["internal"].severity,
                               f"internal error while decoding this connection ({type(e).__name__}: {e}); "
                               "connection dropped", conn_state.conn))
            conn_state.finished = True
        if conn_state.finished:  # it has ended: keep only a small record for its late packets
            self.flows[conn_state.keys[0]] = self.flows[conn_state.keys[1]] = Ended(conn_state)
        return out

    def _odd_packet(self, r, frame, ts, linktype, data, wire_len, out):
        """Non-TCP, malformed or fragmented packets: findings, and reassembly of IPv4 fragments."""
        if r is None:
            if linktype not in SUPPORTED_LINKTYPES and linktype not in self.reported_linktypes:
                self.reported_linktypes.add(linktype)
                self._finding(out, "capture.linktype", f"link type {linktype} is not supported; packets skipped",
                              frame, ts)
            return None
        if r == "IPv4 fragment":
            l3 = l3_offset(linktype, data)
            whole = self.defrag.add(data, l3)
            if whole is None:
                return None
            self._finding(out, "ip.fragment", "TCP segment reassembled from IPv4 fragments", frame, ts)
            r2 = parse_tcp(linktype, whole)
            if r2 is None or r2.__class__ is Malformed:
                return None
            return (r2, whole)
        if r == "IPv6 fragment":
            self._finding(out, "ip.fragment", "fragmented IPv6 packet not reassembled", frame, ts)
            return None
        if len(data) < wire_len:
            self._finding(out, "capture.snaplen", f"headers cut by the snapshot length ({r})", frame, ts)
        else:
            self._finding(out, "ip.malformed", str(r), frame, ts)
        return None

    def _new_connection(self, key, flags, sport, dport, frame, ts, out):
        src, _sport, dst, _dport = key
        old = self.flows.get(key)
        if old is not None:
            self._forget(old)
        if flags & TCP_SYN:
            sender_is_client = not flags & TCP_ACK
            known = True
        else:
            da = self.opts.decode_as
            if dport in da and sport not in da:
                sender_is_client = True
            elif sport in da and dport not in da:
                sender_is_client = False
            else:
                sender_is_client = sport > dport or (sport == dport and src > dst)
            known = False
        if sender_is_client:
            keys = (key, (dst, dport, src, sport))
        else:
            keys = ((dst, dport, src, sport), key)
        c = Pending(self.connections, frame, ts, keys, known)
        self.connections += 1
        self.stream_frames.append(frame)
        if not flags & TCP_SYN:
            out.append(Finding(frame, ts, "tcp.midstream", KINDS["tcp.midstream"].severity,
                               "connection already open when the capture started", c.conn))
        if len(self.flows) >= 2 * self.opts.max_connections:
            self._evict(frame, ts, out)
        self.flows[keys[0]] = self.flows[keys[1]] = c
        return c

    def _forget(self, c: Connection) -> None:
        for k in c.keys:
            if self.flows.get(k) is c:
                del self.flows[k]

    def _evict(self, frame: int, ts: float, out: list) -> None:
        """Make room: forget a finished connection, else finish the most idle of the oldest ones."""
        candidates = []
        for c in self.flows.values():
            if c.finished:
                self._forget(c)
                return
            candidates.append(c)
            if len(candidates) >= 128:  # the table is in creation order: look at the oldest entries only
                break
        c = min(candidates, key=lambda c: c.last_ts)
        if c.__class__ is Connection:  # a connection that never carried data goes silently
            c._finding(out, "tcp.evicted", f"more than {self.opts.max_connections} connections tracked; the most "
                       "idle of the oldest was finished", frame, ts)
            c.finish(frame, ts, out, "evicted")
        self._forget(c)

    def _packet_event(self, frame, ts, wire_len, linktype, data, l3, ver, src, dst, sport, dport, seq, ack, flags,
                      win, toff, plen, c, from_client: bool):
        mine, theirs = c.bases(from_client)
        rel_seq = rel_ack = None
        if flags & TCP_SYN:
            rel_seq = 0
        elif mine is not None:  # like Wireshark: the first byte after the SYN is 1
            rel_seq = (seq - mine + 1) % (1 << 32)
        if theirs is not None and flags & TCP_ACK:
            rel_ack = (ack - theirs + 1) % (1 << 32)
        return new_packet(frame, ts, wire_len, len(data), linktype, data, l3, ver, ip_str(src), ip_str(dst), sport,
                      dport, seq, ack, flags, win, toff, plen, c.conn,
                      CLIENT_TO_SERVER if from_client else SERVER_TO_CLIENT, rel_seq, rel_ack)

    def sweep(self, now: float) -> None:
        """Forget finished connections no packet has touched for FINISHED_LINGER seconds: memory then depends on
        the connections open at once, not on how many the capture holds."""
        old = now - FINISHED_LINGER
        for c in [c for k, c in self.flows.items() if c.finished and c.last_ts < old and k == c.keys[0]]:
            self._forget(c)

    def evict_idle(self, now: float, idle: float) -> list:
        """Finish connections with no packet for *idle* seconds and forget finished ones (long live runs)."""
        out: list = []
        for c in {id(c): c for c in self.flows.values()}.values():
            if c.last_ts < now - idle:
                if not c.finished and c.__class__ is Connection:
                    c.finish(self.last_frame, now, out, "idle timeout")
                self._forget(c)
        return out

    def finish(self) -> list:
        """End of capture: flush every connection still open."""
        out: list = []
        seen = set()
        for c in list(self.flows.values()):
            if id(c) in seen:
                continue
            seen.add(id(c))
            if not c.finished and c.__class__ is Connection:
                c.finish(self.last_frame, self.last_ts, out, "capture ended")
        return out


def dissect_records(records: Iterable, options: Options | None = None, source: str = "") -> Iterator:
    """Events for an iterable of ``(frame, ts, linktype, data, wire_len)`` records."""
    d = Dissector(options)
    packet = d.packet
    it = iter(records)
    for rec in it:
        yield CaptureStart(source, rec[1])
        yield from packet(*rec)
        break
    for rec in it:
        events = packet(*rec)
        if events:
            yield from events
    yield from d.finish()


def feed_records(records: Iterable, sink: Callable[[list], None], options: Options | None = None,
                 source: str = "", dissector: Dissector | None = None) -> Dissector:
    """Like :func:`dissect_records`, but hands *sink* each packet's events as one list (no generator between
    stages, one call per packet: the export's hot path).  A shard's reader passes its own *dissector* (to sweep
    at the whole capture's times and end at its last frame); the dissector is returned."""
    d = dissector or Dissector(options)
    packet = d.packet
    it = iter(records)
    for rec in it:
        sink([CaptureStart(source, rec[1])])
        sink(packet(*rec))
        break
    for rec in it:
        events = packet(*rec)
        if events:
            sink(events)
    sink(d.finish())
    return d


def dissect_files(paths: Iterable[str], options: Options | None = None) -> Iterator:
    """Events for each capture file in turn; file problems become findings, then a CaptureEnd."""
    from .capture.files import CaptureFile

    for path in paths:
        with CaptureFile(path) as cf:
            yield from dissect_records(cf, options, cf.name)
            for code, message, frame in cf.problems:
                yield Finding(frame, 0.0, code, KINDS[code].severity, message)
            yield CaptureEnd(cf.name, cf.records_read, bool(cf.problems))
