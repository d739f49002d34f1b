"""Every finding end to end: a capture of a deliberately broken conversation per finding code
(tools/make_violation_pcaps.py) must produce that finding at the frame where the offending WebSocket frame or HTTP
head completes, with its registered severity, and nothing else of warning or error severity.  And a clean
conversation full of valid edge cases must produce no warning or error at all and decode every message exactly.
"""
from __future__ import annotations

import json

import pytest

from tests.support import run_pipeline
from tools.make_violation_pcaps import (BINARY, CASES, CLOSE, CONT, DEFLATE_ACCEPT, DEFLATE_OFFER, PING,
                                        PONG, RSV1, TEXT, Deflater, Script, build_case, cf, close_payload, main,
                                        request, response, sf, write_case)
from wsdissect.findings import KINDS, Severity  # noqa: E402

C2S, S2C = "client_to_server", "server_to_client"

# Cases that fail because wsdissect is wrong (not the case): strict, so that the fix makes them fail loudly until
# the mark is removed.
# Cases that fail because of a known wsdissect bug: name -> reason (marked xfail, strict).
WSDISSECT_BUGS: dict[str, str] = {}


def _params():
    for name in CASES:
        reason = WSDISSECT_BUGS.get(name)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        yield pytest.param(name, id=name, marks=marks)


def _findings(events: dict) -> list:
    return events.get("Finding", [])


@pytest.mark.parametrize("name", _params())
def test_violation_produces_its_finding(name, tmp_path):
    conv, expect = build_case(name)
    pcap = write_case(name, conv, expect, tmp_path)
    expect = json.loads((tmp_path / f"{name}.expect.json").read_text())  # what the script wrote is what we check
    events = run_pipeline(str(pcap), **expect["options"])
    findings = _findings(events)
    seen = [(f.code, f.frame, f.severity.label, f.direction) for f in findings]
    code, frame = expect["code"], expect["frame"]
    hits = [f for f in findings if f.code == code]
    assert hits, f"{code} not reported; findings: {seen}"
    assert any(f.frame == frame for f in hits), f"{code} expected at frame {frame}; findings: {seen}"
    hit = next(f for f in hits if f.frame == frame)
    assert hit.severity == KINDS[code].severity and hit.severity.label == expect["severity"]
    assert hit.direction == expect["direction"], seen
    allowed = set(expect["also"])
    others = [s for f, s in zip(findings, seen)
              if f.severity >= Severity.WARNING and (f.code, f.frame) != (code, frame) and f.code not in allowed]
    assert others == [], f"unexpected findings besides {code}@{frame}: {others}"
    for other in allowed:  # a listed side effect must really occur, or the exception should go
        assert any(f.code == other for f in findings), f"listed side effect {other} not reported: {seen}"
    assert events.get("ConnectionEnd"), "the connection was never summarised"


# The codes issue 5 item 5 asks for, each needing at least one case.
REQUIRED = {
    "ws.handshake.key", "ws.handshake.accept", "ws.handshake.version", "ws.handshake.upgrade",
    "ws.handshake.subprotocol", "ws.handshake.extension", "ws.handshake.refused", "ws.frame.unmasked_client",
    "ws.frame.masked_server", "ws.frame.rsv", "ws.frame.rsv1_continuation", "ws.frame.reserved_opcode",
    "ws.frame.control_length", "ws.frame.control_fragmented", "ws.message.continuation", "ws.message.interleaved",
    "ws.message.utf8", "ws.close.length", "ws.close.code", "ws.close.reason_utf8", "ws.frame.after_close",
    "ws.frame.length_encoding", "ws.frame.length_msb", "ws.pong.unsolicited", "ws.deflate.error",
    "ws.deflate.limit", "ws.message.too_large", "tcp.data_after_fin", "ws.handshake.no_101",
}


def test_every_required_code_has_a_case():
    assert REQUIRED - {d.code for d in CASES.values()} == set()
    for d in CASES.values():
        for other in d.also:
            assert other in KINDS and other != d.code


def test_script_writes_pcaps_and_expectations(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "close_code_999", "handshake_refused_426"]) == 0
    for name in ("close_code_999", "handshake_refused_426"):
        assert (tmp_path / f"{name}.pcap").stat().st_size > 0
        expect = json.loads((tmp_path / f"{name}.expect.json").read_text())
        assert set(expect) >= {"code", "frame", "severity", "options", "description"}
    assert json.loads((tmp_path / "handshake_refused_426.expect.json").read_text())["severity"] == "note"
    assert "close_code_999.pcap" in capsys.readouterr().out


