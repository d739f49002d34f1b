"""The detail tree as data: labelled nodes with an optional style and the byte range they cover in the packet.

Built once by :mod:`wsdissect.render.tree`, drawn by rich for ``show -V`` (:func:`to_rich`) and by Textual's Tree
in the TUI.  Labels are plain, already escaped text (never markup).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

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


def field_span(start: int, length: int, limit: int) -> Optional[Span]:
    """``(start, start + length)`` when that range lies within the first *limit* bytes, else None."""
    if start < 0 or length <= 0 or start + length > limit:
        return None
    return start, start + length
