"""The HTML report in a real browser: headless Chromium opens it with no console error, no exception, no network
request, and lays out every chart at a non-zero size.  Skipped when Chromium is not installed (.ci/run installs
the distribution's ``chromium`` package)."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest
from click.testing import CliRunner
from websockets.sync.client import connect

from tests.conftest import SAMPLES
from wsdissect.cli import main

from .test_report_html import CHARTS, build_hostile

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]
LAYOUT = """JSON.stringify({
  height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth,
  charts: Array.from(document.querySelectorAll('svg.chart')).map(s => {
    const r = s.getBoundingClientRect(); return [s.id, r.width, r.height]; }),
  text: document.body.innerText.length})"""


class DevTools:
    """Just enough of the Chrome DevTools Protocol: commands on one page session, events collected."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def call(self, method: str, params: dict | None = None, timeout: float = 10.0) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))


def _devtools_url(profile: pathlib.Path, proc: subprocess.Popen) -> str:
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail("chromium did not open its DevTools port")


def _open_page(tools: DevTools, url: str) -> None:
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    tools.session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        tools.call(f"{domain}.enable")
    tools.events.clear()
    tools.call("Page.navigate", {"url": url})
    tools.wait_for("Page.loadEventFired")
    time.sleep(0.3)  # late console messages (a CSP violation is reported after load)
    tools.call("Runtime.evaluate", {"expression": "1"})  # drains what arrived meanwhile


def test_report_renders_in_chromium_without_errors(tmp_path) -> None:
    capture = str(tmp_path / "hostile.pcap")
    build_hostile(capture)
    report = tmp_path / "report.html"
    res = CliRunner().invoke(main, ["report", capture, "-o", str(report), "-q"],
                             catch_exceptions=False)
    assert res.exit_code == 0
    profile = tmp_path / "profile"
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,900",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with connect(_devtools_url(profile, proc), max_size=None, open_timeout=10) as ws:
            tools = DevTools(ws)
            _open_page(tools, report.as_uri())
            layout = json.loads(tools.call("Runtime.evaluate", {"expression": LAYOUT, "returnByValue": True})
                                ["result"]["value"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    problems = [e for e in tools.events if e.get("method") in ("Runtime.exceptionThrown",)
                or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning",
                                                                                           "assert"))
                or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning"))]
    assert problems == []
    requests = [e["params"]["request"]["url"] for e in tools.events if e.get("method") == "Network.requestWillBeSent"]
    assert all(u.startswith("file://") for u in requests), requests  # the page itself, nothing else
    assert layout["height"] > 900 and layout["width"] > 0 and layout["text"] > 1000
    assert layout["width"] <= 1400  # nothing wider than the window: no horizontal scrolling
    sized = {ident: (w, h) for ident, w, h in layout["charts"]}
    for ident in CHARTS:
        assert sized[ident][0] > 300 and sized[ident][1] > 50, (ident, sized.get(ident))
