"""TLS key derivation: the TLS 1.2 PRF key block (RFC 5246 5, 6.3) and the TLS 1.3 HKDF key schedule
(RFC 8446 7.1-7.3), including the KeyUpdate next-generation secret.

Pure functions over bytes; nothing here knows about records or connections.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384}


def hash_len(hash_name: str) -> int:
    """Output length in bytes of the named hash ("sha256" -> 32)."""
    return hashlib.new(hash_name).digest_size


def prf(secret: bytes, label: bytes, seed: bytes, length: int, hash_name: str) -> bytes:
    """The TLS 1.2 PRF: P_hash(secret, label + seed) cut to *length* bytes (RFC 5246 5)."""
    seed = label + seed
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac.digest(secret, a, hash_name)
        out += hmac.digest(secret, a + seed, hash_name)
    return bytes(out[:length])


class KeyBlock(NamedTuple):
    """The TLS 1.2 key block, split in RFC 5246 6.3's order."""

    client_mac: bytes
    server_mac: bytes
    client_key: bytes
    server_key: bytes
    client_iv: bytes
    server_iv: bytes

    def __repr__(self) -> str:  # key material is never shown
        return "<KeyBlock>"


def tls12_key_block(master_secret: bytes, client_random: bytes, server_random: bytes, hash_name: str,
                    mac_len: int, key_len: int, iv_len: int) -> KeyBlock:
    """Expand a TLS 1.2 master secret into the write keys of both sides (RFC 5246 6.3)."""
    total = 2 * (mac_len + key_len + iv_len)
    block = prf(master_secret, b"key expansion", server_random + client_random, total, hash_name)
    parts = []
    pos = 0
    for size in (mac_len, mac_len, key_len, key_len, iv_len, iv_len):
        parts.append(block[pos:pos + size])
        pos += size
    return KeyBlock(*parts)


def hkdf_extract(salt: bytes, ikm: bytes, hash_name: str) -> bytes:
    """HKDF-Extract (RFC 5869 2.2); an empty salt means a string of zeros of the hash length."""
    return hmac.digest(salt or bytes(hash_len(hash_name)), ikm, hash_name)


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int, hash_name: str) -> bytes:
    """HKDF-Expand-Label (RFC 8446 7.1): the label is prefixed with "tls13 "."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(_HASHES[hash_name](), length, info).derive(secret)


def derive_secret(secret: bytes, label: bytes, transcript_hash: bytes, hash_name: str) -> bytes:
    """Derive-Secret (RFC 8446 7.1), given the transcript hash already computed."""
    return hkdf_expand_label(secret, label, transcript_hash, hash_len(hash_name), hash_name)


class TrafficKeys(NamedTuple):
    """A TLS 1.3 record protection key and IV (RFC 8446 7.3)."""

    key: bytes
    iv: bytes

    def __repr__(self) -> str:  # key material is never shown
        return "<TrafficKeys>"


def tls13_traffic_keys(traffic_secret: bytes, hash_name: str, key_len: int, iv_len: int = 12) -> TrafficKeys:
    """The write key and IV of a TLS 1.3 traffic secret."""
    return TrafficKeys(hkdf_expand_label(traffic_secret, b"key", b"", key_len, hash_name),
                       hkdf_expand_label(traffic_secret, b"iv", b"", iv_len, hash_name))


def next_traffic_secret(traffic_secret: bytes, hash_name: str) -> bytes:
    """application_traffic_secret_N+1 after a KeyUpdate (RFC 8446 7.2)."""
    return hkdf_expand_label(traffic_secret, b"traffic upd", b"", hash_len(hash_name), hash_name)
