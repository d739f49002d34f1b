"""The detail tree as data: labelled nodes with an optional style and the byte range they cover in the packet.

Built once by :mod:`wsdissect.render.tree`, drawn for ``show -V`` as plain lines with rich's tree guides
(:func:`tree_lines`; rich itself, :func:`to_rich`, only for a tree with a label that does not fit on one line) and
by Textual's Tree in the TUI.  Labels are plain, already escaped text (never markup).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional

from rich.cells import cell_len
from rich.text import Text
from rich.tree import Tree

Span = tuple[int, int]  # [start, end) byte offsets in the packet's captured bytes


@dataclass(slots=True)
class Node:
    """One line of the detail tree and the lines under it."""

    label: str
    style: str = ""
    span: Optional[Span] = None
    children: list[Node] = field(default_factory=list)

    def add(self, label: str, style: str = "", span: Optional[Span] = None) -> Node:
        """Append a child and return it."""
        child = Node(label, style, span)
        self.children.append(child)
        return child

    def text(self) -> Text:
        return Text(self.label, style=self.style)


def to_rich(node: Node) -> Tree | Text:
    """*node* as rich renders it: a bare line when it has no children, a Tree otherwise."""
    if not node.children:
        return node.text()
    tree = Tree(node.text())
    _add_children(tree, node)
    return tree


def _add_children(tree: Tree, node: Node) -> None:
    for child in node.children:
        branch = tree.add(child.text())
        _add_children(branch, child)


class Guides(NamedTuple):
    """The guide strings of rich's Tree for one console: space, continue, fork, end."""

    space: str
    cont: str
    fork: str
    end: str

    @classmethod
    def of(cls, ascii_only: bool) -> "Guides":
        """rich's guides: ASCII ones when the console cannot write Unicode (``console.options.ascii_only``)."""
        return cls(*(Tree.ASCII_GUIDES if ascii_only else Tree.TREE_GUIDES[0]))


Codes = Callable[[str], tuple[str, str]]  # a style -> the codes that open and close it ('' and '' without colour)


def tree_lines(node: Node, width: int, guides: Guides, codes: Codes) -> list[str] | None:
    """*node* drawn as rich draws ``to_rich(node)`` on a console *width* cells wide, one string per line (with
    its newline); None when a label would not be a single line there (rich wraps it: draw it with rich)."""
    out: list[str] = []
    return out if _lines([node], "", "", "", width, guides, codes, out) else None


def _lines(nodes: list[Node], indent: str, fork: str, end: str, width: int, guides: Guides, codes: Codes,
           out: list[str]) -> bool:
    """Append the lines of *nodes* (siblings under *indent*; the last one's guide is *end*, the others' *fork*);
    False as soon as a label does not fit."""
    room = width - len(indent) - len(fork)  # (every guide character is one cell wide)
    if room < 1:
        return False
    fork_line, end_line = indent + fork, indent + end
    last = len(nodes) - 1
    append = out.append
    for i, node in enumerate(nodes):
        label = node.label
        if not label.isprintable() or (len(label) > room if label.isascii() else cell_len(label) > room):
            return False
        if node.style and label:
            on, off = codes(node.style)
            label = on + label + off
        append((end_line if i == last else fork_line) + label + "\n")
        if node.children:
            inner = indent + (guides.space if i == last else guides.cont) if fork else ""
            if not _lines(node.children, inner, guides.fork, guides.end, width, guides, codes, out):
                return False
    return True


def field_span(start: int, length: int, limit: int) -> Optional[Span]:
    """``(start, start + length)`` when that range lies within the first *limit* bytes, else None."""
    if start < 0 or length <= 0 or start + length > limit:
        return None
    return start, start + length
