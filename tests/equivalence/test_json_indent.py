"""The C JSON re-indenter and follow's C text rows (``_speedups.json_indent`` / ``text_row``) against the Python
path they stand in for: whenever C gives an answer it is byte for byte the Python path's (``json.dumps(json.loads
(text), indent=2, ensure_ascii=False)`` cut and made safe; the row ``TranscriptRows.row`` writes), on generated
JSON (escapes, unicode, floats of every magnitude, duplicate keys, white space anywhere), on near-JSON and on any
text; and common inputs do take the C path (so the comparisons are not vacuous)."""
from __future__ import annotations

import io
import json
import math
import random
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from wsdissect.events import Message
from wsdissect.options import Options
from wsdissect.render import text as text_module
from wsdissect.render.follow import FollowView
from wsdissect.render.text import JSON_LIMIT, safe
from wsdissect.run import dissect_files
from wsdissect.speedups import speedups

pytestmark = pytest.mark.skipif(speedups is None or not hasattr(speedups, "json_indent"),
                                reason="C speedups not built (or WSDISSECT_PURE_PYTHON)")

AWKWARD = ["\x00", "\x01", "\x1f", "\x7f", "\x85", "\x9f", "\xa0", "\u061c", "\u200b", "\u200f", "\u2028", "\u2029",
           "\u202e", "\u2060", "\u2069", "\ufeff", "\ufff9", "\ufffb", "\ufffd", "\ud800", "\udfff", "\U0001F600",
           "\u20ac", "\u2192", "\u65e5", "\t", "\n", "\r", "\b", "\f", '"', "\\", "/", "é", " "]
CHARS = st.sampled_from(AWKWARD) | st.characters() | st.sampled_from("abcxyz019 ")
WS = st.lists(st.sampled_from([" ", "\t", "\n", "\r", "\r\n", "  "]), max_size=2).map("".join)


@st.composite
def json_string(draw) -> str:
    """A JSON string token: each character raw, escaped by name, as \\uXXXX (either case) or a surrogate pair."""
    out = ['"']
    for ch in draw(st.lists(CHARS, max_size=8)):
        way = draw(st.integers(0, 3))
        cp = ord(ch)
        if ch in '"\\' or cp < 0x20 or way == 1:
            named = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                     "\t": "\\t"}.get(ch)
            out.append(named if named and way != 2 else _u_escape(cp, draw(st.booleans())))
        elif way == 2:
            out.append(_u_escape(cp, draw(st.booleans())))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _u_escape(cp: int, upper: bool) -> str:
    if cp >= 0x10000:
        cp -= 0x10000
        units = [0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)]
    else:
        units = [cp]
    text = "".join(f"\\u{u:04x}" for u in units)
    return text.upper().replace("\\U", "\\u") if upper else text


FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.floats(-1e-3, 1e-3) | st.floats(1e14, 1e18) | \
    st.floats(-1e6, 1e6)


