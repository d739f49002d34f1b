"""Tunnel decoding (wsdissect.capture.tunnels through layers.parse_tcp) and the views' layer walk
(capture.describe): every tunnel kind gives the inner TCP segment; fed whole and cut at every length, and with
random bytes, nothing raises; a cut or inconsistent tunnel header is a ``tunnel.malformed`` finding."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import tunnel_builders as tb
from tests.support.builders import tcp_packet
from wsdissect.capture.describe import PacketDescriber
from wsdissect.capture.layers import INNER_FRAGMENT, Malformed, TcpSegment, parse_tcp
from wsdissect.capture.tunnels import TunnelMalformed, gre, gtpu, mpls, vxlan
from wsdissect.events import Finding, Packet
from wsdissect.options import Options
from wsdissect.pipeline import Dissector

PLAIN = tcp_packet(("192.0.2.1", 40000), ("192.0.2.2", 80), 1000, 2000, 0x18, b"GET / HTTP/1.1\r\n\r\n")


def _inner(seg: TcpSegment) -> tuple:
    return seg.ip_version, seg.src, seg.dst, seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.payload_len


@pytest.mark.parametrize("kind", tb.KINDS)
def test_every_tunnel_gives_the_inner_segment(kind):
    wrapped = tb.wrap(kind, PLAIN)
    seg = parse_tcp(1, wrapped)
    assert seg.__class__ is TcpSegment, seg
    want = parse_tcp(1, PLAIN)
    if kind in ("6in4", "6in6"):  # the TCP segment is carried as IPv6
        assert (seg.ip_version, seg.sport, seg.dport, seg.seq, seg.payload_len) == (6, 40000, 80, 1000, 18)
        assert seg.src.endswith(bytes([192, 0, 2, 1]))
    else:
        assert _inner(seg) == _inner(want)
    assert wrapped[seg.payload_start:seg.payload_start + seg.payload_len] == b"GET / HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize("kind", tb.KINDS)
def test_cut_at_every_length_never_raises(kind):
    wrapped = tb.wrap(kind, PLAIN)
    describer = PacketDescriber()
    for n in range(len(wrapped) + 1):
        cut = wrapped[:n]
        r = parse_tcp(1, cut)
        assert r is None or isinstance(r, str) or r.__class__ is TcpSegment
        d = describer.describe(n, 1, cut)
        assert isinstance(d.protocol, str) and isinstance(d.info, str)
        dissector = Dissector(Options(packets=True))
        events = dissector.packet(n + 1, 0.0, 1, cut, len(wrapped))
        assert sum(e.__class__ is Packet for e in events) == 1  # every packet listed, whatever its state


def test_tunnel_layers_are_named_as_wireshark_does():
    labels = {kind: [layer.label.split(",")[0] for layer in PacketDescriber().describe(1, 1, tb.wrap(kind, PLAIN)).layers]
              for kind in ("gtpu_qinq", "vxlan", "gre", "mpls")}
    assert labels["gtpu_qinq"] == ["Ethernet II", "IEEE 802.1ad", "802.1Q Virtual LAN", "Internet Protocol Version 4",
                                   "User Datagram Protocol", "GPRS Tunneling Protocol", "Internet Protocol Version 4"]
    assert labels["vxlan"][3:] == ["Virtual eXtensible Local Area Network", "Ethernet II", "Internet Protocol Version 4"]
    assert "Generic Routing Encapsulation (IP)" in labels["gre"]
    assert labels["mpls"].count("MultiProtocol Label Switching Header") == 2


def test_gre_optional_fields():
    inner = PLAIN[14:]
    for checksum_field, key, seq in [(False, None, None), (True, None, None), (False, 5, None), (True, 5, 9)]:
        r = gre(tb.gre(inner, 0x0800, checksum_field, key, seq), 0)
        assert r.offset == 4 + 4 * (checksum_field + (key is not None) + (seq is not None))
    assert gre(struct.pack("!HH", 0x0001, 0x880B), 0) is None  # version 1 (PPTP): not followed
    assert gre(struct.pack("!HH", 0x0000, 0x0806), 0) is None  # a payload decoded elsewhere
    assert gre(struct.pack("!HH", 0xB000, 0x0800) + b"\x00" * 4, 0).__class__ is TunnelMalformed


def test_gtpu_extension_headers_and_limits():
    inner = PLAIN[14:]
    r = gtpu(tb.gtpu(inner, seq=3, extensions=(b"\x00\x09", b"\x01\x02\x03\x04\x05\x06")), 0, 1 << 20)
    assert r.offset == 8 + 4 + 4 + 8
    bad = bytearray(tb.gtpu(inner, seq=3, extensions=(b"\x00\x09",)))
    bad[12] = 0  # an extension header of length 0 would never end
    assert gtpu(bytes(bad), 0, len(bad)).__class__ is TunnelMalformed
    assert gtpu(tb.gtpu(b"", message_type=1), 0, 1 << 20) is None  # an echo request carries no packet
    short = bytearray(tb.gtpu(inner, seq=1))
    short[2:4] = b"\x00\x01"  # length shorter than the optional fields it announces
    assert gtpu(bytes(short), 0, len(short)).__class__ is TunnelMalformed


def test_mpls_stack_and_payload_guess():
    assert mpls(tb.mpls(PLAIN[14:], (1, 2, 3)), 0).offset == 12
    assert mpls(tb.mpls(b"\x20" * 20, (1,)), 0) is None  # neither IP nor a control word by its first nibble
    assert mpls(tb.mpls(b"\x00" * 20, (1,)), 0).offset == 8  # a control word, then Ethernet
    assert mpls(struct.pack("!I", 16 << 12) * 3, 0).__class__ is TunnelMalformed  # no bottom of stack
    assert vxlan(b"\x08\x00\x00", 0).__class__ is TunnelMalformed


def test_nesting_is_bounded():
    packet = PLAIN[14:]
    for _ in range(12):
        packet = tb.ipv4(packet, 4)
    r = parse_tcp(1, tb.ethernet(packet, 0x0800))
    assert r.__class__ is TunnelMalformed and "nested" in r


def test_fragment_inside_a_tunnel_is_reported_not_misassembled():
    frag = bytearray(PLAIN[14:])
    frag[6:8] = b"\x20\x00"  # more fragments
    r = parse_tcp(1, tb.ethernet(tb.ipv4(bytes(frag), 4), 0x0800))
    assert r == INNER_FRAGMENT and r.__class__ is Malformed


def test_cut_tunnel_header_is_a_finding():
    whole = tb.wrap("gtpu", PLAIN)
    cut = whole[:14 + 20 + 8 + 6]  # inside the GTP-U header
    events = Dissector(Options(packets=True)).packet(1, 0.0, 1, cut, len(cut))
    assert [e.code for e in events if e.__class__ is Finding] == ["tunnel.malformed"]
    assert events[0].__class__ is Packet and "Malformed" in events[0].info
    truncated = Dissector(Options()).packet(1, 0.0, 1, cut, len(whole))  # cut by the snapshot length instead
    assert [e.code for e in truncated if e.__class__ is Finding] == ["capture.snaplen"]


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(tb.KINDS), noise=st.binary(max_size=80), at=st.integers(min_value=0, max_value=120))
def test_random_bytes_in_tunnels_never_raise(kind, noise, at):
    """Any bytes spliced into a tunnelled packet: parse_tcp, the describer and the dissector never raise."""
    wrapped = tb.wrap(kind, PLAIN)
    data = wrapped[:at] + noise + wrapped[at + len(noise):]
    r = parse_tcp(1, data)
    assert r is None or isinstance(r, str) or r.__class__ is TcpSegment
    PacketDescriber().describe(1, 1, data)
    Dissector(Options(packets=True)).packet(1, 0.0, 1, data, len(data))


def test_deep_nesting_in_a_large_packet_stays_bounded():
    """Headers that could nest without end (Ethernet over MPLS pseudowires, ICMP errors quoting ICMP errors) in a
    64 KB packet: bounded, no recursion error."""
    pw = b""
    for _ in range(3000):
        pw = tb.ethernet(tb.mpls(b"\x00\x00\x00\x00" + pw, (16,)), 0x8847)
    assert parse_tcp(1, pw).__class__ is TunnelMalformed
    PacketDescriber().describe(1, 1, pw)
    icmp = b""
    for _ in range(2000):
        icmp = tb.ipv4(b"\x03\x03\x00\x00\x00\x00\x00\x00" + icmp, 1)
    d = PacketDescriber().describe(1, 1, tb.ethernet(icmp, 0x0800))
    assert d.protocol == "ICMP" and len(d.layers) == 3  # Ethernet, IP, ICMP (the quoted IP and ICMP under it)
    assert d.layers[2].lines[-2:] == ("Internet Protocol Version 4, Src: 10.1.0.1, Dst: 10.1.0.2",
                                      "Internet Control Message Protocol")


def test_mpls_pseudowire_ethernet_is_followed():
    frame = tb.ethernet(tb.mpls(b"\x00\x00\x00\x00" + PLAIN, (16,)), 0x8847)
    assert _inner(parse_tcp(1, frame)) == _inner(parse_tcp(1, PLAIN))


def test_other_packets_cut_at_every_length_never_raise():
    """The mixed sample's DNS, ICMP, ARP, ND, IGMP, LLDP, ESP... packets, cut anywhere: described, listed."""
    from tools.make_tunnel_pcaps import other_packets

    for packet in other_packets():
        describer = PacketDescriber()
        for n in range(len(packet) + 1):
            d = describer.describe(1, 1, packet[:n])
            assert isinstance(d.info, str) and all(layer.start <= layer.end for layer in d.layers)


