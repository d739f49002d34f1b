"""The C drawing of ``show -V``'s common parts (``_speedups.tree_head``, ``tree_leaves``, ``tree_frame``) is exactly
its Python twin's (``render.tree.packet_head``, ``render.nodes.Pen.leaves_text``, ``render.ws_tree._frame_text``)
wherever it draws, it draws the common cases, and a whole ``show -V`` with the C functions is the output without
them."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.equivalence.test_view_text import LABELS
from tests.golden._support import SAMPLES, run_cli
from wsdissect.events import Message, Packet, WsFrame
from wsdissect.flow import Conn
from wsdissect.render import nodes, tree, ws_tree
from wsdissect.render.nodes import Guides, Pen

pytestmark = pytest.mark.skipif(None in (tree._c_head, nodes._c_leaves, ws_tree._c_frame),
                                reason="C speedups not built")
CAPTURES = sorted(SAMPLES.glob("*.pcap"))


def _plain(_style: str) -> tuple[str, str]:
    return "", ""


def _pen(width: int, ascii_only: bool) -> Pen:
    return Pen(width, Guides.of(ascii_only), _plain)


BIG = st.integers(0, (1 << 32) - 1) | st.integers(-(1 << 62), 1 << 62)
TIMES = st.floats(allow_nan=True, allow_infinity=True) | st.floats(0, 2e9) | st.sampled_from([1700000000.000017, 0.0,
                                                                                              -0.0, 1e300, 5e-7])
ADDRESSES = st.sampled_from(["10.0.0.1", "2001:db8::1", "fe80::1%eth0", "", "x" * 300]) | st.text(max_size=20)


@st.composite
def packets(draw) -> Packet:
    seq, ack = draw(BIG), draw(BIG)
    return Packet(frame=draw(st.integers(1, 1 << 40)), ts=draw(TIMES), wire_len=draw(BIG), cap_len=draw(BIG),
                  linktype=draw(st.sampled_from([1, 1, 1, 0, 101, 113, 276])), data=draw(st.binary(max_size=40)),
                  l3_offset=14, ip_version=draw(st.sampled_from([4, 6, 7])), src=draw(ADDRESSES), dst=draw(ADDRESSES),
                  sport=draw(st.integers(0, 65535)), dport=draw(BIG), seq=seq, ack=ack,
                  flags=draw(st.integers(0, 0x1FFF)), window=draw(BIG), tcp_offset=34, payload_len=draw(BIG),
                  conn=draw(st.none() | st.builds(Conn, BIG, st.just("a"), st.just(1), st.just("b"), st.just(2))),
                  rel_seq=draw(st.none() | BIG), rel_ack=draw(st.none() | BIG))


@settings(max_examples=600, deadline=None)
@given(p=packets(), prev=st.none() | TIMES, t0=TIMES, width=st.integers(1, 200), ascii_only=st.booleans())
def test_c_head_is_packet_head(p, prev, t0, width, ascii_only):
    pen = _pen(width, ascii_only)
    drawn = tree._c_head(p, prev, t0, pen.fork, pen.end, pen.width)
    expected = tree.packet_head(p, prev, t0, pen)
    if drawn is not None:
        assert drawn == expected
    plain = (p.linktype == 1 and len(p.data) >= 12 and p.flags < 4096 and all(
        v.isascii() and len(v) <= 256 for v in (p.src, p.dst)) and all(
        abs(v) < 1 << 58 for v in (p.wire_len, p.cap_len, p.dport, p.seq, p.ack, p.window, p.payload_len,
                                   *(v for v in (p.rel_seq, p.rel_ack) if v is not None),
                                   *((p.conn.index,) if p.conn else ()))))
    if plain and expected is not None:
        assert drawn is not None  # the common case is taken by C
    if expected is None and drawn is not None:
        pytest.fail("C drew a head its twin would not")


def test_c_head_takes_an_ordinary_packet():
    conn = Conn(3, "10.1.0.5", 60606, "10.0.0.1", 80)
    p = Packet(7, 1700000000.000193, 54, 54, 1, bytes(range(54)), 14, 4, "10.1.0.5", "10.0.0.1", 60606, 80,
               4023058619, 3900232167, 0x18, 65535, 34, 0, conn, "client_to_server", 1, 1)
    pen = _pen(160, False)
    drawn = tree._c_head(p, 1700000000.000141, 1700000000.000017, pen.fork, pen.end, pen.width)
    assert drawn is not None and drawn == tree.packet_head(p, 1700000000.000141, 1700000000.000017, pen)
    assert "├── [Time delta from previous captured frame: 0.000052000 seconds]\n" in drawn
    assert "├── Flags: 0x018 (PSH, ACK)\n└── Window: 65535\n" in drawn


def _python_leaves(pen: Pen, indent: str, text: str, depth: int, limit: int, monkeypatch) -> str | None:
    monkeypatch.setattr(nodes, "_c_leaves", None)
    try:
        return pen.leaves_text(indent, text, depth, limit)
    finally:
        monkeypatch.undo()


@settings(max_examples=600, deadline=None)
@given(lines=st.lists(LABELS, min_size=1, max_size=12), depth=st.integers(1, 4), width=st.integers(1, 100),
       limit=st.integers(1, 14), ascii_only=st.booleans(), indent=st.sampled_from(["", "    ", "│   ", "|   x"]))
def test_c_leaves_is_leaves_text(lines, depth, width, limit, ascii_only, indent):
    with pytest.MonkeyPatch.context() as mp:
        pen = _pen(width, ascii_only)
        text = "\n".join(lines)
        drawn = nodes._c_leaves(text, indent + pen.fork, indent + pen.end, pen.rooms[depth], limit)
        expected = _python_leaves(pen, indent, text, depth, limit, mp)
        if drawn is not None:
            assert drawn == expected
        kept = text.split("\n")[:limit]
        if expected is not None and max(map(len, kept)) * 2 <= pen.rooms[depth]:
            assert drawn is not None  # printable lines that surely fit are taken by C


def test_c_leaves_draws_pretty_json():
    pen = _pen(160, False)
    text = '{\n  "type": "tick",\n  "sym": "日経225"\n}'
    drawn = nodes._c_leaves(text, "    " + pen.fork, "    " + pen.end, pen.rooms[3], 400)
    assert drawn == ('    ├── {\n    ├──   "type": "tick",\n'
                     '    ├──   "sym": "日経225"\n    └── }\n')
    assert nodes._c_leaves("a\x1bb", pen.fork, pen.end, 100, 400) is None  # (escaped by the Python path)


@pytest.mark.parametrize("width,color", [(160, "never"), (60, "always"), (34, "never")])
@pytest.mark.parametrize("path", CAPTURES, ids=[p.stem for p in CAPTURES])
def test_show_v_with_c_is_show_v_without(path, width, color, monkeypatch):
    taken = []
    head = tree._c_head

    def counted(*args):
        out = head(*args)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(tree, "_c_head", counted)
    fast = run_cli(["show", "-V", str(path)], color, width)
    monkeypatch.setattr(tree, "_c_head", None)
    monkeypatch.setattr(nodes, "_c_leaves", None)
    monkeypatch.setattr(ws_tree, "_c_frame", None)
    slow = run_cli(["show", "-V", str(path)], color, width)
    assert (fast.exit_code, fast.stdout) == (slow.exit_code, slow.stdout)
    if width == 160 and "tunnel" not in path.stem and "wss" not in path.stem:
        assert sum(taken) >= 10  # the C path was taken


CONN = Conn(0, "10.0.0.1", 40000, "10.0.0.2", 80)
JSON_TEXTS = st.lists(LABELS, min_size=1, max_size=10).map("\n".join) | st.sampled_from(
    ['{\n  "type": "tick",\n  "sym": "日経225",\n  "pad": "' + "x" * 95 + '"\n}', "[]", "{\n  \"a\": \"\\u001b\"\n}"])


@st.composite
def frames(draw) -> WsFrame:
    masked = draw(st.booleans())
    return WsFrame(CONN, "server_to_client", 1, 1, 0.0, draw(st.booleans()), draw(st.integers(0, 7)),
                   draw(st.sampled_from([0, 1, 2])), masked,
                   draw(st.sampled_from([b"\x01\x02\x03\x04", b"", b"\xff" * 8])) if masked else draw(
                       st.none() | st.just(b"\x00\x00\x00\x00")), draw(st.sampled_from([1, 125, 126, 127, 0])),
                   draw(st.integers(1, 1 << 62)), b"", b"", draw(st.sampled_from([True, True, False])), 0)


@st.composite
def messages(draw) -> Message:
    usual = st.sampled_from([True, True, False])
    return Message(CONN, "server_to_client", draw(st.sampled_from([1, 1, 2])), b"{}", draw(usual), 1, 1, 0.0, 0.0,
                   draw(st.sampled_from([1, 1, 2])), not draw(usual), 2, text=draw(st.sampled_from(["{}", "{}", None])),
                   app=draw(st.sampled_from([None, None, ()])))


@settings(max_examples=600, deadline=None)
@given(f=frames(), msg=messages(), pretty=JSON_TEXTS, is_json=st.booleans(), deflate=st.booleans(),
       width=st.integers(1, 120), ascii_only=st.booleans(), lines=st.integers(1, 12), warm=st.booleans())
def test_c_frame_is_ws_text(f, msg, pretty, is_json, deflate, width, ascii_only, lines, warm):
    """With the header's drawing in the pen's memo (*warm*) or not: ``ws_text`` with C draws what it draws
    without (``_frame_text``), for messages C takes and others."""
    pen = _pen(width, ascii_only)
    if warm:
        ws_tree._drawn_header(f, deflate, pen)
    outs: list[list[str]] = [[], []]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ws_tree, "JSON_LINES", lines)
        mp.setattr(ws_tree, "pretty_payload", lambda text: (pretty, is_json) if is_json else (text, False))
        drawn = ws_tree._c_frame(f, msg, ws_tree.pretty_payload, pen.memo, deflate, pen.guides, pen.width, lines,
                                 20000)
        ok = ws_tree.ws_text(f, msg, [], deflate, pen, outs[0])
        mp.setattr(ws_tree, "_c_frame", None)
        assert ws_tree.ws_text(f, msg, [], deflate, pen, outs[1]) == ok
    assert "".join(outs[0]) == "".join(outs[1])
    if drawn is not None:
        assert ok and "".join(drawn) == "".join(outs[1])
    whole = f.opcode < 8 and msg.text and msg.opcode == 1 and msg.fragments == 1 and not msg.compressed \
        and msg.app is None
    plain = pretty.isascii() and pretty.replace("\n", "").isprintable()
    if whole and is_json and warm and ok and width >= 60 and plain and len(f.mask_key or b"") <= 8 \
            and f.payload_len < 1 << 58:
        assert drawn is not None  # the common case is taken by C
