"""The TLS stage of one connection (wss://): between TCP reassembly and the HTTP/WebSocket stages.

A :class:`TlsLayer` is made by :class:`~wsdissect.connection.Connection` when the first client bytes look like TLS
(:func:`~wsdissect.tls.looks_like_tls`).  Reassembled pieces (and gaps) of either direction go in; what comes out
is sorted for the connection: decrypted application bytes (``Plaintext``, with the plaintext stream offset of
their direction) for the existing HTTP upgrade + WebSocket path, record infos as :class:`~wsdissect.events.TlsRecordSeen`
events (views only) and ``tls.*`` findings.  Sans-IO: no files, no printing.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from .events import TlsRecordSeen
from .tcp.reassembly import Gap
from .flow import Conn
from .tls import KeyLog, Plaintext, SessionCache, TlsConnection, TlsInfo, TlsRecord, looks_like_tls
from .tls_patience import PatientTls
from .tls.ciphers import suite_name
from .tls.handshake import CLIENT_HELLO, ENCRYPTED_EXTENSIONS, SERVER_HELLO
from .tls.records import VERSION_NAMES


class Decrypted(NamedTuple):
    """Decrypted application bytes of one direction at plaintext stream offset *offset*."""

    from_client: bool
    offset: int
    data: bytes
    frame: int
    ts: float


class CaptureSecrets:
    """The key log of one capture: the user's key log (shared by every capture) plus the secrets of the
    capture's pcapng Decryption Secrets Blocks, read as they appear (the reader appends to *blocks*)."""

    __slots__ = ("keylog", "blocks", "used", "extra")

    def __init__(self, keylog: Optional[KeyLog], blocks: Optional[list] = None):
        self.keylog = keylog
        self.blocks: list = blocks if blocks is not None else []
        self.used = 0
        self.extra = KeyLog()  # this capture's embedded secrets only

    @property
    def growing(self) -> bool:
        """The key log is re-read as it grows (live capture)."""
        return self.keylog is not None and self.keylog.refresh_interval is not None

    def attach(self, blocks: list) -> None:
        """Use the DSB list of the capture being read (``CaptureFile.tls_secrets``)."""
        self.blocks, self.used = blocks, 0

    def lookup(self, label: str, client_random: bytes) -> Optional[bytes]:
        while self.used < len(self.blocks):
            self.extra.add_secrets_block(self.blocks[self.used])
            self.used += 1
        secret = self.extra.lookup(label, client_random) if len(self.extra) else None
        if secret is None and self.keylog is not None:
            secret = self.keylog.lookup(label, client_random)
        return secret


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



UNKNOWN_PLAINTEXT_LOSS = 1 << 62  # a TLS gap loses a record's plaintext, of unknown length


class TlsWiring:
    """The TLS part of :class:`~wsdissect.connection.Connection` (a mixin: it uses the connection's directions,
    ``_data``, ``_gap``, ``swap_roles`` and its ``tls``/``tls_context`` slots).  Decrypted bytes go on to
    ``_data`` as if they had come from TCP, with their own plaintext stream offsets; the rest are events."""

    __slots__ = ()

    def _pieces(self, d, pieces: list, out: list) -> None:
        """A direction's reassembled pieces: through TLS on a wss:// connection."""
        if self.tls is None:
            self._tcp_pieces(d, pieces, out)
        else:
            self._tls_pieces(d, pieces, out)

    def _tls_started(self, d, off: int, data: bytes, frame: int, ts: float, out: list) -> bool:
        """A connection's first bytes: when they are a TLS hello, decrypt from here on (True).  A ServerHello
        first means the roles were guessed the wrong way round."""
        if self.tls is not None or self.tls_context is None or not looks_like_tls(data):
            return False
        if (data[5] == 2) == d.from_client and not self.roles_known:
            self.swap_roles()
            d = self.c2s if d is self.s2c else self.s2c
        self.roles_known = True
        secrets, sessions = self.tls_context
        self.tls = TlsLayer(secrets, sessions, self.conn, self.opts.packets)
        self._tls_in(d, data, frame, ts, out)
        return True

    def _tls_in(self, d, data: bytes, frame: int, ts: float, out: list) -> None:
        self._tls_out(self.tls.feed(d.from_client, data, frame, ts), out)

    def _tls_pieces(self, d, pieces: list, out: list) -> None:
        for piece in pieces:
            if piece.__class__ is Gap:
                self._tls_out(self.tls.gap(d.from_client, piece.missing, piece.frame, piece.ts), out)
                # the plaintext lost with the record(s) is of unknown length: the stages after resynchronise
                self._gap(d, UNKNOWN_PLAINTEXT_LOSS, piece.frame, piece.ts, out)
            else:
                self._tls_in(d, piece.data, piece.frame, piece.ts, out)

    def _tls_out(self, items: list, out: list) -> None:
        for item in items:
            if item.__class__ is Decrypted:
                d = self.c2s if item.from_client else self.s2c
                self._data(d, item.offset, item.data, item.frame, item.ts, out)
            else:
                out.append(item)

    def _end_streams(self, frame: int, ts: float, out: list) -> None:
        """The connection is over: TLS (records left incomplete), then each WebSocket stream (a frame or
        fragmented message in progress is emitted incomplete)."""
        if self.tls is not None:
            self._tls_out(self.tls.end(), out)
        for d in (self.c2s, self.s2c):
            if d.ws is not None:
                d.ws.end(frame, ts, out)

    def _stream_next(self, d) -> int:
        """The offset of the next byte of *d*'s stream as the HTTP/WebSocket stages count it."""
        return d.reasm.next if self.tls is None else self.tls.next_plain[d.from_client]
