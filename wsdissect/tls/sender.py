"""One direction of a TLS connection: its record stream, handshake reassembly and current decryption state.

The state moves from *plain* (nothing protected yet) to *keyed* (a decrypter and its sequence number) or
*undecryptable* (protected, no keys: records are counted and skipped), and to *failed* after too many records
in a row did not authenticate.
"""
from __future__ import annotations

import enum
from typing import Optional

from .ciphers import CipherSuite, Opened, RecordDecrypter, Tls13Decrypter
from .handshake import HandshakeAssembler
from .keys import next_traffic_secret, tls13_traffic_keys
from .records import RawRecord, RecordStream

MAX_FAILURES = 8  # records in a row that do not authenticate before this direction is given up
MAX_SEQ_SEARCH = 1024  # sequence numbers tried for the first record after a gap


class State(enum.Enum):
    PLAIN = "plain"
    KEYED = "keyed"
    UNDECRYPTABLE = "undecryptable"
    FAILED = "failed"


class Sender:
    """Per-direction decryption state (the sender's view: its write keys)."""

    __slots__ = ("from_client", "stream", "handshake", "state", "protected", "decrypter", "seq", "window", "failures",
                 "fallback", "early", "skip_failures", "secret", "suite", "awaiting", "opened", "skipped")

    def __init__(self, from_client: bool):
        self.from_client = from_client
        self.stream = RecordStream()
        self.handshake = HandshakeAssembler()
        self.state = State.PLAIN
        self.protected = False  # records are protected from here on (state is not PLAIN)
        self.decrypter: Optional[RecordDecrypter] = None
        self.seq = 0
        self.window = 0  # extra sequence numbers to try (records possibly lost to a gap)
        self.failures = 0
        self.fallback: Optional[RecordDecrypter] = None  # tried at seq 0 when the current key fails (0-RTT)
        self.early = False  # the 0-RTT early traffic key is in use (``fallback`` holds the handshake key)
        self.skip_failures = False  # 0-RTT data we have no key for: failures until the first success are expected
        self.secret: Optional[bytes] = None  # the TLS 1.3 traffic secret in use (for KeyUpdate)
        self.suite: Optional[CipherSuite] = None
        self.awaiting: Optional[str] = None  # key log label of the TLS 1.3 secret to look up at the next record
        self.opened = 0  # records decrypted
        self.skipped = 0  # protected records not decrypted (no keys, or expected 0-RTT failures)

    def install(self, decrypter: Optional[RecordDecrypter]) -> None:
        """Protect this direction from the next record on with *decrypter* (None: no keys for it)."""
        self.decrypter = decrypter
        self.state = State.KEYED if decrypter is not None else State.UNDECRYPTABLE
        self.protected = True
        self.seq = 0
        self.window = 0
        self.failures = 0
        self.early = False

    def await_secret(self, label: str) -> None:
        """Records are protected from now on, under the secret logged as *label* (looked up when needed)."""
        self.install(None)
        self.awaiting = label

    def install_early(self, decrypter: RecordDecrypter) -> None:
        """Use the 0-RTT key first; the handshake key installed so far becomes the fallback."""
        fallback = self.decrypter
        self.install(decrypter)
        self.fallback, self.early = fallback, True

    def end_early_data(self) -> None:
        """EndOfEarlyData (or a record the early key does not open): switch to the handshake key."""
        fallback, self.fallback = self.fallback, None
        self.install(fallback)

    def install_tls13(self, suite: CipherSuite, secret: Optional[bytes]) -> None:
        """Switch to a TLS 1.3 traffic secret (None: not in the key log)."""
        self.suite, self.secret = suite, secret
        self.install(tls13_decrypter(suite, secret) if secret is not None else None)
        self.fallback = None

    def key_update(self) -> None:
        """The sender updated its traffic keys (RFC 8446 4.6.3)."""
        if self.suite is not None and self.secret is not None and self.state is State.KEYED:
            self.install_tls13(self.suite, next_traffic_secret(self.secret, self.suite.hash))
        elif self.state is State.KEYED:
            self.install(None)

    def open(self, rec: RawRecord) -> Optional[Opened]:
        """Decrypt a protected record; None if it did not authenticate (``failures`` counts them)."""
        decrypter = self.decrypter
        if decrypter is None:
            return None
        opened = decrypter.open(rec.content_type, rec.version, rec.fragment, self.seq)
        if opened is None and (self.window or rec.lost_before):
            opened = self._search(decrypter, rec)
        if opened is not None:
            self.seq += 1
            self.opened += 1
            if self.failures or self.skip_failures or self.window:
                self.window, self.failures, self.skip_failures = 0, 0, False
            return opened
        if self.early:  # early data is over (rejected by the server, or its EndOfEarlyData was not seen)
            fallback = self.fallback
            self.end_early_data()
            if fallback is None:
                self.skipped += 1
                return None
            return self.open(rec)
        if self.skip_failures:  # 0-RTT data under a key we lack: it uses no sequence number of this key
            self.skipped += 1
            return None
        self.seq += 1
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self.state = State.FAILED
            self.decrypter = None
        return None

    def _search(self, decrypter: RecordDecrypter, rec: RawRecord) -> Optional[Opened]:
        """After a gap: try the sequence numbers of the records that may have been lost; on success ``seq`` is
        left at the one that worked."""
        self.window = min(self.window + rec.lost_before, MAX_SEQ_SEARCH)
        for seq in range(self.seq + 1, self.seq + self.window + 1):
            opened = decrypter.open(rec.content_type, rec.version, rec.fragment, seq)
            if opened is not None:
                self.seq = seq
                return opened
        return None


def tls13_decrypter(suite: CipherSuite, secret: bytes) -> Tls13Decrypter:
    """The record decrypter of a TLS 1.3 traffic secret."""
    key, iv = tls13_traffic_keys(secret, suite.hash, suite.key_len)
    return Tls13Decrypter(suite, key, iv)
