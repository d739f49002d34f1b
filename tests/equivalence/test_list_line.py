"""The C packet-list line (``speedups.list_line``, used by ``PacketListView.lists``) is exactly the line the Python
path writes (``PacketListView.group`` through ``LineWriter``): for hypothesis-generated packets and event groups,
with and without colour, at any width, and for every packet of the real captures; and ``show``'s whole list is the
same with the C line and without it."""
from __future__ import annotations

import glob
import io
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from tests.support.dual_path import needs_c, pure_python
from wsdissect.events import CaptureEnd, Finding, HttpRequest, Message, Packet, WsFrame
from wsdissect.findings import Severity
from wsdissect.options import Options
from wsdissect.render.packets import PacketListView, group_lists
from wsdissect.render.timefmt import TimeColumn
from wsdissect.run.driver import Driver
from wsdissect.speedups import speedups as C

HERE = os.path.dirname(__file__)
CAPTURES = sorted(glob.glob(os.path.join(HERE, "..", "..", "sample_pcaps", "*.pcap"))
                  + glob.glob(os.path.join(HERE, "..", "..", "..", "shared", "corpus*", "*", "capture.pcap")))
T0 = 1_700_000_000.0


def console(width: int, color: bool, out: io.StringIO | None = None) -> Console:
    return Console(file=out or io.StringIO(), width=width, force_terminal=color, color_system="truecolor" if color
                   else None, highlight=False, markup=False, emoji=False)


def list_view(width: int, color: bool, t0: float) -> tuple[PacketListView, io.StringIO]:
    """A list view past its header, its times relative to *t0*."""
    out = io.StringIO()
    view = PacketListView(console(width, color, out), TimeColumn("r"))
    view.t0 = view.times.t0 = t0
    view.header_due = False
    return view, out


def python_line(events: list, t0: float, width: int, color: bool) -> str:
    """What the Python path writes for the group ``events`` (its Packet first)."""
    view, out = list_view(width, color, t0)
    with pure_python():
        view.group(events[0], events[1:])
    view.out.flush()
    return out.getvalue()


def c_line(events: list, t0: float, width: int, color: bool) -> str | None:
    view, _ = list_view(width, color, t0)
    line, styles = view._line_maker()
    return line(events, t0, width, styles)


def packet(frame: int = 1, ts: float = T0, src: str = "10.0.0.1", dst: str = "10.0.0.2", **kw) -> Packet:
    fields = dict(wire_len=66, cap_len=66, linktype=1, data=b"", l3_offset=14, ip_version=4, sport=50000, dport=80,
                  seq=1000, ack=2000, flags=0x18, window=512, tcp_offset=34, payload_len=0)
    fields.update(kw)
    return Packet(frame=frame, ts=ts, src=src, dst=dst, **fields)


def ws_frame(opcode: int = 1, fin: bool = True, masked: bool = False) -> WsFrame:
    return WsFrame(None, "client_to_server", 1, 1, T0, fin, 0, opcode, masked, None, 2, 2, b"", b"hi", True, 0)


def message(app=None) -> Message:
    return Message(None, "client_to_server", 1, b"hi", True, 1, 1, T0, T0, 1, False, 2, app=app)


TEXTS = st.sampled_from(["10.0.0.1", "192.168.100.200", "2001:db8::1", "fe80::1234:5678:9abc:def0", "a" * 40,
                         "10.1.0.7", "10.0.0.2", "127.0.0.1", "10.9.8.7", "a" * 64, "a" * 70, "x\ty", "é"])
LABELS = st.sampled_from(["TCP Retransmission", "TCP Dup ACK 5#1", "TCP Previous segment not captured",
                          "TCP Window Full", "tab\there", "ünï", "L" * 70, "TCP Keep-Alive"])
INTS = st.integers(0, 70_000) | st.integers(0, 1 << 32)
INT_FIELDS = ("frame", "sport", "dport", "seq", "ack", "flags", "window", "payload_len", "wire_len", "rel_seq")
DELTAS = (st.floats(0, 100_000, allow_nan=False) | st.integers(0, 1 << 20).map(lambda k: k / 128)
          | st.floats(-10, 0) | st.sampled_from([0.0, -0.0, 5e-7, 1.5e-6, 2.5e-6, 0.0078125, 1e-300, 4294967295.9999995,
                                                 4294967296.0, 1e20, float("inf"), float("nan")]))


