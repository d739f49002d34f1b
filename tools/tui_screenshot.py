#!/usr/bin/env python3
"""Write docs/tui.svg: the TUI on a bundled capture, a WebSocket frame selected and its masking key highlighted.

    python -m tools.tui_screenshot   (from the repository root)
"""
from __future__ import annotations

import asyncio
import pathlib

from tests.tui.helpers import make_app, settle

ROOT = pathlib.Path(__file__).resolve().parent.parent
KEYS = ["down"] * 9 + ["tab"] + ["down"] * 11


async def main() -> None:
    app = make_app(str(ROOT / "sample_pcaps" / "aiohttp_mixed.pcap"))
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        for key in KEYS:
            await pilot.press(key)
            await settle(pilot)
        app.save_screenshot("tui.svg", str(ROOT / "docs"))


if __name__ == "__main__":
    asyncio.run(main())
