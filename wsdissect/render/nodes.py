"""The detail tree as data: labelled nodes with an optional style and the byte range they cover in the packet.

Built once by :mod:`wsdissect.render.tree`, drawn for ``show -V`` as plain lines with rich's tree guides
(:func:`tree_lines`; rich itself, :func:`to_rich`, only for a tree with a label that does not fit on one line) and
by Textual's Tree in the TUI.  Labels are plain, already escaped text (never markup).  The common packets of
``show -V`` build no nodes at all: :class:`Pen` draws their labels straight to the same text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Optional

from rich.cells import cell_len
from rich.text import Text
from rich.tree import Tree

from ..speedups import speedups

Span = tuple[int, int]  # [start, end) byte offsets in the packet's captured bytes
_c_leaves = getattr(speedups, "tree_leaves", None)  # the C twin of Pen.leaves_text's drawing, when built


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
Wrap = Callable[[str, int], list[str]]  # an unstyled label, cells -> its lines as rich lays it out, with newlines


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
    fork_line = indent + fork
    last = len(nodes) - 1
    append = out.append
    for i, node in enumerate(nodes):
        label = node.label
        if not fits(label, room):
            return False
        style = node.style
        if style and label:
            on, off = codes(style)
            label = on + label + off
        if i == last:
            append(indent + end + label + "\n")
        else:
            append(fork_line + label + "\n")
        children = node.children
        if children:
            inner = indent + (guides.space if i == last else guides.cont) if fork else ""
            if not _lines(children, inner, guides.fork, guides.end, width, guides, codes, out):
                return False
    return True


def fits(label: str, room: int) -> bool:
    """*label* is one printable line of at most *room* cells (else rich would wrap it)."""
    n = len(label)  # (a character is at most two cells wide: a short label fits without measuring it)
    return label.isprintable() and not (n + n > room and (n > room if label.isascii() else cell_len(label) > room))


class Pen:
    """Draws the common shapes of the detail tree straight to text, as :func:`tree_lines` draws their nodes (the
    hot path of ``show -V``: no node per line).  Labels are checked a group at a time; a drawing method is called
    only after :meth:`fits` said yes for its labels.  *wrap*: rich's layout of a label too long for its line."""

    def __init__(self, width: int, guides: Guides, codes: Codes, wrap: Wrap | None = None):
        self.width, self.codes, self.wrap, self.guides = width, codes, wrap, guides
        self.space, self.cont, self.fork, self.end = guides
        self.step = len(guides.fork)  # (rich's guides are all as wide)
        self.rooms = [width - self.step * depth for depth in range(5)]  # cells for a label at each depth
        self.memo: dict = {}  # drawings of constant groups of lines, by their drawers' keys

    def fits(self, labels: list[str] | tuple[str, ...], depth: int) -> bool:
        """Each of *labels* fits as a line *depth* levels down (0: a top-level node)."""
        if not labels:
            return True
        room = self.rooms[depth]
        joined = "".join(labels)
        if room < 1 or not joined.isprintable():
            return False
        longest = max(map(len, labels))
        if longest + longest <= room:  # (a character is at most two cells wide)
            return True
        if joined.isascii():  # one cell per character
            return longest <= room
        return all(fits(label, room) for label in labels)

    def fit_plain(self, labels: list[str], depth: int) -> bool:
        """:meth:`fits` for labels made of constants, numbers and addresses (printable ASCII by construction:
        only their length counts)."""
        room = self.rooms[depth]
        return room > 0 and max(map(len, labels)) <= room if labels else True

    def styled(self, label: str, style: str) -> str:
        """A top-level line in *style*."""
        if not style or not label:
            return label + "\n"
        on, off = self.codes(style)
        return on + label + off + "\n"

    def leaves(self, indent: str, labels: list[str] | tuple[str, ...], last: bool = True) -> str:
        """*labels* as sibling leaves under *indent*; the last one closes the group when *last*."""
        if not labels:
            return ""
        fork = indent + self.fork
        if not last:
            return fork + ("\n" + fork).join(labels) + "\n"
        if len(labels) == 1:
            return indent + self.end + labels[0] + "\n"
        return fork + ("\n" + fork).join(labels[:-1]) + "\n" + indent + self.end + labels[-1] + "\n"

    def leaves_text(self, indent: str, text: str, depth: int, limit: int) -> str | None:
        """The first *limit* lines of *text* as :meth:`leaves` under *indent*, *depth* levels down; None when one
        is not printable or does not fit (:meth:`fits`)."""
        if _c_leaves is not None:
            drawn = _c_leaves(text, indent + self.fork, indent + self.end, self.rooms[depth], limit)
            if drawn is not None:
                return drawn
        lines = text.split("\n")[:limit]
        return self.leaves(indent, lines) if self.fits(lines, depth) else None

    def branch(self, indent: str, label: str, last: bool) -> tuple[str, str]:
        """A child with children of its own: its line under *indent*, and the indent of its children."""
        if last:
            return indent + self.end + label + "\n", indent + self.space
        return indent + self.fork + label + "\n", indent + self.cont

    def long_branch(self, indent: str, label: str, last: bool, depth: int) -> tuple[str, str] | None:
        """:meth:`branch` for an unstyled label at *depth* that may not fit: then the lines rich wraps it into,
        the later ones under the guides of its children (None when the pen has no *wrap*)."""
        if fits(label, self.rooms[depth]):
            return self.branch(indent, label, last)
        if self.wrap is None:
            return None
        inner = indent + (self.space if last else self.cont)
        first, *rest = self.wrap(label, self.rooms[depth])
        return indent + (self.end if last else self.fork) + first + "".join(inner + line for line in rest), inner


def field_span(start: int, length: int, limit: int) -> Optional[Span]:
    """``(start, start + length)`` when that range lies within the first *limit* bytes, else None."""
    if start < 0 or length <= 0 or start + length > limit:
        return None
    return start, start + length
