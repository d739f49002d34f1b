"""One TCP connection: wires reassembly -> HTTP upgrade -> frames -> messages for both directions,
and keeps its lifecycle (handshake, closes, pings, how it ended).

Contract: ``segment(...)`` and ``finish(...)`` append events to the ``out`` list they are given.  Protocol
problems become :class:`~wsdissect.events.Finding` events; nothing here raises on traffic content.
"""
from __future__ import annotations

from .capture.layers import TcpSegment, ip_str
from .detect import (HTTP, OTHER, PROBE, UNKNOWN, WEBSOCKET, Detection, classify, detect,
                     unneeded_decode_as)
from .events import ConnectionEnd, Finding, Message, Upgrade
from .findings import KINDS
from .flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Conn
from .http.checks import check_handshake
from .http.exchange import LeftHttp, Upgraded
from .http.negotiation import negotiated
from .http.session import FramesWithout101, HttpSession
from .tcp.reassembly import Gap, Piece, StreamReassembler
from .tls_wiring import TlsWiring
from .ws.closing import Lifecycle
from .app.stage import AppStage, stage_for
from .ws.stream import WsStream



class Pending:
    """A connection that has carried no payload yet (a TCP handshake, a port scan, a SYN flood): kept small.

    It becomes a :class:`Connection` (``promote``) when the first payload byte arrives in either direction.
    """

    __slots__ = ("index", "keys", "first_frame", "start_ts", "last_ts", "isn_c", "isn_s", "roles_known", "finished",
                 "fin", "_conn")

    def __init__(self, index: int, frame: int, ts: float, keys: tuple, roles_known: bool):
        self.index = index
        self.keys = keys  # (client -> server 4-tuple, server -> client 4-tuple) with raw address bytes
        self.first_frame = frame
        self.start_ts = self.last_ts = ts
        self.isn_c: int | None = None  # SYN sequence numbers
        self.isn_s: int | None = None
        self.roles_known = roles_known
        self.finished = False
        self.fin = 0  # bit 1: client sent FIN, bit 2: server sent FIN
        self._conn: Conn | None = None

    @property
    def conn(self) -> Conn:
        """Built on first use: most connections of a SYN flood never need their printable endpoints."""
        if self._conn is None:
            cip, cport, sip, sport = self.keys[0]
            self._conn = Conn(self.index, ip_str(cip), cport, ip_str(sip), sport)
        return self._conn

    def bases(self, from_client: bool) -> tuple[int | None, int | None]:
        mine, other = (self.isn_c, self.isn_s) if from_client else (self.isn_s, self.isn_c)
        return (None if mine is None else (mine + 1) & 0xFFFFFFFF,
                None if other is None else (other + 1) & 0xFFFFFFFF)

    def control(self, from_client: bool, seq: int, flags: int, ts: float) -> None:
        """A packet without payload: remember SYNs, notice the end."""
        self.last_ts = ts
        if flags & TCP_SYN:
            if from_client:
                self.isn_c = seq
            else:
                self.isn_s = seq
        if flags & TCP_FIN:
            self.fin |= 1 if from_client else 2
        if flags & TCP_RST or self.fin == 3:
            self.finished = True

    def promote(self, options, tls_context=None) -> "Connection":
        """*tls_context*: the capture's ``(CaptureSecrets, SessionCache)`` for a connection that turns out TLS."""
        c = Connection(self.conn, options, self.first_frame, self.start_ts, self.keys)
        c.tls_context = tls_context
        c.last_ts = self.last_ts
        c.roles_known = self.roles_known
        for d, isn in ((c.c2s, self.isn_c), (c.s2c, self.isn_s)):
            if isn is not None:
                d.reasm.base = (isn + 1) & 0xFFFFFFFF
                c.syn_seen = True
            d.fin = bool(self.fin & (1 if d.from_client else 2))
        return c


