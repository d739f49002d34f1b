"""wsdissect.capture.layers: link layers, IPv4/IPv6 and TCP parsed by offset; IPv4 defragmentation."""
from __future__ import annotations

import random
import socket
import struct
from dataclasses import astuple

import pytest
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting
from scapy.layers.l2 import ARP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.packet import raw

from wsdissect.capture.layers import (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP,
                                      LINKTYPE_NULL, LINKTYPE_RAW, IpDefragmenter, Malformed, ip_str, l3_offset,
                                      parse_tcp)
from wsdissect.flow import TCP_ACK, TCP_PSH, TCP_SYN

MACS = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
V4 = dict(src="192.0.2.1", dst="198.51.100.2")
V6 = dict(src="2001:db8::1", dst="2001:db8::2")
PAYLOAD = b"\x81\x05hello"


def tcp(payload: bytes = PAYLOAD, **kw):
    fields = dict(sport=50000, dport=8080, seq=123456789, ack=987654321, flags="PA", window=4321)
    fields.update(kw)
    return TCP(**fields) / payload if payload else TCP(**fields)


def check_v4(r, data: bytes, l3: int, payload: bytes = PAYLOAD):
    assert not isinstance(r, Malformed) and r is not None, r
    ver, src, dst, sport, dport, seq, ack, flags, win, start, plen, rl3, t = astuple(r)
    assert ver == 4
    assert src == socket.inet_pton(socket.AF_INET, V4["src"])
    assert dst == socket.inet_pton(socket.AF_INET, V4["dst"])
    assert (sport, dport, seq, ack, win) == (50000, 8080, 123456789, 987654321, 4321)
    assert flags == TCP_PSH | TCP_ACK
    assert rl3 == l3
    assert t == l3 + 20
    assert plen == len(payload)
    assert data[start:start + plen] == payload


def check_v6(r, data: bytes, l3: int, tcp_at: int, payload: bytes = PAYLOAD):
    assert not isinstance(r, Malformed) and r is not None, r
    ver, src, dst, sport, dport, seq, ack, flags, win, start, plen, rl3, t = astuple(r)
    assert ver == 6
    assert src == socket.inet_pton(socket.AF_INET6, V6["src"])
    assert dst == socket.inet_pton(socket.AF_INET6, V6["dst"])
    assert (sport, dport, seq, ack, win) == (50000, 8080, 123456789, 987654321, 4321)
    assert rl3 == l3 and t == tcp_at
    assert plen == len(payload)
    assert data[start:start + plen] == payload


# -- link layers -----------------------------------------------------------------------------------------------
def test_ethernet_ipv4():
    data = raw(Ether(**MACS) / IP(**V4) / tcp())
    assert l3_offset(LINKTYPE_ETHERNET, data) == 14
    check_v4(parse_tcp(LINKTYPE_ETHERNET, data), data, 14)


def test_ethernet_ipv6():
    data = raw(Ether(**MACS) / IPv6(**V6) / tcp())
    check_v6(parse_tcp(LINKTYPE_ETHERNET, data), data, 14, 54)


def test_vlan_8021q():
    data = raw(Ether(**MACS) / Dot1Q(vlan=42) / IP(**V4) / tcp())
    check_v4(parse_tcp(LINKTYPE_ETHERNET, data), data, 18)


@pytest.mark.parametrize("outer", [Dot1AD, Dot1Q], ids=["88a8", "8100"])
def test_qinq(outer):
    data = raw(Ether(**MACS) / outer(vlan=5) / Dot1Q(vlan=7) / IP(**V4) / tcp())
    check_v4(parse_tcp(LINKTYPE_ETHERNET, data), data, 22)


def test_qinq_ipv6():
    data = raw(Ether(**MACS) / Dot1AD(vlan=5) / Dot1Q(vlan=7) / IPv6(**V6) / tcp())
    check_v6(parse_tcp(LINKTYPE_ETHERNET, data), data, 22, 62)


def test_linux_sll():
    data = raw(CookedLinux(proto=0x0800) / IP(**V4) / tcp())
    check_v4(parse_tcp(LINKTYPE_LINUX_SLL, data), data, 16)
    data6 = raw(CookedLinux(proto=0x86DD) / IPv6(**V6) / tcp())
    check_v6(parse_tcp(LINKTYPE_LINUX_SLL, data6), data6, 16, 56)


def test_linux_sll2():
    data = raw(CookedLinuxV2(proto=0x0800) / IP(**V4) / tcp())
    check_v4(parse_tcp(LINKTYPE_LINUX_SLL2, data), data, 20)
    data6 = raw(CookedLinuxV2(proto=0x86DD) / IPv6(**V6) / tcp())
    check_v6(parse_tcp(LINKTYPE_LINUX_SLL2, data6), data6, 20, 60)


