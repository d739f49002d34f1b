"""Property: whatever the size limits, every message exported as complete is exactly what was sent.

Random messages (highly compressible or not, compressed or plain, fragmented or not), permessage-deflate with and
without context takeover, random ``--max-message`` / ``--max-inflated`` / ``--max-ratio``, end to end through a
synthetic capture (tests/support builders) and the whole pipeline.  A message cut by a limit is truncated (a prefix
of the original), and none is dropped."""
from __future__ import annotations

import os
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import FastConversation, upgrade_request, upgrade_response, ws_frame
from wsdissect.events import Finding, Message
from wsdissect.options import Options
from wsdissect.run import dissect_records

MASK = b"\x0a\x0b\x0c\x0d"


class _Records:
    """A pcap writer stand-in that keeps the records for dissect_records."""

    def __init__(self):
        self.records: list = []

    def write(self, ts: float, pkt: bytes) -> None:
        self.records.append((len(self.records) + 1, ts, 1, pkt, len(pkt)))


@st.composite
def payloads(draw) -> tuple[int, bytes]:
    """(opcode, payload): a repetitive text (compresses hundreds to one) or random bytes (does not compress)."""
    if draw(st.booleans()):
        word = draw(st.text("abcdefgh{}\":, ", min_size=1, max_size=12)).encode()
        return 1, word * draw(st.integers(0, 6000))
    return 2, os.urandom(draw(st.integers(0, 6000)))


sizes = st.sampled_from([0, 1, 100, 1000, 4096, 20000, 64 << 20])


def _frames(opcode: int, payload: bytes, compressed: bool, pieces: int) -> bytes:
    """The message as 1..pieces frames (RSV1 on the first only, as RFC 7692 says)."""
    cut = max(1, len(payload) // pieces) if payload else 1
    chunks = [payload[i:i + cut] for i in range(0, len(payload), cut)] or [b""]
    out = []
    for i, chunk in enumerate(chunks):
        out.append(ws_frame(opcode if i == 0 else 0, chunk, fin=i == len(chunks) - 1, rsv=4 if compressed and i == 0
                            else 0, mask=MASK))
    return b"".join(out)


@settings(max_examples=120, deadline=None)
@given(messages=st.lists(st.tuples(payloads(), st.booleans(), st.integers(1, 3)), min_size=1, max_size=8),
       takeover=st.booleans(), max_message=sizes, max_inflated=sizes,
       max_ratio=st.sampled_from([0, 0, 1, 2, 50, 1000]))
def test_complete_messages_equal_the_originals(messages, takeover, max_message, max_inflated, max_ratio):
    rec = _Records()
    conv = FastConversation(rec, ("10.0.0.1", 40001), ("10.0.0.2", 8080))
    conv.handshake()
    offer = "permessage-deflate" + ("" if takeover else "; client_no_context_takeover")
    req = upgrade_request(extra=[("Sec-WebSocket-Extensions", offer)])
    conv.send(True, req)
    conv.send(False, upgrade_response(req, extra=[("Sec-WebSocket-Extensions", offer)]))
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    sent = []
    for (opcode, payload), compressed, pieces in messages:
        wire = payload
        if compressed:
            if not takeover:
                comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            wire = (comp.compress(payload) + comp.flush(zlib.Z_SYNC_FLUSH))[:-4]
        conv.send(True, _frames(opcode, wire, compressed, pieces))
        sent.append((opcode, payload))
    conv.close()
    options = Options(max_message=max_message, max_inflated=max_inflated, max_ratio=max_ratio)
    events = list(dissect_records(rec.records, options))
    got = [ev for ev in events if ev.__class__ is Message and ev.opcode in (1, 2)]
    assert len(got) == len(sent)  # none dropped
    for m, (opcode, payload) in zip(got, sent):
        assert m.opcode == opcode
        if m.complete:
            assert m.payload == payload
        elif m.truncated:
            assert payload.startswith(m.payload) and len(m.payload) <= max_message
            assert any(f.__class__ is Finding and f.frame == m.last_frame and f.code in (
                "ws.deflate.limit", "ws.message.too_large") for f in events)
        else:
            assert m.note
    if max_message >= 64 << 20 and max_inflated >= 64 << 20 and not max_ratio:
        assert all(m.complete for m in got)  # limits above every message let everything through whole
