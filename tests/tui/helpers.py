"""Running the TUI headless in tests."""
from __future__ import annotations

import time

from wsdissect.cli import _display, _filter, _filter_options
from wsdissect.options import Options
from wsdissect.tui.app import WsdissectApp
from wsdissect.tui.filter_text import FilterLanguage

LANGUAGE = FilterLanguage(_filter_options, _filter, _display)
SIZE = (130, 40)


def make_app(path: str, filter_text: str = "") -> WsdissectApp:
    return WsdissectApp(path, Options, LANGUAGE.parse, filter_text)


async def settle(pilot, timeout: float = 20.0) -> None:
    """Wait until the capture is read, the list has taken every row and the selected packet's tree is shown."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.01)
        packets = app.packet_list
        if app.index.done and packets.shown == len(app.index.rows) and not app.workers_busy():
            break
    await pilot.pause()  # the messages the workers posted
    await pilot.pause()


def tree_labels(app) -> list[str]:
    """The labels of the tree's nodes, depth first (shown or folded)."""
    out = []

    def walk(node):
        for child in node.children:
            out.append(child.label.plain)
            walk(child)

    walk(app.tree.root)
    return out
