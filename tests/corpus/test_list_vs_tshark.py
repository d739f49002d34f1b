"""The packet list against ``tshark -r`` on every bundled sample and shared-corpus capture.

Per frame: the frame is listed; where both lists show them, Seq/Ack/Len/Win agree (relative numbers as tshark
computes them, mid-stream captures included); the TCP analysis flags tshark names (Keep-Alive, Keep-Alive ACK,
Dup ACK, Retransmission, Spurious Retransmission, Out-Of-Order, Previous segment not captured, ZeroWindow, Window
Update) agree everywhere; the Protocol column agrees for TCP, HTTP and WebSocket rows except the named
differences below (decoding choices, not list bugs).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

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


def _ours(path: Path) -> dict[int, tuple[str, str]]:
    res = CliRunner().invoke(main, ["show", str(path), "--color", "never", "--width", "2000", "-q"])
    rows = {}
    for line in res.stdout.splitlines()[1:]:
        m = re.match(r"\s*(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\d+\s+(.*)", line)
        if m:
            rows[int(m[1])] = (m[2], m[3])
    return rows


def _theirs(path: Path) -> dict[int, tuple[str, str]]:
    out = subprocess.run([TSHARK, "-r", str(path), "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol",
                          "-e", "_ws.col.Info"], capture_output=True, text=True, check=False).stdout
    return {int(p[0]): (p[1], p[2]) for p in (line.split("\t") for line in out.splitlines())}


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
    wrong = []
    for n, (protocol, info) in theirs.items():
        mine_protocol, mine = ours[n]
        numbers, mine_numbers = dict(NUMBERS.findall(info)), dict(NUMBERS.findall(mine))
        if ANALYSIS.findall(info) != ANALYSIS.findall(mine):
            wrong.append((n, "flags", info, mine))
        elif numbers and mine_numbers and numbers != mine_numbers:
            wrong.append((n, "numbers", info, mine))
        elif (protocol in ("TCP", "HTTP", "WebSocket") and protocol != mine_protocol
              and not (protocol == "WebSocket" and mine_protocol in APP_PROTOCOLS)
              and _name(path) not in PROTOCOL_DIFFERS):
            wrong.append((n, "protocol", protocol, mine_protocol))
    assert not wrong, wrong[:5]
