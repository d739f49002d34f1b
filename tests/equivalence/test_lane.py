"""The C fast lane (``speedups.scan_messages`` via ``wsdissect.ws.lane.FastLane``) is exactly equivalent to the
pure-Python frame parser and message assembler: the same events, in the same order, with the lane on and off, for
hypothesis-generated conversations (every frame kind, every segmentation).  ``test_speedups_built_when_required``
fails when ``WSDISSECT_REQUIRE_SPEEDUPS=1`` and the extension was not built (CI sets it)."""
from __future__ import annotations

import contextlib
import importlib
import os

import pytest
from hypothesis import HealthCheck, example, given, settings

from tests.support import upgrade_request, upgrade_response
from tests.support.dual_path import (KEY, LaneCounter, assert_same_events, build_records, conv_options,
                                     conversation_records, conversations, describe_difference, encode_frames, needs_c,
                                     plain_conversation, pure_python, run_events, short, write_records)
from wsdissect.events import Message
from wsdissect.options import Options
from wsdissect.pipeline import Dissector
from wsdissect.speedups import speedups as C


# -- CI guard ----------------------------------------------------------------------------------------------------
def test_speedups_built_when_required():
    """With WSDISSECT_REQUIRE_SPEEDUPS=1 the C extension must be importable (and in use unless PURE_PYTHON is set)."""
    if os.environ.get("WSDISSECT_REQUIRE_SPEEDUPS") != "1":
        pytest.skip("WSDISSECT_REQUIRE_SPEEDUPS=1 not set")
    try:
        importlib.import_module("wsdissect._speedups")
    except ImportError as e:
        pytest.fail(f"WSDISSECT_REQUIRE_SPEEDUPS=1 but wsdissect._speedups is not importable: {e}")
    if not os.environ.get("WSDISSECT_PURE_PYTHON"):
        assert C is not None, "wsdissect._speedups imports but wsdissect.speedups.speedups is None"



# -- (a) the fast lane ---------------------------------------------------------------------------------------------
def per_packet(recs: list, options: Options, pure: bool) -> list:
    """The events of each packet (and of the final flush) as separate lists, as the export's sink gets them."""
    ctx = pure_python() if pure else contextlib.nullcontext()
    with ctx:
        d = Dissector(options)
        return [d.packet(*rec) for rec in recs] + [d.finish()]


# Run first, and alone while it fails (so a failure is reported without minutes of shrinking): one TCP segment with
# a text frame that is not valid UTF-8 and then a plain one, both ways.  Before c8cf6e7 the lane put the UTF-8
# finding between the two messages and the Python path after both.
KNOWN_CASE = {"handshake": "plain",
              "client": [(1, b"\xff", True, 0, True, b"abcd", 7), (1, b"ok", True, 0, True, b"abcd", 7)],
              "server": [(1, b"\xff", True, 0, True, None, 7), (1, b"ok", True, 0, True, None, 7)],
              "c_sizes": [10**6], "s_sizes": [10**6], "order": [], "drop": None, "ending": "fin",
              "max_message": 64 << 20}


@needs_c
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(conversations())
@example(KNOWN_CASE)
def test_fast_lane_events_equal_pure_python(conv):
    """The same events in the same order with the lane on and off, packet by packet; and the same export."""
    recs = conversation_records(conv)
    options = conv_options(conv)
    pure_packets, lane_packets = per_packet(recs, options, pure=True), per_packet(recs, options, pure=False)
    pure = [e for evs in pure_packets for e in evs]
    lane = [e for evs in lane_packets for e in evs]
    assert not [e for e in lane + pure if getattr(e, "code", None) == "internal"]
    assert_same_events(pure, lane)
    for i, (p, q) in enumerate(zip(pure_packets, lane_packets)):  # and each event from the same packet
        assert p == q, f"packet {i + 1}:\n" + describe_difference(p, q)
    for m in lane:  # what the C record encoder relies on: ``text`` is ``payload`` decoded
        if m.__class__ is Message and m.text is not None:
            assert m.text.encode("utf-8") == m.payload, short(m)
    # and the export of those events: the C writer on the lane's events, the pure writer on the pure events
    assert write_records(lane, pure=False)[0] == write_records(pure, pure=True)[0]




