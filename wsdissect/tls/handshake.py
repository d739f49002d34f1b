"""TLS handshake messages (RFC 8446 4, RFC 5246 7.4): reassembly from records and parsing of the hellos,
EncryptedExtensions, NewSessionTicket and KeyUpdate.

Parsers return a frozen dataclass, or ``None`` when the message is malformed (the caller reports it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

CLIENT_HELLO, SERVER_HELLO, NEW_SESSION_TICKET, END_OF_EARLY_DATA = 1, 2, 4, 5
ENCRYPTED_EXTENSIONS, CERTIFICATE, SERVER_KEY_EXCHANGE, CERTIFICATE_REQUEST = 8, 11, 12, 13
SERVER_HELLO_DONE, CERTIFICATE_VERIFY, CLIENT_KEY_EXCHANGE, FINISHED, KEY_UPDATE = 14, 15, 16, 20, 24
HANDSHAKE_NAMES = {
    0: "Hello Request", CLIENT_HELLO: "Client Hello", SERVER_HELLO: "Server Hello",
    NEW_SESSION_TICKET: "New Session Ticket", END_OF_EARLY_DATA: "End of Early Data",
    ENCRYPTED_EXTENSIONS: "Encrypted Extensions", CERTIFICATE: "Certificate",
    SERVER_KEY_EXCHANGE: "Server Key Exchange", CERTIFICATE_REQUEST: "Certificate Request",
    SERVER_HELLO_DONE: "Server Hello Done", CERTIFICATE_VERIFY: "Certificate Verify",
    CLIENT_KEY_EXCHANGE: "Client Key Exchange", FINISHED: "Finished", 22: "Certificate Status",
    KEY_UPDATE: "Key Update",
}
EXT_SERVER_NAME, EXT_ALPN, EXT_ENCRYPT_THEN_MAC, EXT_EXTENDED_MASTER_SECRET = 0, 16, 22, 23
EXT_SESSION_TICKET, EXT_PRE_SHARED_KEY, EXT_EARLY_DATA, EXT_SUPPORTED_VERSIONS = 35, 41, 42, 43
# ServerHello.random of a HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 4.1.3)
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
MAX_MESSAGE = 1 << 20  # handshake messages longer than this are not buffered (certificate chains are far smaller)


class HandshakeMessage(NamedTuple):
    msg_type: int
    body: bytes


class HandshakeAssembler:
    """Joins handshake messages that span records and splits records that carry several."""

    __slots__ = ("_buf", "too_large")

    def __init__(self) -> None:
        self._buf = b""
        self.too_large = False

    def reset(self) -> None:
        """Forget a message in progress (its bytes were lost from the capture)."""
        self._buf = b""

    @property
    def pending(self) -> int:
        """Bytes of an unfinished message held (must be 0 when the keys change)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[HandshakeMessage]:
        """Messages completed by *data*; after a message over MAX_MESSAGE, ``too_large`` is set and nothing more
        is returned."""
        if self.too_large:
            return []
        buf = self._buf + data if self._buf else data
        out: list[HandshakeMessage] = []
        pos = 0
        while len(buf) - pos >= 4:
            length = int.from_bytes(buf[pos + 1:pos + 4], "big")
            if length > MAX_MESSAGE:
                self.too_large = True
                self._buf = b""
                return out
            if pos + 4 + length > len(buf):
                break
            out.append(HandshakeMessage(buf[pos], buf[pos + 4:pos + 4 + length]))
            pos += 4 + length
        self._buf = buf[pos:]
        return out


class _Truncated(Exception):
    """A length field points past the end of its container (internal: parsers turn it into None)."""


class _Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: Optional[int] = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise _Truncated
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> "_Reader":
        n = self.uint(length_bytes)
        start = self.pos
        self.take(n)
        return _Reader(self.data, start, start + n)

    def left(self) -> int:
        return self.end - self.pos


def _extensions(r: _Reader) -> dict[int, bytes]:
    exts: dict[int, bytes] = {}
    if not r.left():
        return exts
    block = r.vector(2)
    while block.left():
        ext_type = block.uint(2)
        exts[ext_type] = block.take(block.uint(2))
    return exts


