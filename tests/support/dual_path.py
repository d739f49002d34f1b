"""Running wsdissect with and without the C accelerators in one process, and the conversations and hypothesis
strategies the equivalence tests feed both paths (tests/equivalence, tests/integration/test_c_and_python_identical.py)."""
from __future__ import annotations

import contextlib
import io
import pathlib
import random
import struct
import sys
import zlib

import pytest
from hypothesis import strategies as st

import wsdissect.capture.layers as layers
import wsdissect.export.records as records
import wsdissect.export.writer as writer_mod
import wsdissect.ws.lane
import wsdissect.ws.messages
from tests.support import tcp_packet, upgrade_request, upgrade_response, ws_frame
from wsdissect.events import Message, new_message
from wsdissect.export.writer import RecordWriter
from wsdissect.findings import KINDS, Severity
from wsdissect.flow import CLIENT_TO_SERVER, Conn, SERVER_TO_CLIENT
from wsdissect.options import Options
from wsdissect.run import dissect_records
from wsdissect.speedups import speedups as C

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_pcaps"
CORPUS = ROOT.parent / "shared" / "corpus"

needs_c = pytest.mark.skipif(C is None, reason="wsdissect._speedups is not built (or WSDISSECT_PURE_PYTHON is set)")




# -- running both paths in one process ---------------------------------------------------------------------------
@contextlib.contextmanager
def pure_python():
    """The pure-Python path: every wsdissect module's global ``speedups`` (the C module) set to None, and the names
    bound to C functions at import set to their Python twins (the record encoder, the TCP header parser)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, mod in list(sys.modules.items()):
            if (name == "wsdissect" or name.startswith("wsdissect.")) and C is not None \
                    and getattr(mod, "speedups", None) is C:
                mp.setattr(mod, "speedups", None)
        # the two the lane depends on, named explicitly (in case the loop above ever misses them)
        mp.setattr(wsdissect.ws.lane, "speedups", None)
        mp.setattr(wsdissect.ws.messages, "speedups", None)
        mp.setattr(writer_mod, "speedups", None)
        mp.setattr(writer_mod, "message_line", records.message_line_py)
        mp.setattr(records, "message_line", records.message_line_py)
        mp.setattr(layers, "_parse_tcp_c", None)  # the C header parser, bound at import
        yield


class LaneCounter:
    """Stands in for the C module in wsdissect.ws.lane and counts the messages the fast lane produced."""

    def __init__(self):
        self.taken = 0

    def scan_messages(self, data, pos, first, frame, ts, out, lane, at):
        before = len(out)
        r = C.scan_messages(data, pos, first, frame, ts, out, lane, at)
        self.taken += sum(1 for ev in out[before:] if ev.__class__ is Message)
        return r


def run_events(recs: list, options: Options, pure: bool, counter: LaneCounter | None = None) -> list:
    if pure:
        with pure_python():
            return list(dissect_records(recs, options, "synthetic"))
    if counter is None:
        return list(dissect_records(recs, options, "synthetic"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(wsdissect.ws.lane, "speedups", counter)
        return list(dissect_records(recs, options, "synthetic"))


def write_records(events: list, pure: bool, fmt: str = "jsonl", flush_each: bool = False,
                  min_severity: int = Severity.NOTE) -> tuple[bytes, list[bytes]]:
    """The writer's output for *events* (fed a few events per ``events()`` call, like the export) and its writes."""

    class Out(io.BytesIO):
        def __init__(self):
            super().__init__()
            self.writes: list[bytes] = []

        def write(self, b):
            self.writes.append(bytes(b))
            return super().write(b)

    out = Out()
    ctx = pure_python() if pure else contextlib.nullcontext()
    with ctx:
        w = RecordWriter(out, fmt, min_severity, flush_each=flush_each)
        rnd = random.Random(len(events))
        i = 0
        while i < len(events):
            k = rnd.choice((1, 2, 5, 40))
            w.events(events[i:i + k])
            i += k
        w.close()
    return out.getvalue(), out.writes


