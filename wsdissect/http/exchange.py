"""Requests and responses on one connection, paired in order, and the switch to WebSocket.

Contract (sans-IO): ``client(data, frame, ts)`` and ``server(data, frame, ts)`` return a list of typed results:

- :class:`RequestHead`, :class:`ResponseHead` (with the request it answers, when known);
- :class:`Upgraded`: a 101 answered a WebSocket upgrade; both directions carry frames from here, starting with
  the held pieces ``client_rest``/``server_rest``;
- :class:`Refused`: the server answered the upgrade with another status; HTTP goes on;
- :class:`LeftHttp`: the connection switched to a protocol that is not WebSocket (``code`` None), or HTTP parsing
  failed (``code`` is the finding that reports why).

After a WebSocket upgrade request the client's bytes are held until the response decides what they are.
"""
from __future__ import annotations

from collections import deque
from typing import NamedTuple, Optional

from .stream import Head, Held, HttpStream, body_kind

MAX_PENDING = 1000  # pipelined requests awaiting a response


class RequestHead(NamedTuple):
    head: Head
    number: int  # 1 for the connection's first request


class ResponseHead(NamedTuple):
    head: Head
    number: int
    request: Optional[Head]  # the request it answers, None when that was not captured


class Upgraded(NamedTuple):
    request: Head
    response: Head
    client_rest: list[Held]  # bytes after the heads: the first WebSocket bytes of each direction
    server_rest: list[Held]


class Refused(NamedTuple):
    request: Head
    response: Head


class LeftHttp(NamedTuple):
    reason: str
    code: Optional[str]  # the finding code; None when this is not a problem (switched to another protocol)


def is_websocket_upgrade(head: Head) -> bool:
    """A request asking for a WebSocket upgrade (Upgrade: websocket, or a Sec-WebSocket-Key)."""
    return "websocket" in head.tokens("upgrade") or head.get("sec-websocket-key") is not None


class HttpExchange:
    def __init__(self, max_head: int = 64 * 1024):
        self.requests = HttpStream(True, max_head)
        self.responses = HttpStream(False, max_head)
        self.pending: deque[tuple[Head, int]] = deque()
        self.upgrade_request: Head | None = None
        self.n_requests = 0
        self.n_responses = 0
        self.done = False

    def client(self, data: bytes, frame: int, ts: float) -> list:
        if self.done:
            return []
        self.requests.feed(data, frame, ts)
        return self._parse_requests()

    def server(self, data: bytes, frame: int, ts: float) -> list:
        if self.done:
            return []
        self.responses.feed(data, frame, ts)
        return self._parse_responses()

    def gap(self, from_client: bool, n: int) -> list:
        stream = self.requests if from_client else self.responses
        stream.gap(n)
        if stream.broken and not self.done:
            self.done = True
            return [LeftHttp(stream.broken, stream.broken_code)]
        return []

    def _parse_requests(self) -> list:
        out: list = []
        while self.upgrade_request is None:
            head = self.requests.next_head()
            if head is None:
                break
            self.n_requests += 1
            if len(self.pending) >= MAX_PENDING:
                self.done = True
                out.append(LeftHttp(f"more than {MAX_PENDING} requests without a response", "http.malformed"))
                return out
            self.pending.append((head, self.n_requests))
            out.append(RequestHead(head, self.n_requests))
            kind, length = body_kind(head, False)
            self.requests.expect_body(kind, length)
            if is_websocket_upgrade(head):
                self.upgrade_request = head
        if self.requests.broken and not self.done:
            self.done = True
            out.append(LeftHttp(self.requests.broken, self.requests.broken_code))
        return out

    def _parse_responses(self) -> list:
        out: list = []
        while not self.done:
            head = self.responses.next_head()
            if head is None:
                break
            status = int(head.start[1])
            request, number = self.pending[0] if self.pending else (None, 0)
            informational = 100 <= status < 200 and status != 101
            if not informational and self.pending:
                self.pending.popleft()
            self.n_responses += 1
            out.append(ResponseHead(head, self.n_responses, request))
            if status == 101:
                self.done = True
                if request is not None and request is self.upgrade_request:
                    out.append(Upgraded(request, head, self.requests.take_rest(), self.responses.take_rest()))
                else:
                    out.append(LeftHttp(f"switched to {head.get('upgrade') or 'another protocol'}", None))
                return out
            kind, length = body_kind(head, True, request.start[0] if request else None)
            self.responses.expect_body(kind, length)
            if request is not None and request is self.upgrade_request and not informational:
                self.upgrade_request = None
                out.append(Refused(request, head))
                out.extend(self._parse_requests())
        if self.responses.broken and not self.done:
            self.done = True
            out.append(LeftHttp(self.responses.broken, self.responses.broken_code))
        return out
