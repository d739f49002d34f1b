"""What the handshake has negotiated so far: the hellos, ALPN, resumption and 0-RTT, updated message by
message.  Pure bookkeeping; key changes are the connection's business."""
from __future__ import annotations

import enum
from typing import Optional

from . import handshake as hs
from .ciphers import suite_name
from .outputs import TlsInfo
from .records import VERSION_NAMES

TLS13 = 0x0304


class Step(enum.Enum):
    """What a handshake message means for the connection's keys."""

    NONE = "none"
    SERVER_HELLO = "server_hello"  # a real ServerHello: the version and cipher suite are known
    FINISHED = "finished"
    KEY_UPDATE = "key_update"
    END_OF_EARLY_DATA = "end_of_early_data"
    MALFORMED = "malformed"


class HandshakeTracker:
    """The negotiated parameters of one connection."""

    __slots__ = ("client", "server", "retry_request", "alpn", "resumed", "early_data_offered", "early_accepted",
                 "server_certificate", "ticket")

    def __init__(self) -> None:
        self.client: Optional[hs.ClientHello] = None
        self.server: Optional[hs.ServerHello] = None
        self.retry_request = False
        self.alpn: Optional[str] = None
        self.resumed = False
        self.early_data_offered = False
        self.early_accepted = False
        self.server_certificate = False
        self.ticket = b""

    @property
    def version(self) -> Optional[int]:
        return self.server.version if self.server is not None else None

    def on_message(self, from_client: bool, msg: hs.HandshakeMessage) -> Step:
        """Record what *msg* says; returns what it means for the keys."""
        kind = msg.msg_type
        if kind == hs.CLIENT_HELLO and from_client:
            return self._client_hello(msg.body)
        if kind == hs.SERVER_HELLO and not from_client:
            return self._server_hello(msg.body)
        if kind == hs.ENCRYPTED_EXTENSIONS and not from_client:
            ee = hs.parse_encrypted_extensions(msg.body)
            if ee is None:
                return Step.MALFORMED
            self.alpn = ee.alpn or self.alpn
            self.early_accepted = ee.early_data
        elif kind == hs.CERTIFICATE and not from_client:
            self.server_certificate = True
        elif kind == hs.FINISHED:
            return Step.FINISHED
        elif kind == hs.KEY_UPDATE:
            return Step.KEY_UPDATE if hs.parse_key_update(msg.body) is not None else Step.MALFORMED
        elif kind == hs.END_OF_EARLY_DATA and from_client:
            return Step.END_OF_EARLY_DATA
        elif kind == hs.NEW_SESSION_TICKET and not from_client and self.version != TLS13:
            ticket = hs.parse_tls12_session_ticket(msg.body)
            if ticket is None:
                return Step.MALFORMED
            self.ticket = ticket
        return Step.NONE

    def _client_hello(self, body: bytes) -> Step:
        if self.server is not None:
            return Step.NONE  # renegotiation (TLS 1.2, already encrypted): not followed
        hello = hs.parse_client_hello(body)
        if hello is None:
            return Step.MALFORMED
        self.client = hello
        self.early_data_offered = self.early_data_offered or hello.early_data
        return Step.NONE

    def _server_hello(self, body: bytes) -> Step:
        if self.server is not None:
            return Step.NONE
        hello = hs.parse_server_hello(body)
        if hello is None:
            return Step.MALFORMED
        if hello.retry_request:
            self.retry_request = True
            return Step.NONE
        self.server = hello
        self.alpn = hello.alpn
        client = self.client
        if hello.version == TLS13:
            self.resumed = hello.psk
        elif client is not None and hello.session_id and hello.session_id == client.session_id:
            self.resumed = True
        return Step.SERVER_HELLO

    def abbreviated(self) -> None:
        """The server changed cipher spec without a Certificate: a TLS 1.2 resumed session."""
        if not self.server_certificate:
            self.resumed = True

    def summary(self, records_decrypted: int, records_not_decrypted: int) -> TlsInfo:
        """The negotiated facts as a :class:`TlsInfo`."""
        client, server = self.client, self.server
        return TlsInfo(
            version=VERSION_NAMES.get(server.version, f"0x{server.version:04x}") if server is not None else None,
            cipher_suite=suite_name(server.cipher_suite) if server is not None else None,
            sni=client.sni if client is not None else None, alpn=self.alpn,
            offered_alpn=client.alpn if client is not None else (), decrypted=records_decrypted > 0,
            resumed=self.resumed, early_data=self.early_data_offered, retry_request=self.retry_request,
            records_decrypted=records_decrypted, records_not_decrypted=records_not_decrypted)
