"""``wsdissect report``: the page is self-contained, has every chart, and shows hostile capture text inert; and
``stats --plot``."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from tests.conftest import SAMPLES
from tests.support import Conversation, upgrade_request, upgrade_response, ws_frame
from wsdissect.cli import main

MASK = b"\x01\x02\x03\x04"
SCRIPT = "<script>alert(1)</script>"
QUOTES = "\"'><svg/onload=alert(2)>"
BIDI_CTRL = "\u202eevil\u202c\x1b[31m\x07\u0085\u2066"
HOSTILE_URI = f"/x?a={SCRIPT}&b={QUOTES}&c=http://evil.example/x.js"
HOSTILE_REASON = f"</td><img src=x onerror=alert(3)>{BIDI_CTRL}"
HOSTILE_PROTO = '"><link rel=stylesheet href=https://evil.example/a.css>'
CHARTS = ("chart-messages-c2s", "chart-messages-s2c", "chart-bytes-c2s", "chart-bytes-s2c", "chart-sizes",
          "chart-rtt", "chart-timeline", "chart-findings")


def build_hostile(path: str) -> str:
    """One connection whose URI, chosen subprotocol (a finding: never offered) and close reason are hostile."""
    req = upgrade_request(path=HOSTILE_URI, extra=[("Sec-WebSocket-Protocol", "chat")])
    resp = upgrade_response(req, extra=[("Sec-WebSocket-Protocol", HOSTILE_PROTO)])
    c = Conversation()
    c.send(True, req)
    c.send(False, resp)
    close = (4000).to_bytes(2, "big") + HOSTILE_REASON.encode()
    for from_client, opcode, payload in ((True, 1, (SCRIPT + BIDI_CTRL).encode()), (False, 2, QUOTES.encode()),
                                         (True, 9, b"<b>"), (False, 10, b"<b>"), (True, 8, close),
                                         (False, 8, close)):
        c.send(from_client, ws_frame(opcode, payload, mask=MASK if from_client else None))
    c.close()
    return c.write(path)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> str:
    """The capture, under a hostile file name too."""
    return build_hostile(str(tmp_path_factory.mktemp("hostile") / "hostile<script>.pcap"))


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def page(hostile, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    res = run("report", hostile, "-o", str(out), "-q")
    assert res.exit_code == 0, res.output
    return out.read_text("utf-8")


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def parse(page: str) -> Tags:
    t = Tags()
    t.feed(page)
    return t


def test_no_external_resources(page: str) -> None:
    t = parse(page)
    names = {tag for tag, _a in t.tags}
    assert not names & {"script", "img", "link", "iframe", "object", "embed", "image", "use", "audio", "video",
                        "source", "form", "base"}
    for tag, attrs in t.tags:
        assert not set(attrs) & {"src", "href", "srcset", "xlink:href", "action", "background"}, (tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        for v in attrs.values():
            assert not re.search(r"https?://|url\(", v or "", re.I), (tag, attrs)
    assert not re.search(r"https?://|url\(|@import", "".join(t.styles), re.I)
    csp = [a["content"] for tag, a in t.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none'")


def test_every_chart_is_there(page: str) -> None:
    t = parse(page)
    svgs = {a.get("id"): a for tag, a in t.tags if tag == "svg"}
    for ident in CHARTS:
        assert ident in svgs, ident
        assert "chart" in svgs[ident]["class"].split() and svgs[ident]["viewbox"].startswith("0 0 ")
    rects = sum(1 for tag, _a in t.tags if tag in ("rect", "path", "polyline"))
    assert rects > 10
    for ident in ("table-connections", "table-findings", "table-close-codes"):
        assert any(a.get("id") == ident for tag, a in t.tags if tag == "table")
    for label in ("msg/s", "time since the first packet", "round trip (ms)", "payload size (bytes"):
        assert label in page


def test_hostile_text_is_escaped(page: str) -> None:
    assert "<script" not in page.lower() and "<img" not in page and "<svg/onload" not in page
    assert "<link" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the URI, shown as text
    assert "&lt;/td&gt;&lt;img src=x onerror=alert(3)&gt;" in page  # the close reason
    assert "&lt;link rel=stylesheet" in page  # the subprotocol, in the finding about it
    assert "\\u202e" in page and "\\x1b" in page and "\\x07" in page and "\\x85" in page
    raw = re.findall("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]",
                     page)
    assert raw == []
    assert "hostile&lt;script&gt;.pcap" in page  # the file name, too


def test_numbers_in_the_page(page: str) -> None:
    assert "Private use (4000-4999)" in page
    assert re.search(r'class="tile-label">Messages</div><div class="tile-value">6<', page)
    assert "client → server 3<br>server → client 3" in page
    assert "ws.handshake.subprotocol" in page or "subprotocol" in page


def test_cli_errors_and_stdout(tmp_path) -> None:
    res = run("report", str(tmp_path / "missing.pcap"), "-o", str(tmp_path / "r.html"))
    assert res.exit_code == 2 and "error" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r.html").exists()
    res = run("report", str(SAMPLES / "asr_28002.pcap"), "-o", str(tmp_path / "no" / "such" / "dir.html"))
    assert res.exit_code == 4 and "Traceback" not in res.stderr
    res = run("report", str(SAMPLES / "asr_28002.pcap"), "-o", "-", "-q", "--title", "T<i>")
    assert res.exit_code == 0 and res.stdout.startswith("<!DOCTYPE html>") and "<title>T&lt;i&gt;</title>" in res.stdout


def test_filters_are_applied_and_named(tmp_path) -> None:
    out = tmp_path / "r.html"
    res = run("report", str(SAMPLES / "aiohttp_mixed.pcap"), "-o", str(out), "-q", "--direction", "s2c",
              "--opcode", "text")
    assert res.exit_code == 0
    page = out.read_text("utf-8")
    assert "filters: --direction s2c; --opcode text" in page
    assert re.search(r'class="tile-label">Messages</div><div class="tile-value">6<', page)


def test_damaged_capture_reports_and_exits_3(tmp_path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes((SAMPLES / "asr_28002.pcap").read_bytes()[:-50])
    out = tmp_path / "r.html"
    res = run("report", str(cut), "-o", str(out), "-q")
    assert res.exit_code == 3 and "warning" in res.stderr
    assert "damaged or cut short" in out.read_text("utf-8")


def test_stats_plot_sparklines() -> None:
    res = CliRunner().invoke(main, ["stats", "--plot", str(SAMPLES / "asr_28002.pcap"), "--color", "never",
                                    "--width", "120", "-q"], catch_exceptions=False)
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Messages per second over time"))
    plot = lines[start + 1:]
    assert plot[0].startswith("all connections") and plot[1].startswith("#0 127.0.0.1:51448")
    assert set(plot[1][35:plot[1].index("  peak")]) <= set(" ▁▂▃▄▅▆▇█")
    assert "█" in plot[1] and plot[2].strip().startswith("0") and plot[2].rstrip().endswith("ms")


def test_stats_plot_json_sums_to_the_totals() -> None:
    res = CliRunner().invoke(main, ["stats", "--plot", "-T", "json", str(SAMPLES / "wsproto_fragments.pcap"), "-q"],
                             catch_exceptions=False)
    doc = json.loads(res.stdout)
    assert sum(doc["plot"]["messages"]) == doc["totals"]["messages"] == 22
    assert [sum(c["messages"]) for c in doc["plot"]["connections"]] == [22]


def test_sparkline_helpers() -> None:
    from wsdissect.render.sparkline import resample, sparkline

    assert resample([1, 2, 3, 4], 2) == [3.0, 7.0]
    assert resample([3, 2, 5], 2) == pytest.approx([4.0, 6.0])  # the middle bucket is shared between the two columns
    assert sparkline([0, 1, 4, 8]) == " ▂▅█"
    assert sparkline([0, 0]) == "  "


def test_interrupted_run_still_writes_what_was_decoded(tmp_path, monkeypatch) -> None:
    from wsdissect.report.aggregate import ReportAggregator

    feed = ReportAggregator.feed
    calls = []

    def interrupt_later(self, events):
        calls.append(1)
        if len(calls) == 20:
            raise KeyboardInterrupt
        feed(self, events)

    monkeypatch.setattr(ReportAggregator, "feed", interrupt_later)
    out = tmp_path / "r.html"
    res = run("report", str(SAMPLES / "asr_28002.pcap"), "-o", str(out), "-q")
    assert res.exit_code == 130 and "interrupted" in res.stderr
    page = out.read_text("utf-8")
    assert "<strong>Interrupted</strong>" in page and page.rstrip().endswith("</html>")
    assert re.search(r'class="tile-label">Messages</div><div class="tile-value">([1-9]|1[0-9])<', page)
