"""The pipeline: raw packet records in, events out.  Tracks connections and dispatches segments to them.

``Dissector.packet(frame, ts, linktype, data, wire_len)`` returns the events that packet produced (a
:class:`~wsdissect.events.Packet` first when ``options.packets``); ``finish()`` flushes every connection at the end.
:class:`wsdissect.run.Driver` runs it over captures.  This module is the one place that contains an unexpected stage
error: a bug in a stage becomes an ``internal`` finding on that connection and decoding goes on.
"""
from __future__ import annotations

from .capture.describe import PacketDescriber
from .capture.layers import (INNER_FRAGMENT, PLAIN_L3, SUPPORTED_LINKTYPES, IpDefragmenter, TcpSegment, ip_str,
                             l3_offset, parse_tcp, tcp_parser)
from .capture.tunnels import TunnelMalformed
from .connection import Connection, Ended, Pending, held_from
from .events import Finding, Packet, new_packet
from .findings import KINDS
from .options import Options, decode_as_client
from .skim import Skimmed
from .tls.resumption import SessionCache
from .tls_wiring import CaptureSecrets
from .flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT, TCP_ACK, TCP_SYN, Conn
from .speedups import speedups
from .tcp.analysis import Side, TcpAnalysis
from .tcp.relative import RelativeNumbers

SWEEP_EVERY = 0x1FFF  # frame-number mask: sweep finished connections every 8192 packets
FINISHED_LINGER = 30.0  # seconds a finished connection is kept for its late packets (final ACKs, RST)