class Ended:
    """What is left of a connection once it has ended and its ConnectionEnd is out: enough to recognise the late
    packets that still arrive for it (final ACKs, a RST) and to number them like its own.  A few hundred bytes,
    so the connections that ended recently cost little while they wait to be forgotten."""

    __slots__ = ("conn", "keys", "last_ts", "finished", "_bases")

    def __init__(self, c: "Connection"):
        self.conn = c.conn
        self.keys = c.keys
        self.last_ts = c.last_ts
        self.finished = True
        self._bases = (c.c2s.reasm.base, c.s2c.reasm.base)

    def bases(self, from_client: bool) -> tuple[int | None, int | None]:
        c, s = self._bases
        return (c, s) if from_client else (s, c)


class Direction:
    """Per-direction state of a connection: its reassembly, and its WebSocket stream once there is one."""

    __slots__ = ("name", "from_client", "reasm", "ws", "fin", "probe")

    def __init__(self, name: str, from_client: bool, max_buffer: int):
        self.name = name
        self.from_client = from_client
        self.reasm = StreamReassembler(max_buffer)
        self.ws: WsStream | None = None
        self.fin = False
        self.probe: list[Piece] = []  # held while the WebSocket heuristic decides

    def stats(self) -> dict:
        """Counters as exported: messages, bytes, wire bytes, largest, and per opcode [count, bytes]."""
        if self.ws is None:
            return {"messages": 0, "bytes": 0, "wire_bytes": 0, "largest": 0, "opcodes": {}}
        return self.ws.stats()