@st.composite
def number(draw) -> str:
    """A number token: integers (-0 too), floats as repr writes them or with trailing zeros, fixed or exponent."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return str(draw(st.integers(-(1 << 80), 1 << 80)))
    if kind == 1:
        return draw(st.sampled_from(["-0", "0", "-0.0", "0.000", "1.0", "1E5", "1e-5", "2.5e+3", "1e400", "-1e400",
                                     "0.0001", "0.00001", "0.00010", "1234567890123456.0", "123456789012345.6",
                                     "9007199254740993", "1" * 700, "0." + "1" * 30, "5e-324", "1.7976931348623157e308"]))
    x = draw(FLOATS)
    if kind == 2:
        return repr(x)
    if kind == 3:
        return f"{x:.{draw(st.integers(0, 20))}f}"
    if kind == 4:
        return f"{x:.{draw(st.integers(0, 18))}{draw(st.sampled_from('eE'))}}"
    return repr(x) + "0" * draw(st.integers(1, 3)) if "e" not in repr(x) else repr(x)


def json_text(depth: int = 3):
    scalars = json_string() | number() | st.sampled_from(["true", "false", "null"])
    if depth == 0:
        return scalars
    inner = json_text(depth - 1)
    arrays = st.tuples(st.lists(st.tuples(WS, inner, WS), max_size=4), WS).map(
        lambda t: "[" + ",".join(a + v + b for a, v, b in t[0]) + (t[1] if not t[0] else "") + "]")
    keys = json_string() | st.sampled_from(['"a"', '"\\u0061"', '"b"', '"é"', '"\\u00e9"'])  # (duplicates likely)
    objects = st.tuples(st.lists(st.tuples(WS, keys, WS, WS, inner, WS), max_size=4), WS).map(
        lambda t: "{" + ",".join(a + k + b + ":" + c + v + d for a, k, b, c, v, d in t[0])
        + (t[1] if not t[0] else "") + "}")
    return scalars | arrays | objects


DOCUMENTS = st.tuples(WS, json_text(), WS).map("".join)


def python_transcript(text: str, limit: int) -> bytes | None:
    """The JSON answer of text.py's Python path (the C twin switched off), None where it shows text instead."""
    saved = text_module._c_json_indent
    text_module._c_json_indent = None
    try:
        shown, is_json = text_module.pretty_payload(text, limit)
        transcript, block = text_module.transcript_text(text, limit)
    finally:
        text_module._c_json_indent = saved
    if not is_json:
        return None
    expected = safe(shown, None, newlines=True).encode("utf-8", "surrogatepass")
    assert transcript == expected and block
    return expected


def reference(text: str, limit: int) -> bytes | None:
    """``json.dumps(json.loads(text), indent=2, ensure_ascii=False)`` cut and made safe, for an object or array."""
    if not text.lstrip(" \t\n\r")[:1] in ("{", "[") or len(text) > JSON_LIMIT:
        return None
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return None
    return safe(pretty[:limit], None, newlines=True).encode("utf-8", "surrogatepass")


def check(text: str, limit: int = 20000) -> bytes | None:
    fast = speedups.json_indent(text, limit)
    if fast is not None:
        assert fast == python_transcript(text, limit) == reference(text, limit), text
    return fast


@settings(max_examples=700, deadline=None)
@given(text=DOCUMENTS, limit=st.sampled_from([20000, 20000, 50, 7, 0]))
def test_generated_json_is_indented_as_the_python_path_does(text, limit):
    check(text, limit)


@settings(max_examples=300, deadline=None)
@given(text=DOCUMENTS, data=st.data())
def test_near_json_is_none_or_the_python_answer(text, data):
    """Random edits of JSON text (a character dropped, doubled, replaced or inserted)."""
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(chars)))
        edit = data.draw(st.sampled_from(["drop", "double", "replace", "insert"]))
        new = data.draw(st.sampled_from(list('{}[]",:.-+eE0\\u/ ') + AWKWARD) | st.characters())
        if edit == "insert" or at == len(chars):
            chars.insert(at, new)
        elif edit == "drop":
            del chars[at]
        elif edit == "double":
            chars.insert(at, chars[at])
        else:
            chars[at] = new
    check("".join(chars))


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40) | st.builds("{}{}".format, st.sampled_from(["{", "[", " [", "\n{", "\x1c{"]),
                                              st.text(max_size=40)))
def test_any_text_is_none_or_the_python_answer(text):
    check(text)


@settings(max_examples=500, deadline=None)
@given(x=FLOATS, digits=st.integers(0, 20), style=st.sampled_from("fre"))
def test_floats_are_written_as_repr(x, digits, style):
    token = repr(x) if style == "r" else f"{x:.{digits}{style}}"
    fast = speedups.json_indent(f"[{token}]", 1000)
    if math.isinf(float(token)):  # (rounded past the largest double: Infinity, left to Python)
        assert fast is None
        return
    assert fast == f"[\n  {json.dumps(json.loads(token))}\n]".encode(), token


