"""The packet list of mid-stream captures against ``tshark -r -d tcp.port==P,websocket``.

The mid-stream captures are the corpus's ``variant_midstream_start`` and captures made here from the bundled samples
and the shared corpus by cutting packets off the start of every WebSocket connection (the frames to drop are chosen
with tshark on the whole capture, so the cut does not depend on wsdissect):

- ``handshake``: every packet of the connection up to and including its ``101 Switching Protocols``: the first
  segment left starts on a frame boundary;
- ``midframe``: also the packets up to the first segment of the first WebSocket frame that spans several segments:
  the first segment left starts inside a frame.

wsdissect runs both ways: ``--decode-as tcp.port==P`` and its heuristic (no option; it recognises WebSocket without
a handshake).  Per packet, where the capture starts on a frame boundary: the same packets are WebSocket rows, with
the same frames (opcode, FIN, MASK, in order) on the same packets, and Seq/Ack/Len agree everywhere (relative to the
first number seen in each direction).  tshark's Info column names only the last frame of a packet (its WebSocket
dissector overwrites the column); wsdissect's lists them all, so the frames are compared through tshark's
``websocket.opcode``/``fin``/``mask`` fields.

Where the first segment starts inside a frame the two differ by design: tshark decodes the first captured byte as a
frame header (the frames it shows until the stream happens to realign are made of payload bytes); wsdissect holds
the bytes until a frame boundary is proven (``ws.resync``) and decodes from there.  There the test checks that
wsdissect shows no frame tshark does not show from the point where both are synchronised, and that it shows the
frames after its resynchronisation exactly as tshark does once tshark is back on the frame boundaries.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from tests.conftest import CORPUS
from tests.support import drop_frames
from wsdissect.cli import main
from wsdissect.render.app_view import LABELS

SAMPLES = Path(__file__).resolve().parents[2] / "sample_pcaps"
TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")

SOURCES = [SAMPLES / f"{n}.pcap" for n in ("asr_28002", "websockets_deflate", "aiohttp_mixed", "wsproto_fragments",
                                           "mqtt_ws", "socketio_chat")]
if CORPUS.is_dir():
    SOURCES += [CORPUS / n / "capture.pcap" for n in (
        "websockets_basic", "websockets_deflate", "websockets_deflate_no_ctx_wbits10", "aiohttp_plain",
        "aiohttp_deflate", "node_ws_deflate_fragmented", "websockets_subprotocol_chat_v1", "websockets_ipv6",
        "websockets_30_concurrent", "wsproto_crafted_frames", "websockets_5mb_binary", "variant_vlan_8021q",
        "variant_linktype_linux_sll", "seedlike_asr_28002")]
    SOURCES = [p for p in SOURCES if p.exists()]
MIDSTREAM = CORPUS / "variant_midstream_start" / "capture.pcap"
OPCODES = {"Continuation": 0, "Text": 1, "Binary": 2, "Connection Close": 8, "Ping": 9, "Pong": 10}
NUMBERS = re.compile(r"\b(Seq|Ack|Len)=(\d+)")
WS_FRAME = re.compile(r"WebSocket (.+?) \[(FIN|FRAGMENT)\]( \[MASKED\])?")
#: a WebSocket row whose messages an application decoder read is named by that protocol (Socket.IO, MQTT...) and
#: shows its units, not the frames: there only the row is compared (the frames are, in the tree comparison)
APP_PROTOCOLS = frozenset(LABELS.values())
#: (capture, how wsdissect decodes) -> why some of its packets are not WebSocket rows as tshark's are
NOT_RECOGNISED = {
    ("websockets_5mb_binary", "heuristic"): "the heuristic decides on at most 64 KiB per direction (detect.py "
    "PROBE_LIMIT) and the first client frame is 5 MB: the connection stays TCP (tshark needs -d for it too)",
}


class Row(NamedTuple):
    protocol: str
    numbers: dict  # Seq/Ack/Len of a TCP row (empty for the other rows)
    frames: tuple  # the WebSocket frames on the packet: (opcode, fin, masked) in order


def _name(path: Path) -> str:
    return path.parent.name if path.name.startswith("capture.") else path.stem


def _fields(path: str, *names: str, decode: str | None = None, display: str | None = None) -> list[list[str]]:
    cmd = [TSHARK, "-r", path, *(["-d", f"tcp.port=={decode},websocket"] if decode else []),
           *(["-Y", display] if display else []), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for n in names:
        cmd += ["-e", n]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


# -- the mid-stream captures ----------------------------------------------------------------------------------------
class Cut(NamedTuple):
    path: str
    port: int  # the server port to decode as WebSocket
    dropped: int  # packets cut off


@functools.cache
def _cut_points(source: str) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per connection (tshark's tcp.stream): the frame of its 101, of the first segment of its first frame that
    spans segments after it, and its server port."""
    upgrades, ports, spans = {}, {}, {}
    for frame, stream, port in _fields(source, "frame.number", "tcp.stream", "tcp.srcport",
                                       display="http.response.code == 101"):
        upgrades[int(stream)] = int(frame)
        ports[int(stream)] = int(port)
    for stream, segments in _fields(source, "tcp.stream", "tcp.segment", display="websocket && tcp.segments"):
        first = int(segments.split(",")[0])
        if int(stream) in upgrades and first > upgrades[int(stream)]:
            spans.setdefault(int(stream), first)
    return upgrades, spans, ports


