"""The C packet builder of the views (``packet_builder`` in ``_speedups.c``, wired in ``pipeline.Dissector``): the
Packet event of the common segment, its relative numbers and the in-order TCP-analysis shortcut, built in one call.
Its twin is the Python path (``Dissector._python_packet``: RelativeNumbers, TcpAnalysis, ``new_packet``).

Packet views (``Options(packets=True, frames=True)``) give the same events per packet with and without the C code
for hypothesis-generated TCP header sequences (in order, retransmitted, ahead of a gap, keep-alives, zero windows,
duplicate ACKs, ACKs of unseen data, window scaling, SYN/FIN/RST, both directions, IPv4 and IPv6) and for generated
WebSocket conversations, and leave the same TCP-analysis state behind; every sample, corpus, application and TLS
capture gives the same event stream both ways; the builder takes most segments of a plain conversation (not
vacuous) and hands back, untouched, whatever it is given that it does not know."""
from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.dual_path import (CORPUS, SAMPLES, assert_same_events, conv_options, conversation_records,
                                     conversations, describe_difference, needs_c, plain_conversation, pure_python)
from wsdissect.events import Packet
from wsdissect.options import Options
from wsdissect.pipeline import Dissector
from wsdissect.run.driver import dissect_files
from wsdissect.tcp.analysis import Side

VIEWS = Options(packets=True, frames=True)
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
CLIENT = {4: ("10.0.0.1", 40000), 6: ("2001:db8::1", 40000)}
SERVER = {4: ("10.0.0.2", 8080), 6: ("2001:db8::2", 8080)}


def tcp_record(version: int, from_client: bool, seq: int, ack: int, flags: int, window: int, payload: bytes,
               scale: int | None) -> bytes:
    """Ethernet + IPv4/IPv6 + TCP (with a window scale option when *scale* is given) + payload."""
    (sip, sport), (dip, dport) = (CLIENT[version], SERVER[version]) if from_client else (SERVER[version],
                                                                                          CLIENT[version])
    options = b"" if scale is None else bytes((1, 3, 3, scale))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 + len(options) // 4) << 4,
                      flags, window, 0, 0) + options + payload
    if version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, socket.inet_aton(sip),
                         socket.inet_aton(dip))
        etype = b"\x08\x00"
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, socket.inet_pton(socket.AF_INET6, sip),
                         socket.inet_pton(socket.AF_INET6, dip))
        etype = b"\x86\xdd"
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + etype + ip + tcp


KINDS = ["data", "data", "data", "data", "ack", "ack", "old", "ahead", "keepalive", "zero", "dup", "unseen", "syn",
         "fin", "rst", "wild"]
step = st.tuples(st.booleans(), st.sampled_from(KINDS), st.sampled_from([0, 1, 2, 10, 100, 1400]),
                 st.sampled_from([0.0, 1e-4, 0.002, 0.5]), st.sampled_from([0, 1, 512, 65535]),
                 st.integers(0, 2**32 - 1))


@st.composite
def tcp_flows(draw) -> tuple[int, list]:
    """A connection's packets as records: mostly the common in-order segment, with every kind of exception."""
    version = draw(st.sampled_from([4, 4, 6]))
    nxt = {True: draw(st.integers(0, 2**32 - 1)), False: draw(st.integers(0, 2**32 - 1))}
    records, ts = [], 1_700_000_000.0
    if draw(st.booleans()):  # with the handshake (and, maybe, window scaling)
        scales = draw(st.tuples(st.none() | st.integers(0, 16), st.none() | st.integers(0, 16)))
        for from_client, flags, scale in ((True, SYN, scales[0]), (False, SYN | ACK, scales[1]), (True, ACK, None)):
            ts += 0.001
            ack = nxt[not from_client] if flags & ACK else 0
            records.append(tcp_record(version, from_client, nxt[from_client], ack, flags, 1000, b"", scale))
            if flags & SYN:
                nxt[from_client] += 1
    for from_client, kind, n, dt, window, wild in draw(st.lists(step, max_size=40)):
        seq, ack, flags, payload = nxt[from_client], nxt[not from_client], ACK, bytes(n)
        if kind == "data":
            flags |= PSH
            nxt[from_client] += n
        elif kind == "ack":
            payload = b""
        elif kind == "old":
            seq -= n + 1
        elif kind == "ahead":
            seq += n + 1
            nxt[from_client] = seq + n
        elif kind == "keepalive":
            seq, payload = seq - 1, payload[:1]
        elif kind in ("zero", "dup"):
            payload, window = b"", 0 if kind == "zero" else window
        elif kind == "unseen":
            ack += n + 1
        elif kind in ("syn", "fin", "rst"):
            flags |= {"syn": SYN, "fin": FIN, "rst": RST}[kind]
        else:  # anything at all
            seq, ack, flags = wild, wild >> 3, wild & 0xFF
        ts += dt
        records.append(tcp_record(version, from_client, seq, ack, flags, window, payload, None))
    return version, [(i + 1, 1_700_000_000.0 + 0.001 * i, 1, r, len(r)) for i, r in enumerate(records)]