def test_exact_cases():
    assert check('{"a": 1, "b": [true, false, null, {}, []], "c": {"d": "e"}}') == \
        b'{\n  "a": 1,\n  "b": [\n    true,\n    false,\n    null,\n    {},\n    []\n  ],\n  "c": {\n    "d": "e"\n  }\n}'
    assert check('[-0, -0.0, 1.50, 1E5, 0.00001]') == b"[\n  0,\n  -0.0,\n  1.5,\n  100000.0,\n  1e-05\n]"
    assert check('["\\/\\u0041\\u00e9\\ud83d\\ude00\\u0000\\u001F\\"\\\\"]') == \
        '[\n  "/Aé\U0001F600\\u0000\\u001f\\"\\\\"\n]'.encode()
    assert check(' \r\n\t[ 1 ,\n 2 ] \n') == b"[\n  1,\n  2\n]"
    assert check('{"a": [1, 2]}', 10) == b'{\n  "a": ['
    for declined in ('{"a": 1, "a": 2}', '{"a": 1, "\\u0061": 2}', "[NaN]", "[Infinity]", "[-Infinity]", "[1e400]",
                     '["\\ud800"]', '["\\udc00\\ud800"]', '["\x7f"]', '["\u202e"]', '["\x85"]', "[" + "1" * 700 + "]",
                     "[" * 200 + "]" * 200, "[1,]", "{,}", "[01]", '"a"', "1", "", "[1] x", '["a\tb"]', "\ufeff[]",
                     "\xa0[]", "[1.]", "[.5]", "[1e]", "[+1]", "[tru]", '{"a" 1}'):
        assert speedups.json_indent(declined, 20000) is None, declined
    assert speedups.json_indent("[1]", -1) is None


def test_duplicate_keys_are_found_in_large_objects_and_nested_ones_are_not_confused():
    keys = [f'"k{i}": {i}' for i in range(400)]
    assert check("{" + ", ".join(keys) + "}") is not None
    assert check("{" + ", ".join(keys + ['"k7": 0']) + "}") is None
    assert check('{"a": {"a": {"a": 1}}, "b": {"a": 2}}') is not None
    assert check("{" + ", ".join(f'"k{i}": 0' for i in range(600)) + "}") is None  # (more keys: Python decides)


def test_common_messages_take_the_c_path():
    """The messages follow and show -V mostly see: the C answer exists (the tests above cannot pass vacuously)."""
    samples = ['{"type":"tick","sym":"日経225","px":33746.04,"qty":2525,"seq":1,"ts":1700000000000,"pad":"xx"}',
               '{"type":"tick","sym":"€STOXX","px":1107.90,"qty":144}', '[1,2,3]', '{"op":"subscribe","args":[]}',
               '{"jsonrpc":"2.0","id":7,"result":{"ok":true,"v":null,"x":-1.5e-3}}']
    for text in samples:
        assert check(text) is not None, text
    rng = random.Random(7)
    values = [{"id": rng.randrange(1 << 40), "px": round(rng.uniform(0, 1e5), rng.randrange(0, 6)),
               "name": "".join(rng.choice("abc€日 ") for _ in range(8)), "tags": ["a", "b"][:rng.randrange(3)]}
              for _ in range(300)]
    taken = sum(check(json.dumps(v, ensure_ascii=rng.random() < 0.5)) is not None for v in values)
    assert taken == len(values)


# ---- the whole row: text_row against TranscriptRows.row via FollowView._text (the C row switched off) ----

def _console(file, color: bool) -> Console:
    return Console(file=file, width=80, color_system="truecolor" if color else None, force_terminal=color,
                   no_color=not color, highlight=False, markup=False, emoji=False, legacy_windows=False)


def rows_of(texts: list[str], prefix: str, color: bool, c_rows: bool) -> tuple[bytes, int]:
    """What follow writes for these text messages (one head), and how many rows C built."""
    raw = io.BytesIO()
    file = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    view = FollowView(_console(file, color))
    taken = 0
    for text in texts:
        m = SimpleNamespace(text=text, payload=text.encode("utf-8", "surrogatepass"))
        if c_rows and view.rows.text_row(prefix, "magenta", text, m.payload):
            taken += 1
        else:
            view._text(m, prefix, "", "magenta")
    view.end()
    file.flush()
    return raw.getvalue(), taken