def describe_difference(a: list, b: list) -> str:
    n = min(len(a), len(b))
    i = next((i for i in range(n) if a[i] != b[i]), n)
    lo = max(0, i - 2)
    lines = [f"pure: {len(a)} events, lane: {len(b)} events; first difference at index {i}"]
    for name, evs in (("pure", a), ("lane", b)):
        for j in range(lo, min(len(evs), i + 3)):
            lines.append(f"  {name}[{j}] {'>>' if j == i else '  '} {short(evs[j])}")
    return "\n".join(lines)


def short(ev) -> str:
    r = repr(ev)
    return r if len(r) < 400 else r[:400] + "..."


def assert_same_events(pure: list, lane: list) -> None:
    assert pure == lane, describe_difference(pure, lane)


# -- building conversations ----------------------------------------------------------------------------------------
CLIENT, SERVER = ("10.0.0.1", 50000), ("10.0.0.2", 8080)
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
DEFLATE_EXT = {"deflate": [("Sec-WebSocket-Extensions", "permessage-deflate")],
               "deflate_nct": [("Sec-WebSocket-Extensions",
                                "permessage-deflate; client_no_context_takeover; server_no_context_takeover")]}


def build_records(c2s: bytes, s2c: bytes, heads: tuple[int, int], c_sizes: list, s_sizes: list, order: list,
                  drop: int | None, ending: str, head_apart: bool = False, t0: float = 1_700_000_000.123456) -> list:
    """Pcap records of a TCP conversation carrying the two byte streams, each cut into segments with the sizes
    cycled from *c_sizes* / *s_sizes* (1-byte segments included, after a first one of at least 24 bytes), merged in
    the order drawn (the client's upgrade request, its first *heads[0]* bytes, always goes first), optionally with one
    segment after the handshake missing from the capture (*drop* picks which).  *head_apart*: no segment carries
    both handshake and frame bytes."""

    def cut(data: bytes, sizes: list, head: int) -> list:
        out, pos, i = [], 0, 0
        while pos < len(data):
            n = sizes[i % len(sizes)] if len(out) < 300 else 60000  # bounded packet count
            if not out:
                n = max(n, 24)  # the first bytes must show HTTP (or the connection is not decoded at all)
            n = min(n, 60000)
            if head_apart and pos < head < pos + n:
                n = head - pos
            out.append((pos, data[pos:pos + n]))
            pos += n
            i += 1
        return out

    csegs, ssegs = cut(c2s, c_sizes, heads[0]), cut(s2c, s_sizes, heads[1])
    seq_of = []  # (from_client, stream offset, bytes)
    ci = si = k = 0
    while ci < len(csegs) and csegs[ci][0] < heads[0]:  # the request first
        seq_of.append((True, *csegs[ci]))
        ci += 1
    while ci < len(csegs) or si < len(ssegs):
        pick_client = order[k % len(order)] if order else (k % 2 == 0)
        k += 1
        if pick_client and ci < len(csegs) or si >= len(ssegs):
            seq_of.append((True, *csegs[ci]))
            ci += 1
        else:
            seq_of.append((False, *ssegs[si]))
            si += 1
    after_handshake = [i for i, (c, off, _) in enumerate(seq_of) if off >= heads[0 if c else 1]]
    dropped = after_handshake[drop % len(after_handshake)] if drop is not None and after_handshake else None

    recs: list = []
    isn = {True: 0x11223344, False: 0xFFFFFF00}  # the server's sequence numbers wrap
    sent = {True: 0, False: 0}

    def emit(from_client: bool, flags: int, payload: bytes = b"", seq_adv: int = 0, keep: bool = True) -> None:
        src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
        seq = isn[from_client] + 1 + sent[from_client] if flags != 0x02 and flags != 0x12 else isn[from_client]
        ack = isn[not from_client] + 1 + sent[not from_client]
        if keep:
            pkt = tcp_packet(src, dst, seq, ack, flags, payload)
            frame = len(recs) + 1
            recs.append((frame, t0 + frame * 0.000137, 1, pkt, len(pkt)))
        sent[from_client] += seq_adv

    emit(True, 0x02)
    emit(False, 0x12)
    emit(True, 0x10)
    for i, (from_client, _off, seg) in enumerate(seq_of):
        emit(from_client, 0x18, seg, len(seg), keep=i != dropped)
    if ending == "fin":
        emit(True, 0x11, seq_adv=1)
        emit(False, 0x11, seq_adv=1)
        emit(True, 0x10)
    elif ending == "rst":
        emit(False, 0x04)
    return recs