class Connection(TlsWiring):
    __slots__ = ("conn", "opts", "keys", "c2s", "s2c", "mode", "http", "upgrade", "first_frame", "last_frame",
                 "start_ts", "last_ts", "syn_seen", "packets", "rst", "finished", "roles_known", "midstream", "life",
                 "handshake_ms", "app", "tls", "tls_context")

    def __init__(self, conn: Conn, options, frame: int, ts: float, keys: tuple):
        self.conn = conn
        self.opts = options
        self.keys = keys  # (client->server key, server->client key) in the flow table
        self.c2s = Direction(CLIENT_TO_SERVER, True, options.max_tcp_buffer)
        self.s2c = Direction(SERVER_TO_CLIENT, False, options.max_tcp_buffer)
        self.mode = UNKNOWN
        self.http: HttpSession | None = None
        self.upgrade: Upgrade | None = None
        self.first_frame = self.last_frame = frame
        self.start_ts = self.last_ts = ts
        self.syn_seen = False
        self.packets = 0  # packets of this connection (the reassemblers' patience is counted in these)
        self.rst = False
        self.finished = False
        self.roles_known = False
        self.midstream = False
        self.life = Lifecycle()
        self.handshake_ms: float | None = None
        self.app: AppStage | None = None  # application decoding of the messages (wsdissect.app), if any
        self.tls = self.tls_context = None  # wss://: TlsLayer (TlsWiring); the capture's (secrets, sessions)

    # -- helpers --------------------------------------------------------------------------------------------
    def bases(self, from_client: bool) -> tuple[int | None, int | None]:
        """Absolute sequence numbers of stream offset 0 for (this direction, the other), None when unknown."""
        d, o = (self.c2s, self.s2c) if from_client else (self.s2c, self.c2s)
        return d.reasm.base, o.reasm.base

    def report(self, out: list, code: str, message: str, frame: int, ts: float, direction: str | None = None) -> None:
        """A finding of one of this connection's stages (the stages' one sink, see :class:`WsStream`)."""
        out.append(Finding(frame, ts, code, KINDS[code].severity, message, self.conn, direction))

    def report_all(self, out: list, items: list, direction: str | None) -> None:
        """Findings a stage handed over as ``(code, message, frame, ts)``; a stage that does not know the time
        says 0.0 and gets the connection's latest."""
        for code, message, frame, ts in items:
            self.report(out, code, message, frame, ts or self.last_ts, direction)

    def swap_roles(self) -> None:
        """The first guess of who is the client was wrong."""
        self.conn = self.conn.swapped()
        self.c2s, self.s2c = self.s2c, self.c2s
        for d, name, from_client in ((self.c2s, CLIENT_TO_SERVER, True), (self.s2c, SERVER_TO_CLIENT, False)):
            d.name, d.from_client = name, from_client
        self.keys = (self.keys[1], self.keys[0])

    # -- packets --------------------------------------------------------------------------------------------
    def segment(self, from_client: bool, seg: TcpSegment, data: bytes, frame: int, ts: float, out: list) -> None:
        """One packet's TCP segment (*data*: its captured payload) in either direction."""
        seq, ack, flags, wire_len = seg.seq, seg.ack, seg.flags, seg.payload_len
        self.last_frame = frame
        self.last_ts = ts
        d, other = (self.c2s, self.s2c) if from_client else (self.s2c, self.c2s)
        if self.mode == OTHER:  # not HTTP nor WebSocket: only the lifecycle matters
            if flags & TCP_FIN:
                d.fin = True
            if flags & TCP_RST or self.c2s.fin and self.s2c.fin:
                self.finish(frame, ts, out, "rst" if flags & TCP_RST else "fin")
            return
        self.packets += 1
        if flags & TCP_SYN:
            self.syn_seen = True
        if wire_len and not flags & 3 and len(data) == wire_len and self.mode == WEBSOCKET:
            off = d.reasm.in_order(seq, data)  # the hot path: the next bytes of an established WebSocket stream
            if off >= 0:
                d.ws.feed(data, off, frame, ts, out) if self.tls is None else self._tls_in(d, data, frame, ts, out)
            else:
                pieces = d.reasm.segment(seq, data, wire_len, False, False, frame, ts)
                if pieces:
                    self._pieces(d, pieces, out)
        elif wire_len or flags & 3:  # data, SYN or FIN
            pieces = d.reasm.segment(seq, data, wire_len, bool(flags & TCP_SYN), bool(flags & TCP_FIN), frame, ts)
            if pieces:
                self._pieces(d, pieces, out)
        o = other.reasm
        if flags & TCP_ACK and o.base is not None and (ack - o.base - o.next) & 0xFFFFFFFF:
            # the peer acknowledged something other than exactly what we have: maybe evidence of a lost segment
            late = o.peer_ack(ack, frame, ts, self.packets)
            if late:
                self._pieces(other, late, out)
        if d.reasm.findings:
            self.report_all(out, d.reasm.take_findings(), d.name)
        if o.findings:
            self.report_all(out, o.take_findings(), other.name)
        if flags & TCP_FIN and not d.fin:
            d.fin = True
        if flags & TCP_RST:
            self.rst = True
            self.report(out, "tcp.rst", "connection reset", frame, ts, d.name)
            self.finish(frame, ts, out, "rst")
        elif self.c2s.fin and self.s2c.fin and self.c2s.reasm.complete and self.s2c.reasm.complete:
            self.finish(frame, ts, out, None)

    def _tcp_pieces(self, d: Direction, pieces: list, out: list) -> None:
        """Reassembled pieces of a plain (not TLS) connection; ``_pieces`` (TlsWiring) chooses."""
        for piece in pieces:
            if piece.__class__ is Gap:
                self._gap(d, piece.missing, piece.frame, piece.ts, out)
            else:
                self._data(d, piece.offset, piece.data, piece.frame, piece.ts, out)

    def _data(self, d: Direction, off: int, data: bytes, frame: int, ts: float, out: list) -> None:
        mode = self.mode
        if mode == WEBSOCKET:
            d.ws.feed(data, off, frame, ts, out)
        elif mode == HTTP:
            self._http(d, data, frame, ts, out)
        elif mode == PROBE:
            self._probe(d, off, data, frame, ts, out)
        elif mode == UNKNOWN and not self._tls_started(d, off, data, frame, ts, out):
            self._classify(d, data, frame, ts, out)
            if self.mode != UNKNOWN:
                self._data(self.c2s if d.from_client else self.s2c, off, data, frame, ts, out)

    def _gap(self, d: Direction, n: int, frame: int, ts: float, out: list) -> None:
        if self.mode == WEBSOCKET and d.ws is not None:
            d.ws.gap(n, frame, ts, out)
        elif self.mode == HTTP and self.http is not None:
            for r in self.http.gap(d.from_client, n, out, self):
                self._switch(r, frame, ts, out)

    # -- deciding what the connection carries ---------------------------------------------------------------
    def _classify(self, d: Direction, data: bytes, frame: int, ts: float, out: list) -> None:
        first = classify(data, d.from_client, self.conn, self.opts, self.roles_known)
        if first.swap:
            self.swap_roles()
        if first.mode == WEBSOCKET:  # --decode-as
            self._start_websocket(None, out, frame, ts, synced=False)
            self.report(out, "ws.handshake.missing",
                        f"decoding port {self.conn.server_port} as WebSocket without a handshake", frame, ts)
            return
        self.mode = first.mode
        if first.mode != HTTP:
            return
        self.roles_known = True
        self.http = HttpSession(self.conn, self.opts.max_http_head)

    def _probe(self, d: Direction, off: int, data: bytes, frame: int, ts: float, out: list) -> None:
        """No HTTP and no --decode-as: is this WebSocket whose handshake is not in the capture? (see detect.py)"""
        d.probe.append(Piece(off, data, frame, ts))
        found = detect(b"".join(p.data for p in self.c2s.probe), b"".join(p.data for p in self.s2c.probe))
        if found is Detection.UNDECIDED:
            return
        if found is Detection.NOT_WEBSOCKET:
            self.mode = OTHER
            self.c2s.probe = self.s2c.probe = []
            return
        if found is Detection.REVERSED:
            self.swap_roles()
        held = sorted([(p, self.c2s) for p in self.c2s.probe] + [(p, self.s2c) for p in self.s2c.probe],
                      key=lambda item: item[0].frame)  # replay both directions in capture order
        self.c2s.probe = self.s2c.probe = []
        self._start_websocket(None, out, frame, ts, synced=True)
        self.midstream = True
        self.report(out, "ws.handshake.missing", "WebSocket frames recognised without a handshake in the capture "
                      "(heuristic; use --decode-as to force)", frame, ts)
        for p, side in held:
            side.ws.feed(p.data, p.offset, p.frame, p.ts, out)

    # -- HTTP -----------------------------------------------------------------------------------------------
    def _http(self, d: Direction, data: bytes, frame: int, ts: float, out: list) -> None:
        for r in self.http.feed(d.from_client, data, frame, ts, out, self):
            self._switch(r, frame, ts, out)

    def _switch(self, r, frame: int, ts: float, out: list) -> None:
        """HTTP ends here: the WebSocket upgrade, frames without a 101, or another protocol (or a problem)."""
        cls = r.__class__
        if cls is Upgraded:
            self._upgraded(r, frame, ts, out)
        elif cls is FramesWithout101:
            self.report(out, "ws.handshake.no_101", r.finding_message(), *r.where(frame, ts), SERVER_TO_CLIENT)
            self._start_websocket(None, out, frame, ts, synced=True)
            self._replay_held(r.client_rest, r.server_rest, frame, ts, out)
        elif cls is LeftHttp:
            self.mode = OTHER
            if r.code is not None:
                self.report(out, r.code, r.reason, frame, ts)

    def _upgraded(self, r: Upgraded, frame: int, ts: float, out: list) -> None:
        req, resp = r.request, r.response
        resp_ev = self.http.last_response
        sub, exts, deflate = negotiated(req, resp)
        up = Upgrade(self.conn, resp_ev.request, resp_ev, sub, exts, deflate)
        out.append(up)
        self.handshake_ms = (resp.ts - req.ts) * 1000.0
        for code, message, head in check_handshake(req, resp) + unneeded_decode_as(self.conn, self.opts, resp):
            self.report(out, code, message, head.frame, head.ts, CLIENT_TO_SERVER if head is req else SERVER_TO_CLIENT)
        self._start_websocket(up, out, frame, ts, synced=True)
        self._replay_held(r.client_rest, r.server_rest, frame, ts, out)

    def _replay_held(self, crest: list, srest: list, frame: int, ts: float, out: list) -> None:
        """The bytes HTTP held after the heads, decoded as the first WebSocket bytes of each direction."""
        for d, rest in ((self.c2s, crest), (self.s2c, srest)):
            off = self._stream_next(d) - sum(len(p.data) for p in rest)
            for held in rest:
                d.ws.feed(held.data, off, held.frame or frame, held.ts or ts, out)
                off += len(held.data)

    # -- WebSocket ------------------------------------------------------------------------------------------
    def _start_websocket(self, up: Upgrade | None, out: list, frame: int, ts: float, synced: bool) -> None:
        self.mode = WEBSOCKET
        self.upgrade = up
        self.midstream = not synced
        self.app = stage_for(self.conn, up, self.opts)
        for d in (self.c2s, self.s2c):
            d.ws = WsStream(self, self.conn, d.name, d.from_client, up, self.opts, synced)
            d.ws.app = self.app

    def control(self, d: WsStream, m: Message, out: list) -> None:
        """A stream's control message: the lifecycle (closes, ping/pong pairing) notes it."""
        problem = self.life.control(d.name, m)
        if problem is not None:
            self.report(out, problem[0], problem[1], m.last_frame, m.last_ts, d.name)

    # -- the end ----------------------------------------------------------------------------------------------
    def finish(self, frame: int, ts: float, out: list, reason: str | None) -> None:
        """Flush both directions and emit the lifecycle summary."""
        if self.finished:
            return
        self.finished = True
        for d in (self.c2s, self.s2c):
            pieces = d.reasm.flush(frame, ts)
            if pieces:
                self._pieces(d, pieces, out)
            if d.reasm.findings:
                self.report_all(out, d.reasm.take_findings(), d.name)
        self._end_streams(frame, ts, out)
        if self.app is not None:
            self.app.end(frame, ts, out)
            self.app = None
        if reason is None:
            both_closed = len(self.life.close_codes) == 2
            reason = "close+fin" if both_closed else ("fin without close" if self.mode == WEBSOCKET else "fin")
        out.append(connection_summary(self, reason))
        # drop the heavy state; the tombstone stays in the flow table for late packets until swept
        for d in (self.c2s, self.s2c):
            d.ws = None
            d.probe = []
            d.reasm.release()
        self.http = None
        self.life.forget_pings()


