"""TLS cipher suites (IANA id -> name and parameters) and the record decrypters built from them.

A decrypter opens one direction's records: ``open(content_type, version, fragment, seq)`` returns an
:class:`Opened` (the real content type and the plaintext) or ``None`` when the record does not authenticate
(AEAD tag, CBC MAC or padding wrong).  It never returns unauthenticated plaintext and never raises for bad
input.  One primitive object is built per key and reused for every record.
"""
from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from typing import NamedTuple, Optional, Protocol, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

TLS12_AEAD_FIXED_IV = 4  # GCM and CCM: 4 implicit bytes + 8 explicit bytes per record (RFC 5288, 6655)
EXPLICIT_NONCE = 8
BLOCK = 16
_record_header = struct.Struct(">BHH").pack


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """One decryptable cipher suite.  ``mac`` is set only for CBC suites (the record MAC's hash)."""

    id: int
    name: str
    cipher: str  # "AES-GCM", "AES-CCM", "AES-CCM-8", "CHACHA20-POLY1305", "AES-CBC"
    key_len: int
    hash: str  # the PRF (TLS 1.2) or HKDF (TLS 1.3) hash
    mac: Optional[str] = None
    tls13: bool = False

    @property
    def aead(self) -> bool:
        return self.mac is None

    @property
    def mac_len(self) -> int:
        return {"sha1": 20, "sha256": 32, "sha384": 48}.get(self.mac or "", 0)

    @property
    def fixed_iv_len(self) -> int:
        """IV bytes taken from the key block (TLS 1.2) or derived (TLS 1.3)."""
        if self.tls13 or self.cipher == "CHACHA20-POLY1305":
            return 12
        return TLS12_AEAD_FIXED_IV if self.aead else 0

    @property
    def tag_len(self) -> int:
        return 8 if self.cipher == "AES-CCM-8" else 16


# TLS 1.2 bulk ciphers: name suffix -> (cipher, key length, PRF hash, CBC MAC hash)
_TLS12_BULK = {
    "AES_128_CBC_SHA": ("AES-CBC", 16, "sha256", "sha1"), "AES_256_CBC_SHA": ("AES-CBC", 32, "sha256", "sha1"),
    "AES_128_CBC_SHA256": ("AES-CBC", 16, "sha256", "sha256"),
    "AES_256_CBC_SHA256": ("AES-CBC", 32, "sha256", "sha256"),
    "AES_256_CBC_SHA384": ("AES-CBC", 32, "sha384", "sha384"),
    "AES_128_GCM_SHA256": ("AES-GCM", 16, "sha256", None), "AES_256_GCM_SHA384": ("AES-GCM", 32, "sha384", None),
    "CHACHA20_POLY1305_SHA256": ("CHACHA20-POLY1305", 32, "sha256", None),
    "AES_128_CCM": ("AES-CCM", 16, "sha256", None), "AES_256_CCM": ("AES-CCM", 32, "sha256", None),
    "AES_128_CCM_8": ("AES-CCM-8", 16, "sha256", None), "AES_256_CCM_8": ("AES-CCM-8", 32, "sha256", None),
}
# TLS 1.2 suite ids by key exchange and bulk cipher (IANA TLS Cipher Suites registry)
_TLS12_IDS = {
    "RSA": {"AES_128_CBC_SHA": 0x002F, "AES_256_CBC_SHA": 0x0035, "AES_128_CBC_SHA256": 0x003C,
            "AES_256_CBC_SHA256": 0x003D, "AES_128_GCM_SHA256": 0x009C, "AES_256_GCM_SHA384": 0x009D,
            "AES_128_CCM": 0xC09C, "AES_256_CCM": 0xC09D, "AES_128_CCM_8": 0xC0A0, "AES_256_CCM_8": 0xC0A1},
    "DHE_RSA": {"AES_128_CBC_SHA": 0x0033, "AES_256_CBC_SHA": 0x0039, "AES_128_CBC_SHA256": 0x0067,
                "AES_256_CBC_SHA256": 0x006B, "AES_128_GCM_SHA256": 0x009E, "AES_256_GCM_SHA384": 0x009F,
                "CHACHA20_POLY1305_SHA256": 0xCCAA, "AES_128_CCM": 0xC09E, "AES_256_CCM": 0xC09F},
    "ECDHE_ECDSA": {"AES_128_CBC_SHA": 0xC009, "AES_256_CBC_SHA": 0xC00A, "AES_128_CBC_SHA256": 0xC023,
                    "AES_256_CBC_SHA384": 0xC024, "AES_128_GCM_SHA256": 0xC02B, "AES_256_GCM_SHA384": 0xC02C,
                    "CHACHA20_POLY1305_SHA256": 0xCCA9, "AES_128_CCM": 0xC0AC, "AES_256_CCM": 0xC0AD,
                    "AES_128_CCM_8": 0xC0AE, "AES_256_CCM_8": 0xC0AF},
    "ECDHE_RSA": {"AES_128_CBC_SHA": 0xC013, "AES_256_CBC_SHA": 0xC014, "AES_128_CBC_SHA256": 0xC027,
                  "AES_256_CBC_SHA384": 0xC028, "AES_128_GCM_SHA256": 0xC02F, "AES_256_GCM_SHA384": 0xC030,
                  "CHACHA20_POLY1305_SHA256": 0xCCA8},
}