def test_cases_are_deterministic():
    a, _ = build_case("deflate_limit")
    b, _ = build_case("deflate_limit")
    assert [bytes(p) for p in a.packets] == [bytes(p) for p in b.packets]
    assert [p.time for p in a.packets] == [p.time for p in b.packets]


# -- the negative test: valid edge cases only ---------------------------------------------------------------------
class Clean:
    """A Script that records, for every message it sends, the message wsdissect must decode."""

    def __init__(self, port: int, t0: float):
        self.sc = Script(client_port=port, t0=t0)
        self.expected: list[tuple] = []  # (direction, opcode, payload)

    def msg(self, from_client: bool, opcode: int, payload: bytes, fragments: list[bytes] | None = None,
            wire: list[bytes] | None = None, **kw) -> None:
        """Send one message (as *fragments*, or as the given raw *wire* frames) and expect *payload*."""
        build = cf if from_client else sf
        if wire is None:
            parts = fragments or [payload]
            wire = [build(opcode if i == 0 else CONT, p, fin=i == len(parts) - 1, **kw) for i, p in enumerate(parts)]
        for w in wire:
            self.sc.send(from_client, w)
        self.expected.append((C2S if from_client else S2C, opcode, payload))

    def control(self, from_client: bool, opcode: int, payload: bytes) -> None:
        self.msg(from_client, opcode, payload)


def _split_utf8_text() -> tuple[bytes, list[bytes]]:
    text = "café € 😀 ok".encode()
    e_acute = text.index("é".encode())
    euro = text.index("€".encode())
    emoji = text.index("😀".encode())
    # cut inside é (2 bytes), inside € (3 bytes) and twice inside the 4-byte emoji; one empty fragment as well
    cuts = [e_acute + 1, euro + 2, emoji + 1, emoji + 1, emoji + 3]
    frags = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
    assert b"".join(frags) == text and b"" in frags
    return text, frags


