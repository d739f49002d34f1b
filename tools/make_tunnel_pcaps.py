"""Make the tunnelled and mixed sample captures from the real WebSocket captures in ``sample_pcaps/``.

Each ``tunnel_<kind>.pcap`` is a real capture (``websockets_deflate.pcap``, made by ``tools/make_sample_pcaps.py``
from real peers) with every packet's IP packet (or whole Ethernet frame) carried by one tunnel kind: QinQ, MPLS, GRE
(checksum, key and sequence number), GRE with transparent Ethernet bridging, VXLAN, GTP-U (sequence number and an
extension header), GTP-U over QinQ, IP-in-IP, 6in4 and IPv6-in-IPv6 (the last two carry the TCP segments as IPv6:
addresses mapped under 2001:db8:2::, checksums recomputed).  ``mixed_nontcp.pcap`` is the same capture with
packets tshark knows interleaved: DNS queries and answers, plain UDP, ICMP echo and port unreachable, ARP, IPv6
neighbour discovery, ICMPv6 echo, IGMP, LLDP, ESP, an unknown EtherType, DHCP, NTP, SSDP, mDNS and LLMNR.  Timestamps are the original ones (the
extra packets take the time of the packet before them).  Beside each capture its ``.truth.jsonl``: the original's
truth (the same messages), with the endpoints rewritten for the IPv6 ones.

Usage (from the repository root; needs scapy for the mixed capture)::

    python -m tools.make_tunnel_pcaps [--samples sample_pcaps] [--source websockets_deflate]
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import struct
from pathlib import Path

from tests.support.tunnel_builders import KINDS, wrap

IPV6_PREFIX = "2001:db8:2::"


def read_pcap(path: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A classic pcap's global header and its records as (record header, packet bytes)."""
    raw = path.read_bytes()
    endian = "<" if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    records, at = [], 24
    while at + 16 <= len(raw):
        caplen = struct.unpack_from(endian + "I", raw, at + 8)[0]
        records.append((raw[at:at + 16], raw[at + 16:at + 16 + caplen]))
        at += 16 + caplen
    return raw[:24], records