class Dissector:
    def __init__(self, options: Options | None = None):
        self.opts = options or Options()
        self.flows: dict[tuple, Connection | Pending | Ended] = {}  # both orientations of each 4-tuple
        self.connections = 0
        self.defrag = IpDefragmenter()
        self.reported_linktypes: set[int] = set()
        self.last_frame = 0
        self.last_ts = 0.0
        self.tls_secrets = CaptureSecrets(self.opts.tls_keys)  # + the capture's DSBs (Driver attaches them)
        self.tls_context = (self.tls_secrets, SessionCache())  # one session cache per capture (resumption)
        self.relative = RelativeNumbers()  # views: tshark's relative numbers, analysis flags, scaled windows
        self.analysis = TcpAnalysis()
        self.fast_packet = packet_builder(self.relative, self.analysis)  # C: the common segment's Packet, or None
        self.parse_tcp = tcp_parser()  # the C parser when it is there (chosen once: pure-Python runs patch it)
        self.stream_frames: list[int] = []  # the frame that opened each tcp.stream index (shards are renumbered by it)
        self.holding: dict[int, Connection] = {}  # packet views: connections holding undecided bytes, by index
        self.describer = PacketDescriber()  # views: the headers of packets that are not plain Ethernet/IP/TCP
        self.skimming = False  # show --frame N: a Skimmed marker instead of each Packet (wsdissect.skim)

    def _finding(self, out: list, code: str, message: str, frame: int, ts: float) -> None:
        out.append(Finding(frame, ts, code, KINDS[code].severity, message))

    def packet(self, frame: int, ts: float, linktype: int, data: bytes, wire_len: int) -> list:
        out: list = []
        self.last_frame, self.last_ts = frame, ts
        if not frame & SWEEP_EVERY:
            self.sweep(ts)
        seg = self.parse_tcp(linktype, data)
        if seg.__class__ is not TcpSegment:
            whole = self._odd_packet(seg, frame, ts, linktype, data, wire_len, out)
            if whole is None:
                if self.opts.packets:  # views list every packet; its findings follow it
                    out.insert(0, self._other_packet(frame, ts, linktype, data, wire_len))
                return out
            seg, data = whole
        flags, plen = seg.flags, seg.payload_len  # (slots: cheap to read)
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        conn_state = self.flows.get(key)
        if conn_state is None or (flags & TCP_SYN and conn_state.finished):
            conn_state = self._new_connection(key, flags, frame, ts, out)
        from_client = key == conn_state.keys[0]
        if conn_state.__class__ is Pending and not conn_state.finished:
            if plen:
                conn_state = conn_state.promote(self.opts, self.tls_context)
                self.flows[conn_state.keys[0]] = self.flows[conn_state.keys[1]] = conn_state
            else:
                conn_state.control(from_client, seg.seq, flags, ts)
        if conn_state.__class__ is Pending or conn_state.finished:  # no payload yet, or a late packet
            if self.opts.packets:  # the packet first, its findings (a new connection's) after it
                out.insert(0, self._packet_event(frame, ts, wire_len, linktype, data, seg, conn_state, from_client))
            return out
        start = seg.payload_start
        payload = data[start:start + plen]
        if len(payload) < plen:
            out.append(Finding(frame, ts, "capture.snaplen", KINDS["capture.snaplen"].severity,
                               f"{plen - len(payload)} of {plen} TCP payload bytes not captured", conn_state.conn))
        keys = conn_state.keys
        if self.opts.packets:  # the packet comes first; built after the segment, when the stream's base is known
            out.insert(0, None)
        try:
            conn_state.segment(from_client, seg, payload, frame, ts, out)
        except Exception as e:  # noqa: BLE001 - a stage bug must not lose the rest of the capture
            out.append(Finding(frame, ts, "internal", KINDS["internal"].severity,
                               f"internal error while decoding this connection ({type(e).__name__}: {e}); "
                               "connection dropped", conn_state.conn))
            conn_state.finished = True
        if conn_state.keys is not keys:  # the roles were the wrong way round (the WebSocket heuristic found out)
            self.relative.swap(conn_state.conn.index)
            self.analysis.swap(conn_state.conn.index)
            from_client = not from_client
        if self.opts.packets:  # (the common segment's Packet straight from C, without a Python call in between)
            fast, d = self.fast_packet, conn_state.c2s if from_client else conn_state.s2c
            p = None if fast is None or self.skimming else \
                fast(seg, frame, ts, data, wire_len, linktype, conn_state.conn, from_client, d.reasm.base)
            out[0] = p or self._python_packet(frame, ts, wire_len, linktype, data, seg, conn_state, from_client)
            if held_from(conn_state) is not None:
                self.holding[conn_state.conn.index] = conn_state
        if conn_state.finished:  # it has ended: keep only a small record for its late packets
            self.flows[conn_state.keys[0]] = self.flows[conn_state.keys[1]] = Ended(conn_state)
        return out

    def holds(self, conn: int) -> bool:
        """Does connection *conn* hold payload bytes it has not decided on yet (packet views only)?"""
        c = self.holding.get(conn)
        return c is not None and held_from(c) is not None

    def held_since(self) -> int | None:
        """The first frame whose payload a connection still holds undecided (packet views only), None when none
        does: the packets from there on may yet get the WebSocket frames decoded from those bytes."""
        first = None
        for index, c in list(self.holding.items()):
            f = held_from(c)
            if f is None:
                del self.holding[index]
            elif first is None or f < first:
                first = f
        return first

    def _odd_packet(self, r, frame, ts, linktype, data, wire_len, out) -> tuple[TcpSegment, bytes] | None:
        """Non-TCP, malformed or fragmented packets: findings, and reassembly of IPv4 fragments (the reassembled
        packet's segment and bytes are returned)."""
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
            if r2.__class__ is not TcpSegment:
                return None
            return (r2, whole)
        if r == "IPv6 fragment":
            self._finding(out, "ip.fragment", "fragmented IPv6 packet not reassembled", frame, ts)
            return None
        if r == INNER_FRAGMENT:
            self._finding(out, "ip.fragment", INNER_FRAGMENT, frame, ts)
            return None
        if len(data) < wire_len:
            self._finding(out, "capture.snaplen", f"headers cut by the snapshot length ({r})", frame, ts)
        elif r.__class__ is TunnelMalformed:
            self._finding(out, "tunnel.malformed", str(r), frame, ts)
        else:
            self._finding(out, "ip.malformed", str(r), frame, ts)
        return None

    def _other_packet(self, frame: int, ts: float, linktype: int, data: bytes, wire_len: int):
        """The Packet event of a packet that is not TCP (views): its headers, columns and addresses."""
        if self.skimming:
            return Skimmed(frame, ts)
        d = self.describer.describe(frame, linktype, data)
        return new_packet(frame=frame, ts=ts, wire_len=wire_len, cap_len=len(data), linktype=linktype, data=data,
                          l3_offset=d.l3_offset, ip_version=d.ip_version, src=d.src, dst=d.dst, sport=d.sport,
                          dport=d.dport, seq=0, ack=0, flags=0, window=0, tcp_offset=0, payload_len=0,
                          layers=d.layers, protocol=d.protocol, info=d.info)

    def _new_connection(self, key, flags, frame, ts, out):
        src, sport, dst, dport = key
        old = self.flows.get(key)
        if old is not None:
            self._forget(old)
        if flags & TCP_SYN:
            sender_is_client = not flags & TCP_ACK
            known = True
        else:
            sender_is_client = decode_as_client(self.opts.decode_as, sport, dport)
            if sender_is_client is None:  # the higher port is the client's (ephemeral) one
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
        self.relative.forget(c.conn.index)
        self.analysis.forget(c.conn.index)

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
            c.report(out, "tcp.evicted", f"more than {self.opts.max_connections} connections tracked; the most "
                     "idle of the oldest was finished", frame, ts)
            c.finish(frame, ts, out, "evicted")
        self._forget(c)

    def _packet_event(self, frame: int, ts: float, wire_len: int, linktype: int, data: bytes, seg: TcpSegment, c,
                      from_client: bool):
        fast = self.fast_packet
        if fast is not None and not self.skimming:
            p = fast(seg, frame, ts, data, wire_len, linktype, c.conn, from_client, c.bases(from_client)[0])
            if p is not None:  # (None: not the common segment; the Python path below is the reference)
                return p
        return self._python_packet(frame, ts, wire_len, linktype, data, seg, c, from_client)

    def _python_packet(self, frame: int, ts: float, wire_len: int, linktype: int, data: bytes, seg: TcpSegment, c,
                       from_client: bool):
        """:meth:`_packet_event` in Python: the reference, and every segment the C builder hands back."""
        flags, index = seg.flags, c.conn.index
        rel_seq, rel_ack = self.relative.numbers(index, from_client, seg.seq, seg.ack, flags)
        analysis, window = self.analysis.packet(index, from_client, seg, frame, ts, data)
        if self.skimming:  # show --frame N before N (wsdissect.skim): the TCP state only
            return Skimmed(frame, ts)
        mine = c.bases(from_client)[0]
        l3 = seg.l3_offset
        return new_packet(frame, ts, wire_len, len(data), linktype, data, l3, seg.ip_version, ip_str(seg.src),
                          ip_str(seg.dst), sport=seg.sport, dport=seg.dport, seq=seg.seq, ack=seg.ack, flags=flags,
                          window=seg.window, tcp_offset=seg.tcp_offset, payload_len=seg.payload_len, conn=c.conn,
                          direction=CLIENT_TO_SERVER if from_client else SERVER_TO_CLIENT, rel_seq=rel_seq,
                          rel_ack=rel_ack, stream_start=None if mine is None else (seg.seq - mine) & 0xFFFFFFFF,
                          analysis=analysis, window_size=window,
                          layers=() if l3 == PLAIN_L3.get(linktype) else
                          self.describer.describe(frame, linktype, data).layers)

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



