"""follow's fast paths give exactly what the reference paths give: ``text.transcript_text`` equals
``pretty_payload`` then ``safe`` (encoded), its no-escaping shortcut and ``safe``'s never skip a character that
needs escaping, and rows written as bytes (``TranscriptRows``) or through ``FollowView._say`` are the bytes rich
prints for the same lines (the ANSI codes of each style rendered once by rich), in the same order, with and
without colour."""
from __future__ import annotations

import io
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from tests.support.builders import Conversation, upgrade_request, upgrade_response, ws_frame
from wsdissect.options import Options
from wsdissect.render.follow import FollowView
from wsdissect.render.lines import LineWriter
from wsdissect.render.text import _UNSAFE, _may_need_escapes, pretty_payload, safe, transcript_text
from wsdissect.render.transcript import TranscriptRows
from wsdissect.run import dissect_files

AWKWARD = st.sampled_from(["\x1b[31m", "\u202e", "\u200b", "\x7f", "\x85", "\xa0", "\u2028", "\ufeff", "\t", "\n",
                           "\r", "\u20ac", "\u2192", "\u65e5", "\U0001F600", "\ud800", "\x00", '"', "\\"])
TEXT = st.lists(st.text(max_size=6) | AWKWARD, max_size=8).map("".join)
SCALARS = st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70) | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


def _reference(text: str, limit: int) -> tuple[bytes, bool]:
    shown, is_json = pretty_payload(text, limit)
    block = is_json or "\n" in shown
    return safe(shown, None, newlines=block).encode("utf-8", "surrogatepass"), block


@settings(max_examples=300, deadline=None)
@given(value=st.lists(JSON, max_size=3) | st.dictionaries(TEXT, JSON, max_size=3), spaced=st.booleans(),
       limit=st.sampled_from([20000, 40, 7]))
def test_transcript_text_of_json_equals_pretty_then_safe(value, spaced, limit):
    text = json.dumps(value, ensure_ascii=spaced, separators=(", ", ": ") if spaced else (",", ":"))
    assert transcript_text(text, limit) == _reference(text, limit)


@settings(max_examples=500, deadline=None)
@given(text=TEXT | st.builds("{}{}".format, st.sampled_from(["{", "[", " [", "\n{"]), TEXT))
def test_transcript_text_of_any_text_equals_pretty_then_safe(text):
    assert transcript_text(text) == _reference(text, 20000)


def test_a_lone_surrogate_is_escaped_not_written():
    assert safe("a\ud800b") == "a\\ud800b"
    assert transcript_text('{"a": "\\ud800"}') == (b'{\n  "a": "\\ud800"\n}', True)


def test_every_escaped_character_is_caught_by_the_shortcuts():
    """safe()'s shortcut (isprintable) and orjson output's (_may_need_escapes) see every character _UNSAFE escapes."""
    for cp in range(0x110000):
        ch = chr(cp)
        if _UNSAFE.match(ch):
            assert not ch.isprintable(), hex(cp)
            if cp >= 0x7F and not 0xD800 <= cp < 0xE000:
                assert _may_need_escapes(json.dumps([ch], ensure_ascii=False).encode()), hex(cp)
    assert not _may_need_escapes('["€ → 日経 café"]'.encode())


def _consoles(color: bool, width: int = 80):
    def make(file):
        return Console(file=file, width=width, color_system="truecolor" if color else None, force_terminal=color,
                       no_color=not color, highlight=False, markup=False, emoji=False, legacy_windows=False)
    return make


def _rows(make, prefix: str, body: str, style: str, block: str | None, extra, rtt: str) -> str:
    out = io.BytesIO()
    file = io.TextIOWrapper(out, encoding="utf-8", newline="")
    rows = TranscriptRows(LineWriter(make(file)))
    rows.row(prefix, body.encode(), style, None if block is None else block.encode(), extra, rtt)
    rows.flush()
    file.flush()
    return out.getvalue().decode()


