"""The export's fast message serializer writes exactly the documented record."""
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsdissect.events import Message
from wsdissect.export.records import message_line, message_record
from wsdissect.flow import Conn

CONNS = [Conn(0, "127.0.0.1", 50000, "127.0.0.1", 8765), Conn(7, "::1", 1, "::1", 28002)]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(CONNS), st.sampled_from(["client_to_server", "server_to_client"]), st.integers(0, 15),
       st.binary(max_size=300), st.booleans(), st.integers(1, 10**9), st.integers(0, 10**6),
       st.floats(0, 4e9, allow_nan=False), st.floats(0, 1, allow_nan=False), st.integers(1, 50), st.booleans(),
       st.integers(0, 2**70), st.one_of(st.none(), st.integers(0, 65535)), st.one_of(st.none(), st.text()),
       st.one_of(st.none(), st.text()), st.booleans(), st.one_of(st.none(), st.text(max_size=40)))
def test_message_line_is_message_record(conn, direction, opcode, payload, complete, first, span, ts, dt, frags,
                                        compressed, wire, code, reason, text, truncated, note):
    if text is not None:  # a Message's text is its payload decoded (the C encoder writes the payload's bytes)
        payload = text.encode("utf-8")
    m = Message(conn, direction, opcode, payload, complete, first, first + span, ts, ts + dt, frags, compressed, wire,
                (first,), code, reason, text, truncated, note)
    got = json.loads(message_line(m))
    want = message_record(m)
    assert got.keys() == want.keys()
    for k, v in want.items():
        if isinstance(v, float):
            assert math.isclose(got[k], v, rel_tol=0, abs_tol=0), k
        else:
            assert got[k] == v, k


@pytest.mark.parametrize("text", ["é\u202e\x00\"\\ </script>", "ok"])
def test_strings_are_escaped_json(text):
    m = Message(CONNS[0], "client_to_server", 1, text.encode("utf-8", "surrogatepass"), True, 1, 1, 1.5, 1.5, 1,
                False, 3, (1,), None, None, text)
    assert json.loads(message_line(m))["text"] == text
