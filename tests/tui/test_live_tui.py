"""``tui -i lo``: packets of real websockets peers appear as they arrive; space pauses the view, not the capture;
the details of a live packet are read back from the spool file."""
from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time

import pytest

from tests.live.test_live import _exchange, _free_port
from tests.tui.helpers import LANGUAGE, SIZE, tree_labels
from wsdissect.pipeline import Options

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tcpdump"),
                                reason="live capture needs root and tcpdump")


async def _wait(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.05)
    assert condition()


def test_live_rows_pause_and_details(tmp_path) -> None:
    from wsdissect.capture.live import LiveCapture
    from wsdissect.capture.pcapwriter import PcapWriter
    from wsdissect.tui.app import LiveSource, WsdissectApp

    port = _free_port()
    capture = LiveCapture("lo", f"tcp port {port}")
    spool_path = str(tmp_path / "spool.pcap")
    spool = PcapWriter(open(spool_path, "wb"), capture.linktype, capture.snaplen)
    app = WsdissectApp(LiveSource(capture, spool, spool_path, "lo"), Options, LANGUAGE.parse)

    async def main():
        async with app.run_test(size=SIZE) as pilot:
            packets = app.packet_list
            traffic = threading.Thread(target=_exchange, args=(port,))
            traffic.start()
            await _wait(pilot, lambda: any(r.protocol == "WebSocket" for r in app.index.rows[:packets.shown]))
            traffic.join()
            await _wait(pilot, lambda: packets.shown == len(app.index.rows)
                        and any("WebSocket Connection Close" in r.info for r in app.index.rows))
            await pilot.press("space")
            frozen = packets.shown
            second = threading.Thread(target=_exchange, args=(port,))
            second.start()
            second.join()
            await _wait(pilot, lambda: len(app.index.rows) > frozen + 10)
            assert packets.shown == frozen and "PAUSED" in str(app.status_text())
            await pilot.press("space")
            await pilot.pause(0.3)
            assert packets.shown > frozen
            ws = next(i for i, r in enumerate(app.index.rows) if r.info.startswith("WebSocket Text"))
            packets.select(ws)
            await _wait(pilot, lambda: app.detail is not None and app.detail.packet.frame == app.index.rows[ws].frame)
            assert "WebSocket" in tree_labels(app)
            await pilot.press("q")
        assert app.return_code == 0

    try:
        asyncio.run(main())
    finally:
        capture.close()
