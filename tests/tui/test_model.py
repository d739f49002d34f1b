"""The TUI's data side, without a screen: rows, details decoded again, byte ranges, the filter language."""
from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console

from tests.golden._support import CAPTURES, capture, run_cli
from wsdissect.cli import _display, _filter, _filter_options
from wsdissect.errors import UsageError
from wsdissect.events import WsFrame
from wsdissect.options import Options
from wsdissect.run import dissect_files
from wsdissect.render.nodes import to_rich
from wsdissect.render.packets import group_by_packet
from wsdissect.render.tree import TreeBuilder, payload_start, ws_offset
from wsdissect.render.ws_tree import frame_spans
from wsdissect.tui.filter_text import FilterLanguage
from wsdissect.tui.hexview import hex_text
from wsdissect.tui.model import CaptureIndex, IndexFeeder, decode_file
from wsdissect.tui.redecode import packet_detail

LANGUAGE = FilterLanguage(_filter_options, _filter, _display)


def _index(path: str, text: str = "") -> CaptureIndex:
    index = CaptureIndex(path)
    decode_file(path, Options(), IndexFeeder(index, LANGUAGE.parse(text), threading.Event()))
    assert index.done and index.error is None
    return index


def _render(nodes_per_packet: list) -> str:
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None, markup=False, highlight=False, emoji=False)
    for i, nodes in enumerate(nodes_per_packet):
        if i:
            console.print()
        for node in nodes:
            console.print(to_rich(node))
    return out.getvalue()


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("filter_text", ["", "stream 0 opcode text"])
def test_details_decoded_again_are_the_trees_of_show_V(name: str, filter_text: str) -> None:
    """Every packet's tree, rebuilt from its connection alone, is the tree `show -V` prints (same filter)."""
    index = _index(capture(name), filter_text)
    trees = [packet_detail(index, i, Options(), LANGUAGE.parse(filter_text)).nodes for i in range(len(index.rows))]
    expected = run_cli(["show", "-V", capture(name), *(f"--{filter_text}".replace(" opcode", " --opcode").split()
                                                       if filter_text else [])])
    assert expected.exit_code == 0
    assert _render(trees) == expected.text


@pytest.mark.parametrize("name", CAPTURES)
def test_rows_are_the_lines_of_show(name: str) -> None:
    from wsdissect.render.packets import packet_line

    index = _index(capture(name))
    lines = [packet_line(r, index.first_ts).plain for r in index.rows]
    shown = run_cli(["show", capture(name)], width=1000).text.splitlines()[1:]
    assert [line.rstrip() for line in lines] == [line.rstrip() for line in shown]
    assert {r.stream for r in index.rows} == set(index.conn_frames)
    assert sum(len(f) for f in index.conn_frames.values()) == len(index.rows)


@pytest.mark.parametrize("name", CAPTURES)
def test_websocket_header_ranges_point_at_the_header_bytes(name: str) -> None:
    """Every frame whose header lies in the packet that completes it gets a header range, and those bytes are the
    header; payload ranges stay inside the packet's TCP payload."""
    builder, with_header = TreeBuilder(), 0
    for pkt, events in group_by_packet(dissect_files([capture(name)], Options(packets=True, frames=True))):
        if pkt is None:
            continue
        for f in (e for e in events if e.__class__ is WsFrame):
            spans = frame_spans(f, ws_offset(pkt, f), payload_start(pkt), pkt.data)
            if f.first_frame == pkt.frame:
                assert spans.header_ok, (name, pkt.frame)
                start, end = spans.header(0, len(f.header))
                assert pkt.data[start:end] == f.header
                with_header += 1
            payload = spans.payload()
            if payload is not None:
                assert payload_start(pkt) <= payload[0] < payload[1] <= len(pkt.data)
    assert with_header > 0


def test_node_ranges_of_a_websocket_packet() -> None:
    index = _index(capture("aiohttp_mixed"))
    pos = next(i for i, r in enumerate(index.rows) if r.protocol == "WebSocket")
    detail = packet_detail(index, pos, Options())
    data = detail.packet.data
    roots = {n.label.split(",")[0]: n for n in detail.nodes}
    assert roots["Ethernet II"].span == (0, 14)
    assert roots[f"Internet Protocol Version {detail.packet.ip_version}"].span == (14, detail.packet.tcp_offset)
    tcp = roots["Transmission Control Protocol"]
    assert tcp.span[0] == detail.packet.tcp_offset and tcp.children[0].span == (tcp.span[0], tcp.span[0] + 2)
    ws = roots["WebSocket"]
    assert ws.span is not None and ws.span[1] <= len(data)
    fin = ws.children[0]
    assert fin.label.endswith("Fin: True") and data[fin.span[0]] & 0x80


def test_http_head_range_is_the_head() -> None:
    index = _index(capture("aiohttp_mixed"))
    pos = next(i for i, r in enumerate(index.rows) if r.info.startswith("GET "))
    detail = packet_detail(index, pos, Options())
    http = next(n for n in detail.nodes if n.label == "Hypertext Transfer Protocol")
    start, end = http.span
    assert detail.packet.data[start:end].startswith(b"GET ") and detail.packet.data[start:end].endswith(b"\r\n\r\n")
    first = http.children[0]
    assert detail.packet.data[first.span[0]:first.span[1]].endswith(b"\r\n")


