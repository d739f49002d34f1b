"""No view lets captured bytes drive the terminal.

A crafted capture (tests/support/builders.py) carries hostile text everywhere wsdissect prints peer data: the request URI,
Host, User-Agent and Server header values, the subprotocol the server picks (which also lands in an expert
finding), text messages (plain, multi-line, pretty-printed JSON), a binary message, ping/pong payloads, the close
reason, and an invalid UTF-8 text message.  The hostile text: rich markup (``[red]x[/red]``,
``[link=http://evil]click[/link]``), ANSI SGR and CSI escapes, OSC window-title and OSC 8 hyperlink sequences, every
C0 control, DEL, every C1 control, bidi overrides/isolates (U+202E...), zero-width characters (U+200D...), line
and paragraph separators, and 10,000-character lines.

Every view runs with ``--color never`` and ``--color always`` (and ``never`` at a huge width, so that line length
is bounded by wsdissect, not by wrapping), and the raw stdout bytes are checked: no ESC at all without colour,
only rich's SGR colour sequences (``ESC [ ... m``) with colour, no other C0 byte than ``\\n``, no DEL, no C1, bidi
or zero-width character raw, markup shown literally (never interpreted), escapes shown visibly (``\\x1b``,
``\\u202e``), and no line over 20,000 characters.
"""
from __future__ import annotations

import functools
import json
import re

import pytest

from ._support import WsdissectBug, run_cli

MARKUP = "[red]x[/red]"
LINK = "[link=http://evil]click[/link]"
SGR_ESC = "\x1b[31mRED\x1b[0m\x1b[2J\x1b[H"
OSC_TITLE = "\x1b]0;pwned title\x07"
OSC8 = "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"
C0 = "".join(chr(c) for c in range(0x20) if c not in (0x0A, 0x0D)) + "\x7f"
C1 = "".join(chr(c) for c in range(0x80, 0xA0))
BIDI = "\u202eevil\u202c\u202a\u202b\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = "\u200d\u200b\u200c\u2060\ufeff\u2028\u2029"
HOSTILE = MARKUP + LINK + SGR_ESC + OSC_TITLE + OSC8 + C0 + C1 + BIDI + INVISIBLE
LONG = 10_000

MASK = b"\x37\xfa\x21\x3d"


def build_capture(path: str) -> None:
    from tests.support import Conversation, upgrade_request, upgrade_response, ws_frame

    header_value = HOSTILE.replace("\x00", "")  # a NUL would end the head for some HTTP parsers; all else stays
    req = upgrade_request(path=f"/chat?m={MARKUP}{LINK}&e=\x1b]0;t\x07\u202e", host=f"evil{MARKUP}",
                          key="dGhlIHNhbXBsZSBub25jZQ==",
                          extra=[("User-Agent", header_value), ("X-Long", "B" * LONG),
                                 ("Sec-WebSocket-Protocol", "chat")])
    resp = upgrade_response(req, extra=[("Server", header_value), ("Sec-WebSocket-Protocol", MARKUP)])
    c = Conversation()
    c.send(True, req)
    c.send(False, resp)
    texts = [MARKUP, LINK, SGR_ESC, OSC_TITLE, OSC8, C0, C1, BIDI, INVISIBLE, "L" * LONG,
             f"multi\nline {MARKUP}\n{SGR_ESC}\n{BIDI}\n", HOSTILE]
    for t in texts:
        c.send(True, ws_frame(1, t.encode(), mask=MASK))
        c.send(False, ws_frame(1, t.encode()))
    c.send(True, ws_frame(1, json.dumps({"k": HOSTILE, MARKUP: [BIDI, C1], "long": "J" * LONG},
                                        ensure_ascii=False).encode(), mask=MASK))
    c.send(False, ws_frame(2, HOSTILE.encode()))
    c.send(True, ws_frame(9, (MARKUP + "\x1b[31m\u202e").encode(), mask=MASK))
    c.send(False, ws_frame(10, (MARKUP + "\x1b[31m\u202e").encode()))
    c.send(True, ws_frame(1, b"\xff\xfe not utf-8 \x1b[31m\xe2\x80\xae", mask=MASK))
    reason = (MARKUP + "\x1b[31m\u202e\x07" + OSC_TITLE + "\u0085").encode()
    assert len(reason) <= 123
    c.send(True, ws_frame(8, (1001).to_bytes(2, "big") + reason, mask=MASK))
    c.send(False, ws_frame(8, (1001).to_bytes(2, "big") + reason))
    c.close()
    c.write(path)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("hostile") / "hostile.pcap")
    build_capture(path)
    return path


