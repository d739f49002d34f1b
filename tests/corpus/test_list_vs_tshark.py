"""The packet list against ``tshark -r`` on every bundled sample and shared-corpus capture.

Per frame: the frame is listed; where both lists show them, Seq/Ack/Len/Win agree (relative numbers as tshark
computes them, mid-stream captures included); the TCP analysis flags tshark names (Keep-Alive, Keep-Alive ACK,
Dup ACK, Retransmission, Spurious Retransmission, Out-Of-Order, Previous segment not captured, ZeroWindow, Window
Update) agree everywhere; the Protocol column agrees for TCP, HTTP and WebSocket rows except the named
differences below (decoding choices, not list bugs); Source and Destination agree on every row (the innermost
addresses of a tunnelled packet, MAC addresses of a packet that is not IP); a row tshark names ``GTP <X>`` is named
so by wsdissect too.  Rows that are not TCP (UDP, DNS, ICMP, ICMPv6, ARP, IGMP, LLDP, ESP, other EtherTypes, in
``sample_pcaps/mixed_nontcp.pcap`` and wherever a capture has them) agree in every column.

Deliberate differences: tshark runs with ``-n`` (wsdissect never resolves names: no OUI vendor names, no
"Broadcast"); an ICMP/ICMPv6 echo request does not say "(reply in N)" (tshark's single pass does not either);
UDP services are named by port for DNS, mDNS, LLMNR, DHCP, NTP and SSDP only (QUIC, for one, is listed as UDP).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from tests.conftest import CORPUS
from wsdissect.cli import main
from wsdissect.render.app_view import LABELS

SAMPLES = Path(__file__).resolve().parents[2] / "sample_pcaps"
CAPTURES = sorted(SAMPLES.glob("*.pcap")) + (sorted(CORPUS.glob("*/capture.pcap*")) if CORPUS.is_dir() else [])
TSHARK = shutil.which("tshark")
ANALYSIS = re.compile(r"\[TCP ((?:Keep-Alive|Dup ACK|Retransmission|Spurious Retransmission|Out-Of-Order|"
                      r"Previous segment not captured|ZeroWindow|Window Update)[^\]]*)\]")
NUMBERS = re.compile(r"\b(Seq|Ack|Win|Len)=(\d+)")
#: captures whose Protocol column differs by design, and why
PROTOCOL_DIFFERS = {
    "variant_midstream_start": "wsdissect recognises WebSocket without a handshake; tshark needs -d",
    "variant_reordered_segments": "tshark does not dissect segments it calls spurious retransmissions",
    "variant_dropped_segment": "wsdissect resynchronises after the hole, tshark stops",
    "variant_snaplen_120": "tshark dissects HTTP heads cut by the snapshot length",
}
#: a WebSocket row that carries decoded application units is named by their protocol (Socket.IO, MQTT...), the
#: highest layer decoded, as Wireshark names a row by its top protocol; tshark 4.0 decodes none of these here
APP_PROTOCOLS = frozenset(LABELS.values())


class Row(NamedTuple):
    src: str
    dst: str
    protocol: str
    info: str
    tcp: bool = True  # tshark's row: the packet has a TCP header


def _ours(path: Path) -> dict[int, Row]:
    res = CliRunner().invoke(main, ["show", str(path), "--color", "never", "--width", "2000", "-q"])
    rows = {}
    for line in res.stdout.splitlines()[1:]:
        m = re.match(r"\s*(\d+)\s+\S+\s+(\S+)\s+(\S+)\s+(.+?)\s+\d+ (.*)", line)
        if m:
            rows[int(m[1])] = Row(m[2], m[3], m[4], m[5].rstrip())
    return rows


def _theirs(path: Path) -> dict[int, Row]:
    out = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Source",
                          "-e", "_ws.col.Destination", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info", "-e",
                          "tcp.srcport"], capture_output=True, text=True, check=False).stdout
    return {int(p[0]): Row(p[1], p[2], p[3], p[4].rstrip(), bool(p[5]))
            for p in (line.split("\t") for line in out.splitlines())}


def _inner(protocol: str) -> str:
    """The protocol inside tshark's ``GTP <X>``."""
    return protocol[5:-1] if protocol.startswith("GTP <") else protocol


def _differences(n: int, theirs: Row, mine: Row, name: str) -> list[tuple]:
    """What differs between tshark's row *theirs* and wsdissect's *mine* (see the module docstring)."""
    if (theirs.src, theirs.dst) != (mine.src, mine.dst):
        return [(n, "addresses", theirs, mine)]
    if theirs.protocol.startswith("GTP <") != mine.protocol.startswith("GTP <"):
        return [(n, "tunnel", theirs.protocol, mine.protocol)]
    if not theirs.tcp:
        return [] if theirs == mine._replace(tcp=False) else [(n, "not TCP", theirs, mine)]
    info, protocol, mine_protocol = theirs.info, _inner(theirs.protocol), _inner(mine.protocol)
    numbers, mine_numbers = dict(NUMBERS.findall(info)), dict(NUMBERS.findall(mine.info))
    if ANALYSIS.findall(info) != ANALYSIS.findall(mine.info):
        return [(n, "flags", info, mine.info)]
    if numbers and mine_numbers and numbers != mine_numbers:
        return [(n, "numbers", info, mine.info)]
    if (protocol in ("TCP", "HTTP", "WebSocket") and protocol != mine_protocol
            and not (protocol == "WebSocket" and mine_protocol in APP_PROTOCOLS) and name not in PROTOCOL_DIFFERS):
        return [(n, "protocol", protocol, mine_protocol)]
    return []


def _name(path: Path) -> str:
    return path.parent.name if path.name.startswith("capture.") else path.stem


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
@pytest.mark.parametrize("path", CAPTURES, ids=_name)
def test_packet_list_agrees_with_tshark(path):
    meta = path.parent / "meta.json"
    if meta.exists() and json.loads(meta.read_text()).get("export_args"):
        pytest.skip("needs capture-specific options")
    ours, theirs = _ours(path), _theirs(path)
    assert set(theirs) <= set(ours), f"not listed: {sorted(set(theirs) - set(ours))[:10]}"
    wrong = [d for n, row in theirs.items() for d in _differences(n, row, ours[n], _name(path))]
    assert not wrong, wrong[:5]


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
def test_every_kind_of_row_is_compared():
    """The mixed capture really has rows that are not TCP, and they are all listed like tshark's."""
    theirs = _theirs(SAMPLES / "mixed_nontcp.pcap")
    other = {row.protocol for row in theirs.values() if not row.tcp}
    assert {"DNS", "UDP", "ICMP", "ICMPv6", "ARP", "IGMPv2", "LLDP", "ESP", "DHCP", "NTP", "SSDP", "MDNS", "LLMNR"} <= other
