"""The TLS stage of one connection (wss://): between TCP reassembly and the HTTP/WebSocket stages.

A :class:`TlsLayer` is made by the connection (:class:`~wsdissect.tls_wiring.TlsWiring`) when the first client bytes
look like TLS (:func:`~wsdissect.tls.looks_like_tls`); only then is this module, with the TLS engine and its
ciphers, imported.  Reassembled pieces (and gaps) of either direction go in; what comes out is sorted for the
connection: decrypted application bytes (``Decrypted``, with the plaintext stream offset of their direction) for the
existing HTTP upgrade + WebSocket path, record infos as :class:`~wsdissect.events.TlsRecordSeen` events (views only)
and ``tls.*`` findings.  Sans-IO: no files, no printing.
"""
from __future__ import annotations

from .events import TlsRecordSeen
from .flow import Conn
from .tls.ciphers import suite_name
from .tls.handshake import CLIENT_HELLO, ENCRYPTED_EXTENSIONS, SERVER_HELLO
from .tls.outputs import Plaintext, TlsInfo, TlsRecord
from .tls.records import VERSION_NAMES
from .tls.resumption import SessionCache
from .tls.session import TlsConnection
from .tls_patience import PatientTls
from .tls_wiring import CaptureSecrets, Decrypted


class TlsLayer:
    """One connection's TLS: pieces in, :class:`Decrypted` / :class:`TlsRecordSeen` / ``Finding`` out."""

    __slots__ = ("tls", "conn", "next_plain")

    def __init__(self, secrets: CaptureSecrets, sessions: SessionCache, conn: Conn, record_infos: bool):
        if secrets.growing:  # live: the key log is appended to while the handshake is under way
            self.tls = PatientTls(secrets, conn, sessions, record_infos)
        else:
            self.tls = TlsConnection(secrets, conn, sessions, record_infos=record_infos)
        self.conn = conn
        self.next_plain = [0, 0]  # plaintext bytes handed on so far: [server -> client, client -> server]

    def feed(self, from_client: bool, data: bytes, frame: int, ts: float) -> list:
        return self._sorted(self.tls.feed(from_client, data, frame, ts))

    def gap(self, from_client: bool, nbytes: int, frame: int, ts: float) -> list:
        return self._sorted(self.tls.gap(from_client, nbytes, frame, ts))

    def end(self) -> list:
        return self._sorted(self.tls.end())

    @property
    def info(self) -> TlsInfo:
        return self.tls.info

    def _protocol(self, rec: TlsRecord) -> str:
        version = self.tls.hello.version
        return VERSION_NAMES.get(version, rec.version_name) if version is not None else rec.version_name

    def _info(self, rec: TlsRecord) -> str:
        info = rec.describe()
        client = self.tls.hello.client
        if CLIENT_HELLO in rec.handshake_types and client is not None and client.sni:
            info = info.replace("Client Hello", f"Client Hello (SNI={client.sni})", 1)
        return info

    def _details(self, rec: TlsRecord) -> tuple[str, ...]:
        """What the tree shows of this record's handshake messages (SNI, ALPN, cipher suite)."""
        hello, lines = self.tls.hello, []
        if CLIENT_HELLO in rec.handshake_types and hello.client is not None:
            lines += [f"Server Name: {hello.client.sni}"] if hello.client.sni else []
            lines += [f"ALPN Protocols: {', '.join(hello.client.alpn)}"] if hello.client.alpn else []
            lines.append(f"Cipher Suites: {len(hello.client.cipher_suites)} offered")
        if SERVER_HELLO in rec.handshake_types and hello.server is not None:
            suite = hello.server.cipher_suite
            lines.append(f"Cipher Suite: {suite_name(suite)} (0x{suite:04x})")
            lines.append(f"Negotiated Version: {VERSION_NAMES.get(hello.server.version, hex(hello.server.version))}")
        if hello.alpn and (SERVER_HELLO in rec.handshake_types or ENCRYPTED_EXTENSIONS in rec.handshake_types):
            lines.append(f"ALPN Protocol: {hello.alpn}")
        return tuple(lines)

    def _sorted(self, items: list) -> list:
        out = []
        for i, item in enumerate(items):
            cls = item.__class__
            if cls is TlsRecord:
                after = items[i + 1] if i + 1 < len(items) else None
                plain = (len(after.data) if after.__class__ is Plaintext and after.from_client == item.from_client
                         and after.frame == item.frame else 0)
                client = self.tls.hello.client
                sni = client.sni if CLIENT_HELLO in item.handshake_types and client is not None else None
                out.append(TlsRecordSeen(item.frame, item.ts, self.conn, item, self._protocol(item),
                                         self._info(item), self._details(item) if item.handshake_types else (),
                                         plain, sni))
            elif cls is Plaintext:
                side = int(item.from_client)
                off = self.next_plain[side]
                self.next_plain[side] = off + len(item.data)
                out.append(Decrypted(item.from_client, off, item.data, item.frame, item.ts))
            else:
                out.append(item)
        return out