def test_raw_ip_101_both_versions():
    data = raw(IP(**V4) / tcp())
    check_v4(parse_tcp(LINKTYPE_RAW, data), data, 0)
    data6 = raw(IPv6(**V6) / tcp())
    check_v6(parse_tcp(LINKTYPE_RAW, data6), data6, 0, 40)


@pytest.mark.parametrize("linktype", [228, 12, 14])
def test_other_raw_ip_linktypes(linktype):
    data = raw(IP(**V4) / tcp())
    check_v4(parse_tcp(linktype, data), data, 0)


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("linktype", [LINKTYPE_NULL, LINKTYPE_LOOP], ids=["null", "loop"])
def test_bsd_loopback_ipv4(order, linktype):
    data = (2).to_bytes(4, order) + raw(IP(**V4) / tcp())
    check_v4(parse_tcp(linktype, data), data, 4)


@pytest.mark.parametrize("af", [24, 28, 30])
@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("linktype", [LINKTYPE_NULL, LINKTYPE_LOOP], ids=["null", "loop"])
def test_bsd_loopback_ipv6(af, order, linktype):
    data = af.to_bytes(4, order) + raw(IPv6(**V6) / tcp())
    check_v6(parse_tcp(linktype, data), data, 4, 44)


def test_bsd_loopback_other_family_is_not_ip():
    data = (7).to_bytes(4, "little") + raw(IP(**V4) / tcp())
    assert parse_tcp(LINKTYPE_NULL, data) is None


# -- IPv6 extension headers ---------------------------------------------------------------------------------
def test_ipv6_hop_by_hop_and_destination_options():
    pkt = IPv6(**V6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / tcp()
    data = raw(Ether(**MACS) / pkt)
    hbh = len(raw(IPv6ExtHdrHopByHop()))
    dst = len(raw(IPv6ExtHdrDestOpt()))
    check_v6(parse_tcp(LINKTYPE_ETHERNET, data), data, 14, 14 + 40 + hbh + dst)


def test_ipv6_longer_extension_headers():
    from scapy.layers.inet6 import PadN
    pkt = (IPv6(**V6) / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00" * 12)])
           / IPv6ExtHdrRouting(addresses=["2001:db8::9"]) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 20)])
           / tcp())
    data = raw(pkt)
    ext = len(raw(pkt[IPv6].payload)) - len(raw(tcp()))
    assert ext > 24
    check_v6(parse_tcp(LINKTYPE_RAW, data), data, 0, 40 + ext)


def test_ipv6_extension_then_udp_is_not_tcp():
    data = raw(IPv6(**V6) / IPv6ExtHdrHopByHop() / UDP(sport=1, dport=2) / b"x")
    assert parse_tcp(LINKTYPE_RAW, data) is None


def test_ipv6_extension_header_cut_short_is_malformed():
    data = raw(IPv6(**V6) / IPv6ExtHdrHopByHop() / tcp())
    r = parse_tcp(LINKTYPE_RAW, data[:41])
    assert isinstance(r, Malformed)


# -- lengths come from the IP header -------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [b"", b"hi"])
def test_ethernet_padding_is_not_payload(payload):
    data = raw(Ether(**MACS) / IP(**V4) / tcp(payload))
    padded = data + b"\x00" * (60 - len(data))
    assert len(padded) == 60
    r = parse_tcp(LINKTYPE_ETHERNET, padded)
    check_v4(r, padded, 14, payload)
    assert r.payload_len == len(payload)


def test_ethernet_padding_ipv6_payload_length():
    data = raw(Ether(**MACS) / IPv6(**V6) / tcp(b""))
    padded = data + b"\xee" * 8
    r = parse_tcp(LINKTYPE_ETHERNET, padded)
    check_v6(r, padded, 14, 54, b"")


def test_snaplen_cut_packet_reports_full_payload_length():
    payload = b"x" * 1000
    data = raw(Ether(**MACS) / IP(**V4) / tcp(payload))
    cut = data[:14 + 20 + 20 + 100]
    r = parse_tcp(LINKTYPE_ETHERNET, cut)
    assert r.payload_len == 1000  # from the IP total length
    assert cut[r.payload_start:r.payload_start + r.payload_len] == payload[:100]


def test_tcp_options_move_the_payload():
    data = raw(IP(**V4) / TCP(sport=50000, dport=8080, seq=123456789, ack=987654321, flags="PA", window=4321,
                              options=[("MSS", 1460), ("NOP", None), ("WScale", 7)]) / PAYLOAD)
    r = parse_tcp(LINKTYPE_RAW, data)
    assert r.payload_start == 20 + 28 and r.payload_len == len(PAYLOAD)
    assert data[r.payload_start:] == PAYLOAD


