"""Pong-to-Ping pairing: repeated payloads, FIFO order, the bound, and the three users (lifecycle finding,
follow's rtt, the report's buckets) agreeing."""
from __future__ import annotations

from hypothesis import given, strategies as st

from wsdissect.flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT
from wsdissect.ws.pings import PingBook


def test_repeated_empty_pings_are_each_answered():
    book = PingBook()
    book.ping(CLIENT_TO_SERVER, b"", 1.0)
    book.ping(CLIENT_TO_SERVER, b"", 2.0)
    assert book.pong(SERVER_TO_CLIENT, b"") == 1.0
    assert book.pong(SERVER_TO_CLIENT, b"") == 2.0
    assert book.pong(SERVER_TO_CLIENT, b"") is None
    assert book.count == 0 and not book.waiting


def test_pong_must_come_from_the_other_direction_with_the_same_payload():
    book = PingBook()
    book.ping(CLIENT_TO_SERVER, b"a", 1.0)
    assert book.pong(CLIENT_TO_SERVER, b"a") is None
    assert book.pong(SERVER_TO_CLIENT, b"b") is None
    assert book.pong(SERVER_TO_CLIENT, b"a") == 1.0


def test_the_oldest_ping_is_forgotten_when_full():
    book = PingBook(limit=3)
    for i in range(5):
        book.ping(CLIENT_TO_SERVER, bytes([i % 2]), float(i))
    assert book.count == 3
    assert book.pong(SERVER_TO_CLIENT, b"\x00") == 2.0  # 0.0 was forgotten
    assert book.pong(SERVER_TO_CLIENT, b"\x01") == 3.0  # 1.0 was forgotten


@given(st.lists(st.tuples(st.booleans(), st.sampled_from([b"", b"x", b"yy"])), max_size=60))
def test_every_answer_is_an_earlier_unanswered_ping(ops):
    book = PingBook(limit=8)
    sent: list[tuple[bytes, float]] = []
    for t, (is_ping, payload) in enumerate(ops):
        if is_ping:
            book.ping(CLIENT_TO_SERVER, payload, float(t))
            sent.append((payload, float(t)))
        else:
            got = book.pong(SERVER_TO_CLIENT, payload)
            if got is not None:
                assert (payload, got) in sent
                sent.remove((payload, got))
        assert 0 <= book.count <= 8
        assert book.count == sum(len(v) for v in book.waiting.values())


def test_two_empty_pings_then_two_pongs_end_to_end(tmp_path):
    """The capture-level check: no false ``ws.pong.unsolicited`` and both round trips counted, in the connection
    summary, ``follow`` and the report's RTT buckets alike."""
    from click.testing import CliRunner

    from tests.support.builders import Conversation, run_pipeline, upgrade_request, upgrade_response, ws_frame
    from wsdissect.cli import main
    from wsdissect.options import Options
    from wsdissect.report.aggregate import ReportAggregator
    from wsdissect.run import dissect_files

    conv = Conversation()
    req = upgrade_request()
    conv.send(True, req)
    conv.send(False, upgrade_response(req))
    conv.send(True, ws_frame(9, b"", mask=b"abcd"))
    conv.send(True, ws_frame(9, b"", mask=b"abcd"))
    conv.send(False, ws_frame(10, b""))
    conv.send(False, ws_frame(10, b""))
    conv.send(False, ws_frame(10, b""))  # a third pong answers nothing: a heartbeat, noted
    path = conv.write(str(tmp_path / "pings.pcap"))
    events = run_pipeline(path)
    codes = [f.code for f in events.get("Finding", [])]
    assert codes.count("ws.pong.unsolicited") == 1
    (end,) = events["ConnectionEnd"]
    assert end.ping_rtt is not None and end.ping_rtt[0] == 2
    follow = CliRunner().invoke(main, ["follow", path, "--color", "never"]).output
    assert follow.count("(rtt ") == 2, follow
    agg = ReportAggregator()
    agg.feed(dissect_files([path], Options()))
    assert sum(b.count for b in agg.result().rtt) == 2
