"""The TLS side of a connection that needs no TLS code until a connection turns out to be TLS: the
:class:`TlsWiring` mixin of :class:`~wsdissect.connection.Connection`, the capture's :class:`CaptureSecrets`, and
:class:`Decrypted`, what the TLS stage (:class:`~wsdissect.tls_layer.TlsLayer`, imported on the first TLS hello)
hands the connection.  Sans-IO: no files, no printing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional

from .tcp.reassembly import Gap

if TYPE_CHECKING:  # pragma: no cover
    from .tls.keylog import KeyLog

TLS_HANDSHAKE = b"\x16"  # the content type a TLS hello's record starts with (the record code loads only then)


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
        self.extra: Optional[KeyLog] = None  # this capture's embedded secrets only (once it has a DSB)

    @property
    def growing(self) -> bool:
        """The key log is re-read as it grows (live capture)."""
        return self.keylog is not None and self.keylog.refresh_interval is not None

    def attach(self, blocks: list) -> None:
        """Use the DSB list of the capture being read (``CaptureFile.tls_secrets``)."""
        self.blocks, self.used = blocks, 0

    def lookup(self, label: str, client_random: bytes) -> Optional[bytes]:
        while self.used < len(self.blocks):
            if self.extra is None:
                from .tls.keylog import KeyLog

                self.extra = KeyLog()
            self.extra.add_secrets_block(self.blocks[self.used])
            self.used += 1
        secret = self.extra.lookup(label, client_random) if self.extra is not None and len(self.extra) else None
        if secret is None and self.keylog is not None:
            secret = self.keylog.lookup(label, client_random)
        return secret


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
        if self.tls is not None or self.tls_context is None or data[:1] != TLS_HANDSHAKE:
            return False
        from .tls.records import looks_like_tls

        if not looks_like_tls(data):
            return False
        if (data[5] == 2) == d.from_client and not self.roles_known:
            self.swap_roles()
            d = self.c2s if d is self.s2c else self.s2c
        self.roles_known = True
        from .tls_layer import TlsLayer  # (the TLS engine and its ciphers: only for TLS connections)

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