def test_ipv4_options_move_the_tcp_header():
    from scapy.layers.inet import IPOption_NOP
    data = raw(IP(**V4, options=[IPOption_NOP()] * 4) / tcp())
    r = parse_tcp(LINKTYPE_RAW, data)
    assert r.tcp_offset == 24
    assert data[r.payload_start:r.payload_start + r.payload_len] == PAYLOAD


def test_syn_flags():
    data = raw(IP(**V4) / tcp(b"", flags="S"))
    r = parse_tcp(LINKTYPE_RAW, data)
    assert r.flags == TCP_SYN and r.payload_len == 0


# -- not TCP ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pkt,linktype", [
    (Ether(**MACS) / IP(**V4) / UDP(sport=1, dport=53) / b"q", LINKTYPE_ETHERNET),
    (Ether(**MACS) / ARP(), LINKTYPE_ETHERNET),
    (Ether(**MACS, type=0x88CC) / (b"\x00" * 46), LINKTYPE_ETHERNET),
    (IPv6(**V6) / UDP(sport=1, dport=2), LINKTYPE_RAW),
    (CookedLinux(proto=0x0806) / ARP(), LINKTYPE_LINUX_SLL),
    (CookedLinuxV2(proto=0x0806) / ARP(), LINKTYPE_LINUX_SLL2),
    (IP(**V4) / tcp(), 147),  # unsupported link type
], ids=["udp", "arp", "lldp", "udp6", "sll-arp", "sll2-arp", "linktype"])
def test_not_tcp_returns_none(pkt, linktype):
    assert parse_tcp(linktype, raw(pkt)) is None


# -- truncated or impossible headers ---------------------------------------------------------------------------
FULL_V4 = raw(Ether(**MACS) / IP(**V4) / tcp())
FULL_V6 = raw(Ether(**MACS) / IPv6(**V6) / tcp())


@pytest.mark.parametrize("linktype,data", [
    (LINKTYPE_ETHERNET, FULL_V4[:10]),                # Ethernet header
    (LINKTYPE_ETHERNET, FULL_V4[:14]),                # no IP header
    (LINKTYPE_ETHERNET, FULL_V4[:14 + 12]),           # IPv4 header cut
    (LINKTYPE_ETHERNET, FULL_V4[:14 + 20 + 10]),      # TCP header cut
    (LINKTYPE_ETHERNET, FULL_V6[:14 + 30]),           # IPv6 header cut
    (LINKTYPE_ETHERNET, FULL_V6[:14 + 40 + 19]),      # TCP header after IPv6 cut
    (LINKTYPE_ETHERNET, raw(Ether(**MACS) / Dot1Q(vlan=1))[:16]),  # VLAN tag cut
    (LINKTYPE_LINUX_SLL, raw(CookedLinux(proto=0x0800))[:12]),
    (LINKTYPE_LINUX_SLL2, raw(CookedLinuxV2(proto=0x0800))[:12]),
    (LINKTYPE_NULL, b"\x02\x00"),
    (LINKTYPE_LOOP, b""),
    (LINKTYPE_RAW, b""),
], ids=["eth", "eth-noip", "ip4", "tcp", "ip6", "tcp6", "vlan", "sll", "sll2", "null", "loop", "raw-empty"])
def test_truncated_headers_are_malformed(linktype, data):
    r = parse_tcp(linktype, data)
    assert isinstance(r, Malformed), r
    assert isinstance(r, str) and r


def test_bad_header_fields_are_malformed():
    ip = bytearray(raw(IP(**V4) / tcp()))
    bad_ihl = bytes([0x44]) + bytes(ip[1:])
    assert isinstance(parse_tcp(LINKTYPE_RAW, bad_ihl), Malformed)
    bad_version = bytes([0x55]) + bytes(ip[1:])
    assert isinstance(parse_tcp(LINKTYPE_RAW, bad_version), Malformed)
    bad_doff = bytearray(ip)
    bad_doff[20 + 12] = 0x40  # TCP data offset 4 words
    assert isinstance(parse_tcp(LINKTYPE_RAW, bytes(bad_doff)), Malformed)
    short_total = bytearray(ip)
    short_total[2:4] = (30).to_bytes(2, "big")  # IP says 30 bytes: the TCP header does not fit
    assert isinstance(parse_tcp(LINKTYPE_RAW, bytes(short_total)), Malformed)