def write_pcap(path: Path, header: bytes, records: list[tuple[bytes, bytes]]) -> None:
    endian = "<" if header[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    with open(path, "wb") as f:
        f.write(header[:16] + struct.pack(endian + "I", 262144) + header[20:])
        for head, data in records:
            f.write(head[:8] + struct.pack(endian + "II", len(data), len(data)) + data)


def _v6(endpoint: str) -> str:
    ip, port = endpoint.rsplit(":", 1)
    mapped = ipaddress.IPv6Address(ipaddress.IPv6Address(IPV6_PREFIX).packed[:12]
                                   + ipaddress.IPv4Address(ip).packed)
    return f"[{mapped}]:{port}"


def write_truth(source: Path, target: Path, ipv6: bool) -> None:
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            if ipv6:
                rec["client"], rec["server"] = _v6(rec["client"]), _v6(rec["server"])
            lines.append(json.dumps(rec))
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def other_packets() -> list[bytes]:
    """Packets that are not TCP, as tshark lists them by default (scapy builds them)."""
    from scapy.contrib.lldp import (LLDPDUChassisID, LLDPDUEndOfLLDPDU, LLDPDUPortID, LLDPDUSystemName,
                                    LLDPDUTimeToLive)
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.ntp import NTP
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                                    ICMPv6NDOptSrcLLAddr, IPv6)
    from scapy.layers.ipsec import ESP
    from scapy.layers.l2 import ARP, Ether
    from scapy.layers.igmp import IGMP

    a, b = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
    e = Ether(src=a, dst=b)
    query = DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.com", qtype="A"))
    answer = DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.com", qtype="A"),
                 an=DNSRR(rrname="example.com", type="A", rdata="93.184.216.34", ttl=300))
    aaaa = DNS(id=0x4321, rd=1, qd=DNSQR(qname="example.org", qtype="AAAA"))
    datagram = IP(src="192.168.7.10", dst="192.168.7.20") / UDP(sport=5000, dport=6000) / (b"x" * 12)
    pkts = [
        e / IP(src="192.168.7.10", dst="192.168.7.1") / UDP(sport=40000, dport=53) / query,
        Ether(src=b, dst=a) / IP(src="192.168.7.1", dst="192.168.7.10") / UDP(sport=53, dport=40000) / answer,
        e / IP(src="192.168.7.10", dst="192.168.7.1") / UDP(sport=40001, dport=53) / aaaa,
        e / datagram,
        e / IP(src="192.168.7.10", dst="192.168.7.20") / ICMP(type=8, id=0x77, seq=3) / (b"p" * 16),
        Ether(src=b, dst=a) / IP(src="192.168.7.20", dst="192.168.7.10") / ICMP(type=0, id=0x77, seq=3) / (b"p" * 16),
        Ether(src=b, dst=a) / IP(src="192.168.7.20", dst="192.168.7.10") / ICMP(type=3, code=3) / bytes(datagram)[:28],
        Ether(src=a, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=a, psrc="192.168.7.10", pdst="192.168.7.1"),
        Ether(src=b, dst=a) / ARP(op=2, hwsrc=b, psrc="192.168.7.1", hwdst=a, pdst="192.168.7.10"),
        Ether(src=a, dst="33:33:ff:00:00:02") / IPv6(src="fe80::1", dst="ff02::1:ff00:2", hlim=255)
        / ICMPv6ND_NS(tgt="fe80::2") / ICMPv6NDOptSrcLLAddr(lladdr=a),
        Ether(src=b, dst=a) / IPv6(src="fe80::2", dst="fe80::1", hlim=255)
        / ICMPv6ND_NA(tgt="fe80::2", R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=b),
        e / IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(id=0x99, seq=1) / b"ping6",
        Ether(src=b, dst=a) / IPv6(src="2001:db8::2", dst="2001:db8::1") / ICMPv6EchoReply(id=0x99, seq=1) / b"ping6",
        Ether(src=a, dst="01:00:5e:00:00:fb") / IP(src="192.168.7.10", dst="224.0.0.251", ttl=1)
        / IGMP(type=0x16, gaddr="224.0.0.251"),
        Ether(src=a, dst="01:80:c2:00:00:0e") / LLDPDUChassisID(subtype=4, id=a) / LLDPDUPortID(subtype=5, id=b"eth0")
        / LLDPDUTimeToLive(ttl=120) / LLDPDUSystemName(system_name=b"switch1") / LLDPDUEndOfLLDPDU(),
        e / IP(src="192.168.7.10", dst="192.168.7.30") / ESP(spi=0x1234, seq=1, data=b"\x00" * 24),
        Ether(src=a, dst=b, type=0x88B5) / (b"\x00" * 46),
        Ether(src=a, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex(a.replace(":", "")), xid=0x12345678) / DHCP(options=[("message-type", "discover"),
                                                                                         "end"]),
        e / IP(src="192.168.7.10", dst="192.168.7.1") / UDP(sport=123, dport=123) / NTP(version=4, mode=3),
        e / IP(src="192.168.7.10", dst="239.255.255.250") / UDP(sport=50000, dport=1900)
        / b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n",
        e / IP(src="192.168.7.10", dst="224.0.0.251") / UDP(sport=5353, dport=5353)
        / DNS(id=0, qd=DNSQR(qname="_http._tcp.local", qtype="PTR")),
        e / IP(src="192.168.7.10", dst="224.0.0.252") / UDP(sport=5355, dport=5355)
        / DNS(id=0x5678, qd=DNSQR(qname="host", qtype="A")),
    ]
    return [bytes(p) for p in pkts]


def mixed(records: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """*records* with the other packets spread among them (one after every few originals)."""
    extra = other_packets()
    out, every = [], max(1, len(records) // (len(extra) + 1))
    for i, (head, data) in enumerate(records):
        out.append((head, data))
        if i % every == every - 1 and extra:
            out.append((head, extra.pop(0)))
    out += [(records[-1][0], data) for data in extra]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=Path, default=Path("sample_pcaps"))
    ap.add_argument("--source", default="websockets_deflate")
    args = ap.parse_args(argv)
    source = args.samples / f"{args.source}.pcap"
    truth = source.with_suffix(".truth.jsonl")
    header, records = read_pcap(source)
    for kind in KINDS:
        target = args.samples / f"tunnel_{kind}.pcap"
        write_pcap(target, header, [(head, wrap(kind, data)) for head, data in records])
        write_truth(truth, target.with_suffix(".truth.jsonl"), ipv6=kind in ("6in4", "6in6"))
        print(f"wrote {target}")
    target = args.samples / "mixed_nontcp.pcap"
    write_pcap(target, header, mixed(records))
    write_truth(truth, target.with_suffix(".truth.jsonl"), ipv6=False)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
