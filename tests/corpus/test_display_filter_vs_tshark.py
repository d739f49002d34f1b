"""Display filters (-Y) against tshark's -Y: the same expression must select the same frame numbers.

For each capture and expression, tshark's selection (``tshark -r CAP -Y EXPR -T fields -e frame.number``) is
compared with the frames the compiled predicate selects when fed the packet events of
``dissect_files(..., Options(packets=True, frames=True))`` through :class:`~wsdissect.filter_fields.PacketFields`.
Events are put on the packet their ``frame`` (a message: its ``last_frame``) names, which is where tshark puts a
reassembled PDU.  tshark runs with ``tcp.reassemble_out_of_order:TRUE`` (wsdissect always reassembles out-of-order
segments) and, for a mid-stream capture, with the same decode-as port as wsdissect.

tshark's answers are cached in pytest's cache (keyed by tshark's version, the capture's bytes and the expression),
so only the first run pays for ~350 tshark starts.  Skipped when tshark is not installed.

``KNOWN`` lists the differences that are not the filter's: each names its cause.  Those cases xfail while they
differ and pass once the cause is fixed (then remove the entry).  Bad expressions must be rejected by both tools,
at the same column where tshark shows one.
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from wsdissect.display_filter import DisplayFilterError, compile_filter

from ..conftest import CORPUS, SAMPLES
from ..filter_support import packet_fields

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")

CORPUS_CASES = ["refused_upgrade_and_plain_http", "variant_dropped_segment", "variant_overlapping_retransmission",
                "variant_reordered_segments", "websockets_ipv6", "node_ws_deflate_fragmented", "variant_midstream_start",
                "wsproto_crafted_frames"]


def _captures() -> list[pathlib.Path]:
    found = sorted(SAMPLES.glob("*.pcap"))
    for case in CORPUS_CASES:
        found += sorted((CORPUS / case).glob("capture.pcap*"))
    return found


CAPTURES = _captures()

EXPRESSIONS = [
    "websocket", "http", "http.request", "http.response", 'http.request.method == "GET"',
    'http.request.uri contains "/"', "http.response.code == 101", "http.host", "websocket.opcode == 1",
    "websocket.opcode == 2", "websocket.opcode in {8, 9, 10}", "websocket.opcode != 1", "websocket.fin == 0",
    "websocket.mask == 1", "websocket.mask == 0 && websocket", "websocket.rsv != 0", "websocket.payload_length == 126",
    "websocket.payload_length < 10", "websocket.payload_length_ext_16 > 200", 'websocket.payload.text contains "a"',
    'websocket.payload.text matches "^\\\\{"', "websocket.payload.close.status_code == 1000",
    "websocket.payload.close.status_code", 'websocket.opcode == "Connection Close" || websocket.opcode == "Ping"',
    "tcp.port == 80 || tcp.srcport > 40000", "tcp.stream == 0", "tcp.stream in {1..3}",
    "tcp.len > 0 and not websocket", "tcp.flags.syn == 1", "tcp.flags.fin == 1 || tcp.flags.reset == 1",
    "tcp.seq == 1", "tcp.ack == 1 && tcp.len == 0", "tcp.flags & 0x12 == 0x12", "ip.addr == 127.0.0.1",
    "ip.src == 127.0.0.0/8 and tcp.dstport < 10000", "ipv6", "ipv6.addr == ::1", "tcp.srcport < tcp.dstport",
    "frame.number >= 5 && frame.number <= 12", "frame.len > 100", "tcp.analysis.retransmission",
    "tcp.analysis.out_of_order", 'tcp.payload contains "GET"', "tcp.payload matches \"^\\\\x81\"",
    'tcp.payload[0:3] == "GET"', "tcp.payload[-2:] == 0d:0a", "tcp.payload[0] == 81 || tcp.payload[0] == c1",
    "tcp.payload[300:100]", 'http.request.uri[0:2] == "/m"', "websocket.payload.ping", "websocket.payload.pong",
    "websocket.payload.close.reason", "len(websocket.payload.ping) == 0", "tcp.analysis.lost_segment",
    "tcp.analysis.flags && !tcp.analysis.retransmission",
    # packets that are not TCP, and tunnels (sample_pcaps/mixed_nontcp.pcap, tunnel_*.pcap)
    "not tcp", "udp", "udp.port == 53", "udp.srcport == 5000 && udp.dstport == 6000", "icmp", "icmp.type == 0",
    "icmpv6", "icmpv6.type == 135", "arp", "arp.opcode == 2", "dns", 'dns.qry.name == "example.com"', "igmp",
    "lldp", "esp", "eth", "vlan", "vlan.id == 200", "mpls", "mpls.label == 100", "gre", "gre.key == 9", "vxlan",
    "vxlan.vni == 42", "gtp", "gtp.teid == 0x1234",
    "ip.addr == 10.1.0.1", "ip.proto == 47", "ip.proto == 6", "ipv6.nxt == 6", "mdns", "llmnr", "dhcp", "ntp", "ssdp",
    'dns.qry.name contains "local"', "http.request.method == \"M-SEARCH\"", "ipv6.addr == 2001:db8:1::1",
]

_DEFLATE_FRAGMENTS = ("Wireshark 4.0 does not inflate a compressed message sent in fragments: it shows the "
                      "compressed bytes as Text; wsdissect gives the inflated text")
_PLACEMENT = ("wsdissect puts frames of reordered segments on the wrong packets (issue 13 item 2, the "
              "restructured driver)")
_ANALYSIS = "TCP analysis names differ from tshark's (issue 13 item 2)"
_RESYNC = ("after a lost segment tshark stops decoding WebSocket in that direction; wsdissect resynchronises "
           "(ws.resync) and decodes the frames after the hole")
_MIDSTREAM_SEQ = "relative sequence numbers of a mid-stream connection differ from tshark's (issue 13 item 2)"
KNOWN = {
    ("websockets_deflate", 'websocket.payload.text contains "a"'): _DEFLATE_FRAGMENTS,
    ("websockets_deflate", 'websocket.payload.text matches "^\\\\{"'): _DEFLATE_FRAGMENTS,
    ("node_ws_deflate_fragmented", 'websocket.payload.text contains "a"'): _DEFLATE_FRAGMENTS,
    ("node_ws_deflate_fragmented", 'websocket.payload.text matches "^\\\\{"'): _DEFLATE_FRAGMENTS,
    ("variant_overlapping_retransmission", "tcp.analysis.retransmission"): _ANALYSIS,
    ("variant_overlapping_retransmission", "tcp.analysis.out_of_order"): _ANALYSIS,
    ("variant_reordered_segments", "tcp.analysis.retransmission"): _ANALYSIS,
    ("variant_reordered_segments", "tcp.analysis.out_of_order"): _ANALYSIS,
    ("variant_reordered_segments", "tcp.analysis.lost_segment"): _ANALYSIS,
    **{("variant_dropped_segment", e): _RESYNC for e in EXPRESSIONS if e.startswith("websocket")
       or "not websocket" in e},
    **{(case, "tcp.analysis.flags && !tcp.analysis.retransmission"): _ANALYSIS for case in (
        "refused_upgrade_and_plain_http", "variant_dropped_segment", "variant_overlapping_retransmission",
        "variant_reordered_segments", "variant_midstream_start")},
    ("variant_midstream_start", "tcp.seq == 1"): _MIDSTREAM_SEQ,
    ("variant_midstream_start", "tcp.ack == 1 && tcp.len == 0"): _MIDSTREAM_SEQ,
    **{("variant_reordered_segments", e): _PLACEMENT for e in EXPRESSIONS if e.startswith("websocket")
       or "not websocket" in e},
}


#: captures tools/make_tunnel_pcaps.py made from websockets_deflate.pcap: they share its differences
DERIVED = [p.stem for p in sorted(SAMPLES.glob("tunnel_*.pcap"))] + ["mixed_nontcp"]
KNOWN.update({(case, e): _DEFLATE_FRAGMENTS for case in DERIVED for e in (
    'websocket.payload.text contains "a"', 'websocket.payload.text matches "^\\\\{"')})


def _name(cap: pathlib.Path) -> str:
    return cap.stem if cap.parent == SAMPLES else cap.parent.name


def _decode_as(cap: pathlib.Path) -> frozenset:
    """The decode-as port the corpus case's meta.json asks for (mid-stream captures), else none."""
    meta = cap.parent / "meta.json"
    if cap.parent == SAMPLES or not meta.is_file():
        return frozenset()
    args = json.loads(meta.read_text()).get("export_args", [])
    return frozenset(int(a.split("==")[1]) for a in args if a.startswith("tcp.port=="))