ROW_TEXTS = DOCUMENTS | st.text(max_size=30) | st.lists(CHARS, max_size=12).map("".join) | \
    st.builds("{}\n{}".format, st.text(max_size=10), st.text(max_size=10))


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(ROW_TEXTS, min_size=1, max_size=4), prefix=st.sampled_from(["  0.000001 → ", "[#3] ← ", ""]),
       color=st.booleans())
def test_text_rows_are_the_python_rows(texts, prefix, color):
    fast, _ = rows_of(texts, prefix, color, True)
    slow, taken = rows_of(texts, prefix, color, False)
    assert fast == slow


def test_common_text_rows_take_the_c_path():
    texts = ['{"a": [1, 2.50, "x\\ty"]}', "plain text", "tab\tand more", "two\nlines\twith tab", "", "日経 €",
             '[{"deep": {"er": [[]]}}]', '  {"lead": "space"}']
    for color in (False, True):
        fast, taken = rows_of(texts, "[#1]   0.000100 ← ", color, True)
        assert taken == len(texts)
        assert fast == rows_of(texts, "[#1]   0.000100 ← ", color, False)[0]


def test_text_rows_decline_what_python_must_decide():
    for text in ("bad \x1b[31m", "cr\r\n", '{"a": 1, "a": 2}', "{not json", " leading space", "\u202e"):
        assert speedups.text_row(text, text.encode(), 1000, b"", b"\n", b"  ") is None, text
    deep = "[" * 60 + "]" * 60  # indented: far more than 8 characters per character
    assert speedups.text_row(deep, deep.encode(), len(deep) * 8 + 64, b"", b"\n", b"  ") is None
    wrong = "日経"  # a payload that is not the text's UTF-8 is not trusted
    assert speedups.text_row(wrong, b"abc", 1000, b"", b"\n", b"") == b"text          3 B  \xe6\x97\xa5\xe7\xb5\x8c\n"


def test_follow_of_a_capture_is_the_same_with_and_without_c_rows(tmp_path):
    """A whole follow transcript (JSON, plain text, pings, binary, close) with the C rows and with the Python
    rows only."""
    from tests.equivalence.test_follow_rows import _capture

    events = list(dissect_files([_capture(tmp_path)], Options()))
    outputs = []
    for c_rows in (True, False):
        raw = io.BytesIO()
        file = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        view = FollowView(_console(file, True))
        rows = view.rows
        rows.fast = c_rows
        taken = []
        c_run, c_row = rows._c_rows, rows._c_row
        rows._c_rows = lambda evs, start, *a: taken.append(-start) or taken.append(c_run(evs, start, *a)) or taken[-1]
        rows._c_row = lambda *a: taken.append(c_row(*a) is not None) or c_row(*a)
        batch = []
        for ev in events:  # (in packet-sized lists, as the driver gives them)
            batch.append(ev)
            if ev.__class__ is not Message or len(batch) >= 3:
                view.events(batch)
                batch = []
        view.events(batch)
        view.end()
        file.flush()
        outputs.append(raw.getvalue())
        assert (sum(taken) > 600) == c_rows
    assert outputs[0] == outputs[1]


def test_float_fast_path_matches_repr_exhaustively_on_short_decimals():
    """Tokens of up to 15 digits without exponent are written as they are (trailing zeros dropped): check the
    rule against repr on a sweep of magnitudes and digit counts."""
    rng = random.Random(1)
    for _ in range(20000):
        whole = str(rng.randrange(10 ** rng.randrange(0, 17)))
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 18)))
        if rng.random() < 0.3:
            whole, frac = "0", "0" * rng.randrange(0, 6) + frac
        token = ("-" if rng.random() < 0.3 else "") + whole + "." + frac
        fast = speedups.json_indent(f"[{token}]", 100)
        assert fast == f"[\n  {float(token)!r}\n]".encode(), token
