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
frame header, so it shows frames made of payload bytes, and its made-up lengths can swallow the real frames that
follow (on the cut ``wsproto_crafted_frames`` it shows five real frames as TCP); wsdissect holds the bytes until
a frame boundary is proven (``ws.resync``: frames starting or ending where segments did) and decodes from there.
The reference there is tshark on the whole capture (handshake included): in each direction wsdissect shows no
frame until its resynchronisation, then exactly the frames tshark shows on the same packets; with ``--decode-as``
a direction loses the frame the capture starts in and no more (``LOST_MORE`` names the exception).  The heuristic
recognises only directions that start on a frame boundary: a connection cut inside a frame stays TCP (no wrong
frames), as it does for tshark without ``-d``.  The mid-frame cases are the three captures with frames spanning
segments and a crafted connection (frames of 3 bytes to 2.4 kB in 300-byte segments) cut after every other
packet.
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
    flow: str  # its direction as "tcp.stream:source port" (tshark's rows only)


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
    originals: tuple  # the number each packet had in the whole capture, by its number here - 1
    source: str


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


def cut_after(source: str, last: dict[int, int], directory: str, name: str) -> Cut:
    """*source* without the packets of each connection (tcp.stream) in *last* up to the frame given for it."""
    packets = _fields(source, "frame.number", "tcp.stream")
    drop = {int(n) for n, stream in packets if stream and int(stream) in last and int(n) <= last[int(stream)]}
    path = drop_frames(source, str(Path(directory) / name), drop)
    port = next(iter(_cut_points(source)[2].values()))
    return Cut(path, port, tuple(int(n) for n, _ in packets if int(n) not in drop), source)


def cut(source: str, how: str, directory: str) -> Cut | None:
    """*source* without the start of each WebSocket connection (see the module's docstring), or None when it has no
    such connection (or, for ``midframe``, no frame spanning segments)."""
    upgrades, spans, ports = _cut_points(source)
    last = spans if how == "midframe" else upgrades
    if not last or len(set(ports.values())) != 1:
        return None
    return cut_after(source, last, directory, f"{_name(Path(source))}-{Path(source).parent.name}-{how}.pcap")


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
            rows[int(m[1])] = Row(m[2], dict(NUMBERS.findall(m[3])) if m[2] == "TCP" else {}, frames, "")
    return rows


def theirs(path: str, port: int | None) -> dict[int, Row]:
    """tshark's list (with ``-d tcp.port==PORT,websocket`` when *port* is given)."""
    rows = {}
    for n, protocol, info, stream, sport, opcodes, fins, masks in _fields(
            path, "frame.number", "_ws.col.Protocol", "_ws.col.Info", "tcp.stream", "tcp.srcport",
            "websocket.opcode", "websocket.fin", "websocket.mask", decode=port and str(port)):
        frames = tuple((int(o), f == "1", m == "1") for o, f, m in zip(*(v.split(",") if v else []
                                                                            for v in (opcodes, fins, masks))))
        rows[int(n)] = Row(protocol, dict(NUMBERS.findall(info)) if protocol == "TCP" else {}, frames,
                           f"{stream}:{sport}")
    return rows


def tcp_numbers(path: str, port: int) -> dict[int, dict]:
    """tshark's relative Seq/Ack/Len of every TCP packet (whatever its Protocol column shows)."""
    return {int(n): {k: v for k, v in (("Seq", seq), ("Ack", ack), ("Len", ln)) if v}
            for n, seq, ack, ln in _fields(path, "frame.number", "tcp.seq", "tcp.ack", "tcp.len",
                                           decode=str(port), display="tcp")}


def differences(path: str, port: int, decode_as: bool) -> list[tuple]:
    """``(frame, what, wsdissect, tshark)`` for every packet where the lists disagree."""
    mine, their = ours(path, port if decode_as else None), theirs(path, port)
    assert set(mine) == set(their), f"packets listed differ: {sorted(set(mine) ^ set(their))[:10]}"
    wrong = numbers_differ(path, port, mine)
    for n, t in their.items():
        m = mine[n]
        if m.protocol in APP_PROTOCOLS and t.protocol == "WebSocket":
            continue
        if (m.protocol == "WebSocket") != (t.protocol == "WebSocket") or m.frames != t.frames:
            wrong.append((n, "frames", (m.protocol, m.frames), (t.protocol, t.frames)))
    return wrong


def numbers_differ(path: str, port: int, mine: dict[int, Row]) -> list[tuple]:
    """Seq/Ack/Len of every row wsdissect lists as TCP against tshark's (relative to the first number seen)."""
    numbers = tcp_numbers(path, port)
    return [(n, "numbers", m.numbers, numbers[n]) for n, m in mine.items()
            if m.numbers and {k: v for k, v in m.numbers.items() if k in numbers[n]} != numbers[n]]


class Resynced(NamedTuple):
    wrong: list  # (frame, what, wsdissect, the whole capture's tshark)
    skipped: dict  # per direction (tcp.stream:source port): its WebSocket packets wsdissect shows as TCP first
    shown: int  # WebSocket packets compared