@st.composite
def other_event(draw):
    """An event the Info column ignores, or one only the Python path renders."""
    return draw(st.sampled_from([CaptureEnd("x", 1, False),
                                 Finding(1, T0, "ws.rsv", Severity.WARNING, "reserved bits"),
                                 Finding(1, T0, "tcp.note", Severity.NOTE, "note"),
                                 HttpRequest(None, 1, 1, T0, "GET", "/", "HTTP/1.1", (), b"", 1, True),
                                 message(app=()), message(app=("unit",))]))


@st.composite
def groups(draw):
    """A Packet (mostly plain TCP) and the events after it."""
    opt = lambda s: draw(st.none() | s)  # noqa: E731
    kw = dict(frame=draw(INTS), ts=T0 + draw(DELTAS), src=draw(TEXTS), dst=draw(TEXTS), sport=draw(INTS),
              dport=draw(INTS), seq=draw(INTS), ack=draw(INTS), flags=draw(st.integers(0, 511)), window=draw(INTS),
              payload_len=draw(INTS), wire_len=draw(INTS), rel_seq=opt(INTS), rel_ack=opt(INTS),
              window_size=opt(INTS), analysis=tuple(draw(st.lists(LABELS, max_size=3)) if draw(st.integers(0, 3)) == 0 else ()))
    if draw(st.integers(0, 9)) == 0:  # an int out of the ordinary: negative, or past 64 bits
        kw[draw(st.sampled_from(INT_FIELDS))] = draw(st.integers(-(1 << 70), 1 << 70))
    if draw(st.integers(0, 9)) == 0:
        kw.update(protocol="UDP", info="53 → 40000 Len=12")
    events = [packet(**kw)]
    for _ in range(draw(st.integers(0, 12) | st.integers(0, 30))):
        kind = draw(st.integers(0, 40))
        if kind < 20:
            events.append(ws_frame(draw(st.integers(0, 15)), draw(st.booleans()), draw(st.booleans())))
        elif kind < 40:
            events.append(message())
        else:
            events.append(draw(other_event()))
    return events


@needs_c
@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=groups(), width=st.integers(100, 420), color=st.booleans())
@example(events=[packet(ts=T0 + 0.0078125)], width=160, color=False)  # a tie: rounded to even
@example(events=[packet(analysis=("TCP Retransmission",)), ws_frame(), message(), ws_frame(2, False, True)],
         width=100, color=True)
def test_c_line_is_the_python_line(events, width, color):
    line = c_line(events, T0, width, color)
    if line is not None:
        assert line == python_line(events, T0, width, color)


@needs_c
def test_c_line_takes_the_common_packets():
    """Plain TCP packets and WebSocket frames with their messages go the C way (else the test above is idle)."""
    for events in ([packet()], [packet(flags=2, analysis=("TCP Retransmission",), rel_seq=0)],
                   [packet(payload_len=8), ws_frame(), message(), ws_frame(9, True, True), message()],
                   [packet(), ws_frame(1, False)] + [ws_frame(0, True), message()] * 10):
        for width, color in ((160, False), (100, True), (400, False)):
            line = c_line(events, T0, width, color)
            assert line is not None
            assert line == python_line(events, T0, width, color)


@needs_c
def test_c_line_refuses_what_needs_judgement():
    """Findings, HTTP, application units, packets that are not TCP, non-ASCII text: the Python path."""
    for events in ([packet(), Finding(1, T0, "ws.rsv", Severity.WARNING, "x")], [packet(), message(app=("u",))],
                   [packet(protocol="UDP", info="x")], [packet(src="é")], [packet(analysis=("tab\t",))],
                   [packet(), ws_frame()] + [ws_frame()] * 30):
        assert c_line(events, T0, 160, False) is None


def listed(path: str, width: int, color: bool, pure: bool) -> str:
    out = io.StringIO()
    view = PacketListView(console(width, color, out), TimeColumn("r"))
    driver = Driver(Options(packets=True, frames=True), per_packet=True)
    if pure:
        with pure_python():
            view.lists(driver.lists([path]))
    else:
        view.lists(driver.lists([path]))
    view.end()
    return out.getvalue()


@needs_c
@pytest.mark.parametrize("path", CAPTURES, ids=os.path.basename)
def test_real_captures_list_the_same(path):
    """Every packet of the real captures: C and Python lines agree, and the whole list is the same both ways."""
    driver = Driver(Options(packets=True, frames=True), per_packet=True)
    t0 = None
    for pkt, events in group_lists(driver.lists([path])):
        if pkt is None:
            continue
        t0 = pkt.ts if t0 is None else t0
        line = c_line([pkt] + events, t0, 160, False)
        if line is not None:
            assert line == python_line([pkt] + events, t0, 160, False)
    for width, color in ((160, False), (120, True)):
        assert listed(path, width, color, pure=False) == listed(path, width, color, pure=True)