@functools.cache
def _run(path: str, args: tuple[str, ...], color: str, width: int):
    return run_cli([*args, path], color=color, width=width)


# view -> (arguments, literal texts that must appear as typed, visible escapes that must appear)
VIEWS = {
    "show": (("show",), [f"GET /chat?m={MARKUP}"], []),
    "show-V": (("show", "-V"), [MARKUP, LINK, f"Reason: {MARKUP}"], ["\\x1b[31m", "\\u202e", "\\x07", "\\x85"]),
    "follow": (("follow",), [MARKUP, LINK, f'"{MARKUP}'], ["\\x1b[31m", "\\u202e", "\\x07"]),
    "stats": (("stats",), ["[red]"], []),
    "expert": (("expert", "-v"), [f"server chose '{MARKUP}'"], []),
    "stats-json": (("stats", "-T", "json"), [MARKUP], []),
    "expert-json": (("expert", "-T", "json"), [], []),
}
RUNS = [("never", 120), ("always", 120), ("never", 50_000)]

SGR = re.compile(rb"\x1b\[[0-9;]*m")
RAW_C1 = re.compile("[\x80-\x9f]")
RAW_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
RAW_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u2028\u2029]")
MAX_LINE = 20_000

KNOWN: dict = {}  # view -> (problem kinds explained by a known bug, reason); none open


def check(out: bytes, view: str, color: str, views: dict = VIEWS) -> list[tuple[str, str]]:
    """(kind, detail) of every rule *out* breaks (*view*: its entry in *views* says what must be printed)."""
    problems: list[tuple[str, str]] = []
    args, literals, escapes = views[view]
    if color == "never":
        if b"\x1b" in out:
            i = out.index(b"\x1b")
            problems.append(("ESC", f"ESC byte at offset {i}: {out[max(0, i - 20):i + 40]!r}"))
        rest = out
    else:
        rest = SGR.sub(b"", out)
        if b"\x1b" in rest:
            i = rest.index(b"\x1b")
            problems.append(("ESC", f"non-SGR escape sequence: {rest[max(0, i - 20):i + 40]!r}"))
    c0 = sorted({b for b in rest if b < 0x20 and b not in (0x0A, 0x1B)})  # ESC: reported above
    if c0:
        problems.append(("C0", f"C0 control bytes {[hex(b) for b in c0]}"))
    if 0x7F in rest:
        problems.append(("raw DEL", "DEL byte 0x7f"))
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        return problems + [("UTF-8", f"output is not UTF-8: {e}")]
    for kind, rx in (("raw C1", RAW_C1), ("raw bidi", RAW_BIDI), ("raw invisible", RAW_INVISIBLE)):
        found = sorted({f"U+{ord(ch):04X}" for ch in rx.findall(text)})
        if found:
            problems.append((kind, f"{kind} characters {found}"))
    for lit in literals:
        if lit not in text:
            problems.append(("markup", f"{lit!r} not printed literally"))
    for esc in escapes:
        if esc not in text:
            problems.append(("escape", f"visible escape {esc!r} missing"))
    longest = max(len(line) for line in text.split("\n"))
    if longest > MAX_LINE:
        problems.append(("line", f"a line of {longest} characters"))
    return problems


def _param(view: str, color: str, width: int):
    marks = []
    if view in KNOWN:
        marks.append(pytest.mark.xfail(strict=True, raises=WsdissectBug, reason=KNOWN[view][1]))
    return pytest.param(view, color, width, marks=marks, id=f"{view}-{color}-{width}")


