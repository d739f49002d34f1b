"""The findings of one TLS connection: named by its endpoints and SNI (never by any secret), some reported at
most once per connection."""
from __future__ import annotations

from typing import Optional

from ..events import Finding
from ..findings import KINDS
from ..flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Conn
from .records import RawRecord
from .sender import Sender, State
from .tracker import HandshakeTracker


class Reporter:
    """Makes :class:`~wsdissect.events.Finding` objects for one connection."""

    __slots__ = ("conn", "hello", "_reported", "cannot_decrypt")

    def __init__(self, conn: Optional[Conn], hello: HandshakeTracker):
        self.conn = conn
        self.hello = hello
        self._reported: set[str] = set()
        self.cannot_decrypt: Optional[str] = None  # why no key log could decrypt this connection, once reported

    def finding(self, out: list, code: str, message: str, frame: int, ts: float,
                from_client: Optional[bool]) -> None:
        direction = None if from_client is None else CLIENT_TO_SERVER if from_client else SERVER_TO_CLIENT
        out.append(Finding(frame, ts, code, KINDS[code].severity, message, self.conn, direction))

    def once(self, out: list, code: str, rec: RawRecord, from_client: Optional[bool], message: str) -> None:
        """A finding reported at most once per connection."""
        if code not in self._reported:
            self._reported.add(code)
            self.finding(out, code, message, rec.frame, rec.ts, from_client)

    def name(self) -> str:
        """The connection as findings name it: endpoints and SNI."""
        name = "TLS connection"
        if self.conn is not None:
            name += f" {self.conn.client} -> {self.conn.server}"
        sni = self.hello.client.sni if self.hello.client is not None else None
        return f"{name} (SNI {sni})" if sni else name

    def no_keys(self, out: list, rec: RawRecord, reason: str) -> None:
        self.once(out, "tls.no_keys", rec, None, f"{self.name()} not decrypted: {reason}")

    def cannot(self, out: list, rec: RawRecord, code: str, reason: str) -> None:
        """The connection cannot be decrypted whatever the key log holds (reported by *code*, not no_keys)."""
        self.cannot_decrypt = reason
        self.once(out, code, rec, None, f"{self.name()}: {reason}")

    def alpn_h2(self, out: list, rec: RawRecord) -> None:
        self.once(out, "tls.alpn_h2", rec, None, f"{self.name()} negotiated ALPN h2: WebSocket over HTTP/2 "
                  "(RFC 8441) is not decoded")

    def decrypt_failed(self, out: list, side: Sender, rec: RawRecord) -> None:
        message = f"TLS record of {len(rec.fragment)} bytes does not authenticate with the logged keys " \
                  "(wrong key, or the record is damaged); its content is not used"
        if side.state is State.FAILED:
            message += f"; {side.failures} records in a row failed, the rest of this direction is not decrypted"
        self.finding(out, "tls.decrypt_failed", message, rec.frame, rec.ts, side.from_client)
