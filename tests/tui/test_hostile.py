"""Nothing in a payload changes the TUI's screen: the capture full of markup, ANSI/OSC escapes, C0/C1 controls,
bidi and zero-width characters of tests/golden/test_terminal_safety.py, through the list, every tree node, the
bytes, follow, statistics and expert info."""
from __future__ import annotations

import asyncio
import re

import pytest
from textual.widgets import RichLog

from tests.golden.test_terminal_safety import MARKUP, build_capture
from tests.tui.helpers import SIZE, make_app, settle, tree_labels

# what must never reach the screen raw: C0 (no newline in a line), DEL, C1, bidi and invisible formatting
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("hostile") / "hostile.pcap")
    build_capture(path)
    return path


def _screen_text(app) -> str:
    svg = app.export_screenshot()
    return re.sub(r"<[^>]*>", "", svg)


def _check(text: str, where: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text)})
    assert not bad, f"{where}: raw {bad}"


def test_hostile_payloads_stay_inert(hostile: str) -> None:
    async def main():
        app = make_app(hostile)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            carrying = [i for i, r in enumerate(app.index.rows) if r.protocol != "TCP"]  # HTTP and WebSocket
            assert len(carrying) > 20
            seen_markup = False
            for position in carrying:
                app.packet_list.select(position)
                await settle(pilot)
                app.tree.root.expand_all()
                await pilot.pause()
                for label in tree_labels(app):
                    _check(label, f"tree of frame {app.detail.packet.frame}")
                    seen_markup |= MARKUP in label
                _check(_screen_text(app).replace("\n", ""), f"screen at frame {app.detail.packet.frame}")
            _check(" ".join(row.info for row in app.index.rows), "packet list")
            assert seen_markup  # markup is shown as the text it is, never interpreted
            for key in ("f", "s", "e"):
                await pilot.press(key)
                await settle(pilot)
                lines = [line.text for line in app.screen.query_one(RichLog).lines]
                assert lines
                for line in lines:
                    _check(line, f"screen {key}")
                if key == "f":
                    assert any(MARKUP in line for line in lines)
                await pilot.press("escape")
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(main())


def test_the_check_sees_raw_controls() -> None:
    for raw in ("\x1b[31m", "\u202e", "\x9b", "\x07"):
        with pytest.raises(AssertionError):
            _check(f"text {raw} text", "sample")
    _check("escaped: \\x1b \\u202e", "sample")