@pytest.mark.parametrize("view, color, width", [_param(v, c, w) for v in VIEWS for c, w in RUNS])
def test_view_is_terminal_safe(hostile: str, view: str, color: str, width: int) -> None:
    res = _run(hostile, VIEWS[view][0], color, width)
    assert res.exit_code == 0, res.stderr
    if color == "always" and not view.endswith("json"):
        assert SGR.search(res.stdout), "--color always printed no colour at all: the check would prove nothing"
    problems = check(res.stdout, view, color)
    if not problems:
        return
    detail = "\n".join(f"  {kind}: {what}" for kind, what in problems)
    kinds = {kind for kind, _ in problems}
    if view in KNOWN and kinds <= KNOWN[view][0]:
        raise WsdissectBug(f"{view} --color {color}: known bug:\n{detail}")
    raise AssertionError(f"{view} --color {color} --width {width} is not terminal-safe:\n{detail}")


def test_capture_carries_the_hostile_text(hostile: str) -> None:
    """The checks above are only meaningful if the hostile text reached the views: the handshake upgraded and
    every message was decoded (the JSON export shows the payloads as decoded)."""
    res = _run(hostile, ("stats", "-T", "json"), "never", 120)
    conn = json.loads(res.stdout)["connections"][0]
    assert conn["status"] == "upgraded"
    assert conn["subprotocol"] == MARKUP
    assert conn["close"]["client_to_server"]["code"] == 1001
    assert conn["stats"]["client_to_server"]["opcodes"]["text"][0] == 14
    assert conn["stats"]["server_to_client"]["opcodes"]["text"][0] == 12


def test_checker_catches_unsafe_output() -> None:
    """The checker itself flags each kind of unsafe output."""
    assert {k for k, _ in check(b"a\x1b]0;t\x07b\n", "expert-json", "never")} == {"ESC", "C0"}
    assert {k for k, _ in check(b"\x1b[31mok\x1b[0m\n", "expert-json", "always")} == set()
    assert {k for k, _ in check(b"\x1b[31mok\x1b]8;;x\x1b\\\n", "expert-json", "always")} == {"ESC"}
    assert {k for k, _ in check("\u202e\u0085\u200d\x7f\n".encode(), "expert-json", "never")} == \
        {"raw bidi", "raw C1", "raw invisible", "raw DEL"}
    assert {k for k, _ in check(b"x" * (MAX_LINE + 1), "expert-json", "never")} == {"line"}
    assert {k for k, _ in check(b"x\n", "stats", "never")} == {"markup"}


# -- application units (docs/app.md): event names, namespaces, topics and payloads are peer data too ----------------
APP_NAME = MARKUP + SGR_ESC + BIDI + C1


def _mqtt_publish(topic: bytes, payload: bytes) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + payload
    assert len(body) < 128
    return b"\x30" + bytes([len(body)]) + body


