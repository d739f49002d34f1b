"""Test helper: read a capture, reassemble each TCP direction simply (in sequence order; enough for the clean
loopback captures of the TLS corpus) and run a TlsConnection per connection."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from wsdissect.capture.files import CaptureFile
from wsdissect.capture.layers import Malformed, ip_str, parse_tcp
from wsdissect.flow import TCP_ACK, TCP_SYN
from wsdissect.events import Finding
from wsdissect.flow import Conn
from wsdissect.tls import KeyLog, Plaintext, SessionCache, TlsConnection, TlsRecord


@dataclass
class _Direction:
    next_seq: Optional[int] = None
    pending: dict = field(default_factory=dict)  # seq -> (data, frame, ts)


@dataclass
class ConnResult:
    conn: Conn
    tls: TlsConnection
    records: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    plaintext: dict = field(default_factory=lambda: {True: bytearray(), False: bytearray()})

    def take(self, outputs) -> None:
        for item in outputs:
            if isinstance(item, Plaintext):
                self.plaintext[item.from_client] += item.data
            elif isinstance(item, TlsRecord):
                self.records.append(item)
            elif isinstance(item, Finding):
                self.findings.append(item)
            else:
                raise AssertionError(f"unexpected output {type(item)}")

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def run_capture(path: str, keylog: KeyLog, use_dsb: bool = False) -> list[ConnResult]:
    """Decrypt every TLS connection of *path*; returns them in order of their first packet."""
    conns: dict = {}
    dirs: dict = {}
    sessions = SessionCache()
    with CaptureFile(path) as cap:
        for frame, ts, linktype, data, _wire in cap:
            if use_dsb and cap.tls_secrets:
                for block in cap.tls_secrets:
                    keylog.add_secrets_block(block)
                cap.tls_secrets.clear()
            parsed = parse_tcp(linktype, data)
            if parsed is None or isinstance(parsed, Malformed):
                continue
            src, dst, sport, dport = parsed.src, parsed.dst, parsed.sport, parsed.dport
            seq, flags, start, plen = parsed.seq, parsed.flags, parsed.payload_start, parsed.payload_len
            a, b = (ip_str(src), sport), (ip_str(dst), dport)
            key = frozenset((a, b))
            if key not in conns:
                client, server = (a, b)
                if flags & TCP_SYN and flags & TCP_ACK:
                    client, server = b, a
                conn = Conn(len(conns), client[0], client[1], server[0], server[1])
                conns[key] = ConnResult(conn, TlsConnection(keylog, conn, sessions))
            result = conns[key]
            from_client = a == (result.conn.client_ip, result.conn.client_port)
            d = dirs.setdefault((key, from_client), _Direction())
            payload = data[start:start + plen]
            if flags & TCP_SYN:
                d.next_seq = (seq + 1) & 0xFFFFFFFF
                continue
            if not payload:
                continue
            if d.next_seq is None:
                d.next_seq = seq
            d.pending[seq] = (payload, frame, ts)
            while d.next_seq in d.pending:
                chunk, f, t = d.pending.pop(d.next_seq)
                d.next_seq = (d.next_seq + len(chunk)) & 0xFFFFFFFF
                result.take(result.tls.feed(from_client, chunk, f, t))
    for result in conns.values():
        result.take(result.tls.end())
    return list(conns.values())
