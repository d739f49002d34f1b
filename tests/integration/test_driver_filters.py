"""Every command applies the same filters through the one driver (wsdissect.run): filters select what is shown or
exported and never change decoding.  Each test here was a drift between the old per-command drivers."""
from __future__ import annotations

import json
import pathlib

from click.testing import CliRunner

from wsdissect.cli import main
from wsdissect.events import CaptureStart, Message
from wsdissect.filters import EventFilter
from wsdissect.run import Driver

SAMPLE = str(pathlib.Path(__file__).resolve().parents[2] / "sample_pcaps" / "aiohttp_mixed.pcap")


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, SAMPLE, "-q", "--color", "never", "--width", "160"])
    assert result.exit_code == 0, result.output
    return result.output


def _rows(output: str) -> list[str]:
    return [line for line in output.splitlines()[1:] if line.strip()]


def test_show_match_selects_the_packets_that_complete_matching_messages():
    everything = _rows(_cli("show"))
    rows = _rows(_cli("show", "--match", "ping"))
    assert 0 < len(rows) < len(everything)
    assert all("Ping" in r or "Pong" in r for r in rows)


def test_show_opcode_hides_other_packets_instead_of_relabelling_them():
    rows = _rows(_cli("show", "--opcode", "close"))
    assert rows and all("Connection Close" in r for r in rows)
    assert not any(" TCP " in r for r in rows)


def test_show_detail_uses_the_same_packet_selection():
    listed = {r.split()[0] for r in _rows(_cli("show", "--opcode", "close"))}
    trees = _cli("show", "-V", "--opcode", "close")
    shown = {line.split()[1].rstrip(":") for line in trees.splitlines() if line.startswith("Frame ")}
    assert shown == listed


def _stats(*args: str) -> dict:
    return json.loads(_cli("stats", "-T", "json", *args))


def test_stats_direction_counts_only_that_direction():
    whole = _stats()["connections"][0]["stats"]
    c2s = _stats("--direction", "c2s")["connections"][0]["stats"]
    assert c2s["client_to_server"]["messages"] == whole["client_to_server"]["messages"] > 0
    assert c2s["client_to_server"]["bytes"] == whole["client_to_server"]["bytes"]
    assert c2s["server_to_client"]["messages"] == 0


def test_stats_opcode_match_and_time_narrow_the_counts():
    whole = _stats()["totals"]
    text = _stats("--opcode", "text")["totals"]
    assert set(text["by_opcode"]) == {"text"} and text["by_opcode"]["text"] == whole["by_opcode"]["text"]
    matched = _stats("--match", "hello")["totals"]
    assert 0 < matched["messages"] < whole["messages"]
    assert _stats("--time-to", "0.0005")["totals"]["messages"] == 0  # before the first message (frame 8)


def test_driver_feed_and_events_give_the_same_selection():
    flt = EventFilter(opcodes=frozenset({"text"}))
    pushed: list = []
    Driver(event_filter=flt).feed([SAMPLE], pushed.extend)
    pulled = list(Driver(event_filter=EventFilter(opcodes=frozenset({"text"}))).events([SAMPLE]))
    assert pushed == pulled
    messages = [ev for ev in pulled if ev.__class__ is Message]
    assert messages and all(m.opcode == 1 for m in messages)


class _FakeCapture:
    """Stands in for the AF_PACKET socket: hands out the records of a file once."""

    linktype, snaplen = 1, 262144

    def __init__(self, *args, **kwargs):
        from wsdissect.capture.files import CaptureFile

        with CaptureFile(SAMPLE) as cf:
            self.records = list(cf)

    def read(self, timeout):
        records, self.records = self.records, []
        return records

    def stats(self):
        return 0, 0

    def close(self):
        pass


def test_live_quiet_export_applies_the_filter(tmp_path):
    from wsdissect.live import LiveSession
    from wsdissect.options import Options

    out = tmp_path / "live.jsonl"
    session = LiveSession(_FakeCapture(), Options(), EventFilter(opcodes=frozenset({"close"})), None, "list",
                          quiet=True)
    session.open_outputs(None, str(out))
    session.run(count=None, duration=0.3)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    messages = [r for r in records if r["type"] == "message"]
    assert messages and all(r["opcode"] == "close" for r in messages)


def test_every_capture_starts_with_capture_start():
    first = next(iter(Driver().events([SAMPLE])))
    assert first.__class__ is CaptureStart
