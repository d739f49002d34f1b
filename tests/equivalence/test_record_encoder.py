"""The C record encoder (``_message_line_c``) writes byte-identical lines to ``message_line_py``."""
from __future__ import annotations

import orjson
from hypothesis import given, settings, strategies as st

import wsdissect.export.records as records
from tests.support.dual_path import (CONNS, DIRECTIONS, TIMES, handpicked_messages, invalid_text, message, needs_c,
                                     short, texts)
from wsdissect.events import Message
from wsdissect.flow import Conn
from wsdissect.speedups import speedups as C


# -- (b) the record encoder ----------------------------------------------------------------------------------------







def in_fast_range(m: Message) -> bool:
    return all(isinstance(t, float) and 0.001 <= t < 2**32 for t in (m.first_ts, m.last_ts))


def check_line(m: Message) -> None:
    c_line = records._message_line_c(m)
    py_line = records.message_line_py(m)
    assert c_line == py_line, f"C and Python lines differ for {short(m)}:\n C: {c_line[:600]!r}\n P: {py_line[:600]!r}"
    assert orjson.loads(c_line) == message_record(m)


message_record = records.message_record


@needs_c
def test_message_line_handpicked():
    ms = handpicked_messages()
    assert sum(in_fast_range(m) for m in ms) > 50
    for m in ms:
        check_line(m)
    # the same again in another order (the C encoder caches the head of the last connection and direction)
    for m in ms[::-1]:
        check_line(m)


@needs_c
def test_message_line_takes_the_common_record():
    """The C encoder really writes the common record (otherwise the comparisons above compare Python with itself)."""
    m = message(payload="é\"\x7f\u2028".encode(), text="é\"\x7f\u2028")
    records._message_line_c(m)  # caches the head
    assert C.message_line(m, records._HEADS) == records.message_line_py(m)
    assert C.message_line(message(t0=1e-7, t1=1e-7), records._HEADS) is None


@needs_c
def test_message_line_takes_control_records():
    """Pings, pongs and Closes (with or without a code and reason) are common records too."""
    for m in (message(opcode=9, payload=b"hb"), message(opcode=10, payload=b""),
              message(opcode=8, payload=b"\x03\xe8bye", code=1000, reason='b"y\\e\x01'),
              message(opcode=8, payload=b"")):
        records._message_line_c(m)  # caches the head
        assert C.message_line(m, records._HEADS) == records.message_line_py(m)
    lone = message(opcode=8, payload=b"\x03\xe8", code=1000, reason="\ud800")
    assert C.message_line(lone, records._HEADS) is None  # no UTF-8 for a lone surrogate: the Python encoder's


microsecond_times = st.integers(1000, 2**32 * 10**6 - 1).map(lambda us: us / 1e6)
any_times = st.one_of(microsecond_times, st.floats(0.001, 2**32, exclude_max=True),
                      st.floats(0, 1e20, allow_nan=False, allow_infinity=False),
                      st.integers(1000, 4294967295999).map(lambda ms: ms / 1000.0),
                      st.sampled_from(TIMES))


@needs_c
@settings(max_examples=800, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(CONNS), st.sampled_from(DIRECTIONS), st.sampled_from([1, 2, 1, 2, 8, 9, 10, 0]),
       st.one_of(texts.map(lambda s: (s.encode(), s)), invalid_text.map(lambda b: (b, None)),
                 st.binary(max_size=200).map(lambda b: (b, None))),
       st.booleans(), st.integers(0, 2**64 - 1 - 10**6), st.integers(0, 10**6), any_times, any_times,
       st.integers(0, 2**40), st.booleans(), st.integers(0, 2**65),
       st.sampled_from([(None, None)] * 4 + [(1000, "bye"), (None, "x"), (4999, ""), (1001, "é\"\\\x01\u2028")]),
       st.sampled_from([False] * 4 + [True]),
       st.sampled_from([None] * 4 + ["bytes missing", ""]))
def test_message_line_property(conn, direction, opcode, payload_text, complete, first, span, t0, t1, frags,
                               compressed, wire, close, truncated, note):
    payload, text = payload_text
    m = message(conn, direction, opcode, payload, complete, first, first + span, t0, t1, frags, compressed, wire,
                (first,), close[0], close[1], text, truncated, note)
    check_line(m)


@needs_c
@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(st.one_of(microsecond_times, st.floats(0.001, 2**32, exclude_max=True)))
def test_message_line_timestamps(t):
    """Timestamps in the C encoder's own range, [0.001, 2**32): byte-identical to orjson's shortest form."""
    check_line(message(t0=t, t1=t))
    check_line(message(opcode=2, payload=b"", t0=1700000000.25, t1=t))


@needs_c
def test_message_line_many_connections():
    """More connections than the head cache holds (it is cleared past 8192 entries), interleaved."""
    conns = [Conn(i, "10.0.%d.%d" % (i >> 8 & 255, i & 255), 40000 + i % 1000, "10.9.9.9", 443) for i in range(9000)]
    for i in range(18000):
        conn = conns[(i * 7919) % len(conns)]
        check_line(message(conn=conn, direction=DIRECTIONS[i & 1], opcode=1 + (i & 1), payload=b"p%d" % i,
                           t0=1700000000 + i / 1e6, t1=1700000000 + i / 1e6))