def test_fragmented_outer_packet_is_reassembled_then_followed():
    """A GRE packet whose outer IPv4 packet was fragmented: reassembled, then the inner TCP segment is decoded."""
    payload = tb.gre(PLAIN[14:], 0x0800, key=3)
    pieces = [(0, payload[:24], 0x2000), (24, payload[24:], 0)]
    dissector = Dissector(Options(packets=True))
    events = []
    for n, (offset, part, more) in enumerate(pieces, 1):
        head = bytearray(tb.ipv4(part, 47, ident=77))
        head[6:8] = struct.pack("!H", more | offset // 8)
        events += dissector.packet(n, 0.0, 1, tb.ethernet(bytes(head), 0x0800), 14 + len(head))
    packets = [e for e in events if e.__class__ is Packet]
    assert packets[-1].protocol is None and (packets[-1].sport, packets[-1].dport) == (40000, 80)
    assert packets[0].info.startswith("Fragmented IP protocol (proto=GRE 47, off=0")


def test_linux_cooked_packet_that_is_not_ip_shows_its_sender():
    arp = bytes.fromhex("0001080006040001" "02000000000a" "c0a8070a" "000000000000" "c0a80701")
    sll = struct.pack("!HHH8sH", 0, 1, 6, bytes.fromhex("02000000000a0000"), 0x0806) + arp
    d = PacketDescriber().describe(1, 113, sll)
    assert (d.src, d.dst, d.protocol, d.info) == ("02:00:00:00:00:0a", "", "ARP",
                                                  "Who has 192.168.7.1? Tell 192.168.7.10")
