"""The field table (wsdissect.fields), the values read from events (wsdissect.filter_fields) and the doc's table."""
from __future__ import annotations

import functools
import pathlib
import shutil
import subprocess

import pytest

from wsdissect.events import Finding
from wsdissect.fields import FIELDS, FieldType, markdown_table
from wsdissect.filter_fields import _EXTRACTORS, TCP_ANALYSIS, PacketFields
from wsdissect.findings import KINDS

from ..conftest import SAMPLES
from ..filter_support import packet_fields

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "display-filter.md"
PY_TYPES = {FieldType.UINT: int, FieldType.BOOL: bool, FieldType.STRING: str, FieldType.BYTES: bytes,
            FieldType.IPV4: str, FieldType.IPV6: str, FieldType.FLOAT: float, FieldType.TIME: float,
            FieldType.PROTOCOL: bool, FieldType.LABEL: bool}
TSHARK_TYPES = {FieldType.UINT: ("FT_UINT8", "FT_UINT16", "FT_UINT24", "FT_UINT32", "FT_UINT64"),
                FieldType.BOOL: ("FT_BOOLEAN",), FieldType.STRING: ("FT_STRING",), FieldType.BYTES: ("FT_BYTES",),
                FieldType.IPV4: ("FT_IPv4",), FieldType.IPV6: ("FT_IPv6",), FieldType.TIME: ("FT_RELATIVE_TIME",),
                FieldType.LABEL: ("FT_NONE",)}


def test_every_field_has_an_extractor():
    assert _EXTRACTORS.keys() == FIELDS.keys()


def test_tcp_analysis_codes_are_registered_findings():
    assert set(TCP_ANALYSIS) <= set(KINDS)
    assert set(TCP_ANALYSIS.values()) <= set(FIELDS)


def test_doc_embeds_the_generated_table():
    assert markdown_table() in DOC.read_text(), "docs/display-filter.md: paste wsdissect.fields.markdown_table()"


@functools.lru_cache(maxsize=1)
def _tshark_fields() -> dict[str, tuple[str, str]]:
    out = subprocess.run(["tshark", "-G", "fields"], capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if cols[0] == "F":
            table[cols[2]] = (cols[1], cols[3])
        elif cols[0] == "P":
            table[cols[2]] = (cols[1], "FT_PROTOCOL")
    return table


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", [f.name for f in FIELDS.values() if f.wireshark])
def test_wireshark_fields_match_tshark(name):
    """Name, label and type as tshark 4.0 registers them (websocket.payload is typed bytes on purpose)."""
    label, ftype = _tshark_fields()[name]
    f = FIELDS[name]
    assert f.label == label
    if name == "websocket.payload":
        assert ftype == "FT_NONE" and f.type is FieldType.BYTES and "label" in f.note
    elif f.type is FieldType.PROTOCOL:
        assert ftype == "FT_PROTOCOL"
    else:
        assert ftype in TSHARK_TYPES[f.type]
    if f.type is FieldType.UINT:
        assert ftype == f"FT_UINT{f.bits}"


@functools.lru_cache(maxsize=None)
def _sample_packets(name: str) -> list[PacketFields]:
    return packet_fields(str(SAMPLES / name))


@pytest.mark.parametrize("capture", ["aiohttp_mixed.pcap", "wsproto_fragments.pcap", "websockets_deflate.pcap"])
def test_values_have_the_field_type(capture):
    seen = set()
    for p in _sample_packets(capture):
        for name, f in FIELDS.items():
            vals = p.values(name)
            assert all(type(v) is PY_TYPES[f.type] for v in vals), (name, vals)
            if vals:
                seen.add(name)
    assert {"websocket.opcode", "websocket.payload", "tcp.port", "frame.time_relative", "http.request.uri"} <= seen


def test_values_of_one_websocket_packet():
    packets = _sample_packets("aiohttp_mixed.pcap")
    first_ws = next(p for p in packets if p.values("websocket"))
    assert first_ws.values("frame.number") == [8]  # tshark: the first WebSocket frame is in packet 8
    assert first_ws.values("websocket.opcode") == [1] and first_ws.values("websocket.mask") == [False]
    assert first_ws.values("websocket.payload_length") == [len(first_ws.values("websocket.payload")[0])]
    assert first_ws.values("http") == () and first_ws.values("ip.addr") == ["127.0.0.1", "127.0.0.1"]
    assert 0 < first_ws.values("frame.time_relative")[0] < 1
    request = next(p for p in packets if p.values("http.request"))
    assert request.values("http.request.method") == ["GET"] and request.values("http.request.uri") == ["/mixed"]
    assert request.values("websocket") == () and request.values("websocket.opcode") == []


def test_findings_give_expert_fields():
    packets = _sample_packets("aiohttp_mixed.pcap")
    p = packets[0]
    finding = Finding(p.packet.frame, p.packet.ts, "ws.frame.rsv", KINDS["ws.frame.rsv"].severity, "RSV set")
    x = PacketFields(p.packet, [finding], p.t0)
    assert x.values("ws.finding") == ["ws.frame.rsv"] and x.values("_ws.expert") == (True,)
    assert x.values("_ws.expert.severity") == [0x00800000] and x.values("_ws.expert.message") == ["RSV set"]
    assert x.values("no.such.field") == ()