def _clean_captures() -> list[Clean]:
    convs = []

    # A: frame sizes, empty messages, fragmentation with a ping in the middle, ping/pong pairs, close 1000.
    a = Clean(50001, 1_700_000_000.0)
    a.sc.open(request(extra=[("Sec-WebSocket-Protocol", "chat, superchat"), ("Origin", "http://example.test")]),
              response(extra=[("Sec-WebSocket-Protocol", "chat")]))
    a.msg(True, TEXT, b"")
    a.msg(False, BINARY, b"")
    for n in (125, 126, 65535, 65536):
        body = bytes(i * 7 % 251 for i in range(n))
        a.msg(True, BINARY, body)
        a.msg(False, BINARY, body[::-1])
    text, frags = _split_utf8_text()
    a.msg(True, TEXT, text, fragments=frags)
    a.msg(False, TEXT, text, fragments=frags)
    # a fragmented message with control frames between its fragments (RFC 6455 5.4)
    a.sc.c(cf(TEXT, b"split ", fin=False))
    a.control(True, PING, b"p1")
    a.control(False, PONG, b"p1")
    a.sc.c(cf(CONT, b"message"))
    a.expected.append((C2S, TEXT, b"split message"))  # complete (and reported) after the ping and pong
    a.control(False, PING, b"")
    a.control(True, PONG, b"")
    a.control(False, PING, b"heartbeat")
    a.control(True, PONG, b"heartbeat")
    a.msg(True, TEXT, "unicode ✓ 😀".encode())
    a.control(True, CLOSE, close_payload(1000, b"done"))
    a.control(False, CLOSE, close_payload(1000))
    a.sc.conv.close()
    convs.append(a)

    # B, C: the registered and private close-code ranges; the server closes first in B.
    b = Clean(50002, 1_700_000_100.0)
    b.sc.open()
    b.msg(False, TEXT, b"bye soon")
    b.control(False, CLOSE, close_payload(3000, "registered ✓".encode()))
    b.control(True, CLOSE, close_payload(3000))
    b.sc.conv.close(first_client=False)
    convs.append(b)
    c = Clean(50003, 1_700_000_200.0)
    c.sc.open()
    c.control(True, CLOSE, close_payload(4999, b"private"))
    c.control(False, CLOSE, close_payload(4999))
    c.sc.conv.close()
    convs.append(c)

    # D: other allowed codes, and a Close without a payload.
    d = Clean(50004, 1_700_000_300.0)
    d.sc.open()
    d.control(True, CLOSE, close_payload(1001))
    d.control(False, CLOSE, b"")
    d.sc.conv.close()
    convs.append(d)

    # E: permessage-deflate with context takeover in both directions.
    e = Clean(50005, 1_700_000_400.0)
    e.sc.open(request(extra=[DEFLATE_OFFER]), response(extra=[DEFLATE_ACCEPT]))
    cz, sz = Deflater(), Deflater()
    for i in range(3):  # the same text again: later messages are back-references into earlier ones
        m = b"Hello, permessage-deflate! Hello, permessage-deflate!"
        e.msg(True, TEXT, m, wire=[cf(TEXT, cz(m), rsv=RSV1)])
        r = b"reply %d: " % i + m
        e.msg(False, TEXT, r, wire=[sf(TEXT, sz(r), rsv=RSV1)])
    e.msg(True, TEXT, b"", wire=[cf(TEXT, cz(b""), rsv=RSV1)])  # empty compressed message (a single 0x00)
    e.msg(False, BINARY, b"not compressed", rsv=0)  # RSV1 clear: sent as is, even with deflate negotiated
    big = b"".join(b"line %05d of a long compressible message\n" % i for i in range(4000))  # ~170 KB
    z = cz(big)
    third = len(z) // 3
    e.msg(True, TEXT, big, wire=[cf(TEXT, z[:third], rsv=RSV1, fin=False), cf(CONT, z[third:2 * third], fin=False),
                                 cf(CONT, z[2 * third:])])
    z = sz(big)
    e.msg(False, BINARY, big, wire=[sf(BINARY, z, rsv=RSV1)])
    e.msg(True, TEXT, b"after the big one", wire=[cf(TEXT, cz(b"after the big one"), rsv=RSV1)])
    e.control(True, CLOSE, close_payload(1000))
    e.control(False, CLOSE, close_payload(1000))
    e.sc.conv.close()
    convs.append(e)
    return convs


def test_clean_conversations_have_no_findings(tmp_path):
    convs = _clean_captures()
    packets = [p for c in convs for p in c.sc.packets]
    pcap = write_case("clean", packets, {}, tmp_path)
    events = run_pipeline(str(pcap))
    findings = [(f.code, f.frame, f.severity.label, f.direction) for f in _findings(events)]
    assert [f for f in findings if KINDS[f[0]].severity >= Severity.WARNING] == []
    assert not any(f[0] == "ws.pong.unsolicited" for f in findings), findings
    assert findings == []  # not even notes or chat: the capture is a textbook one
    ends = {e.conn.client_port: e for e in events["ConnectionEnd"]}
    assert sorted(ends) == [50001, 50002, 50003, 50004, 50005]
    assert all(e.websocket and e.ended_by == "close+fin" for e in ends.values())
    assert ends[50002].close_codes == {S2C: (3000, "registered ✓"), C2S: (3000, "")}
    assert ends[50003].close_codes[C2S] == (4999, "private")
    assert ends[50004].close_codes == {C2S: (1001, ""), S2C: (None, None)}
    assert ends[50005].upgrade.deflate is not None
    by_port: dict[int, list] = {}
    for m in events["Message"]:
        by_port.setdefault(m.conn.client_port, []).append(m)
    for c in convs:
        got = by_port[c.sc.conv.client[1]]
        assert [(m.direction, m.opcode, m.payload) for m in got] == c.expected
        for m in got:
            assert m.complete and not m.truncated and m.note is None
            if m.opcode == TEXT:
                assert m.text == m.payload.decode("utf-8")
    assert ends[50001].ping_rtt is not None and ends[50001].ping_rtt[0] == 3  # three pings answered
    assert any(m.fragments == 6 and m.text == "café € 😀 ok" for m in by_port[50001])
    compressed = [m for m in by_port[50005] if m.compressed]
    assert len(compressed) == 10 and any(m.fragments == 3 for m in compressed)
