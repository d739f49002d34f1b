"""The TUI driven headless (Textual's pilot): open a capture, move, open a node, filter, follow, screens, quit."""
from __future__ import annotations

from textual.widgets import RichLog, Static

from tests.golden._support import capture, run_cli
from tests.tui.helpers import SIZE, make_app, settle, tree_labels



def _log_text(app) -> str:
    return "\n".join(line.text for line in app.screen.query_one(RichLog).lines)


async def _run(coro_fn, path: str, filter_text: str = ""):
    app = make_app(path, filter_text)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await coro_fn(app, pilot)
    return app


def run(coro_fn, path: str, filter_text: str = ""):
    import asyncio

    return asyncio.run(_run(coro_fn, path, filter_text))


def test_open_move_open_node_and_quit() -> None:
    async def body(app, pilot):
        packets = app.packet_list
        assert packets.shown == len(app.index.rows) == 40 and packets.cursor == 0
        assert tree_labels(app)[0].startswith("Frame 1: 74 bytes on wire")
        for _ in range(3):
            await pilot.press("down")
        await settle(pilot)
        assert packets.cursor == 3 and app.detail.packet.frame == 4
        labels = tree_labels(app)
        assert "GET /mixed HTTP/1.1\\r\\n" in labels and "[Response in frame: 6]" in labels
        await pilot.press("tab")  # to the tree; the first node is the Frame node, closed
        tree = app.tree
        frame_node = tree.root.children[0]
        assert not frame_node.is_expanded
        await pilot.press("enter")
        assert frame_node.is_expanded
        await pilot.press("enter")
        assert not frame_node.is_expanded
        await pilot.press("down", "down", "down")  # Ethernet, IP, TCP: the TCP header's bytes are highlighted
        hex_text = app.query_one("#hex", Static).render()
        start = app.detail.packet.tcp_offset
        assert tree.cursor_node.data == (start, start + 32)
        assert [hex_text.plain[s.start:s.end] for s in hex_text.spans][0].startswith(
            f"{app.detail.packet.data[start]:02x}")
        await pilot.press("q")

    app = run(body, capture("aiohttp_mixed"))
    assert app.return_code == 0


def test_mouse_selects_a_row() -> None:
    async def body(app, pilot):
        await pilot.click("PacketList", offset=(10, 7))
        await settle(pilot)
        assert app.packet_list.cursor == 7 and app.detail.packet.frame == 8

    run(body, capture("aiohttp_mixed"))


def test_filter_applies_and_errors_show_in_place() -> None:
    async def body(app, pilot):
        await pilot.press("slash", *"stream 99x", "enter")
        error = app.query_one("#filter-error", Static)
        assert error.has_class("visible") and "'99x' is not a valid integer" in error.render().plain
        assert len(app.index.rows) == 40  # the list is untouched
        await pilot.press("ctrl+a", "ctrl+k", *"direction s2c", "enter")
        await settle(pilot)
        assert not error.has_class("visible")
        rows = app.index.rows
        assert 0 < len(rows) < 40 and all(r.direction == "server_to_client" for r in rows)
        assert "filter: direction s2c" in app.query_one("#status", Static).render().plain
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")  # empty: no filter
        await settle(pilot)
        assert len(app.index.rows) == 40

    run(body, capture("aiohttp_mixed"))


def test_display_filter_in_the_bar() -> None:
    """Wireshark's syntax in the filter bar: a bad expression shows its column in place, a good one selects the
    packets ``show -Y`` selects, and statistics follow it."""
    async def body(app, pilot):
        await pilot.press("slash", *"websocket.opcode ==", "enter")
        error = app.query_one("#filter-error", Static)
        assert error.has_class("visible") and "column 20" in error.render().plain
        await pilot.press("ctrl+a", "ctrl+k", *"websocket.opcode == 1 && websocket.mask == 0", "enter")
        await settle(pilot)
        rows = app.index.rows
        assert rows and all(r.protocol == "WebSocket" and r.direction == "server_to_client" for r in rows)
        assert len(rows) == len(run_cli(["show", capture("aiohttp_mixed"), "-Y",
                                         "websocket.opcode == 1 && websocket.mask == 0"]).text.splitlines()) - 1
        assert "filter: websocket.opcode == 1" in app.query_one("#status", Static).render().plain

    run(body, capture("aiohttp_mixed"))


def test_follow_stats_expert_and_keys_screens() -> None:
    async def body(app, pilot):
        await pilot.press("end")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        text = _log_text(app)
        assert "Stream 0: 127.0.0.1:" in text and 'close 1001 Going Away "client going away"' in text
        await pilot.press("escape", "s")
        await settle(pilot)
        assert "WebSocket connections" in _log_text(app) and "Totals: 1 connections" in _log_text(app)
        await pilot.press("escape", "e")
        await settle(pilot)
        assert _log_text(app) == "No expert info."  # as `wsdissect expert` says for this capture
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.1)
        assert "follow the selected packet's connection" in _log_text(app)
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]

    run(body, capture("aiohttp_mixed"))


def test_pause_freezes_the_list() -> None:
    async def body(app, pilot):
        packets = app.packet_list
        await pilot.press("space")
        assert packets.paused and "PAUSED at 40 rows" in app.query_one("#status", Static).render().plain
        app.index.rows.append(app.index.rows[-1])  # a row arriving while paused is not shown
        app.tick()
        assert packets.shown == 40
        await pilot.press("space")
        assert not packets.paused and packets.shown == 41

    run(body, capture("aiohttp_mixed"))


def test_initial_filter_from_the_command_line() -> None:
    async def body(app, pilot):
        assert {r.stream for r in app.index.rows} == {0} and app.query_one("#filter").value == "stream 0"

    run(body, capture("asr_28002"), "stream 0")