def encode_frames(specs: list, client: bool) -> bytes:
    out = []
    for opcode, payload, fin, rsv, mask_ok, key, form in specs:
        masked = client == mask_ok  # client frames must be masked, server frames must not
        n = len(payload)
        if form == 7 and n >= 126:
            form = 16
        if form == 16 and n >= 65536:
            form = 64
        out.append(ws_frame(opcode, payload, fin=fin, rsv=rsv, mask=key if masked else None, length_form=form))
    return b"".join(out)


def deflate(payload: bytes, c=None) -> bytes:
    """*payload* compressed as one permessage-deflate message; with the sender's compressor *c* (context takeover:
    back-references into earlier messages), else on its own."""
    c = c or zlib.compressobj(wbits=-15)
    data = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4] if data.endswith(b"\x00\x00\xff\xff") else data


# -- hypothesis strategies -----------------------------------------------------------------------------------------
SPECIALS = '"\\/\x00\x01\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\x80\x9f\xa0é\u00ff\u0100\u2028\u2029\u202e\ufeff\uffff€😀'
texts = st.text(alphabet=st.one_of(st.sampled_from(SPECIALS), st.characters(blacklist_categories=("Cs",))),
                max_size=40)
INVALID_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xc1\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xe2\x82",
                b"\xf0\x9f\x98", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xe0\x80\xaf"]
valid_text = texts.map(lambda s: s.encode("utf-8"))
invalid_text = st.tuples(valid_text, st.sampled_from(INVALID_UTF8), valid_text).map(b"".join)


