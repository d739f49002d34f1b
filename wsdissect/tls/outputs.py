"""What :class:`~wsdissect.tls.session.TlsConnection` returns: record infos, decrypted data and a summary.

Findings are :class:`wsdissect.events.Finding` objects; the rest are defined here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from ..events import Finding
from .alerts import Alert
from .handshake import HANDSHAKE_NAMES
from .records import CONTENT_TYPES, VERSION_NAMES


class TlsRecord(NamedTuple):
    """One TLS record, for the packet list and tree.  ``frame`` carried its last byte.  (A NamedTuple, like
    :class:`Plaintext`: one is made per record, and tuples are several times cheaper to build than frozen
    dataclasses; fields are read by name.)"""

    from_client: bool
    first_frame: int
    frame: int
    ts: float
    content_type: int  # as on the wire (23 for every protected TLS 1.3 record)
    version: int  # record-layer version field
    length: int  # TLSCiphertext.length
    encrypted: bool  # protected by the keys of its epoch
    decrypted: bool  # protected and opened with the logged keys
    inner_type: Optional[int] = None  # the real content type of a decrypted TLS 1.3 record
    handshake_types: tuple[int, ...] = ()  # handshake messages completed in this record
    alert: Optional[Alert] = None

    @property
    def effective_type(self) -> int:
        return self.inner_type if self.inner_type is not None else self.content_type

    def describe(self) -> str:
        """Wireshark's Info text for this record ("Client Hello", "Application Data", "Encrypted Alert"...)."""
        kind = self.effective_type
        if self.handshake_types:
            return ", ".join(HANDSHAKE_NAMES.get(t, f"Unknown ({t})") for t in self.handshake_types)
        if self.encrypted and not self.decrypted:
            if kind == 22:
                return "Encrypted Handshake Message"
            if kind == 21:
                return "Encrypted Alert"
        if self.alert is not None:
            return f"Alert (Level: {self.alert.level_name}, Description: {self.alert.name})"
        return CONTENT_TYPES.get(kind, f"Unknown ({kind})")

    @property
    def version_name(self) -> str:
        return VERSION_NAMES.get(self.version, f"Unknown (0x{self.version:04x})")


class Plaintext(NamedTuple):
    """Decrypted application data of one record, in stream order for its direction."""

    from_client: bool
    data: bytes
    frame: int
    ts: float


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """What is known about a TLS connection (from the cleartext hellos, and the decrypted handshake)."""

    version: Optional[str]  # "TLSv1.2", "TLSv1.3"
    cipher_suite: Optional[str]  # IANA name
    sni: Optional[str]
    alpn: Optional[str]  # negotiated (TLS 1.3: known only once EncryptedExtensions is decrypted)
    offered_alpn: tuple[str, ...]
    decrypted: bool  # some application data or handshake was decrypted
    resumed: bool
    early_data: bool  # the client announced 0-RTT data
    retry_request: bool  # the server sent a HelloRetryRequest
    records_decrypted: int
    records_not_decrypted: int


TlsOutput = Union[TlsRecord, Plaintext, Finding]
