"""HTTP/1.x on one connection, as events.

Contract (sans-IO): ``feed(from_client, data, frame, ts, out, owner)`` appends the ``HttpRequest`` and
``HttpResponse`` events (and a refused upgrade's finding, through *owner*) to *out*, and returns the results that
switch the connection away from HTTP: :class:`~wsdissect.http.exchange.Upgraded`,
:class:`~wsdissect.http.exchange.LeftHttp` or :class:`FramesWithout101`; they always come last.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from ..events import HttpRequest, HttpResponse
from ..flow import SERVER_TO_CLIENT, Conn
from ..ws.frames import PROVEN, probe
from .exchange import HttpExchange, LeftHttp, Refused, RequestHead, ResponseHead, Upgraded, is_websocket_upgrade
from .stream import Held

MAX_KEPT_HEADS = 16  # heads kept per direction for the connection summary (upgrade heads always)


class FramesWithout101(NamedTuple):
    """The server answered a WebSocket upgrade request with frames instead of an HTTP response."""

    request: Optional[HttpRequest]
    client_rest: list[Held]
    server_rest: list[Held]

    def finding_message(self) -> str:
        request = self.request
        return ("server sent WebSocket frames without answering the upgrade request"
                f"{f' in frame {request.frame}' if request else ''} with 101 Switching Protocols")

    def where(self, frame: int, ts: float) -> tuple[int, float]:
        """Frame and time of the server's first frame (or the current ones)."""
        srest = self.server_rest
        return (srest[0].frame if srest and srest[0].frame else frame), (srest[0].ts if srest else ts)


class HttpSession:
    __slots__ = ("conn", "exchange", "requests", "responses", "_req_events")

    def __init__(self, conn: Conn, max_head: int):
        self.conn = conn
        self.exchange = HttpExchange(max_head)
        self.requests: list[HttpRequest] = []  # kept for the connection summary
        self.responses: list[HttpResponse] = []
        self._req_events: dict[int, HttpRequest] = {}  # request heads awaiting their response -> their events

    def feed(self, from_client: bool, data: bytes, frame: int, ts: float, out: list, owner) -> list:
        x = self.exchange
        results = x.client(data, frame, ts) if from_client else x.server(data, frame, ts)
        switch = self.results(results, out, owner)
        if not switch and not from_client and x.upgrade_request is not None:
            frames = self._frames_without_101()
            if frames is not None:
                switch.append(frames)
        return switch

    def gap(self, from_client: bool, n: int, out: list, owner) -> list:
        """Bytes lost in one direction: HTTP can only go on inside a body of known length."""
        return self.results(self.exchange.gap(from_client, n), out, owner)

    def results(self, results: list, out: list, owner) -> list:
        """Events for the exchange's results; the ones that switch the connection are returned."""
        switch = []
        for r in results:
            cls = r.__class__
            if cls is RequestHead:
                self._request(r, out)
            elif cls is ResponseHead:
                self._response(r, out)
            elif cls is Refused:
                resp = r.response
                owner.report(out, "ws.handshake.refused", f"upgrade refused: {resp.start[1]} {resp.start[2]}",
                             resp.frame, resp.ts, SERVER_TO_CLIENT)
            elif cls is Upgraded or cls is LeftHttp:
                switch.append(r)
        return switch

    @property
    def last_response(self) -> HttpResponse:
        """The response just recorded (upgrade responses are always kept)."""
        return self.responses[-1]

    def _request(self, r: RequestHead, out: list) -> None:
        head = r.head
        ev = HttpRequest(conn=self.conn, frame=head.frame, first_frame=head.first_frame, ts=head.ts,
                         method=head.start[0], uri=head.start[1], version=head.start[2], headers=head.headers,
                         raw=head.raw, number=r.number, is_upgrade=is_websocket_upgrade(head))
        self._req_events[id(head)] = ev
        if len(self.requests) < MAX_KEPT_HEADS or ev.is_upgrade:
            self.requests.append(ev)
        out.append(ev)

    def _response(self, r: ResponseHead, out: list) -> None:
        head, req = r.head, r.request
        req_ev = self._req_events.pop(id(req), None) if req is not None else None
        if req_ev is not None and 100 <= int(head.start[1]) < 200 and head.start[1] != "101":
            self._req_events[id(req)] = req_ev  # an interim response: the final one is still to come
        ev = HttpResponse(conn=self.conn, frame=head.frame, first_frame=head.first_frame, ts=head.ts,
                          version=head.start[0], status=int(head.start[1]), reason=head.start[2],
                          headers=head.headers, raw=head.raw, number=r.number, request=req_ev)
        if len(self.responses) < MAX_KEPT_HEADS or (req_ev and req_ev.is_upgrade):
            self.responses.append(ev)
        out.append(ev)

    def _frames_without_101(self) -> FramesWithout101 | None:
        """The server's unparsed bytes are a proven chain of unmasked frames: it skipped the 101."""
        x = self.exchange
        head = x.responses.peek(5)
        if x.responses.pending < 2 or head == b"HTTP/"[:len(head)]:
            return None
        verdict, _count, masked = probe(x.responses.unparsed())
        if verdict != PROVEN or masked:
            return None
        request = self._req_events.get(id(x.upgrade_request))
        return FramesWithout101(request, x.requests.take_rest(), x.responses.take_rest())
