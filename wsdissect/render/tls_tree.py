"""The detail tree's TLS part: one ``Transport Layer Security`` node per record of the packet, and the
``Decrypted TLS (N bytes)`` line that comes before the HTTP/WebSocket nodes of decrypted data."""
from __future__ import annotations

from ..events import TlsRecordSeen
from ..tls.records import CONTENT_TYPES
from .nodes import Node
from .text import safe

_VERSION_LABELS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}


def _version(v: int) -> str:
    return f"{_VERSION_LABELS.get(v, 'Unknown')} (0x{v:04x})"


def tls_node(ev: TlsRecordSeen) -> Node:
    """One record: its layer line as Wireshark words it, content type, version, length, handshake facts."""
    rec = ev.record
    kind = CONTENT_TYPES.get(rec.effective_type, f"Unknown ({rec.effective_type})")
    t = Node("Transport Layer Security", "magenta")
    layer = t.add(f"{ev.protocol} Record Layer: {kind} Protocol: {safe(ev.info, 300)}")
    type_label = "Opaque Type" if ev.protocol == "TLSv1.3" and rec.encrypted else "Content Type"
    layer.add(f"{type_label}: {CONTENT_TYPES.get(rec.content_type, 'Unknown')} ({rec.content_type})")
    layer.add(f"Version: {_version(rec.version)}")
    layer.add(f"Length: {rec.length}")
    for line in ev.details:
        layer.add(safe(line, 300))
    if rec.encrypted:
        layer.add("[Decrypted with the key log]" if rec.decrypted else "[Encrypted: not decrypted]")
    return t


def tls_nodes(frame: int, events: list) -> list[Node]:
    """The TLS nodes of packet *frame*: one per record whose last byte it carried, then the decrypted bytes line."""
    records = [e for e in events if e.__class__ is TlsRecordSeen and e.frame == frame]
    out = [tls_node(r) for r in records]
    plain = sum(r.plaintext for r in records)
    if plain:
        out.append(Node(f"Decrypted TLS ({plain} bytes)", "magenta"))
    return out
