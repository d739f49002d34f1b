"""The detail tree pane: the nodes of ``render.tree`` in Textual's Tree, each carrying its byte range."""
from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..render.nodes import Node

EXPANDED = ("Hypertext Transfer Protocol", "WebSocket", "Expert Info")  # roots shown open


class DetailTree(Tree):
    """The detail tree; space belongs to the app (pause), Enter opens and closes nodes."""

    BINDINGS = [Binding("space", "app.pause", "Pause", show=False)]

    def show_nodes(self, nodes: list[Node]) -> None:
        """Show *nodes* as the roots; the cursor stays on the same line (as Wireshark keeps the field)."""
        line = max(self.cursor_line, 0)
        self.clear()
        for node in nodes:
            _add_node(self.root, node, node.label.startswith(EXPANDED))
        if nodes:
            self.call_after_refresh(self._restore_cursor, line)

    def _restore_cursor(self, line: int) -> None:
        self.cursor_line = min(line, self.last_line)


def _add_node(parent: TreeNode, node: Node, expand: bool) -> None:
    label = node.text()  # Text: labels are never parsed as markup
    if not node.children:
        parent.add_leaf(label, data=node.span)
        return
    branch = parent.add(label, data=node.span, expand=expand)
    for child in node.children:
        _add_node(branch, child, expand)