@st.composite
def payloads(draw, text: bool, allow_large: bool = True) -> bytes:
    base = draw(st.one_of(valid_text, valid_text, invalid_text) if text else st.binary(max_size=40))
    size = draw(st.sampled_from(["small"] * 6 + ["medium"] * 3 + (["large"] if allow_large else [])))
    if size == "small" or not base:
        return base
    n = draw(st.integers(100, 1500)) if size == "medium" else draw(st.integers(65530, 70000))
    return (base * (n // len(base) + 1))[:n]  # a cut may split a UTF-8 sequence: invalid text too


close_codes = st.sampled_from([1000, 1001, 1002, 1005, 1006, 1011, 1015, 999, 1004, 2999, 3000, 4999, 5000, 0])


@st.composite
def close_payload(draw) -> bytes:
    form = draw(st.sampled_from(["code+reason", "code+reason", "code", "empty", "one byte", "bad reason"]))
    if form == "empty":
        return b""
    if form == "one byte":
        return b"\x03"
    code = struct.pack("!H", draw(close_codes))
    if form == "code":
        return code
    reason = draw(invalid_text) if form == "bad reason" else draw(valid_text)
    return code + reason[:123]


CLEAN_KINDS = ["text", "text", "binary", "binary", "run", "run", "run", "fragmented", "ping", "pong", "close"]
ALL_KINDS = CLEAN_KINDS + ["continuation", "compressed", "reserved", "control_bad", "unfinished"]


@st.composite
def ws_items(draw, deflate_ok: bool, clean: bool = False, compressor=None) -> list:
    """One item of a direction's traffic: a list of (opcode, payload, fin, rsv) frames."""
    kind = draw(st.sampled_from(CLEAN_KINDS if clean else ALL_KINDS))
    if kind in ("text", "binary"):
        return [(1 if kind == "text" else 2, draw(payloads(kind == "text")), True, 0)]
    if kind == "run":  # plain frames back to back: what the fast lane takes
        ops = draw(st.lists(st.sampled_from([1, 2]), min_size=2, max_size=8))
        return [(op, draw(valid_text if op == 1 else st.binary(max_size=300)), True, 0) for op in ops]
    if kind in ("fragmented", "unfinished"):
        opcode = draw(st.sampled_from([1, 2]))
        whole = draw(payloads(opcode == 1, allow_large=False))
        cuts = sorted(draw(st.lists(st.integers(0, len(whole)), max_size=4)))
        parts = [whole[a:b] for a, b in zip([0] + cuts, cuts + [len(whole)])]
        compressed = deflate_ok and draw(st.booleans())
        frames = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            frames.append((opcode if i == 0 else 0, part, last and kind == "fragmented",
                           4 if compressed and i == 0 else 0))
            if not last and draw(st.booleans()):  # a ping between fragments
                frames.append((9, draw(st.binary(max_size=10)), True, 0))
        if compressed:  # the message's payload compressed as a whole, cut the same way
            z = deflate(whole, compressor)
            zc = [min(c, len(z)) for c in cuts]
            zparts = [z[a:b] for a, b in zip([0] + zc, zc + [len(z)])]
            frames = [(op, zparts.pop(0), fin, rsv) if op < 8 else (op, p, fin, rsv)
                      for op, p, fin, rsv in frames]
        if kind == "unfinished" and draw(st.booleans()):  # interrupted by a new data message
            frames.append((draw(st.sampled_from([1, 2])), draw(payloads(True, allow_large=False)), True, 0))
        return frames
    if kind == "ping" or kind == "pong":
        return [(9 if kind == "ping" else 10, draw(st.binary(max_size=20)), True, 0)]
    if kind == "close":
        return [(8, draw(close_payload()), True, 0)]
    if kind == "continuation":
        return [(0, draw(payloads(True, allow_large=False)), draw(st.booleans()), 0)]
    if kind == "compressed":
        plain = draw(payloads(True, allow_large=False))
        garbage = draw(st.booleans()) or not deflate_ok
        return [(draw(st.sampled_from([1, 2])), plain if garbage else deflate(plain, compressor), True, 4)]
    if kind == "reserved":
        return [(draw(st.sampled_from([3, 7, 0xB, 0xF])), draw(st.binary(max_size=20)), True, 0)]
    # control frames breaking the rules: too long, fragmented, RSV1
    op = draw(st.sampled_from([8, 9, 10]))
    bad = draw(st.sampled_from(["long", "nofin", "rsv"]))
    payload = draw(st.binary(min_size=126, max_size=200)) if bad == "long" else draw(st.binary(max_size=20))
    return [(op, payload, bad != "nofin", 4 if bad == "rsv" else 0)]


@st.composite
def direction_frames(draw, deflate_ok: bool, clean: bool = False) -> list:
    """A direction's frames as (opcode, payload, fin, rsv, mask bit as required, mask key, length form) specs;
    *clean*: only frames a correct peer sends (what the no-handshake heuristic accepts)."""
    # the sender's compressor: shared by its messages (context takeover) or none (each message on its own)
    compressor = zlib.compressobj(wbits=-15) if deflate_ok and draw(st.booleans()) else None
    items = draw(st.lists(ws_items(deflate_ok, clean, compressor), max_size=10))
    specs = []
    for frames in items:
        for opcode, payload, fin, rsv in frames:
            if not clean and draw(st.integers(0, 14)) == 0:  # now and then RSV bits nobody negotiated
                rsv ^= draw(st.integers(1, 7))
            mask_ok = clean or draw(st.integers(0, 14)) != 0  # mostly the mask bit this direction must use
            key = draw(st.sampled_from([b"\x00\x00\x00\x00", b"\x37\xfa\x21\x3d", b"\xff\xff\xff\xff"])) \
                if draw(st.booleans()) else draw(st.binary(min_size=4, max_size=4))
            form = 7 if clean else draw(st.sampled_from([7] * 8 + [16, 64]))  # 16/64 for a short payload:
            # non-minimal length encoding
            specs.append((opcode, payload, fin, rsv, mask_ok, key, form))
    return specs


segment_sizes = st.lists(st.one_of(st.integers(1, 8), st.integers(9, 400), st.integers(401, 70000)),
                         min_size=1, max_size=8)


@st.composite
def conversations(draw) -> dict:
    handshake = draw(st.sampled_from(["plain", "plain", "deflate", "deflate", "deflate_nct", "none"]))
    deflate_ok = handshake.startswith("deflate")
    return {
        "handshake": handshake,
        "client": draw(direction_frames(deflate_ok, clean=handshake == "none")),
        "server": draw(direction_frames(deflate_ok, clean=handshake == "none")),
        "c_sizes": draw(segment_sizes),
        "s_sizes": draw(segment_sizes),
        "order": draw(st.lists(st.booleans(), max_size=20)),
        "drop": draw(st.one_of(st.none(), st.integers(0, 1000))),
        "head_apart": draw(st.booleans()),
        "ending": draw(st.sampled_from(["fin", "none", "rst"])),
        "max_message": draw(st.sampled_from([64 << 20, 64 << 20, 64 << 20, 100, 1000, 66000])),
        "max_inflated": draw(st.sampled_from([64 << 20, 64 << 20, 64 << 20, 200, 5000])),
    }


def conv_options(conv: dict) -> Options:
    return Options(max_message=conv["max_message"], max_inflated=conv.get("max_inflated", 64 << 20))


def conversation_records(conv: dict) -> list:
    if conv["handshake"] == "none":
        req = resp = b""
    else:
        extra = DEFLATE_EXT.get(conv["handshake"], [])
        req, resp = upgrade_request(key=KEY, extra=extra), upgrade_response(KEY, extra=extra)
    c2s = req + encode_frames(conv["client"], client=True)
    s2c = resp + encode_frames(conv["server"], client=False)
    return build_records(c2s, s2c, (len(req), len(resp)), conv["c_sizes"], conv["s_sizes"], conv["order"],
                         conv["drop"], conv["ending"], conv.get("head_apart", False))


def plain_conversation(n: int = 40, sizes: tuple = (1, 3, 700, 5, 1400)) -> list:
    rnd = random.Random(7)
    client, server = [], []
    for i in range(n):
        text = ("é\"\\\x01" * rnd.randint(0, 60)).encode() + str(i).encode()
        client.append((1, text, True, 0, True, rnd.randbytes(4), 7))
        server.append((2, rnd.randbytes(rnd.choice((0, 5, 125, 126, 300, 70000))), True, 0, True, None, 7))
    server.append((8, b"\x03\xe8bye", True, 0, True, None, 7))
    client.append((8, b"\x03\xe8", True, 0, True, b"abcd", 7))
    conv = {"handshake": "plain", "client": client, "server": server, "c_sizes": list(sizes),
            "s_sizes": list(sizes)[::-1], "order": [True, False, False], "drop": None, "ending": "fin",
            "max_message": 64 << 20}
    return conversation_records(conv)


TIMES = [1700000000.123456, 0.0, 5e-05, 1e-7, 1700000000.123456789, 2**32 + 0.5, 2**32 - 0.5, 4294967295.9999995,
         1e300, 1.7976931348623157e308, 0.001, 0.0009999999999999998, 0.0015, 1.0, 1700000000.0, 1700000000.1,
         1700000000.999999, 1700000000.9999995, 123.456789, 1e-300, 5e-324, -1.5, 2**31 + 0.000001,
         1699999999.999999, 0.1 + 0.2, 4294967295.999999]
TEXTS = ["", "plain", "é\"\\\x01\x7f\u2028\u2029\x00\x1f\b\t\n\f\r/", "😀" * 3, "\ufeff\uffff", "a" * 5000,
         "</script>\u202e", "\x00" * 50]
CONNS = [Conn(0, "127.0.0.1", 50000, "127.0.0.1", 8765), Conn(7, "::1", 1, "::1", 28002),
         Conn(2**40, "10.1.2.3", 65535, "192.168.0.1", 80)]


DIRECTIONS = [CLIENT_TO_SERVER, SERVER_TO_CLIENT]


def message(conn=CONNS[0], direction=CLIENT_TO_SERVER, opcode=1, payload=b"x", complete=True, first=1, last=1,
            t0=1700000000.123456, t1=1700000000.123456, fragments=1, compressed=False, wire=None, frames=None,
            code=None, reason=None, text=None, truncated=False, note=None) -> Message:
    return new_message(conn, direction, opcode, payload, complete, first, last, t0, t1, fragments, compressed,
                       len(payload) if wire is None else wire, frames or (last,), code, reason, text, truncated, note)


def handpicked_messages() -> list:
    ms = []
    for t in TEXTS:
        ms.append(message(payload=t.encode(), text=t))
        ms.append(message(payload=t.encode(), text=None))  # invalid UTF-8 on the wire: no text
    for p in (b"", b"\x00", b"ab", b"abc", bytes(range(256)), b"\xff" * 1000):
        ms.append(message(opcode=2, payload=p))
    for t in TIMES:
        ms.append(message(t0=t, t1=t))
        ms.append(message(opcode=2, payload=b"\x01\x02", t0=1700000000.5, t1=t))
    for conn in CONNS:
        for d in DIRECTIONS:
            ms.append(message(conn=conn, direction=d, payload=b"hi", text="hi"))
    ms += [
        message(compressed=True, wire=3),
        message(fragments=5, first=3, last=99, frames=(3, 5, 60, 70, 99)),
        message(fragments=0),
        message(complete=False, note="bytes missing from the capture"),
        message(complete=False, truncated=True, note="decompressed size limit reached"),
        message(truncated=True),
        message(note="a note on a complete message"),
        message(note=""),
        message(opcode=8, payload=b"\x03\xe8bye", code=1000, reason="bye"),
        message(opcode=8, payload=b"\x03\xe8", code=1000, reason=""),
        message(opcode=8, payload=b"", code=None, reason=None),
        message(opcode=1, code=1000),
        message(opcode=1, reason="only a reason"),
        message(opcode=9, payload=b"ping"), message(opcode=10, payload=b""), message(opcode=0), message(opcode=3),
        message(opcode=0xF, payload=b"\xff"),
        message(wire=2**63 - 1), message(wire=2**63), message(wire=2**64 - 1), message(wire=2**64 + 5),
        message(first=2**63 - 1, last=2**63 - 1), message(first=2**63, last=2**64 - 1), message(first=0, last=0),
        message(fragments=2**63),
        message(opcode=2, payload=b"\x00" * 3000, compressed=True, fragments=3),
        message(opcode=1, payload=("é\"" * 2500).encode(), text="é\"" * 2500),  # past the 4 KB stack buffer
        message(opcode=1, payload=b"\x01" * 900, text="\x01" * 900),  # escapes grow it past 4 KB
        message(opcode=2, payload=random.Random(1).randbytes(1 << 20)),
        message(first=True, last=True),  # an int subclass (bool) where an int is expected: left to Python
    ]
    return ms