def after_resync(c: Cut, decode_as: bool) -> Resynced:
    """wsdissect on a capture cut inside a frame against tshark on the whole capture: in each direction no frame
    until wsdissect has found a frame boundary, then the same frames on the same packets."""
    mine, truth, cut_rows = ours(c.path, c.port if decode_as else None), theirs(c.source, None), theirs(c.path, c.port)
    wrong = numbers_differ(c.path, c.port, mine)
    synced: set[str] = set()
    skipped: dict[str, int] = {}
    shown = 0
    for n in sorted(mine):
        m, t, flow = mine[n], truth[c.originals[n - 1]], cut_rows[n].flow
        if m.frames or m.protocol in APP_PROTOCOLS:
            synced.add(flow)
        if flow not in synced:
            skipped[flow] = skipped.get(flow, 0) + bool(t.frames)
        elif m.protocol not in APP_PROTOCOLS:
            shown += bool(t.frames)
            if m.frames != t.frames:
                wrong.append((n, "frames", m.frames, t.frames))
    return Resynced(wrong, skipped, shown)


def _crafted(path: str, client: tuple[str, int] = ("10.0.0.1", 50000), server: tuple[str, int] = ("10.0.0.2", 8765)
             ) -> str:
    """One connection whose frames of every size (text, random binary, control) span 1 to 8 segments of 300 bytes,
    both ways."""
    import random

    from tests.support import Conversation, upgrade_request, upgrade_response, ws_frame

    rnd = random.Random(6455)
    req = upgrade_request(path="/midstream", host="ws.example.test", key="dGhlIHNhbXBsZSBub25jZQ==")
    c = Conversation(client=client, server=server, mss=300)
    c.send(True, req)
    c.send(False, upgrade_response(req))
    for size in (12, 700, 40, 2000, 5, 1200, 90, 450, 3, 2400, 60, 800):
        text = size % 2 == 0
        payload = (b'{"n": %d, "text": "%s"}' % (size, b"x" * size))[:size] if text else rnd.randbytes(size)
        c.send(True, ws_frame(1 if text else 2, payload, mask=rnd.randbytes(4)))
        c.send(False, ws_frame(2 if text else 1, payload[::-1] if not text else payload))
        if size < 50:
            c.send(True, ws_frame(9, b"ping", mask=rnd.randbytes(4)))
            c.send(False, ws_frame(10, b"ping"))
    c.send(True, ws_frame(8, b"\x03\xe8bye", mask=rnd.randbytes(4)))
    c.send(False, ws_frame(8, b"\x03\xe8"))
    c.close()
    return c.write(path)


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


#: capture -> (frames lost after the one a direction starts in, why)
LOST_MORE = {"websockets_5mb_binary": (1, "after the 5 MB frame the cut lands in the client sends one frame (its "
                                          "Close) and the capture ends: a lone frame after undecodable bytes proves "
                                          "no boundary (ws.resync says so)")}
MIDFRAME = [s for s in SOURCES if _name(s) in ("wsproto_fragments", "wsproto_crafted_frames", "websockets_5mb_binary")]


@pytest.mark.parametrize("decode_as", [True, False], ids=["decode-as", "heuristic"])
@pytest.mark.parametrize("source", MIDFRAME, ids=lambda p: f"{p.parent.name}-{_name(p)}" if p.name.startswith(
    "capture.") else _name(p))
def test_cut_inside_a_frame(source, decode_as, cuts):
    """The first segment left starts inside a frame: wsdissect shows no frame until it has found a boundary, then
    the frames tshark shows on the whole capture (tshark -d on the cut capture decodes payload bytes as frames)."""
    c = cut(str(source), "midframe", cuts)
    assert c is not None
    r = after_resync(c, decode_as)
    assert not r.wrong, f"{len(r.wrong)} packets differ, e.g. {r.wrong[:5]}"
    if decode_as:  # each direction loses the frame the capture starts in and no more
        lost = 1 + LOST_MORE.get(_name(source), (0, ""))[0]
        assert r.shown and all(n <= lost for n in r.skipped.values()), r.skipped


@functools.cache
def _crafted_capture(directory: str) -> str:
    return _crafted(str(Path(directory) / "crafted.pcap"))


CRAFTED_CUTS = range(1, 40, 2)  # packets cut after the 101: on frame boundaries and inside frames, both ways


@pytest.mark.parametrize("decode_as", [True, False], ids=["decode-as", "heuristic"])
@pytest.mark.parametrize("k", CRAFTED_CUTS)
def test_crafted_cut_anywhere(k, decode_as, cuts):
    """A connection whose frames span up to 8 segments, cut K packets after its 101: wherever the cut lands, the
    frames wsdissect shows are the whole capture's, on the same packets; with --decode-as a direction loses at
    most the frame the capture starts in (the heuristic gives up on a direction that starts inside a frame)."""
    source = _crafted_capture(cuts)
    upgrades = _cut_points(source)[0]
    c = cut_after(source, {s: f + k for s, f in upgrades.items()}, cuts, f"crafted-{k}.pcap")
    r = after_resync(c, decode_as)
    assert not r.wrong, f"{len(r.wrong)} packets differ, e.g. {r.wrong[:5]}"
    if decode_as:
        assert r.shown > 10 and all(n <= 1 for n in r.skipped.values()), r.skipped


def test_client_on_the_lower_port(cuts):
    """Without a handshake the side on the higher port is taken for the client first; here it is the server, which
    the heuristic finds out from the mask bits: the roles change mid-capture and the numbers stay tshark's."""
    source = _crafted(str(Path(cuts) / "low-client.pcap"), client=("10.0.0.1", 5000), server=("10.0.0.2", 60000))
    c = cut_after(source, _cut_points(source)[0], cuts, "low-client-cut.pcap")
    for decode_as in (True, False):
        wrong = differences(c.path, c.port, decode_as)
        assert not wrong, f"{len(wrong)} packets differ, e.g. {wrong[:5]}"