PREFIXES = st.sampled_from(["  0.000001 → ", "[#3]   1.500000 ← "])
STYLES = st.sampled_from(["bright_cyan", "magenta"])


@settings(max_examples=200, deadline=None)
@given(prefix=PREFIXES, body=TEXT.map(safe), block=st.none() | TEXT.map(lambda t: safe(t, None, newlines=True)),
       extra=st.lists(st.tuples(TEXT.map(safe), st.sampled_from(["", "dim", "bold red"])), max_size=3),
       style=STYLES, color=st.booleans())
def test_rows_are_the_lines_rich_styles_give(prefix, body, block, extra, style, color):
    """A row: the head in its style's codes, the block indented, unstyled, each extra line in its own codes."""
    make = _consoles(color)
    codes = LineWriter(make(io.StringIO())).style
    on, off = codes(style)
    indent = " " * len(prefix)
    expected = f"{on}{prefix}{body}{off}\n"
    if block is not None:
        expected += indent + block.replace("\n", "\n" + indent) + "\n"
    for line, line_style in extra:
        on, off = codes(line_style)
        expected += f"{on}{indent}{line}{off}\n"
    assert _rows(make, prefix, body, style, block, extra, "") == expected


@settings(max_examples=100, deadline=None)
@given(prefix=PREFIXES, body=TEXT.map(safe), style=STYLES, color=st.booleans())
def test_a_row_with_a_round_trip_time_is_what_rich_prints(prefix, body, style, color):
    make = _consoles(color)
    ref = io.StringIO()
    line = Text(prefix, style=style)
    tail = Text(body, style=style)
    tail.append("  (rtt 1.000 ms)", style="dim")
    line.append_text(tail)
    make(ref).print(line, soft_wrap=True)
    assert _rows(make, prefix, body, style, None, (), "  (rtt 1.000 ms)") == ref.getvalue()


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60), width=st.integers(20, 70),
       wrap=st.booleans(), color=st.booleans())
def test_say_is_what_rich_prints(text, width, wrap, color):
    make = _consoles(color, width)
    ref = io.StringIO()
    console = make(ref)
    if text:
        console.print(Text(text, style="bold"), **({} if wrap else {"soft_wrap": True}))
    else:
        console.print()
    fast = io.StringIO()
    view = FollowView(make(fast))
    view._say(text, "bold" if text else "", wrap)
    view.rows.flush()
    assert fast.getvalue() == ref.getvalue()


def _capture(tmp_path) -> str:
    c = Conversation()
    req = upgrade_request()
    c.send(True, req)
    c.send(False, upgrade_response(req))
    for i in range(700):  # past one batch, so flushed rows and rich's lines interleave
        c.send(i % 3 == 0, ws_frame(1, json.dumps({"n": i, "s": "€" * (i % 3)}).encode(), mask=b"abcd"
                                    if i % 3 == 0 else None))
        if i % 250 == 0:
            c.send(True, ws_frame(9, b"p", mask=b"abcd"))
            c.send(False, ws_frame(10, b"p"))
            c.send(False, ws_frame(1, "tab\there \x1b[0m".encode()))
    c.close()
    return c.write(str(tmp_path / "rows.pcap"))


def test_binary_buffer_and_text_file_give_the_same_transcript(tmp_path):
    """The bytes path (a file with a UTF-8 buffer) and the text path (StringIO) write the same, in order."""
    path = _capture(tmp_path)
    events = list(dissect_files([path], Options()))
    for color in (False, True):
        make = _consoles(color, 100)
        text_file = io.StringIO()
        raw = io.BytesIO()
        buffered = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        for file in (text_file, buffered):
            view = FollowView(make(file))
            for ev in events:
                view.event(ev)
            view.end()
        buffered.flush()
        assert raw.getvalue().decode() == text_file.getvalue()
        lines = text_file.getvalue().splitlines()
        assert len(lines) > 700 * 3 and re.search(r"rtt [0-9.]+ ms", text_file.getvalue())
        assert "tab\\there \\x1b[0m" in text_file.getvalue()