def build_app_capture(path: str) -> None:
    """A Socket.IO connection and an MQTT connection whose units carry the hostile text."""
    from tests.support import Conversation, upgrade_request, upgrade_response, ws_frame

    c = Conversation()
    req = upgrade_request(path="/socket.io/?EIO=4&transport=websocket", key="dGhlIHNhbXBsZSBub25jZQ==")
    c.send(True, req)
    c.send(False, upgrade_response(req))
    c.send(False, ws_frame(1, b'0{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":9}'))
    for message in (f"40/n{MARKUP}\u202e,", "42" + json.dumps([APP_NAME, {"k": HOSTILE}], ensure_ascii=False),
                    f"42/n{MARKUP}\u202e,7" + json.dumps([APP_NAME], ensure_ascii=False)):
        c.send(True, ws_frame(1, message.encode(), mask=MASK))
    c.close()
    m = Conversation(client=("10.0.0.1", 50001), server=("10.0.0.2", 1883), t0=c.t + 1)
    req = upgrade_request(path="/mqtt", key="dGhlIHNhbXBsZSBub25jZQ==", extra=[("Sec-WebSocket-Protocol", "mqtt")])
    m.send(True, req)
    m.send(False, upgrade_response(req, extra=[("Sec-WebSocket-Protocol", "mqtt")]))
    m.send(True, ws_frame(2, b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02id", mask=MASK))
    m.send(True, ws_frame(2, _mqtt_publish((MARKUP + "\x1b[31m\u202e\x07").encode(),
                                           json.dumps({"v": MARKUP + "\x1b]0;t\x07"}).encode()), mask=MASK))
    m.close()
    from scapy.utils import wrpcap

    wrpcap(path, c.packets + m.packets)


APP_VIEWS = {
    "show": (("show",), [f'EVENT "{MARKUP}'], ["\\x1b[31m", "\\u202e"]),
    "show-V": (("show", "-V"), [f"{MARKUP}\\x1b[31mRED", f"Topic: {MARKUP}"], ["\\x1b[31m", "\\u202e", "\\x07"]),
    "follow": (("follow",), [f"MQTT PUBLISH {MARKUP}"], ["\\x1b[31m", "\\u202e", "\\x07"]),
    "stats": (("stats",), [MARKUP], []),
    "stats-json": (("stats", "-T", "json"), [MARKUP], []),
}


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("hostile_app") / "hostile_app.pcap")
    build_app_capture(path)
    return path


@pytest.mark.parametrize("view, color, width", [(v, c, w) for v in APP_VIEWS for c, w in RUNS])
def test_application_units_are_terminal_safe(hostile_app: str, view: str, color: str, width: int,
                                             monkeypatch) -> None:
    res = _run(hostile_app, APP_VIEWS[view][0], color, width)
    assert res.exit_code == 0, res.stderr
    monkeypatch.setitem(VIEWS, "app", APP_VIEWS[view])
    problems = check(res.stdout, "app", color)
    assert not problems, "\n".join(f"  {kind}: {what}" for kind, what in problems)
    if view == "stats-json":
        units = json.loads(res.stdout)["app"]["protocols"]
        assert {"socket.io", "mqtt"} <= set(units), "the hostile units were not decoded: the check proves nothing"


# -- packets that are not TCP (DNS names, SSDP headers) and tunnels: their texts come from the wire too ---------------
OTHER_VIEWS = {
    "show": (("show",), ["Standard query 0x0005"], ["\\x1b[31m"]),
    "show-V": (("show", "-V"), ["Domain Name System (query)", "HOST: " + MARKUP], ["\\x1b[31m", "\\u202e", "\\x07"]),
}


@pytest.fixture(scope="module")
def hostile_other(tmp_path_factory) -> str:
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    path = str(tmp_path_factory.mktemp("hostile") / "other.pcap")
    name = (SGR_ESC + "\u202e\x07").encode()
    dns = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=53) / DNS(id=5, qd=DNSQR(qname=name))
    head = f"M-SEARCH * HTTP/1.1\r\nHOST: {HOSTILE.replace(chr(10), '').replace(chr(13), '')}\r\n" \
           f"ST: {OSC_TITLE}{BIDI}\r\n\r\n"
    ssdp = Ether() / IP(src="10.0.0.1", dst="239.255.255.250") / UDP(sport=1900, dport=1900) / head.encode()
    wrpcap(path, [dns, ssdp])
    return path


@pytest.mark.parametrize("view", list(OTHER_VIEWS))
@pytest.mark.parametrize("color, width", RUNS)
def test_packets_that_are_not_tcp_are_terminal_safe(hostile_other: str, view: str, color: str, width: int) -> None:
    res = _run(hostile_other, OTHER_VIEWS[view][0], color, width)
    assert res.exit_code == 0, res.stderr
    problems = check(res.stdout, view, color, OTHER_VIEWS)
    assert not problems, "\n".join(f"  {kind}: {what}" for kind, what in problems)
