"""TreeBuilder pairs HTTP requests with their responses by (stream, request number): a request that is gone must
not make a later one look answered (an ``id()`` is reused once its object is freed)."""
from __future__ import annotations

import gc

from wsdissect.events import HttpRequest, HttpResponse
from wsdissect.flow import Conn
from wsdissect.render.tree import TreeBuilder


def _request(index: int, frame: int) -> HttpRequest:
    return HttpRequest(Conn(index, "10.0.0.1", 40000 + index, "10.0.0.2", 80), frame, frame, float(frame), "GET",
                       "/", "HTTP/1.1", (("Host", "h"),), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1, True)


def _response(req: HttpRequest, frame: int) -> HttpResponse:
    return HttpResponse(req.conn, frame, frame, float(frame), "HTTP/1.1", 101, "Switching Protocols", (), b"", 1,
                        req)


def test_a_new_request_is_not_answered_by_a_freed_ones_response():
    builder = TreeBuilder()
    for index in range(50):  # each request is freed before the next is made: ids are reused
        req = _request(index, 10 * index)
        assert builder.observe([req]) == [req] and not builder.answered(req)
        builder.observe([_response(req, 10 * index + 5)])
        assert builder.answered(req)
        del req
        gc.collect()
