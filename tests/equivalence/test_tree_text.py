"""``show -V`` draws the common packets straight to text (``TreeBuilder.text`` with ``render.nodes.Pen``): that text
is exactly what the nodes of the same packets give (``TreeBuilder.nodes``, drawn by ``tree_lines`` or rich), at any
width, with and without colour, and ``Pen`` draws and measures a group of lines as ``tree_lines`` does."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from tests.equivalence.test_view_text import LABELS
from tests.golden._support import SAMPLES, run_cli
from wsdissect.render import tree
from wsdissect.render.nodes import Guides, Node, Pen, to_rich, tree_lines

CAPTURES = sorted(SAMPLES.glob("*.pcap"))


def _plain(_style: str) -> tuple[str, str]:
    return "", ""


@pytest.mark.parametrize("width,color", [(160, "never"), (64, "always"), (34, "never")])
@pytest.mark.parametrize("path", CAPTURES, ids=[p.stem for p in CAPTURES])
def test_text_equals_the_nodes_drawn(path, width, color, monkeypatch):
    drawn = []
    text = tree.TreeBuilder.text

    def counted(*args):
        out = text(*args)
        drawn.append(out is not None)
        return out

    monkeypatch.setattr(tree.TreeBuilder, "text", counted)
    fast = run_cli(["show", "-V", str(path)], color, width)
    monkeypatch.setattr(tree.TreeBuilder, "text", lambda *args: None)
    slow = run_cli(["show", "-V", str(path)], color, width)
    assert (fast.exit_code, fast.stdout) == (slow.exit_code, slow.stdout)
    if width == 160 and "tunnel" not in path.stem and "wss" not in path.stem:
        assert sum(drawn) >= 10  # the text path was taken (application units and HTTP are drawn from nodes)


@settings(max_examples=300, deadline=None)
@given(labels=st.lists(LABELS, min_size=1, max_size=6), depth=st.integers(1, 3), width=st.integers(12, 90),
       ascii_only=st.booleans())
def test_pen_draws_a_group_as_tree_lines(labels, depth, width, ascii_only):
    """*labels* as the last children of a chain *depth* - 1 deep: drawn and measured by the pen, or by tree_lines."""
    guides = Guides.of(ascii_only)
    pen = Pen(width, guides, _plain)
    chain = root = Node("root")
    indent, text = "", "root\n"
    for _ in range(depth - 1):
        chain = chain.add("inner")
        line, indent = pen.branch(indent, "inner", True)
        text += line
    chain.children = [Node(label) for label in labels]
    expected = tree_lines(root, width, guides, _plain)
    if not all(pen.fits(["inner"], d) for d in range(1, depth)):
        assert expected is None
    elif pen.fits(labels, depth):
        assert expected == (text + pen.leaves(indent, labels)).splitlines(keepends=True)
    else:
        assert expected is None


@settings(max_examples=200, deadline=None)
@given(words=st.lists(LABELS, min_size=1, max_size=14), width=st.integers(20, 100), color=st.booleans(),
       last=st.booleans())
def test_pen_wraps_a_long_label_as_rich(words, width, color, last):
    """A label too long for its line (or not printable) comes out of ``long_branch`` in rich's lines."""
    label = " ".join(words)
    buffers = io.StringIO(), io.StringIO()
    ref, mine = (Console(file=buf, width=width, color_system="truecolor" if color else None, force_terminal=color,
                         no_color=not color, highlight=False, markup=False, emoji=False, legacy_windows=False)
                 for buf in buffers)
    root = Node("root", "bold", children=[Node("Payload", children=[Node(label)])])
    if not last:
        root.add("tail")
    ref.print(to_rich(root))
    pen = tree.DetailView(mine).pen
    payload, inner = pen.branch("", "Payload", last)
    drawn = pen.long_branch(inner, label, True, 2)
    assert drawn is not None
    text = pen.styled("root", "bold") + payload + drawn[0] + ("" if last else pen.leaves("", ["tail"]))
    assert text == buffers[0].getvalue()