def connection_summary(c: Connection, reason: str) -> ConnectionEnd:
    """The ConnectionEnd event of a finished connection: what it was, how it ended, its counters."""
    http, life = c.http, c.life
    return ConnectionEnd(
        conn=c.conn, websocket=c.mode == WEBSOCKET, upgrade=c.upgrade,
        requests=tuple(http.requests) if http else (), responses=tuple(http.responses) if http else (),
        first_frame=c.first_frame, last_frame=c.last_frame, start_ts=c.start_ts, end_ts=c.last_ts,
        ended_by=reason, first_close=life.first_close, close_codes=dict(life.close_codes),
        midstream=c.midstream, stats={c.c2s.name: c.c2s.stats(), c.s2c.name: c.s2c.stats()},
        ping_rtt=life.ping_rtt, handshake_ms=c.handshake_ms, tls=c.tls and c.tls.info)


def held_from(c: Connection) -> int | None:
    """The first capture frame whose payload connection *c* holds undecided (WebSocket detection in progress, or a
    direction looking for a frame boundary), None when it holds none.  Packet views wait for the frames decoded
    from those bytes (:class:`wsdissect.run.regroup.Regrouper`)."""
    mode = c.mode
    if mode == WEBSOCKET:  # (asked per packet in views: the common answer, both directions in sync, comes first)
        client, server = c.c2s.ws, c.s2c.ws
        if client is None or (client.parser.synced and server.parser.synced):
            return None
        firsts = [f for f in (client.held_from(), server.held_from()) if f is not None]
    elif mode == PROBE:
        firsts = [d.probe[0].frame for d in (c.c2s, c.s2c) if d.probe]
    else:
        return None
    return min(firsts) if firsts else None
