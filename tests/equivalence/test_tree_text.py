"""``show -V`` draws the common packets straight to text (``TreeBuilder.text`` with ``render.nodes.Pen``): that text
is exactly what the nodes of the same packets give (``TreeBuilder.nodes``, drawn by ``tree_lines`` or rich), at any
width, with and without colour, and ``Pen`` draws and measures a group of lines as ``tree_lines`` does."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.equivalence.test_view_text import LABELS
from tests.golden._support import SAMPLES, run_cli
from wsdissect.render import tree
from wsdissect.render.nodes import Guides, Node, Pen, tree_lines

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
