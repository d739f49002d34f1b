"""TLS 1.3 (TLS_AES_128_GCM_SHA256) for the benchmark generator: a minimal handshake (ClientHello, ServerHello,
ChangeCipherSpec, encrypted EncryptedExtensions and Finished) and application data records, encrypted with
``cryptography``'s AES-GCM under random traffic secrets that are written to an NSS key log.  Independent of
wsdissect (the HKDF-Expand-Label key schedule of RFC 8446 7.1/7.3 is done here), so a benchmark also checks that
wsdissect's decryption agrees with another implementation."""
from __future__ import annotations

import random
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

SUITE = 0x1301  # TLS_AES_128_GCM_SHA256
MAX_PLAINTEXT = 1 << 14
HANDSHAKE, APPLICATION_DATA, CHANGE_CIPHER_SPEC = 22, 23, 20


def _expand_label(secret: bytes, label: str, length: int) -> bytes:
    full = b"tls13 " + label.encode()
    info = struct.pack("!H", length) + bytes((len(full),)) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def _record(ctype: int, body: bytes) -> bytes:
    return struct.pack("!BHH", ctype, 0x0303, len(body)) + body


def _handshake(kind: int, body: bytes) -> bytes:
    return bytes((kind,)) + len(body).to_bytes(3, "big") + body


class Sealer:
    """One direction's record protection under one traffic secret."""

    __slots__ = ("aead", "iv", "seq")

    def __init__(self, secret: bytes):
        self.aead = AESGCM(_expand_label(secret, "key", 16))
        self.iv = int.from_bytes(_expand_label(secret, "iv", 12), "big")
        self.seq = 0

    def seal(self, inner_type: int, data: bytes) -> bytes:
        out = []
        for off in range(0, max(len(data), 1), MAX_PLAINTEXT):
            chunk = data[off:off + MAX_PLAINTEXT] + bytes((inner_type,))
            header = struct.pack("!BHH", APPLICATION_DATA, 0x0303, len(chunk) + 16)
            nonce = (self.iv ^ self.seq).to_bytes(12, "big")
            self.seq += 1
            out.append(header + self.aead.encrypt(nonce, chunk, header))
        return b"".join(out)


class Tls13Session:
    """The TLS side of one generated connection: handshake flights, then ``seal(from_client, data)``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.client_random = rng.randbytes(32)
        self.secrets = {label: rng.randbytes(32) for label in (
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0")}
        self.client = Sealer(self.secrets["CLIENT_TRAFFIC_SECRET_0"])
        self.server = Sealer(self.secrets["SERVER_TRAFFIC_SECRET_0"])

    def keylog_lines(self) -> str:
        cr = self.client_random.hex()
        return "".join(f"{label} {cr} {secret.hex()}\n" for label, secret in self.secrets.items())

    def flights(self) -> tuple[bytes, bytes, bytes]:
        """(ClientHello, the server's flight, the client's Finished flight) as they go on the wire."""
        session_id = self.rng.randbytes(32)
        supported = struct.pack("!HHBH", 43, 3, 2, 0x0304)
        hello = (struct.pack("!H", 0x0303) + self.client_random + bytes((32,)) + session_id
                 + struct.pack("!HH", 2, SUITE) + b"\x01\x00" + struct.pack("!H", len(supported)) + supported)
        ch = _record(HANDSHAKE, _handshake(1, hello))
        chosen = struct.pack("!HHH", 43, 2, 0x0304)
        sh_body = (struct.pack("!H", 0x0303) + self.rng.randbytes(32) + bytes((32,)) + session_id
                   + struct.pack("!H", SUITE) + b"\x00" + struct.pack("!H", len(chosen)) + chosen)
        server_hs = Sealer(self.secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
        server = (_record(HANDSHAKE, _handshake(2, sh_body)) + _record(CHANGE_CIPHER_SPEC, b"\x01")
                  + server_hs.seal(HANDSHAKE, _handshake(8, b"\x00\x00") + _handshake(20, self.rng.randbytes(32))))
        client_hs = Sealer(self.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
        client = _record(CHANGE_CIPHER_SPEC, b"\x01") + client_hs.seal(HANDSHAKE, _handshake(20, self.rng.randbytes(32)))
        return ch, server, client

    def seal(self, from_client: bool, data: bytes) -> bytes:
        return (self.client if from_client else self.server).seal(APPLICATION_DATA, data)