def _suites() -> dict[int, CipherSuite]:
    table: dict[int, CipherSuite] = {}

    def add(sid: int, name: str, cipher: str, key_len: int, hash_name: str, mac: Optional[str] = None,
            tls13: bool = False) -> None:
        table[sid] = CipherSuite(sid, name, cipher, key_len, hash_name, mac, tls13)

    add(0x1301, "TLS_AES_128_GCM_SHA256", "AES-GCM", 16, "sha256", tls13=True)
    add(0x1302, "TLS_AES_256_GCM_SHA384", "AES-GCM", 32, "sha384", tls13=True)
    add(0x1303, "TLS_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", 32, "sha256", tls13=True)
    add(0x1304, "TLS_AES_128_CCM_SHA256", "AES-CCM", 16, "sha256", tls13=True)
    add(0x1305, "TLS_AES_128_CCM_8_SHA256", "AES-CCM-8", 16, "sha256", tls13=True)
    for kx, ids in _TLS12_IDS.items():
        for bulk, sid in ids.items():
            cipher, key_len, prf_hash, mac = _TLS12_BULK[bulk]
            add(sid, f"TLS_{kx}_WITH_{bulk}", cipher, key_len, prf_hash, mac)
    return table


SUITES: dict[int, CipherSuite] = _suites()

# Suites that can be named but not decrypted (shown like Wireshark does).
_OTHER_NAMES = {
    0x0000: "TLS_NULL_WITH_NULL_NULL", 0x0004: "TLS_RSA_WITH_RC4_128_MD5", 0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", 0x5600: "TLS_FALLBACK_SCSV",
}


def suite_name(suite_id: int) -> str:
    """The IANA name of a cipher suite, as Wireshark shows it."""
    if suite_id in SUITES:
        return SUITES[suite_id].name
    if suite_id in _OTHER_NAMES:
        return _OTHER_NAMES[suite_id]
    if suite_id & 0x0F0F == 0x0A0A and suite_id >> 8 == suite_id & 0xFF:
        return "Reserved (GREASE)"
    return f"Unknown (0x{suite_id:04x})"


class Opened(NamedTuple):
    """A record that authenticated: its real content type (TLS 1.3 inner type) and plaintext."""

    content_type: int
    data: bytes


class RecordDecrypter(Protocol):
    def open(self, content_type: int, version: int, fragment: bytes, seq: int) -> Optional[Opened]: ...


def _aead(suite: CipherSuite, key: bytes) -> Union[AESGCM, AESCCM, ChaCha20Poly1305]:
    if suite.cipher == "AES-GCM":
        return AESGCM(key)
    if suite.cipher == "CHACHA20-POLY1305":
        return ChaCha20Poly1305(key)
    return AESCCM(key, tag_length=suite.tag_len)


def _xor_seq(iv: int, seq: int) -> bytes:
    return (iv ^ seq).to_bytes(12, "big")


def _tls12_aad(seq: int, content_type: int, version: int, length: int) -> bytes:
    return seq.to_bytes(8, "big") + _record_header(content_type, version, length)


