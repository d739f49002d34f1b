"""One TCP connection: wires reassembly -> HTTP upgrade -> frames -> messages for both directions,
and keeps its lifecycle (handshake, closes, pings, how it ended).

Contract: ``segment(...)`` and ``finish(...)`` append events to the ``out`` list they are given.  Protocol
problems become :class:`~wsdissect.events.Finding` events; nothing here raises on traffic content.
"""
from __future__ import annotations

from .events import ConnectionEnd, Finding, HttpRequest, HttpResponse, Message, Upgrade
from .findings import KINDS
from .capture.layers import ip_str
from .flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Conn
from .http.checks import check_handshake
from .http.exchange import (HttpExchange, LeftHttp, Refused, RequestHead, ResponseHead, Upgraded,
                            is_websocket_upgrade)
from .http.negotiation import negotiated
from .options import decode_as_client
from .rfc6455 import Opcode
from .http.stream import looks_like_request, looks_like_response
from .tcp.reassembly import Gap, StreamReassembler
from .ws.frames import INVALID, PROVEN, probe
from .ws.stream import WsStream

MAX_PENDING_PINGS = 64
MAX_KEPT_HEADS = 16

UNKNOWN, HTTP, WEBSOCKET, OTHER, PROBE = "unknown", "http", "websocket", "other", "probe"
PROBE_LIMIT = 64 << 10  # bytes per direction examined by the WebSocket heuristic before giving up


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

    def promote(self, options) -> "Connection":
        c = Connection(self.conn, options, self.first_frame, self.start_ts, self.keys)
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
        self.probe: list[tuple] = []  # (offset, data, frame, ts) held while the WebSocket heuristic decides

    def stats(self) -> dict:
        """Counters as exported: messages, bytes, wire bytes, largest, and per opcode [count, bytes]."""
        if self.ws is None:
            return {"messages": 0, "bytes": 0, "wire_bytes": 0, "largest": 0, "opcodes": {}}
        return self.ws.stats()