def printable(text: str) -> str:
    """*text* with control and other non-printable characters escaped (names come from the peer)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _alpn(data: bytes) -> tuple[str, ...]:
    names = _Reader(data).vector(2)
    out = []
    while names.left():
        out.append(printable(names.take(names.uint(1)).decode("latin-1")))
    return tuple(out)


def _sni(data: bytes) -> Optional[str]:
    names = _Reader(data).vector(2)
    while names.left():
        kind, name = names.uint(1), names.take(names.uint(2))
        if kind == 0:
            return printable(name.decode("latin-1"))
    return None


@dataclass(frozen=True, slots=True)
class ClientHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    versions: tuple[int, ...]  # supported_versions, or (legacy_version,)
    sni: Optional[str]
    alpn: tuple[str, ...]
    session_ticket: bytes  # a TLS 1.2 ticket offered for resumption (empty: none)
    psk: bool  # pre_shared_key offered (TLS 1.3 resumption)
    early_data: bool  # 0-RTT data announced
    extended_master_secret: bool
    encrypt_then_mac: bool


@dataclass(frozen=True, slots=True)
class ServerHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    version: int  # the negotiated version (supported_versions for TLS 1.3)
    alpn: Optional[str]
    psk: bool  # pre_shared_key accepted (TLS 1.3 resumption)
    extended_master_secret: bool
    encrypt_then_mac: bool
    retry_request: bool  # a HelloRetryRequest, not a real ServerHello


def parse_client_hello(body: bytes) -> Optional[ClientHello]:
    try:
        r = _Reader(body)
        legacy, random, session_id = r.uint(2), r.take(32), r.vector(1)
        suites_r = r.vector(2)
        suites = tuple(suites_r.uint(2) for _ in range(suites_r.left() // 2))
        r.vector(1)  # compression methods
        exts = _extensions(r)
        versions: tuple[int, ...] = (legacy,)
        if EXT_SUPPORTED_VERSIONS in exts:
            vr = _Reader(exts[EXT_SUPPORTED_VERSIONS]).vector(1)
            versions = tuple(vr.uint(2) for _ in range(vr.left() // 2))
        return ClientHello(
            legacy_version=legacy, random=random, session_id=session_id.take(session_id.left()),
            cipher_suites=suites, versions=versions,
            sni=_sni(exts[EXT_SERVER_NAME]) if exts.get(EXT_SERVER_NAME) else None,
            alpn=_alpn(exts[EXT_ALPN]) if EXT_ALPN in exts else (), session_ticket=exts.get(EXT_SESSION_TICKET, b""),
            psk=EXT_PRE_SHARED_KEY in exts, early_data=EXT_EARLY_DATA in exts,
            extended_master_secret=EXT_EXTENDED_MASTER_SECRET in exts, encrypt_then_mac=EXT_ENCRYPT_THEN_MAC in exts)
    except _Truncated:
        return None


def parse_server_hello(body: bytes) -> Optional[ServerHello]:
    try:
        r = _Reader(body)
        legacy, random, session_id = r.uint(2), r.take(32), r.vector(1)
        suite = r.uint(2)
        r.uint(1)  # compression method
        exts = _extensions(r)
        version = legacy
        if len(exts.get(EXT_SUPPORTED_VERSIONS, b"")) == 2:
            version = int.from_bytes(exts[EXT_SUPPORTED_VERSIONS], "big")
        alpn = _alpn(exts[EXT_ALPN]) if EXT_ALPN in exts else ()
        return ServerHello(legacy, random, session_id.take(session_id.left()), suite, version,
                           alpn[0] if alpn else None, EXT_PRE_SHARED_KEY in exts,
                           EXT_EXTENDED_MASTER_SECRET in exts, EXT_ENCRYPT_THEN_MAC in exts, random == HRR_RANDOM)
    except _Truncated:
        return None


@dataclass(frozen=True, slots=True)
class EncryptedExtensions:
    alpn: Optional[str]
    early_data: bool  # the server accepted 0-RTT data


def parse_encrypted_extensions(body: bytes) -> Optional[EncryptedExtensions]:
    try:
        exts = _extensions(_Reader(body))
        alpn = _alpn(exts[EXT_ALPN]) if EXT_ALPN in exts else ()
        return EncryptedExtensions(alpn[0] if alpn else None, EXT_EARLY_DATA in exts)
    except _Truncated:
        return None


def parse_tls12_session_ticket(body: bytes) -> Optional[bytes]:
    """The ticket of a TLS 1.2 NewSessionTicket (RFC 5077 3.3)."""
    try:
        r = _Reader(body)
        r.uint(4)  # lifetime hint
        ticket = r.vector(2)
        return ticket.take(ticket.left())
    except _Truncated:
        return None


def parse_key_update(body: bytes) -> Optional[bool]:
    """KeyUpdate.request_update (True: the peer must update too); None if malformed."""
    if len(body) != 1 or body[0] > 1:
        return None
    return body[0] == 1
