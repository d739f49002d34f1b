"""tshark habits on the command line: -r, -Y, -c, -x, -t, -w, --ws-only, -T, and one meaning per short option."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from wsdissect.cli import main
from wsdissect.render.hexdump import hex_dump

SAMPLES = Path(__file__).resolve().parents[2] / "sample_pcaps"
ASR = str(SAMPLES / "asr_28002.pcap")
MQTT = str(SAMPLES / "mqtt_ws.pcap")  # two connections
REFUSED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "refused_upgrade_and_plain_http" / "capture.pcap"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def _cli(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, [*args, "--color", "never", "--width", "200", "-q"] if args[0] != "export"
                             else list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output + res.stderr
    return res.stdout if code == 0 else res.stderr


def _frames(listing: str) -> list[int]:
    return [int(line.split()[0]) for line in listing.splitlines() if re.match(r"^\s+\d+ ", line)]


def _tshark(*args: str) -> str:
    return subprocess.run([TSHARK, *args], capture_output=True, text=True, check=True).stdout


def test_read_option_is_the_positional_capture():
    assert _cli("show", "-r", ASR) == _cli("show", ASR)


@needs_tshark
@pytest.mark.parametrize("expr", ["websocket.opcode == 2", "websocket.mask == 1 && frame.number > 20",
                                  "http.request.method == \"GET\"", "tcp.flags.fin == 1 || tcp.len > 1000"])
def test_display_filter_selects_the_packets_tshark_selects(expr):
    ours = _frames(_cli("show", "-r", MQTT, "-Y", expr))
    theirs = [int(x) for x in _tshark("-r", MQTT, "-Y", expr, "-T", "fields", "-e", "frame.number").split()]
    assert ours == theirs and ours


def test_display_filter_selects_messages_in_message_views():
    lines = [json.loads(x) for x in _cli("export", "-r", MQTT, "-Y", "tcp.stream == 1").splitlines()]
    messages = [r for r in lines if r["type"] == "message"]
    assert messages and {m["stream"] for m in messages} == {1}
    everything = [json.loads(x) for x in _cli("export", MQTT).splitlines()]
    assert len(messages) < sum(r["type"] == "message" for r in everything)
    totals = json.loads(_cli("stats", "-r", MQTT, "-Y", "tcp.stream == 1", "-T", "json"))["totals"]
    assert totals["messages"] == len(messages)
    follow = _cli("follow", "-r", MQTT, "-Y", "tcp.stream == 1")
    assert "Stream 1" in follow and "Stream 0" not in follow


def test_bad_display_filter_is_one_line_with_its_column():
    err = _cli("show", ASR, "-Y", "websocket.opcode == ", code=2)
    assert err.count("\n") == 1 and "column" in err


def test_count_stops_after_n_packets():
    assert _frames(_cli("show", ASR, "-c", "4")) == [1, 2, 3, 4]
    assert len(_frames(_cli("show", ASR, "-c", "2", "-Y", "websocket"))) == 2
    assert json.loads(_cli("stats", ASR, "-c", "3", "-T", "json"))["totals"]["messages"] == 0


@needs_tshark
def test_hex_dump_is_tsharks():
    out = _cli("show", ASR, "-x", "-c", "3")
    theirs = _tshark("-r", ASR, "-x", "-c", "3")
    dumps = "".join(line + "\n" for line in out.splitlines() if re.match(r"^[0-9a-f]{4}  ", line))
    assert dumps == "".join(line + "\n" for line in theirs.splitlines() if line)
    assert hex_dump(b"GET /\r\n") == "0000  47 45 54 20 2f 0d 0a" + " " * 30 + "GET /..\n"


@needs_tshark
@pytest.mark.parametrize("fmt", ["e", "ud"])
def test_time_formats_are_tsharks(fmt):
    ours = [line.split()[1:3] for line in _cli("show", ASR, "-t", fmt, "-c", "3").splitlines()[1:]]
    theirs = [line.split()[1:3] for line in _tshark("-r", ASR, "-t", fmt, "-c", "3").splitlines()]
    if fmt == "e":
        ours, theirs = [o[:1] for o in ours], [t[:1] for t in theirs]
    assert ours == theirs


def test_delta_displayed_time_restarts_from_the_previous_listed_packet():
    times = [float(line.split()[1]) for line in _cli("show", ASR, "-t", "dd", "-Y", "websocket").splitlines()[1:]]
    assert times[0] == 0.0 and all(t >= 0 for t in times)


@needs_tshark
def test_write_extracts_one_stream(tmp_path):
    out = tmp_path / "s1.pcap"
    _cli("show", "-r", MQTT, "--stream", "1", "-w", str(out))
    streams = _tshark("-r", str(out), "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport").split("\n")
    listed = _frames(_cli("show", MQTT, "--stream", "1"))
    assert len([s for s in streams if s]) == len(listed) > 0
    assert len({frozenset(s.split()) for s in streams if s}) == 1  # one connection's port pair
    # and the written file decodes to the same stream, messages and all
    theirs = [json.loads(x) for x in _cli("export", MQTT, "--stream", "1").splitlines()]
    ours = [json.loads(x) for x in _cli("export", str(out)).splitlines()]
    assert [m["payload_b64"] for m in ours if m["type"] == "message"] == \
        [m["payload_b64"] for m in theirs if m["type"] == "message"]


def test_write_never_overwrites_an_input():
    assert "input" in _cli("show", ASR, "-w", ASR, code=2)


@pytest.mark.skipif(not REFUSED.exists(), reason="shared corpus not present")
def test_ws_only_lists_handshakes_and_websocket_packets_only():
    rows = _cli("show", "--ws-only", str(REFUSED)).splitlines()[1:]
    assert rows and all(("HTTP" in r and ("GET" in r or "HTTP/1.1 " in r)) or "WebSocket" in r for r in rows)
    full = _cli("show", str(REFUSED)).splitlines()[1:]
    http_rows = [r for r in full if " HTTP " in r]
    assert len(rows) < len(http_rows) + sum(" WebSocket " in r for r in full)


def test_format_short_option_is_T_everywhere():
    for cmd in ("stats", "expert"):
        json.loads(_cli(cmd, ASR, "-T", "json"))
    assert "No such option" in _cli("expert", ASR, "-s", "note", code=2)


def test_no_short_option_means_two_things():
    meanings: dict[str, set[str]] = {}
    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts + param.secondary_opts:
                    if re.fullmatch(r"-[A-Za-z]", opt):
                        meanings.setdefault(opt, set()).add(max(param.opts, key=len))
    clashes = {k: v for k, v in meanings.items() if len(v) > 1}
    assert not clashes


@pytest.mark.parametrize("option", [("--direction", "s2c"), ("--ws-only",), ("-Y", "tcp.len > 0"),
                                    ("--opcode", "binary")], ids=" ".join)
def test_a_selected_row_reads_the_same_as_unfiltered(option):
    """Filters only select: Win=, relative numbers and analysis flags never depend on what else is shown."""
    everything = {_frames(line)[0]: line for line in _cli("show", MQTT).splitlines()[1:]}
    selected = _cli("show", MQTT, *option).splitlines()[1:]
    assert selected and all(everything[_frames(line)[0]] == line for line in selected)