def packet_builder(relative: RelativeNumbers, analysis: TcpAnalysis):
    """The C builder of the common segment's Packet event over the state of *relative* and *analysis*:
    ``build(seg, frame, ts, data, wire_len, linktype, conn, from_client, stream_base) -> Packet or None`` (None:
    the Python path decides; see ``packet_builder`` in ``_speedups.c``).  None without the C module, or when the
    analysis' in-order shortcut is turned off."""
    if speedups is None or not analysis.fast:
        return None
    return speedups.packet_builder(Packet, Side, Conn, TcpSegment, relative.bases, analysis.sides, PLAIN_L3,
                                   (CLIENT_TO_SERVER, SERVER_TO_CLIENT))


# -- the old entry points, kept for code written against them: each goes through the one driver (wsdissect.run) --
def dissect_files(paths, options: Options | None = None):
    """Events of capture files: :func:`wsdissect.run.dissect_files`."""
    from .run import dissect_files as through_driver

    return through_driver(paths, options)


def dissect_records(records, options: Options | None = None, source: str = ""):
    """Events of ``(frame, ts, linktype, data, wire_len)`` records: :func:`wsdissect.run.dissect_records`."""
    from .run import dissect_records as through_driver

    return through_driver(records, options, source)


def feed_records(records, sink, options: Options | None = None, source: str = "") -> None:
    """One capture's records through the driver's :class:`~wsdissect.run.Feed`, a packet's events per sink call."""
    from .run import Feed

    feed = Feed(options or Options(), sink, source)
    feed.records(records)
    feed.end()
