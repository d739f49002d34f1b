"""From negotiated parameters and logged secrets to record decrypters, for TLS 1.2 and TLS 1.3."""
from __future__ import annotations

from typing import NamedTuple, Optional, Protocol

from . import keylog as labels
from .ciphers import CipherSuite, RecordDecrypter, Tls12AeadDecrypter, Tls12CbcDecrypter
from .handshake import ClientHello, ServerHello
from .keys import tls12_key_block
from .resumption import SessionCache
from .sender import Sender, tls13_decrypter
from .tracker import HandshakeTracker


class SecretSource(Protocol):
    """What the engine needs from a key log (``KeyLog`` provides it)."""

    def lookup(self, label: str, client_random: bytes) -> Optional[bytes]: ...


class Tls12Decrypters(NamedTuple):
    client: RecordDecrypter
    server: RecordDecrypter


def tls12_decrypters(suite: CipherSuite, master_secret: bytes, client_random: bytes, server_random: bytes,
                     encrypt_then_mac: bool) -> Tls12Decrypters:
    """Both directions' decrypters from a TLS 1.2 master secret (RFC 5246 6.3)."""
    kb = tls12_key_block(master_secret, client_random, server_random, suite.hash, suite.mac_len, suite.key_len,
                         suite.fixed_iv_len)
    if suite.aead:
        return Tls12Decrypters(Tls12AeadDecrypter(suite, kb.client_key, kb.client_iv),
                               Tls12AeadDecrypter(suite, kb.server_key, kb.server_iv))
    return Tls12Decrypters(Tls12CbcDecrypter(suite, kb.client_key, kb.client_mac, encrypt_then_mac),
                           Tls12CbcDecrypter(suite, kb.server_key, kb.server_mac, encrypt_then_mac))


def tls12_master_secret(secrets: SecretSource, sessions: SessionCache, client: ClientHello, server: ServerHello,
                        resumed: bool) -> Optional[bytes]:
    """The master secret: logged for this client random, or that of the session it resumes (by session ID or
    ticket) if an earlier connection of the capture was decrypted."""
    master = secrets.lookup(labels.CLIENT_RANDOM, client.random)
    if master is None and resumed:
        master = sessions.find(session_id=server.session_id)
    if master is None and client.session_ticket:
        master = sessions.find(ticket=client.session_ticket)
    return master


def tls13_resolve(secrets: SecretSource, suite: CipherSuite, hello: HandshakeTracker, sender: Sender) -> Optional[str]:
    """Install the TLS 1.3 traffic secret *sender* awaits (``sender.awaiting``), looked up now, when its first
    record under it arrives (a key log that grows, as in live capture, has had the most time to get it).
    Returns the label if the secret is not in the key log.

    0-RTT (RFC 8446 4.2.10): when the client announced early data, its records before the handshake keys are
    under the early traffic key; with that key logged (and the early data not refused by a HelloRetryRequest)
    they are decrypted and the handshake key is tried as the fallback, otherwise they are skipped until the first
    record that opens under the handshake key.
    """
    label, sender.awaiting = sender.awaiting, None
    if label is None or hello.client is None or hello.server is None:
        return None
    client_random = hello.client.random
    secret = secrets.lookup(label, client_random)
    sender.install_tls13(suite, secret)
    if label == labels.CLIENT_HANDSHAKE and hello.early_data_offered:
        usable = hello.client.early_data and hello.server.psk and not hello.retry_request
        early = secrets.lookup(labels.CLIENT_EARLY, client_random) if usable else None
        if early is not None:
            sender.install_early(tls13_decrypter(suite, early))
        elif sender.decrypter is not None:
            sender.skip_failures = True
    return label if secret is None else None