def _tshark_version() -> str:
    return subprocess.run([TSHARK, "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def _tshark_selection(cap: pathlib.Path, expr: str) -> list[int]:
    args = [TSHARK, "-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", str(cap), "-Y", expr,
            "-T", "fields", "-e", "frame.number"]
    for port in sorted(_decode_as(cap)):
        args[1:1] = ["-d", f"tcp.port=={port},websocket"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    cut_short = "cut short in the middle of a packet" in r.stderr  # a damaged capture: the frames before count
    assert r.returncode == 0 or cut_short, f"tshark rejected {expr!r}: {r.stderr.strip()}"
    return [int(n) for n in r.stdout.split()]


@pytest.fixture(scope="module")
def tshark_answers(request):
    """(capture name, expression) -> tshark's frame numbers, from the cache or from tshark (two at a time)."""
    cache = request.config.cache
    version = _tshark_version()
    answers, todo = {}, []
    for cap in CAPTURES:
        digest = hashlib.sha256(cap.read_bytes()).hexdigest()[:16]
        for expr in EXPRESSIONS:
            key = "wsdissect/dfilter/" + hashlib.sha256(f"{version}|{digest}|{expr}".encode()).hexdigest()[:24]
            hit = cache.get(key, None)
            if hit is None:
                todo.append((cap, expr, key))
            else:
                answers[_name(cap), expr] = hit
    with ThreadPoolExecutor(2) as pool:
        for (cap, expr, key), frames in zip(todo, pool.map(lambda t: _tshark_selection(t[0], t[1]), todo)):
            cache.set(key, frames)
            answers[_name(cap), expr] = frames
    return answers


@pytest.fixture(scope="module")
def packets():
    """Capture name -> [PacketFields] in frame order, built once per capture."""
    return {_name(cap): packet_fields(str(cap), _decode_as(cap)) for cap in CAPTURES}


@pytest.mark.parametrize("expr", EXPRESSIONS)
@pytest.mark.parametrize("cap", CAPTURES, ids=_name)
def test_selection_matches_tshark(cap, expr, tshark_answers, packets):
    name = _name(cap)
    flt = compile_filter(expr)
    mine = [p.packet.frame for p in packets[name] if flt(p)]
    theirs = tshark_answers[name, expr]
    if (name, expr) in KNOWN and mine != theirs:
        pytest.xfail(KNOWN[name, expr])
    assert mine == theirs, (f"{name}: {expr!r}: only wsdissect {sorted(set(mine) - set(theirs))[:10]}, "
                            f"only tshark {sorted(set(theirs) - set(mine))[:10]}")


def test_expressions_select_something():
    """The list is worth running: most expressions select packets in some capture and miss others."""
    assert len(EXPRESSIONS) >= 30


BAD = ["tcp.port ==", "foo", "tcp.port == 80 and bogus.field", "websocket.close.code == 1000", "tcp.port == 0x",
       "frame.number == 1.5", "ip.addr == 300.1.1.1", "tcp.port contains 1", 'websocket.opcode == "Blah"',
       "(tcp.port == 1", 'tcp.port == "abc', "tcp.port @ 3", "tcp.port == 1 2", "and tcp", "tcp.port == ip.addr",
       "nosuch(tcp.port)", "websocket.opcode in {1,}", "tcp.port == 99999", "frame.number in {1..4294967296}",
       "tcp.srcport[0] == 1", "!", "tcp.port === ", "http.host matches \"(\""]


def _tshark_error_column(expr: str) -> list:
    """tshark's exit status for *expr* and the column its caret line points at (None without one)."""
    r = subprocess.run([TSHARK, "-r", str(CAPTURES[0]), "-Y", expr], capture_output=True, text=True, timeout=60)
    lines = r.stderr.splitlines()
    for i, line in enumerate(lines[1:], 1):
        if line.lstrip().startswith("^") and lines[i - 1] == "    " + expr:
            return [r.returncode, line.index("^") - 4 + 1]
    return [r.returncode, None]


@pytest.fixture(scope="module")
def tshark_errors(request):
    """Bad expression -> [tshark's exit status, its caret column], cached like tshark_answers."""
    cache, version, out = request.config.cache, _tshark_version(), {}
    for expr in BAD:
        key = "wsdissect/dfilter/bad-" + hashlib.sha256(f"{version}|{expr}".encode()).hexdigest()[:24]
        out[expr] = cache.get(key, None)
        if out[expr] is None:
            out[expr] = _tshark_error_column(expr)
            cache.set(key, out[expr])
    return out


@pytest.mark.parametrize("expr", BAD)
def test_bad_expressions_rejected_like_tshark(expr, tshark_errors):
    with pytest.raises(DisplayFilterError) as info:
        compile_filter(expr)
    status, column = tshark_errors[expr]
    assert status != 0
    if column is not None:
        assert info.value.column == column, info.value
