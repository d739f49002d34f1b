"""report/aggregate.py: the numbers behind the HTML report and ``stats --plot``, checked exactly on the bundled
captures and against ``wsdissect stats -f json``."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES
from wsdissect.cli import main
from wsdissect.events import CaptureStart, new_message
from wsdissect.flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Conn
from wsdissect.rfc6455 import opcode_name
from wsdissect.filters import EventFilter
from wsdissect.options import Options
from wsdissect.run import Driver, dissect_files
from wsdissect.report.aggregate import ReportAggregator
from wsdissect.report.timeseries import MAX_BUCKETS

SAMPLE_NAMES = ["aiohttp_mixed", "asr_28002", "websockets_deflate", "wsproto_fragments"]


def aggregate(paths, event_filter: EventFilter | None = None):
    agg = ReportAggregator()
    for ev in dissect_files([str(p) for p in paths], Options()):
        if event_filter is None or event_filter.accepts(ev):
            agg.event(ev)
    return agg.result()


def stats_json(*args: str) -> dict:
    res = CliRunner().invoke(main, ["stats", "-f", "json", "-q", *args], catch_exceptions=False)
    assert res.exit_code == 0
    return json.loads(res.stdout)


def test_asr_exact_numbers() -> None:
    d = aggregate([SAMPLES / "asr_28002.pcap"])
    s = d.summary
    assert (s.packets, s.connections, s.websocket) == (48, 1, 1)
    assert s.messages == (23, 7) and s.bytes == (64127, 593) and s.wire_bytes == (64127, 593)
    assert s.findings == {"chat": 0, "note": 0, "warning": 0, "error": 0}
    assert round(s.end - s.start, 6) == 0.214441
    assert (d.axis.width, d.axis.buckets) == (0.001, 215)
    assert {k: sum(v) for k, v in d.sizes.items()} == {"text": 8, "binary": 20, "close": 2}
    assert d.sizes["binary"][12] == 20  # 20 binary messages of 2048..4095 bytes (3200 each)
    assert d.sizes["close"][2] == 2  # two 2-byte close payloads (the status code alone)
    assert [(r.code, r.counts, r.reasons) for r in d.close_codes] == [(1000, (1, 1), ())]
    assert d.ended_by == {"close+fin": 1} and d.rtt == ()
    (bar,) = d.timeline
    assert (bar.stream, bar.status, bar.ended_by, bar.messages, bar.close) == (0, "upgraded", "close+fin", 30,
                                                                               "C 1000, S 1000")
    (conn,) = d.traffic.connections
    assert sum(conn.messages[0]) == 23 and sum(conn.bytes[1]) == 593


def test_aiohttp_pings_and_close_reasons() -> None:
    d = aggregate([SAMPLES / "aiohttp_mixed.pcap"])
    assert d.summary.messages == (12, 13)
    assert sum(b.count for b in d.rtt) == 2
    assert [(round(b.min * 1e6), round(b.max * 1e6)) for b in d.rtt] == [(49, 49), (56, 56)]
    assert [(r.code, r.counts, r.reasons) for r in d.close_codes] == [(1000, (0, 1), ()),
                                                                       (1001, (1, 0), ("client going away",))]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_totals_match_stats(name: str) -> None:
    """Messages, bytes per opcode and ping round trips agree with ``stats -f json`` on every bundled capture."""
    path = SAMPLES / f"{name}.pcap"
    d = aggregate([path])
    st = stats_json(str(path))
    t = st["totals"]
    assert d.summary.connections == t["connections"]
    assert sum(d.summary.messages) == t["messages"] and sum(d.summary.bytes) == t["bytes"]
    assert {op: sum(h) for op, h in d.sizes.items()} == {op: n for op, (n, _b) in t["by_opcode"].items()}
    for direction, k in (("client_to_server", 0), ("server_to_client", 1)):
        assert d.summary.messages[k] == sum(c["stats"][direction]["messages"] for c in st["connections"])
        assert d.summary.bytes[k] == sum(c["stats"][direction]["bytes"] for c in st["connections"])
    assert sum(b.count for b in d.rtt) == sum(c["ping_rtt"]["count"] for c in st["connections"] if c["ping_rtt"])
    assert len(d.connections) == len(st["connections"])
    assert sum(sum(c.messages[0]) + sum(c.messages[1]) for c in d.traffic.connections) == t["messages"]


def test_several_files_keep_their_connections_apart() -> None:
    """Every file numbers its connections from 0: the per-connection series must not mix them."""
    paths = [SAMPLES / f"{n}.pcap" for n in SAMPLE_NAMES]
    d = aggregate(paths)
    t = stats_json(*map(str, paths))["totals"]
    assert (d.summary.connections, sum(d.summary.messages), sum(d.summary.bytes)) == (4, 111, 220782)
    assert (t["connections"], t["messages"], t["bytes"]) == (4, 111, 220782)
    assert d.summary.packets == 48 + 40 + 52 + 39
    assert sorted(c.total_messages for c in d.traffic.connections) == [22, 25, 30, 34]
    assert sum(d.traffic.messages[0]) + sum(d.traffic.messages[1]) == 111
    assert d.traffic.connections_total == 4


def test_batches_and_single_events_agree() -> None:
    """``feed`` (a packet's events at a time, the CLI's path) and ``event`` give the same result."""
    path = str(SAMPLES / "wsproto_fragments.pcap")
    batched = ReportAggregator()
    Driver(Options()).feed([path], batched.feed)
    assert batched.result() == aggregate([path])


def test_filters_apply() -> None:
    path = SAMPLES / "aiohttp_mixed.pcap"
    d = aggregate([path], EventFilter(direction="s2c"))
    assert d.summary.messages == (0, 13)
    d = aggregate([path], EventFilter(opcodes=frozenset({"ping", "pong"})))
    assert set(d.sizes) == {"ping", "pong"} and sum(d.summary.messages) == 4
    assert sum(b.count for b in d.rtt) == 2
    d = aggregate([path], EventFilter(streams=frozenset({7})))
    assert d.summary.messages == (0, 0) and d.summary.connections == 0


def test_damaged_file_findings_are_counted_without_a_time(tmp_path) -> None:
    data = (SAMPLES / "asr_28002.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-50])
    d = aggregate([cut])
    assert d.summary.damaged
    assert d.findings_undated == 1
    assert any(g.code == "capture.truncated" for g in d.findings)
    assert sum(sum(v) for v in d.findings_series.values()) == sum(g.count for g in d.findings) - 1


def test_memory_is_bounded_by_connection_limits() -> None:
    """Many short connections: records and series beyond the limits are dropped, and counted."""
    agg = ReportAggregator()
    agg.book.keep = 5
    agg.conns.keep = 3
    paths = [SAMPLES / "asr_28002.pcap"] * 12
    for ev in dissect_files([str(p) for p in paths], Options()):
        agg.event(ev)
    d = agg.result()
    assert d.summary.connections == 12 and len(d.timeline) == 5 and d.timeline_omitted == 7
    assert len(d.traffic.connections) == 3 and d.traffic.connections_total == 12
    assert sum(d.summary.messages) == 12 * 30


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(min_value=-100, max_value=5000, allow_nan=False), st.booleans(),
                          st.sampled_from([1, 2, 8, 9, 10]), st.integers(0, 70000), st.integers(0, 3)),
                min_size=1, max_size=120),
       st.randoms(use_true_random=False))
def test_property_counts_survive_any_batching(msgs, rnd) -> None:
    """Arbitrary messages (any order, any spread of times, four connections), fed in random batches: every count
    lands once, in the bucket that holds its time, per direction, per connection and per size class."""
    conns = [Conn(k, "10.0.0.1", 40000 + k, "10.0.0.2", 80) for k in range(4)]
    events = [CaptureStart("x", 1000.0)]
    for ts, c2s, op, size, k in msgs:
        payload = bytes(size)
        events.append(new_message(conns[k], CLIENT_TO_SERVER if c2s else SERVER_TO_CLIENT, op, payload, True, 1, 1,
                                  1000.0 + ts, 1000.0 + ts, 1, False, size))
    agg = ReportAggregator()
    i = 0
    while i < len(events):
        n = rnd.randint(1, 10)
        agg.feed(events[i:i + n])
        i += n
    d = agg.result()
    assert d.summary.messages == (sum(1 for m in msgs if m[1]), sum(1 for m in msgs if not m[1]))
    assert sum(d.summary.bytes) == sum(m[3] for m in msgs)
    assert d.axis.buckets <= MAX_BUCKETS
    for k, c in enumerate(conns):
        mine = [m for m in msgs if m[4] == k]
        series = [s for s in d.traffic.connections if s.stream == k]
        assert (sum(sum(s.messages[0]) + sum(s.messages[1]) for s in series)) == len(mine)
    for ts, c2s, _op, _size, _k in msgs:
        b = d.axis.bucket(1000.0 + ts)
        assert d.traffic.messages[0 if c2s else 1][b] > 0
    by_op: dict = {}
    for _ts, _c2s, op, size, _k in msgs:
        by_op.setdefault(opcode_name(op), [0] * 65)[size.bit_length()] += 1
    assert d.sizes == {op: tuple(h) for op, h in by_op.items()}