def test_hex_text_highlights_exactly_the_range() -> None:
    def highlighted(span):
        text, line = hex_text(bytes(range(48)), span)
        return [text.plain[s.start:s.end] for s in text.spans], line

    assert highlighted((14, 18)) == (["0e 0f", "..", "10 11", ".."], 0)
    assert highlighted((7, 9)) == (["07  08", ".."], 0)
    assert highlighted((40, 48)) == (["28 29 2a 2b 2c 2d 2e 2f", "()*+,-./"], 2)
    assert highlighted(None) == ([], 0)


@pytest.mark.parametrize("text, message", [
    ("stream x", "'x' is not a valid integer"),
    ("opcode nonsense", "--opcode 'nonsense'"),
    ("regex (", "--regex '('"),
    ("stream 1 bogus", "unexpected extra argument"),
    ("bogus 3", "display filter: column 7"),
    ("websocket.opcode ==", "display filter: column 20"),
    ("stream 1 -Y 'tcp.port =='", "display filter: column"),
    ("match 'unclosed", "No closing quotation"),
])
def test_filter_errors_are_one_line(text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        LANGUAGE.parse(text)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_filter_language_spellings() -> None:
    for text in ("stream 2 opcode text", "--stream 2 --opcode text", "stream=2 opcode=text"):
        flt = LANGUAGE.parse(text)
        assert flt.options.streams == frozenset({2}) and flt.options.opcodes == frozenset({1})
        assert flt.display is None
    assert LANGUAGE.parse("  ") is None
    assert LANGUAGE.text_of({"streams": (1, 2), "match": "a b", "opcodes": ()}) == "stream 1 stream 2 match 'a b'"


def test_stopping_ends_the_worker_early(tmp_path) -> None:
    index, stop = CaptureIndex(capture("asr_28002")), threading.Event()
    stop.set()
    decode_file(index.source, Options(), IndexFeeder(index, None, stop))
    assert index.done and len(index.rows) <= 1


def test_a_damaged_capture_keeps_what_was_read_and_says_why(tmp_path) -> None:
    data = open(capture("aiohttp_mixed"), "rb").read()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:len(data) // 2])
    index = _index(str(cut))
    assert 0 < len(index.rows) < 40 and index.warnings
    assert packet_detail(index, len(index.rows) - 1, Options()) is not None


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("text, args", [
    ("websocket.opcode == 1 && tcp.stream == 0", ["-Y", "websocket.opcode == 1 && tcp.stream == 0"]),
    ('http or websocket.payload contains "a"', ["-Y", 'http or websocket.payload contains "a"']),
    ("direction s2c -Y 'websocket'", ["--direction", "s2c", "-Y", "websocket"]),
])
def test_display_filter_in_the_bar_selects_what_show_Y_shows(name: str, text: str, args: list) -> None:
    """The filter bar takes Wireshark's syntax (as ``-Y``): the same rows as ``show``, the same trees as
    ``show -V`` (details decoded again from one connection), the same statistics totals as ``stats``."""
    from wsdissect.render.packets import packet_line

    bar = LANGUAGE.parse(text)
    assert bar is not None and bar.display is not None
    index = _index(capture(name), text)
    lines = [packet_line(r, index.first_ts).plain.rstrip() for r in index.rows]
    shown = run_cli(["show", capture(name), *args], width=1000)
    assert shown.exit_code == 0
    expected = [line.rstrip() for line in shown.text.splitlines()[1:] if line.strip() != "(no packets matched)"]
    assert lines == expected
    trees = [packet_detail(index, i, Options(), LANGUAGE.parse(text)).nodes for i in range(len(index.rows))]
    if trees:
        assert _render(trees) == run_cli(["show", "-V", capture(name), *args]).text


def test_text_of_gives_the_display_filter_back() -> None:
    assert LANGUAGE.text_of({"display": "websocket"}) == "websocket"
    assert LANGUAGE.text_of({"streams": (1,), "display": "tcp.len > 5"}) == "stream 1 -Y 'tcp.len > 5'"
    for params in ({"display": "websocket"}, {"streams": (1,), "display": "tcp.len > 5"}):
        bar = LANGUAGE.parse(LANGUAGE.text_of(params))
        assert bar.display is not None and (bar.options is not None) == ("streams" in params)


def test_details_of_a_midstream_capture_are_the_trees_of_show_V() -> None:
    """Frames the heuristic decodes from held bytes are on their own packets in the rebuilt trees too."""
    from tests.conftest import CORPUS

    path = CORPUS / "variant_midstream_start" / "capture.pcap"
    if not path.exists():
        pytest.skip("the shared corpus is not there")
    index = _index(str(path))
    trees = [packet_detail(index, i, Options()).nodes for i in range(len(index.rows))]
    expected = run_cli(["show", "-V", str(path)])
    assert expected.exit_code == 0 and "\nWebSocket\n" in expected.text.split("Frame 3:")[0]
    assert _render(trees) == expected.text
