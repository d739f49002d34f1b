"""wsdissect.http.negotiation: Sec-WebSocket-Extensions parsing and what a handshake negotiated."""
from __future__ import annotations

import pytest

from tests.support import upgrade_request, upgrade_response
from wsdissect.http.negotiation import deflate_params, negotiated, parse_extensions
from wsdissect.http.stream import HttpStream

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def head(raw: bytes, is_request: bool):
    s = HttpStream(is_request)
    s.feed(raw, 1, 0.0)
    h = s.next_head()
    assert h is not None
    return h


@pytest.mark.parametrize("value,expected", [
    (None, []),
    ("", []),
    ("permessage-deflate", [("permessage-deflate", [])]),
    ("Permessage-Deflate; Client_Max_Window_Bits",
     [("permessage-deflate", [("client_max_window_bits", None)])]),
    ("permessage-deflate; client_max_window_bits=10; server_no_context_takeover",
     [("permessage-deflate", [("client_max_window_bits", "10"), ("server_no_context_takeover", None)])]),
    ('permessage-deflate; server_max_window_bits="12"',
     [("permessage-deflate", [("server_max_window_bits", "12")])]),
    (" permessage-deflate ;  client_max_window_bits = 9 , x-webkit-deflate-frame ",
     [("permessage-deflate", [("client_max_window_bits", "9")]), ("x-webkit-deflate-frame", [])]),
    ("permessage-deflate; client_max_window_bits, permessage-deflate",
     [("permessage-deflate", [("client_max_window_bits", None)]), ("permessage-deflate", [])]),
    ('foo; a="x, y; z"; b=1, bar',
     [("foo", [("a", "x, y; z"), ("b", "1")]), ("bar", [])]),
    ("foo;;a=1;, , bar", [("foo", [("a", "1")]), ("bar", [])]),
    ("foo; empty=", [("foo", [("empty", "")])]),
])
def test_parse_extensions(value, expected):
    assert parse_extensions(value) == expected


def test_deflate_params_defaults():
    assert deflate_params([]) == {"server_no_context_takeover": False, "client_no_context_takeover": False,
                                  "server_max_window_bits": None, "client_max_window_bits": None}


def test_deflate_params_all_set():
    params = parse_extensions('permessage-deflate; server_no_context_takeover; client_no_context_takeover; '
                              'server_max_window_bits="10"; client_max_window_bits')[0][1]
    assert deflate_params(params) == {"server_no_context_takeover": True, "client_no_context_takeover": True,
                                      "server_max_window_bits": 10, "client_max_window_bits": 15}


def test_deflate_params_bad_number_and_unknown_param():
    params = [("server_max_window_bits", "ten"), ("client_max_window_bits", "9"), ("unknown", "1")]
    r = deflate_params(params)
    assert r["server_max_window_bits"] is None and r["client_max_window_bits"] == 9
    assert "unknown" not in r


def test_negotiated_subprotocol_extensions_and_deflate():
    req = head(upgrade_request(key=KEY, extra=[("Sec-WebSocket-Protocol", "chat, superchat"),
                                               ("Sec-WebSocket-Extensions",
                                                "permessage-deflate; client_max_window_bits")]), True)
    resp = head(upgrade_response(KEY, extra=[("Sec-WebSocket-Protocol", " chat "),
                                             ("Sec-WebSocket-Extensions",
                                              'permessage-deflate; server_no_context_takeover; '
                                              'client_max_window_bits="10", x-other; a="1,2"')]), False)
    sub, exts, deflate = negotiated(req, resp)
    assert sub == "chat"
    assert exts == ("permessage-deflate; server_no_context_takeover; client_max_window_bits=\"10\"",
                    'x-other; a="1,2"')
    assert deflate == {"server_no_context_takeover": True, "client_no_context_takeover": False,
                       "server_max_window_bits": None, "client_max_window_bits": 10}


def test_negotiated_nothing():
    req = head(upgrade_request(key=KEY), True)
    resp = head(upgrade_response(KEY), False)
    assert negotiated(req, resp) == (None, (), None)


def test_negotiated_extensions_header_repeated():
    resp = head(upgrade_response(KEY, extra=[("Sec-WebSocket-Extensions", "x-first"),
                                             ("Sec-WebSocket-Extensions", "permessage-deflate")]), False)
    req = head(upgrade_request(key=KEY), True)
    _, exts, deflate = negotiated(req, resp)
    assert exts == ("x-first", "permessage-deflate")
    assert deflate is not None and deflate["client_max_window_bits"] is None


def test_negotiated_first_deflate_offer_wins():
    resp = head(upgrade_response(KEY, extra=[("Sec-WebSocket-Extensions",
                                              "permessage-deflate; client_no_context_takeover, "
                                              "permessage-deflate")]), False)
    _, _, deflate = negotiated(head(upgrade_request(key=KEY), True), resp)
    assert deflate["client_no_context_takeover"] is True