class Tls13Decrypter:
    """TLS 1.3 record protection (RFC 8446 5.2-5.3): nonce = iv XOR seq, AAD = the record header."""

    __slots__ = ("_aead", "_iv", "_tag")

    def __init__(self, suite: CipherSuite, key: bytes, iv: bytes):
        self._aead = _aead(suite, key)
        self._iv = int.from_bytes(iv, "big")
        self._tag = suite.tag_len

    def open(self, content_type: int, version: int, fragment: bytes, seq: int) -> Optional[Opened]:
        n = len(fragment)
        if n <= self._tag:
            return None
        header = _record_header(content_type, version, n)
        try:
            inner = self._aead.decrypt(_xor_seq(self._iv, seq), fragment, header)
        except (InvalidTag, ValueError, OverflowError):
            return None
        end = len(inner)
        if end and inner[-1] == 0:  # strip the zero padding (rare, so the common case copies nothing more)
            inner = inner.rstrip(b"\0")
            end = len(inner)
        if not end:
            return None  # no content type: the peer's record is invalid (RFC 8446 5.4)
        return Opened(inner[-1], inner[:-1])


class Tls12AeadDecrypter:
    """TLS 1.2 AEAD records: GCM/CCM with an 8-byte explicit nonce (RFC 5288, 6655), ChaCha20-Poly1305 with
    iv XOR seq (RFC 7905); AAD = seq + type + version + plaintext length (RFC 5246 6.2.3.3)."""

    __slots__ = ("_aead", "_iv", "_tag", "_explicit")

    def __init__(self, suite: CipherSuite, key: bytes, iv: bytes):
        self._aead = _aead(suite, key)
        self._explicit = suite.cipher != "CHACHA20-POLY1305"
        self._iv = iv if self._explicit else int.from_bytes(iv, "big")
        self._tag = suite.tag_len

    def open(self, content_type: int, version: int, fragment: bytes, seq: int) -> Optional[Opened]:
        if self._explicit:
            if len(fragment) < EXPLICIT_NONCE + self._tag:
                return None
            nonce = self._iv + fragment[:EXPLICIT_NONCE]
            body = memoryview(fragment)[EXPLICIT_NONCE:]
        else:
            if len(fragment) < self._tag:
                return None
            nonce = _xor_seq(self._iv, seq)
            body = fragment
        aad = _tls12_aad(seq, content_type, version, len(body) - self._tag)
        try:
            return Opened(content_type, self._aead.decrypt(nonce, body, aad))
        except (InvalidTag, ValueError, OverflowError):
            return None


class Tls12CbcDecrypter:
    """TLS 1.2 CBC records with an explicit IV: MAC-then-encrypt (RFC 5246 6.2.3.2) or encrypt-then-MAC
    (RFC 7366).  The MAC and the padding are both checked."""

    __slots__ = ("_algo", "_mac_key", "_mac", "_mac_len", "_etm")

    def __init__(self, suite: CipherSuite, key: bytes, mac_key: bytes, encrypt_then_mac: bool):
        self._algo = algorithms.AES(key)
        self._mac_key = mac_key
        self._mac = suite.mac
        self._mac_len = suite.mac_len
        self._etm = encrypt_then_mac

    def _mac_ok(self, seq: int, content_type: int, version: int, data: bytes, mac: bytes) -> bool:
        expected = hmac.digest(self._mac_key, _tls12_aad(seq, content_type, version, len(data)) + data, self._mac)
        return hmac.compare_digest(expected, mac)

    def _decrypt(self, ciphertext: bytes) -> Optional[bytes]:
        """CBC-decrypt IV + blocks and strip valid padding; None if the length or padding is wrong."""
        if len(ciphertext) < 2 * BLOCK or len(ciphertext) % BLOCK:
            return None
        dec = Cipher(self._algo, modes.CBC(ciphertext[:BLOCK])).decryptor()
        plain = dec.update(ciphertext[BLOCK:]) + dec.finalize()
        pad = plain[-1]
        if pad + 1 > len(plain) or plain[-pad - 1:] != bytes((pad,)) * (pad + 1):
            return None
        return plain[:-pad - 1]

    def open(self, content_type: int, version: int, fragment: bytes, seq: int) -> Optional[Opened]:
        m = self._mac_len
        if self._etm:
            if len(fragment) < m:
                return None
            ciphertext, mac = fragment[:-m], fragment[-m:]
            if not self._mac_ok(seq, content_type, version, ciphertext, mac):
                return None
            plain = self._decrypt(ciphertext)
            return None if plain is None else Opened(content_type, plain)
        content = self._decrypt(fragment)
        if content is None or len(content) < m:
            return None
        data, mac = content[:-m], content[-m:]
        if not self._mac_ok(seq, content_type, version, data, mac):
            return None
        return Opened(content_type, data)
