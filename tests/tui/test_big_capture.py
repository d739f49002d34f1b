"""A 78,000-packet capture opens at once: the first screen of rows within 3 s while the list fills in."""
from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys
import time

import pytest

from tests.tui.helpers import SIZE, make_app

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKETS = 78_000


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory) -> str:
    """benchmarks/gen_capture.py's small-message mix, sized to about 79k packets (1.5 to 5 s to write)."""
    path = tmp_path_factory.mktemp("big") / "small-78k.pcap"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_capture.py"), "--size", "53M", "--mix", "small",
                    "--seed", "3", "-o", str(path)], check=True, capture_output=True)
    packets = json.loads(pathlib.Path(f"{path}.expected.json").read_text())["packets"]
    assert packets >= PACKETS
    return str(path)


def test_first_screen_within_3_seconds(big_capture: str) -> None:
    async def main():
        started = time.monotonic()
        app = make_app(big_capture)
        async with app.run_test(size=SIZE) as pilot:
            packets = app.packet_list
            while packets.shown < packets.size.height and time.monotonic() - started < 10:
                await pilot.pause(0.02)
            first_screen = time.monotonic() - started
            lines = [packets.render_line(y).text for y in range(packets.size.height)]
            assert lines[0].split()[0] == "1" and lines[-1].split()[0] == str(packets.size.height)
            assert first_screen < 3.0, f"first screen after {first_screen:.2f} s"
            assert not app.index.done  # the list is still filling in
            shown = packets.shown
            await pilot.pause(1.0)
            assert packets.shown > shown
            before = packets.shown
            await pilot.press("end")  # the list can be browsed while it fills
            assert before - 1 <= packets.cursor < packets.shown
            await pilot.press("q")
        assert app.return_code == 0
        print(f"first screen of rows after {first_screen:.2f} s; {shown} rows then")

    asyncio.run(main())