class Connection:
    __slots__ = ("conn", "opts", "keys", "c2s", "s2c", "mode", "http", "upgrade", "requests", "responses",
                 "_req_events", "first_frame", "last_frame", "start_ts", "last_ts", "syn_seen", "packets", "rst",
                 "finished", "roles_known", "midstream", "first_close", "close_codes", "pings", "rtts",
                 "handshake_ms")

    def __init__(self, conn: Conn, options, frame: int, ts: float, keys: tuple):
        self.conn = conn
        self.opts = options
        self.keys = keys  # (client->server key, server->client key) in the flow table
        self.c2s = Direction(CLIENT_TO_SERVER, True, options.max_tcp_buffer)
        self.s2c = Direction(SERVER_TO_CLIENT, False, options.max_tcp_buffer)
        self.mode = UNKNOWN
        self.http: HttpExchange | None = None
        self.upgrade: Upgrade | None = None
        self.requests: list[HttpRequest] = []
        self.responses: list[HttpResponse] = []
        self._req_events: dict[int, HttpRequest] = {}
        self.first_frame = self.last_frame = frame
        self.start_ts = self.last_ts = ts
        self.syn_seen = False
        self.packets = 0  # packets of this connection (the reassemblers' patience is counted in these)
        self.rst = False
        self.finished = False
        self.roles_known = False
        self.midstream = False
        self.first_close: str | None = None
        self.close_codes: dict[str, tuple] = {}
        self.pings: dict[tuple[str, bytes], float] = {}
        self.rtts: list | None = None  # [count, total, min, max] of ping round-trip times
        self.handshake_ms: float | None = None

    # -- helpers --------------------------------------------------------------------------------------------
    def bases(self, from_client: bool) -> tuple[int | None, int | None]:
        """Absolute sequence numbers of stream offset 0 for (this direction, the other), None when unknown."""
        d, o = (self.c2s, self.s2c) if from_client else (self.s2c, self.c2s)
        return d.reasm.base, o.reasm.base

    def _finding(self, out: list, code: str, message: str, frame: int, ts: float, direction: str | None = None):
        out.append(Finding(frame, ts, code, KINDS[code].severity, message, self.conn, direction))

    def report(self, out: list, code: str, message: str, frame: int, ts: float, direction: str | None) -> None:
        """A finding of one of this connection's stages (the stages' one sink, see :class:`WsStream`)."""
        out.append(Finding(frame, ts, code, KINDS[code].severity, message, self.conn, direction))

    def report_all(self, out: list, items: list, direction: str | None) -> None:
        """Findings a stage handed over as ``(code, message, frame, ts)``; a stage that does not know the time
        says 0.0 and gets the connection's latest."""
        for code, message, frame, ts in items:
            self._finding(out, code, message, frame, ts or self.last_ts, direction)

    def swap_roles(self) -> None:
        """The first guess of who is the client was wrong."""
        self.conn = self.conn.swapped()
        self.c2s, self.s2c = self.s2c, self.c2s
        for d, name, from_client in ((self.c2s, CLIENT_TO_SERVER, True), (self.s2c, SERVER_TO_CLIENT, False)):
            d.name, d.from_client = name, from_client
        self.keys = (self.keys[1], self.keys[0])

    # -- packets --------------------------------------------------------------------------------------------
    def segment(self, from_client: bool, seq: int, ack: int, flags: int, data: bytes, wire_len: int, frame: int,
                ts: float, out: list) -> None:
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
                self._ws(d, data, off, frame, ts, out)
            else:
                pieces = d.reasm.segment(seq, data, wire_len, False, False, frame, ts)
                if pieces:
                    self._pieces(d, pieces, out)
        elif wire_len or flags & 3:  # data, SYN or FIN
            pieces = d.reasm.segment(seq, data, wire_len, bool(flags & TCP_SYN), bool(flags & TCP_FIN), frame, ts)
            if pieces:
                self._pieces(d, pieces, out)
        o = other.reasm
        if flags & TCP_ACK and o.acks_other_than_next(ack):
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
            self._finding(out, "tcp.rst", "connection reset", frame, ts, d.name)
            self.finish(frame, ts, out, "rst")
        elif self.c2s.fin and self.s2c.fin and self._drained():
            self.finish(frame, ts, out, None)

    def _drained(self) -> bool:
        return self.c2s.reasm.complete and self.s2c.reasm.complete

    def _pieces(self, d: Direction, pieces: list, out: list) -> None:
        for piece in pieces:
            if piece.__class__ is Gap:
                self._gap(d, piece.missing, piece.frame, piece.ts, out)
            else:
                self._data(d, piece.offset, piece.data, piece.frame, piece.ts, out)

    def _data(self, d: Direction, off: int, data: bytes, frame: int, ts: float, out: list) -> None:
        mode = self.mode
        if mode == WEBSOCKET:
            self._ws(d, data, off, frame, ts, out)
        elif mode == HTTP:
            self._http(d, data, frame, ts, out)
        elif mode == PROBE:
            self._probe(d, off, data, frame, ts, out)
        elif mode == UNKNOWN:
            self._classify(d, data, frame, ts, out)
            if self.mode != UNKNOWN:
                self._data(self.c2s if d.from_client else self.s2c, off, data, frame, ts, out)

    def _gap(self, d: Direction, n: int, frame: int, ts: float, out: list) -> None:
        if self.mode == WEBSOCKET and d.ws is not None:
            d.ws.gap(n, frame, ts, out)
        elif self.mode == HTTP and self.http is not None:
            for r in self.http.gap(d.from_client, n):
                self._http_result(r, frame, ts, out)

    # -- deciding what the connection carries ---------------------------------------------------------------
    def _classify(self, d: Direction, data: bytes, frame: int, ts: float, out: list) -> None:
        decode_as = self.opts.decode_as
        if decode_as and (self.conn.server_port in decode_as or self.conn.client_port in decode_as):
            if decode_as_client(decode_as, self.conn.client_port, self.conn.server_port) is False:
                self.swap_roles()
            self._start_websocket(None, out, frame, ts, synced=False)
            self._finding(out, "ws.handshake.missing",
                          f"decoding port {self.conn.server_port} as WebSocket without a handshake", frame, ts)
            return
        if d.from_client and looks_like_request(data) or not d.from_client and looks_like_response(data):
            self.mode = HTTP
        elif not d.from_client and looks_like_request(data) and not self.roles_known:
            self.swap_roles()
            self.mode = HTTP
        else:
            self.mode = PROBE if self.opts.detect else OTHER
            return
        self.roles_known = True
        self.http = HttpExchange(self.opts.max_http_head)

    def _probe(self, d: Direction, off: int, data: bytes, frame: int, ts: float, out: list) -> None:
        """No HTTP and no --decode-as: is this WebSocket whose handshake is not in the capture?

        Only on strong evidence (no false positives): each direction's bytes from its first captured byte must be
        a chain of plausible frames ending exactly where the data ends, the two directions with opposite mask
        bits (clients mask, servers do not) - or one direction alone with eight such frames.
        """
        d.probe.append((off, data, frame, ts))
        verdicts = {}
        for side in (self.c2s, self.s2c):
            buf = b"".join(p[1] for p in side.probe)
            if len(buf) > PROBE_LIMIT:
                verdicts[side.name] = (INVALID, 0, None)
            else:
                verdicts[side.name] = probe(buf) if buf else None
        vs = [v for v in verdicts.values() if v is not None]
        if any(v[0] == INVALID for v in vs):
            self.mode = OTHER
            self.c2s.probe = self.s2c.probe = []
            return
        proven = [v for v in vs if v[0] == PROVEN]
        both = len(proven) == 2 and proven[0][2] != proven[1][2]
        alone = len(vs) == 1 and proven and proven[0][1] >= 8
        if not (both or alone):
            return
        masked_side = next(name for name, v in verdicts.items() if v is not None and v[0] == PROVEN)
        client_masked = verdicts[masked_side][2]
        if (masked_side == CLIENT_TO_SERVER) != bool(client_masked):
            self.swap_roles()
        held = sorted([(p, self.c2s) for p in self.c2s.probe] + [(p, self.s2c) for p in self.s2c.probe],
                      key=lambda item: item[0][2])  # replay both directions in capture order
        self.c2s.probe = self.s2c.probe = []
        self._start_websocket(None, out, frame, ts, synced=True)
        self.midstream = True
        self._finding(out, "ws.handshake.missing", "WebSocket frames recognised without a handshake in the capture "
                      "(heuristic; use --decode-as to force)", frame, ts)
        for (p_off, p_data, p_frame, p_ts), side in held:
            self._ws(side, p_data, p_off, p_frame, p_ts, out)

    # -- HTTP -----------------------------------------------------------------------------------------------
    def _http(self, d: Direction, data: bytes, frame: int, ts: float, out: list) -> None:
        http = self.http
        results = http.client(data, frame, ts) if d.from_client else http.server(data, frame, ts)
        for r in results:
            self._http_result(r, frame, ts, out)
        if not d.from_client and self.mode == HTTP and http.upgrade_request is not None:
            self._frames_without_101(frame, ts, out)

    def _frames_without_101(self, frame: int, ts: float, out: list) -> None:
        """The server answers a WebSocket upgrade request with frames instead of an HTTP response."""
        buf = self.http.responses.buf
        if len(buf) < 2 or buf[:5] == b"HTTP/"[:len(buf[:5])]:
            return
        verdict, count, masked = probe(bytes(buf))
        if verdict != PROVEN or masked:
            return
        request = self._req_events.get(id(self.http.upgrade_request))
        crest, srest = self.http.requests.take_rest(), self.http.responses.take_rest()
        self._finding(out, "ws.handshake.no_101", "server sent WebSocket frames without answering the upgrade "
                      f"request{f' in frame {request.frame}' if request else ''} with 101 Switching Protocols",
                      srest[0].frame if srest and srest[0].frame else frame, srest[0].ts if srest else ts,
                      SERVER_TO_CLIENT)
        self._start_websocket(None, out, frame, ts, synced=True)
        self._replay_held(crest, srest, frame, ts, out)

    def _http_result(self, r, frame: int, ts: float, out: list) -> None:
        cls = r.__class__
        if cls is RequestHead:
            self._http_request(r, out)
        elif cls is ResponseHead:
            self._http_response(r, out)
        elif cls is Upgraded:
            self._http_upgraded(r, frame, ts, out)
        elif cls is Refused:
            resp = r.response
            self._finding(out, "ws.handshake.refused", f"upgrade refused: {resp.start[1]} {resp.start[2]}",
                          resp.frame, resp.ts, SERVER_TO_CLIENT)
        elif cls is LeftHttp:
            self.mode = OTHER
            if r.code is not None:
                self._finding(out, r.code, r.reason, frame, ts)

    def _http_request(self, r: RequestHead, out: list) -> None:
        head = r.head
        ev = HttpRequest(self.conn, head.frame, head.first_frame, head.ts, head.start[0], head.start[1],
                         head.start[2], head.headers, head.raw, r.number, is_websocket_upgrade(head))
        self._req_events[id(head)] = ev
        if len(self.requests) < MAX_KEPT_HEADS or ev.is_upgrade:
            self.requests.append(ev)
        out.append(ev)

    def _http_response(self, r: ResponseHead, out: list) -> None:
        head, req = r.head, r.request
        req_ev = self._req_events.pop(id(req), None) if req is not None else None
        if req_ev is not None and 100 <= int(head.start[1]) < 200 and head.start[1] != "101":
            self._req_events[id(req)] = req_ev  # an interim response: the final one is still to come
        ev = HttpResponse(self.conn, head.frame, head.first_frame, head.ts, head.start[0], int(head.start[1]),
                          head.start[2], head.headers, head.raw, r.number, req_ev)
        if len(self.responses) < MAX_KEPT_HEADS or (req_ev and req_ev.is_upgrade):
            self.responses.append(ev)
        out.append(ev)

    def _http_upgraded(self, r: Upgraded, frame: int, ts: float, out: list) -> None:
        req, resp = r.request, r.response
        resp_ev = self.responses[-1]  # the 101 just recorded; upgrade responses are always kept
        sub, exts, deflate = negotiated(req, resp)
        up = Upgrade(self.conn, resp_ev.request, resp_ev, sub, exts, deflate)
        out.append(up)
        self.handshake_ms = (resp.ts - req.ts) * 1000.0
        for code, message, head in check_handshake(req, resp):
            self._finding(out, code, message, head.frame, head.ts, CLIENT_TO_SERVER if head is req else SERVER_TO_CLIENT)
        self._start_websocket(up, out, frame, ts, synced=True)
        self._replay_held(r.client_rest, r.server_rest, frame, ts, out)

    def _replay_held(self, crest: list, srest: list, frame: int, ts: float, out: list) -> None:
        """The bytes HTTP held after the heads, decoded as the first WebSocket bytes of each direction."""
        for d, rest in ((self.c2s, crest), (self.s2c, srest)):
            off = d.reasm.next - sum(len(p.data) for p in rest)
            for held in rest:
                self._ws(d, held.data, off, held.frame or frame, held.ts or ts, out)
                off += len(held.data)

    # -- WebSocket ------------------------------------------------------------------------------------------
    def _start_websocket(self, up: Upgrade | None, out: list, frame: int, ts: float, synced: bool) -> None:
        self.mode = WEBSOCKET
        self.upgrade = up
        self.midstream = not synced
        for d in (self.c2s, self.s2c):
            d.ws = WsStream(self, self.conn, d.name, d.from_client, up, self.opts, synced)

    def _ws(self, d: Direction, data: bytes, off: int, frame: int, ts: float, out: list) -> None:
        d.ws.feed(data, off, frame, ts, out)

    def control(self, d: WsStream, m: Message, out: list) -> None:
        """Lifecycle bookkeeping for the control messages of a stream: closes, ping/pong pairing."""
        op = m.opcode
        if op == Opcode.CLOSE:
            if self.first_close is None:
                self.first_close = d.name
            self.close_codes[d.name] = (m.close_code, m.close_reason)
        elif op == Opcode.PING:
            if len(self.pings) < MAX_PENDING_PINGS:
                self.pings[(d.name, m.payload)] = m.last_ts
        elif op == Opcode.PONG:
            other = SERVER_TO_CLIENT if d.from_client else CLIENT_TO_SERVER
            sent = self.pings.pop((other, m.payload), None)
            if sent is not None:
                rtt = m.last_ts - sent
                r = self.rtts
                if r is None:
                    self.rtts = [1, rtt, rtt, rtt]
                else:
                    r[0] += 1
                    r[1] += rtt
                    r[2] = min(r[2], rtt)
                    r[3] = max(r[3], rtt)
            elif m.complete:
                self._finding(out, "ws.pong.unsolicited", "pong payload matches no outstanding ping",
                              m.last_frame, m.last_ts, d.name)

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
            if d.ws is not None:
                d.ws.end(frame, ts, out)
        if reason is None:
            both_closed = len(self.close_codes) == 2
            reason = "close+fin" if both_closed else ("fin without close" if self.mode == WEBSOCKET else "fin")
        out.append(ConnectionEnd(
            self.conn, self.mode == WEBSOCKET, self.upgrade, tuple(self.requests), tuple(self.responses),
            self.first_frame, self.last_frame, self.start_ts, self.last_ts, reason, self.first_close,
            dict(self.close_codes), self.midstream, {self.c2s.name: self.c2s.stats(), self.s2c.name: self.s2c.stats()},
            None if self.rtts is None else (self.rtts[0], self.rtts[2], self.rtts[1] / self.rtts[0], self.rtts[3]),
            self.handshake_ms))
        # drop the heavy state; the tombstone stays in the flow table for late packets until swept
        for d in (self.c2s, self.s2c):
            d.ws = None
            d.probe = []
            d.reasm.release()
        self.http = None
        self._req_events = {}
        self.requests = []
        self.responses = []
        self.pings = {}
