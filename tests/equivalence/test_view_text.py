"""The views' fast text paths give exactly what the reference paths give: JSON pretty-printed through orjson
(``render.text.pretty_payload``) equals ``json.dumps(json.loads(t), indent=2, ensure_ascii=False)``, and detail trees
drawn as plain lines (``render.nodes.tree_lines``) equal rich's Tree, with and without colour."""
from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from wsdissect.render.lines import LineWriter
from wsdissect.render.nodes import Guides, Node, to_rich, tree_lines
from wsdissect.render.text import pretty_payload

SCALARS = (st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(value=st.lists(JSON, max_size=3) | st.dictionaries(st.text(max_size=6), JSON, max_size=3),
       spaced=st.booleans())
def test_pretty_payload_equals_the_json_module(value, spaced):
    text = json.dumps(value, ensure_ascii=spaced, separators=(", ", ": ") if spaced else (",", ":"))
    expected = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    assert pretty_payload(text) == (expected, True)


def test_pretty_payload_what_orjson_reads_differently():
    for text in ('[1e400]', '[NaN]', '[1e16, 1e-05]', '["\\ud800"]', '[100000000000000000000000]',
                 '{"a": 1, "a": 2}', '[0.00001]'):
        assert pretty_payload(text) == (json.dumps(json.loads(text), indent=2, ensure_ascii=False), True)
    assert pretty_payload("{not json") == ("{not json", False)


LABELS = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30) | st.text(
    st.characters(min_codepoint=32, max_codepoint=0x9fff, blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(
    ["", "plain label", "x" * 70, " trailing  ", "wide 漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字", "tab\there", "two\nlines"])
STYLES = st.sampled_from(["", "bold", "green", "bright_cyan", "bold red", "dim"])
NODES = st.recursive(st.builds(Node, LABELS, STYLES),
                     lambda kids: st.builds(Node, LABELS, STYLES, st.none(), st.lists(kids, max_size=4)),
                     max_leaves=25)


def _drawn(node: Node, width: int, color: bool) -> tuple[str, str]:
    """*node* printed by rich, and drawn from ``tree_lines`` (rich where it returns None)."""
    def console(buf):
        return Console(file=buf, width=width, color_system="truecolor" if color else None, force_terminal=color,
                       no_color=not color, highlight=False, markup=False, emoji=False, legacy_windows=False)

    ref, fast = io.StringIO(), io.StringIO()
    console(ref).print(to_rich(node))
    fc = console(fast)
    out = LineWriter(fc)
    lines = tree_lines(node, width, Guides.of(False), out.style)
    if lines is None:
        fc.print(to_rich(node))
    else:
        out.lines(lines)
        out.flush()
    return ref.getvalue(), fast.getvalue()


@settings(max_examples=300, deadline=None)
@given(node=NODES, width=st.integers(16, 120), color=st.booleans())
def test_tree_lines_equal_rich(node, width, color):
    ref, fast = _drawn(node, width, color)
    assert fast == ref


def test_tree_lines_leave_wrapping_to_rich():
    node = Node("root", "bold", children=[Node("a" * 50), Node("short", "green", children=[Node("leaf")])])
    def plain(_style):
        return "", ""

    assert tree_lines(node, 40, Guides.of(False), plain) is None
    assert tree_lines(node, 80, Guides.of(False), plain) == ["root\n", f"├── {'a' * 50}\n", "└── short\n",
                                                             "    └── leaf\n"]
    assert tree_lines(node, 80, Guides.of(True), lambda style: (f"<{style}>", "</>")) == [
        "<bold>root</>\n", f"+-- {'a' * 50}\n", "`-- <green>short</>\n", "    `-- leaf\n"]
    assert tree_lines(Node("tab\tlabel"), 80, Guides.of(False), plain) is None