def test_ipv4_fragment_is_reported_not_parsed():
    frags = fragment(IP(**V4, id=7) / tcp(b"z" * 100), fragsize=48)
    assert len(frags) == 3
    for f in frags:
        r = parse_tcp(LINKTYPE_RAW, raw(f))
        assert isinstance(r, Malformed) and "fragment" in r


def test_ip_str():
    assert ip_str(socket.inet_pton(socket.AF_INET, "10.1.2.3")) == "10.1.2.3"
    assert ip_str(socket.inet_pton(socket.AF_INET6, "2001:db8::1")) == "2001:db8::1"


# -- IPv4 defragmentation --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_defragmenter_reassembles_out_of_order(seed):
    payload = bytes(random.Random(seed).randrange(256) for _ in range(700))
    whole = IP(**V4, id=0x1234) / tcp(payload)
    frags = [raw(Ether(**MACS) / f) for f in fragment(whole, fragsize=104)]
    assert len(frags) >= 6
    random.Random(seed).shuffle(frags)
    d = IpDefragmenter()
    results = [d.add(f, 14) for f in frags]
    assert all(r is None for r in results[:-1])
    packet = results[-1]
    assert packet is not None
    r = parse_tcp(LINKTYPE_ETHERNET, packet)
    check_v4(r, packet, 14, payload)
    assert struct.unpack_from("!H", packet, 14 + 2)[0] == 20 + 20 + len(payload)
    assert d.pending == {}


def test_defragmenter_with_duplicates_and_padding():
    payload = b"abcdefgh" * 20
    frags = [raw(Ether(**MACS) / f) for f in fragment(IP(**V4, id=99) / tcp(payload), fragsize=64)]
    last = frags[-1] + b"\x00" * max(0, 60 - len(frags[-1]))  # Ethernet padding on a short last fragment
    order = [frags[1], frags[1], last, frags[0]] + frags[2:-1] + [frags[0]]
    d = IpDefragmenter()
    out = [r for r in (d.add(f, 14) for f in order) if r is not None]
    assert len(out) == 1
    check_v4(parse_tcp(LINKTYPE_ETHERNET, out[0]), out[0], 14, payload)


def test_defragmenter_waits_for_missing_fragment_and_separates_datagrams():
    d = IpDefragmenter()
    a = [raw(f) for f in fragment(IP(**V4, id=1) / tcp(b"A" * 200), fragsize=64)]
    b = [raw(f) for f in fragment(IP(**V4, id=2) / tcp(b"B" * 200), fragsize=64)]
    for f in a[:-2] + [a[-1]]:  # one fragment of A missing
        assert d.add(f, 0) is None
    outs = [d.add(f, 0) for f in b]
    assert outs[:-1] == [None] * (len(b) - 1)
    check_v4(parse_tcp(LINKTYPE_RAW, outs[-1]), outs[-1], 0, b"B" * 200)
    done = d.add(a[-2], 0)
    check_v4(parse_tcp(LINKTYPE_RAW, done), done, 0, b"A" * 200)


def test_defragmenter_is_bounded():
    d = IpDefragmenter(max_pending=4)
    for ident in range(10):
        first = raw(fragment(IP(**V4, id=ident) / tcp(b"C" * 100), fragsize=64)[0])
        d.add(first, 0)
    assert len(d.pending) <= 4


# -- TCP options -----------------------------------------------------------------------------------------------
def _tcp_offset(data: bytes) -> int:
    return parse_tcp(LINKTYPE_RAW, data).tcp_offset


@pytest.mark.parametrize("options,expected", [
    ([("MSS", 1460), ("NOP", None), ("WScale", 7)], 7),
    ([("WScale", 0)], 0),
    ([("WScale", 20)], 14),  # RFC 7323: shifts above 14 are treated as 14
    ([("MSS", 1460), ("SAckOK", b"")], None),
    ([], None),
])
def test_tcp_window_scale(options, expected):
    from wsdissect.capture.layers import tcp_window_scale
    data = raw(IP(**V4) / TCP(flags="S", options=options))
    assert tcp_window_scale(data, _tcp_offset(data)) == expected


def test_tcp_window_scale_bad_options_do_not_loop_or_raise():
    from wsdissect.capture.layers import tcp_window_scale
    data = bytearray(raw(IP(**V4) / TCP(flags="S", options=[("MSS", 1460), ("WScale", 7)])))
    t = _tcp_offset(bytes(data))
    data[t + 21] = 0  # option length 0
    assert tcp_window_scale(bytes(data), t) is None
    assert tcp_window_scale(bytes(data[:t + 22]), t) is None
    assert tcp_window_scale(bytes(data[:t + 10]), t) is None
