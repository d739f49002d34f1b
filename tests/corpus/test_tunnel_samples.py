"""The tunnelled and mixed sample captures (``tools/make_tunnel_pcaps.py`` from ``websockets_deflate.pcap``):
export gives the same messages as the untunnelled original; the views show every packet, the tunnels' headers and
the packets that are not TCP, and ``-w``, ``-x``, ``-c`` and ``--stream`` treat those like any other packet."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.tunnel_builders import KINDS
from wsdissect.cli import main
from wsdissect.events import Message
from wsdissect.export.records import message_record
from wsdissect.options import Options
from wsdissect.run import dissect_files

SAMPLES = Path(__file__).resolve().parents[2] / "sample_pcaps"
ORIGINAL = SAMPLES / "websockets_deflate.pcap"
DERIVED = [SAMPLES / f"tunnel_{kind}.pcap" for kind in KINDS] + [SAMPLES / "mixed_nontcp.pcap"]
TUNNEL_NODE = {"qinq": "IEEE 802.1ad, ID: 100", "mpls": "MultiProtocol Label Switching Header, Label: 100",
               "gre": "Generic Routing Encapsulation (IP)",
               "gre_eth": "Generic Routing Encapsulation (Transparent Ethernet bridging)",
               "vxlan": "Virtual eXtensible Local Area Network", "gtpu": "GPRS Tunneling Protocol",
               "gtpu_qinq": "GPRS Tunneling Protocol", "ipip": "Internet Protocol Version 4, Src: 10.1.0.1",
               "6in4": "Internet Protocol Version 6, Src: 2001:db8:2::7f00:1",
               "6in6": "Internet Protocol Version 6, Src: 2001:db8:1::1"}


def _messages(path: Path, leave_out: tuple = ()) -> list[tuple]:
    """Each message's export record, without the endpoints (the IPv6 captures carry mapped addresses) and the
    fields *leave_out* names."""
    out = []
    for ev in dissect_files([str(path)], Options()):
        if ev.__class__ is Message:
            rec = message_record(ev)
            out.append(tuple(sorted((k, str(v)) for k, v in rec.items()
                                    if k not in ("client", "server") + leave_out)))
    return out


def _show(*args: str) -> str:
    res = CliRunner().invoke(main, ["show", *args, "--color", "never", "--width", "2000", "-q"])
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.mark.parametrize("path", DERIVED, ids=lambda p: p.stem)
def test_export_equals_the_untunnelled_original(path):
    frames = ("first_frame", "last_frame", "frames") if path.stem == "mixed_nontcp" else ()  # packets inserted
    want = _messages(ORIGINAL, frames)
    assert want and _messages(path, frames) == want


@pytest.mark.parametrize("kind", KINDS)
def test_detail_tree_shows_the_tunnel(kind):
    tree = _show("-V", "--frame", "1", str(SAMPLES / f"tunnel_{kind}.pcap"))
    assert TUNNEL_NODE[kind] in tree
    assert "Transmission Control Protocol, Src Port: 33548, Dst Port: 28011" in tree


def test_every_packet_is_listed():
    rows = [line for line in _show(str(SAMPLES / "mixed_nontcp.pcap")).splitlines()[1:] if line.strip()]
    original = [line for line in _show(str(ORIGINAL)).splitlines()[1:] if line.strip()]
    assert len(rows) == len(original) + 22


def test_count_and_hex_dump_include_other_packets():
    rows = _show("-c", "3", str(SAMPLES / "mixed_nontcp.pcap")).splitlines()[1:]
    assert len(rows) == 3 and "Standard query 0x1234 A example.com" in rows[2]
    dump = _show("-x", "-Y", "arp.opcode == 1", str(SAMPLES / "mixed_nontcp.pcap"))
    assert "Who has 192.168.7.1? Tell 192.168.7.10" in dump
    assert "0000  ff ff ff ff ff ff 02 00 00 00 00 0a 08 06" in dump


def test_connection_filters_leave_out_packets_of_no_connection():
    for option in (["--stream", "0"], ["--client", "127.0.0.1"], ["--direction", "c2s"]):
        rows = _show(*option, str(SAMPLES / "mixed_nontcp.pcap")).splitlines()[1:]
        assert rows and all("127.0.0.1" in row for row in rows), option


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_write_extracts_other_packets(tmp_path):
    out = tmp_path / "other.pcap"
    _show("-Y", "not tcp", "-w", str(out), str(SAMPLES / "mixed_nontcp.pcap"))
    listed = subprocess.run(["tshark", "-n", "-r", str(out), "-T", "fields", "-e", "_ws.col.Protocol"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert listed == ["DNS", "DNS", "DNS", "UDP", "ICMP", "ICMP", "ICMP", "ARP", "ARP", "ICMPv6", "ICMPv6", "ICMPv6",
                      "ICMPv6", "IGMPv2", "LLDP", "ESP", "0x88b5", "DHCP", "NTP", "SSDP", "MDNS", "LLMNR"]


def _their_headers(path: Path) -> dict[int, list[str]]:
    """Per frame, the tree line of each header tshark shows before TCP (``tshark -n -T pdml``)."""
    xml = subprocess.run(["tshark", "-n", "-T", "pdml", "-r", str(path)], capture_output=True, text=True,
                         check=True).stdout
    out = {}
    for n, packet in enumerate(ET.fromstring(xml).iter("packet"), 1):
        names = []
        for proto in packet.findall("proto")[2:]:  # after geninfo and frame
            if proto.get("name") in ("tcp", "_ws.malformed"):
                break
            if proto.get("showname") is not None:  # not the undissected data's wrapper
                names.append(proto.get("showname"))
        out[n] = names
    return out


def _my_headers(path: Path) -> dict[int, list[str]]:
    """Per frame, wsdissect's top-level tree lines between Frame and TCP (the MAC addresses written once, as
    ``tshark -n`` writes them)."""
    out: dict[int, list[str]] = {}
    current = None
    for line in _show("-V", str(path)).splitlines():
        m = re.match(r"Frame (\d+):", line)
        if m:
            current = out.setdefault(int(m[1]), [])
        elif line.startswith("Transmission Control Protocol"):
            current = None
        elif line and line[0] not in "├└│ " and current is not None:
            current.append(re.sub(r" \(([0-9a-f:]{17})\)", "", line))
    return out


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("path", DERIVED, ids=lambda p: p.stem)
def test_header_lines_match_tshark(path):
    """Every header before TCP (VLAN tags, MPLS labels, outer IP, UDP, the tunnel, inner Ethernet and IP; UDP, DNS,
    ICMP, ARP... of the packets that are not TCP) has Wireshark's tree line, in Wireshark's order."""
    theirs, mine = _their_headers(path), _my_headers(path)
    wrong = [(n, theirs[n], mine.get(n)) for n in theirs if theirs[n] != mine.get(n)]
    assert not wrong, wrong[:3]