def per_packet(recs: list, options: Options, pure: bool) -> tuple[list, Dissector]:
    """The events of each packet (and of the final flush), and the dissector they leave behind."""
    with pure_python() if pure else contextlib.nullcontext():
        d = Dissector(options)
        assert (d.fast_packet is None) == pure
        return [d.packet(*rec) for rec in recs] + [d.finish()], d


def analysis_state(d: Dissector) -> dict:
    """The relative bases and every analysis side's fields, by connection."""
    sides = {i: [None if s is None else tuple(getattr(s, k) for k in Side.__slots__) for s in pair]
             for i, pair in d.analysis.sides.items()}
    return {"bases": d.relative.bases, "sides": sides}


def assert_same_packets(recs: list, options: Options) -> list:
    (pure, dp), (fast, df) = per_packet(recs, options, pure=True), per_packet(recs, options, pure=False)
    for i, (p, q) in enumerate(zip(pure, fast)):
        assert [repr(e) for e in p] == [repr(e) for e in q], f"packet {i + 1}:\n" + describe_difference(p, q)
    assert analysis_state(dp) == analysis_state(df)
    return [e for evs in fast for e in evs]


@needs_c
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tcp_flows())
def test_tcp_flows_same_packets_and_state(flow):
    """Generated TCP header sequences: per packet the same events, and the same analysis state after them."""
    _, recs = flow
    events = assert_same_packets(recs, VIEWS)
    assert sum(e.__class__ is Packet for e in events) == len(recs)


@needs_c
@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(conversations())
def test_conversations_same_packets(conv):
    """Generated WebSocket conversations (random segmentations, a dropped segment, every frame kind) in the
    packet views: the same events per packet with and without the C code."""
    assert_same_packets(conversation_records(conv), dataclasses.replace(conv_options(conv), packets=True,
                                                                        frames=True))


class BuilderCounter:
    """Wraps a dissector's C builder and counts the segments it built."""

    def __init__(self, build):
        self.build, self.built, self.calls = build, 0, 0

    def __call__(self, *args):
        p = self.build(*args)
        self.calls += 1
        self.built += p is not None
        return p


@needs_c
@pytest.mark.parametrize("sizes", [(1,), (3, 1, 7), (1, 3, 700, 5, 1400)])
def test_builder_takes_the_common_segments(sizes):
    """Not vacuous: in a plain conversation the C builder makes most Packet events (all but the handshake's and
    the ending's), and they equal the Python path's."""
    recs = plain_conversation(sizes=sizes)
    d = Dissector(VIEWS)
    counter = d.fast_packet = BuilderCounter(d.fast_packet)
    fast = [e for rec in recs for e in d.packet(*rec)] + d.finish()
    with pure_python():
        d2 = Dissector(VIEWS)
        pure = [e for rec in recs for e in d2.packet(*rec)] + d2.finish()
    assert_same_events(pure, fast)
    assert counter.built >= len(recs) - 10 and counter.built > 0.8 * counter.calls


@needs_c
def test_builder_hands_back_what_it_does_not_know():
    """Arguments of the wrong kinds: None (the Python path decides) and nothing changed; a wrong count: TypeError."""
    recs = plain_conversation(sizes=(1400,))
    d = Dissector(VIEWS)
    for rec in recs[:6]:
        d.packet(*rec)
    before = analysis_state(d)
    conn = next(iter(d.flows.values())).conn
    seg = d.parse_tcp(1, recs[6][3])
    good = [seg, 7, 1.5, recs[6][3], len(recs[6][3]), 1, conn, True, None]
    for i, bad in [(0, None), (0, b"x"), (3, "text"), (5, 999), (6, None), (7, 1), (7, None), (8, -1), (8, 2**40),
                   (8, "x")]:
        args = list(good)
        args[i] = bad
        assert d.fast_packet(*args) is None
        assert analysis_state(d) == before
    with pytest.raises(TypeError):
        d.fast_packet(*good[:8])


def capture_files() -> list[tuple[pathlib.Path, str | None]]:
    files = [(p, None) for p in sorted(SAMPLES.glob("*.pcap*")) if p.is_file()]
    for root in (CORPUS, CORPUS.parent / "corpus-app", CORPUS.parent / "corpus-tls"):
        if root.is_dir():
            for p in sorted(root.glob("*/capture.pcap*")):
                keys = p.parent / "keys.log"
                files.append((p, str(keys) if keys.is_file() else None))
    return files


@needs_c
@pytest.mark.parametrize("path,keys", capture_files(), ids=lambda v: v.parent.name + "/" + v.name
                         if isinstance(v, pathlib.Path) else "")
def test_capture_packets_identical_with_and_without_c(path, keys):
    """Every sample, corpus, application and TLS capture (with its key log), packet views: the same event stream
    with and without the C code."""
    from wsdissect.options import load_tls_keys

    options = VIEWS if keys is None else dataclasses.replace(VIEWS, tls_keys=load_tls_keys([keys]).keylog)
    with pure_python():
        pure = list(dissect_files([str(path)], options))
    fast = list(dissect_files([str(path)], options))
    assert [repr(e) for e in pure] == [repr(e) for e in fast]