@functools.cache
def cut(source: str, how: str, directory: str) -> Cut | None:
    """*source* without the start of each WebSocket connection (see the module's docstring), or None when it has no
    such connection (or, for ``midframe``, no frame spanning segments)."""
    upgrades, spans, ports = _cut_points(source)
    last = spans if how == "midframe" else upgrades
    if not last or len(set(ports.values())) != 1:
        return None
    drop = {int(frame) for frame, stream in _fields(source, "frame.number", "tcp.stream", display="tcp")
            if int(stream) in last and int(frame) <= last[int(stream)]}
    name = f"{_name(Path(source))}-{Path(source).parent.name}-{how}.pcap"
    return Cut(drop_frames(source, str(Path(directory) / name), drop), next(iter(ports.values())), len(drop))


# -- the two lists ------------------------------------------------------------------------------------------------
def ours(path: str, port: int | None) -> dict[int, Row]:
    args = ["show", path, "--color", "never", "--width", "100000", "-q"]
    res = CliRunner().invoke(main, args + (["--decode-as", f"tcp.port=={port}"] if port else []))
    assert res.exit_code == 0, res.output
    rows = {}
    for line in res.stdout.splitlines()[1:]:
        m = re.match(r"\s*(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\d+\s+(.*)", line)
        if m:
            frames = tuple((OPCODES.get(op, op), fin == "FIN", bool(mask)) for op, fin, mask in WS_FRAME.findall(m[3]))
            rows[int(m[1])] = Row(m[2], dict(NUMBERS.findall(m[3])) if m[2] == "TCP" else {}, frames)
    return rows


def theirs(path: str, port: int) -> dict[int, Row]:
    rows = {}
    for n, protocol, info, opcodes, fins, masks in _fields(
            path, "frame.number", "_ws.col.Protocol", "_ws.col.Info", "websocket.opcode", "websocket.fin",
            "websocket.mask", decode=str(port)):
        frames = tuple((int(o), f == "1", m == "1") for o, f, m in zip(*(v.split(",") if v else []
                                                                            for v in (opcodes, fins, masks))))
        rows[int(n)] = Row(protocol, dict(NUMBERS.findall(info)) if protocol == "TCP" else {}, frames)
    return rows


def tcp_numbers(path: str, port: int) -> dict[int, dict]:
    """tshark's relative Seq/Ack/Len of every packet (whatever its Protocol column shows)."""
    return {int(n): {k: v for k, v in (("Seq", seq), ("Ack", ack), ("Len", ln)) if v}
            for n, seq, ack, ln in _fields(path, "frame.number", "tcp.seq", "tcp.ack", "tcp.len",
                                           decode=str(port))}


def differences(path: str, port: int, decode_as: bool, since: int = 0) -> list[tuple]:
    """``(frame, what, wsdissect, tshark)`` for every packet after *since* where the lists disagree."""
    mine, their = ours(path, port if decode_as else None), theirs(path, port)
    assert set(mine) == set(their), f"packets listed differ: {sorted(set(mine) ^ set(their))[:10]}"
    wrong = []
    for n, t in their.items():
        m = mine[n]
        if m.numbers and t.numbers and m.numbers != t.numbers:
            wrong.append((n, "numbers", m.numbers, t.numbers))
        if n <= since:
            continue
        if m.protocol in APP_PROTOCOLS and t.protocol == "WebSocket":
            continue
        if (m.protocol == "WebSocket") != (t.protocol == "WebSocket") or m.frames != t.frames:
            wrong.append((n, "frames", (m.protocol, m.frames), (t.protocol, t.frames)))
    return wrong


def _seq_ack_len(path: str, port: int, decode_as: bool) -> list[tuple]:
    """Seq/Ack/Len of every row wsdissect lists as TCP against tshark's fields (mid-frame cuts too)."""
    mine, numbers = ours(path, port if decode_as else None), tcp_numbers(path, port)
    return [(n, m.numbers, numbers[n]) for n, m in mine.items()
            if m.numbers and {k: v for k, v in m.numbers.items() if k in numbers[n]} != numbers[n]]


# -- the tests ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cuts(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("midstream"))


@pytest.mark.skipif(not MIDSTREAM.exists(), reason="the shared corpus is not there")
@pytest.mark.parametrize("decode_as", [True, False], ids=["decode-as", "heuristic"])
def test_corpus_midstream_capture(decode_as):
    port = json.loads((MIDSTREAM.parent / "meta.json").read_text()).get("port", 20101)
    assert not differences(str(MIDSTREAM), port, decode_as)
    assert sum(bool(r.frames) for r in ours(str(MIDSTREAM), port if decode_as else None).values()) > 20


@pytest.mark.parametrize("decode_as", [True, False], ids=["decode-as", "heuristic"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: f"{p.parent.name}-{_name(p)}" if p.name.startswith(
    "capture.") else _name(p))
def test_handshake_cut_off(source, decode_as, cuts):
    c = cut(str(source), "handshake", cuts)
    if c is None:
        pytest.skip("no WebSocket upgrade on one server port")
    wrong = differences(c.path, c.port, decode_as)
    if (_name(source), "decode-as" if decode_as else "heuristic") in NOT_RECOGNISED:
        assert wrong and all(w[1] == "frames" and w[2] == ("TCP", ()) for w in wrong), wrong[:5]
        return
    assert not wrong, f"{len(wrong)} packets differ, e.g. {wrong[:5]}"


def _explore(source, how, decode_as, cuts):
    c = cut(str(source), how, cuts)
    return c, (differences(c.path, c.port, decode_as) if c else None)