@needs_c
@pytest.mark.parametrize("sizes", [(1,), (3, 1, 7), (100000,), (1, 3, 700, 5, 1400)])
def test_fast_lane_is_used_and_equivalent(sizes):
    """The property test above is not vacuous: on plain traffic the lane takes most messages, in one piece and
    across segment boundaries (a frame begun in an earlier segment)."""
    recs = plain_conversation(sizes=sizes)
    counter = LaneCounter()
    lane = run_events(recs, Options(), pure=False, counter=counter)
    pure = run_events(recs, Options(), pure=True)
    assert_same_events(pure, lane)
    assert sum(e.__class__ is Message for e in lane) == 82
    assert counter.taken >= 40


FRAGMENT_CASES = {
    # several frames in one segment with findings between messages (UTF-8, pong, close problems)
    "invalid utf8 then plain": [(1, b"\xff", True, 0), (1, b"ok", True, 0)],
    "two invalid utf8": [(1, b"\xff", True, 0), (1, b"\xc0\xaf", True, 0), (2, b"x", True, 0)],
    "unsolicited pong then plain": [(10, b"?", True, 0), (1, b"ok", True, 0)],
    "bad close then frames": [(8, b"\x03\xe7", True, 0), (1, b"late", True, 0)],
    "rsv then plain": [(1 | 0x30, b"r", True, 0), (1, b"ok", True, 0)],
    "non-minimal length then plain": [(1, b"n", True, 16), (1, b"ok", True, 0)],
    "fragments with ping": [(1, b"fr", False, 0), (9, b"p", True, 0), (0, b"ag", True, 0), (2, b"b", True, 0)],
}


@needs_c
@pytest.mark.parametrize("name", sorted(FRAGMENT_CASES))
@pytest.mark.parametrize("whole", [True, False], ids=["one-segment", "bytewise"])
def test_fast_lane_handpicked(name, whole):
    """Hand-written conversations (also a readable record of what the property test covers), sent as one segment
    and one byte per segment."""
    specs = []
    for op, payload, fin, form in FRAGMENT_CASES[name]:
        specs.append((op & 0x0F, payload, fin, op >> 4, True, b"\x01\x02\x03\x04", form or 7))
    conv = {"handshake": "plain", "client": specs, "server": list(specs), "c_sizes": [200 if whole else 1],
            "s_sizes": [200 if whole else 1], "order": [True, False], "drop": None, "ending": "fin",
            "max_message": 64 << 20}
    recs = conversation_records(conv)
    if whole:  # the request and the frames in separate segments, all the frames in one
        req, resp = upgrade_request(key=KEY), upgrade_response(KEY)
        c2s, s2c = req + encode_frames(specs, True), resp + encode_frames(specs, False)
        recs = build_records(c2s, s2c, (len(req), len(resp)), [len(req), 10**6], [len(resp), 10**6],
                             [True, False], None, "fin")
    pure = run_events(recs, Options(), pure=True)
    lane = run_events(recs, Options(), pure=False)
    assert_same_events(pure, lane)


@needs_c
def test_fast_lane_takes_pings_and_pongs():
    """Plain Pings and Pongs go through the C lane, told to the connection's lifecycle there: the same events as the
    Python path, an unsolicited Pong's finding right after it, an answered Ping's round trip in the summary."""
    key = b"\x01\x02\x03\x04"
    client = [(9, b"hb", True, 0, True, key, 7), (1, b"a", True, 0, True, key, 7), (10, b"?", True, 0, True, key, 7)]
    server = [(10, b"hb", True, 0, True, None, 7), (2, b"b", True, 0, True, None, 7), (9, b"", True, 0, True, None, 7)]
    req, resp = upgrade_request(key=KEY), upgrade_response(KEY)
    c2s, s2c = req + encode_frames(client, True), resp + encode_frames(server, False)
    recs = build_records(c2s, s2c, (len(req), len(resp)), [len(req), 10**6], [len(resp), 10**6], [True, False], None,
                         "fin")
    counter = LaneCounter()
    lane = run_events(recs, Options(), pure=False, counter=counter)
    pure = run_events(recs, Options(), pure=True)
    assert_same_events(pure, lane)
    assert counter.taken == 6  # every message, the four control ones included
    i = next(i for i, e in enumerate(lane) if e.__class__ is Message and e.opcode == 10 and e.payload == b"?")
    assert getattr(lane[i + 1], "code", None) == "ws.pong.unsolicited"
    end = next(e for e in lane if hasattr(e, "ping_rtt"))
    assert end.ping_rtt is not None and end.ping_rtt[0] == 1
