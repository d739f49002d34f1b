"""The C fast lane in the packet views (``Options(frames=True)``): it emits each frame's WsFrame event before the
message, exactly as the pure-Python FrameParser + ``WsStream.frames_in`` would.  The full event streams of a
frames-wanted dissection with and without the lane are equal for hypothesis-generated conversations (every frame
kind, random segment sizes, frames cut across segments), for plain traffic in many segmentations (where the lane
is shown to take the frames), and for every sample and corpus capture."""
from __future__ import annotations

import contextlib
import dataclasses
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings

from tests.support.dual_path import (CORPUS, SAMPLES, LaneCounter, assert_same_events, conv_options,
                                     conversation_records, conversations, describe_difference, needs_c,
                                     plain_conversation, pure_python, run_events)
from wsdissect.events import Message, WsFrame
from wsdissect.options import Options
from wsdissect.pipeline import Dissector
from wsdissect.run.driver import dissect_files

APP_CORPUS = CORPUS.parent / "corpus-app"


def per_packet(recs: list, options: Options, pure: bool) -> list:
    """The events of each packet (and of the final flush) as separate lists."""
    with pure_python() if pure else contextlib.nullcontext():
        d = Dissector(options)
        return [d.packet(*rec) for rec in recs] + [d.finish()]


@needs_c
@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(conversations())
def test_lane_frames_equal_pure_python(conv):
    """Frames wanted: the same events (WsFrame ones included) from the same packets, lane on and off."""
    recs = conversation_records(conv)
    options = dataclasses.replace(conv_options(conv), frames=True)
    pure_packets, lane_packets = per_packet(recs, options, pure=True), per_packet(recs, options, pure=False)
    pure = [e for evs in pure_packets for e in evs]
    lane = [e for evs in lane_packets for e in evs]
    assert_same_events(pure, lane)
    for i, (p, q) in enumerate(zip(pure_packets, lane_packets)):
        assert p == q, f"packet {i + 1}:\n" + describe_difference(p, q)


@needs_c
@pytest.mark.parametrize("sizes", [(1,), (3, 1, 7), (100000,), (1, 3, 700, 5, 1400), (2, 5, 11, 13)])
def test_lane_takes_frames_when_frames_wanted(sizes):
    """Not vacuous: with frames wanted the lane still takes most messages (in one piece and across segment
    boundaries) and every message still comes right after its WsFrame."""
    recs = plain_conversation(sizes=sizes)
    options = Options(frames=True)
    counter = LaneCounter()
    lane = run_events(recs, options, pure=False, counter=counter)
    pure = run_events(recs, options, pure=True)
    assert_same_events(pure, lane)
    assert sum(e.__class__ is WsFrame for e in lane) == 82
    assert counter.taken >= 40
    for i, e in enumerate(lane):
        if e.__class__ is Message:
            w = lane[i - 1]
            assert w.__class__ is WsFrame and w.frame == e.last_frame and w.opcode == e.opcode


@needs_c
@pytest.mark.parametrize("sizes", [(1400,), (999, 1), (30000, 7)])
def test_lane_frames_after_parser_frame(sizes):
    """Frames longer than the lane holds back (16-bit lengths over CARRY_MAX) begin in the parser and are finished
    by the lane (``FastLane._pending``): their WsFrame keeps the first frame and stream offset of their header."""
    big = [(2, bytes(range(256)) * 80 + bytes([i]), True, 0, True, None, 7) for i in range(6)]
    small = [(1, b"x" * i, True, 0, True, b"\x05\x06\x07\x08", 7) for i in range(6)]
    conv = {"handshake": "plain", "client": small, "server": big, "c_sizes": [50], "s_sizes": list(sizes),
            "order": [True, False, False], "drop": None, "ending": "fin", "max_message": 64 << 20}
    recs = conversation_records(conv)
    options = Options(frames=True)
    counter = LaneCounter()
    lane = run_events(recs, options, pure=False, counter=counter)
    assert_same_events(run_events(recs, options, pure=True), lane)
    assert counter.taken >= 6
    frames = [e for e in lane if e.__class__ is WsFrame and e.payload_len > 20000]
    assert len(frames) == 6 and any(e.first_frame < e.frame for e in frames)
    assert [e.stream_offset - frames[0].stream_offset for e in frames] == [i * (4 + 20481) for i in range(6)]


def capture_files() -> list[pathlib.Path]:
    files = sorted(p for p in SAMPLES.glob("*.pcap*") if p.is_file())
    for root in (CORPUS, APP_CORPUS):
        if root.is_dir():
            files += sorted(root.glob("*/capture.pcap*"))
    return files


@needs_c
@pytest.mark.parametrize("path", capture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_capture_frames_identical_with_and_without_lane(path):
    """Every sample and corpus capture, frames wanted: the same event stream with and without the C lane."""
    options = Options(frames=True)
    with pure_python():
        pure = list(dissect_files([str(path)], options))
    lane = list(dissect_files([str(path)], options))
    assert_same_events(pure, lane)
