"""Snapshots (pytest-textual-snapshot) of the main screens on a bundled capture.

After an intended change of the look: ``python -m pytest tests/tui/test_snapshots.py --snapshot-update``, then
review the SVGs in ``__snapshots__`` (open them in a browser) before committing them.
"""
from __future__ import annotations

import pytest

from tests.golden._support import capture
from tests.tui.helpers import SIZE, make_app, settle

pytest.importorskip("pytest_textual_snapshot")


def _after(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_main_screen_websocket_packet(snap_compare) -> None:
    """The three panes on a masked WebSocket frame, its Masking-Key selected and highlighted in the bytes."""
    keys = ["down"] * 9 + ["tab"] + ["down"] * 11
    assert snap_compare(make_app(capture("aiohttp_mixed")), run_before=_after(*keys), terminal_size=SIZE)


def test_follow_screen(snap_compare) -> None:
    assert snap_compare(make_app(capture("wsproto_fragments")), run_before=_after("end", "f"), terminal_size=SIZE)


def test_stats_screen(snap_compare) -> None:
    assert snap_compare(make_app(capture("websockets_deflate")), run_before=_after("s"), terminal_size=SIZE)


def test_filter_error_in_place(snap_compare) -> None:
    keys = ["slash", *"opcode nonsense", "enter"]
    assert snap_compare(make_app(capture("asr_28002")), run_before=_after(*keys), terminal_size=SIZE)


def test_keys_screen(snap_compare) -> None:
    assert snap_compare(make_app(capture("asr_28002")), run_before=_after("question_mark"), terminal_size=SIZE)
