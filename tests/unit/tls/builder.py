"""Test helper: TLS messages and protected records built from scratch (the sending side the engine lacks), with
``cryptography`` doing the encryption, so the engine can be checked on conversations of every suite."""
from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from wsdissect.tls import keylog as labels
from wsdissect.tls.ciphers import SUITES, CipherSuite
from wsdissect.tls.handshake import HRR_RANDOM
from wsdissect.tls.keys import next_traffic_secret, tls12_key_block, tls13_traffic_keys

CCS, ALERT, HANDSHAKE, APP = 20, 21, 22, 23


def u(n: int, size: int) -> bytes:
    return n.to_bytes(size, "big")


def vec(data: bytes, size: int) -> bytes:
    return u(len(data), size) + data


def ext(kind: int, data: bytes) -> bytes:
    return u(kind, 2) + vec(data, 2)


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + vec(body, 3)


def record(ctype: int, payload: bytes, version: int = 0x0303) -> bytes:
    return bytes([ctype]) + u(version, 2) + vec(payload, 2)


def alpn_ext(names) -> bytes:
    return ext(16, vec(b"".join(vec(n.encode(), 1) for n in names), 2))


def client_hello(random: bytes, *, alpn=("http/1.1",), tls13=True, session_id: bytes = b"",
                 ticket: bytes | None = None, early_data=False, etm=False, suites=(0x1301, 0xC02F)) -> bytes:
    """A ClientHello for example.test; *early_data* offers a PSK and 0-RTT data."""
    exts = ext(0, vec(b"\x00" + vec(b"example.test", 2), 2))
    if alpn:
        exts += alpn_ext(alpn)
    exts += ext(23, b"")
    if etm:
        exts += ext(22, b"")
    if ticket is not None:
        exts += ext(35, ticket)
    if tls13:
        exts += ext(43, vec(b"\x03\x04\x03\x03", 1))
    if early_data:
        exts += ext(42, b"")
    if early_data:  # pre_shared_key comes last
        exts += ext(41, vec(vec(b"identity", 2) + u(0, 4), 2) + vec(vec(bytes(32), 1), 2))
    body = (b"\x03\x03" + random + vec(session_id, 1) + vec(b"".join(u(s, 2) for s in suites), 2) + b"\x01\x00"
            + vec(exts, 2))
    return handshake(1, body)


def server_hello(random: bytes, suite: int, *, tls13=True, session_id: bytes = b"", alpn: str | None = None,
                 psk=False, etm=False, hrr=False) -> bytes:
    exts = b""
    if tls13:
        exts += ext(43, b"\x03\x04")
        if psk:
            exts += ext(41, b"\x00\x00")
    else:
        exts += ext(23, b"")
        if etm:
            exts += ext(22, b"")
        if alpn:
            exts += alpn_ext([alpn])
    body = b"\x03\x03" + (HRR_RANDOM if hrr else random) + vec(session_id, 1) + u(suite, 2) + b"\x00" + vec(exts, 2)
    return handshake(2, body)


def encrypted_extensions(alpn: str | None = "http/1.1", early_data=False) -> bytes:
    exts = (alpn_ext([alpn]) if alpn else b"") + (ext(42, b"") if early_data else b"")
    return handshake(8, vec(exts, 2))


def finished(size: int = 32) -> bytes:
    return handshake(20, os.urandom(size))


class Tls13Sealer:
    """Protects TLS 1.3 records with one traffic secret (and its KeyUpdate successors)."""

    def __init__(self, suite: CipherSuite, secret: bytes):
        self.suite = suite
        self._use(secret)

    def _use(self, secret: bytes) -> None:
        self.secret = secret
        key, iv = tls13_traffic_keys(secret, self.suite.hash, self.suite.key_len)
        self.aead = _aead(self.suite, key)
        self.iv = int.from_bytes(iv, "big")
        self.seq = 0

    def seal(self, inner_type: int, data: bytes, pad: int = 0) -> bytes:
        inner = data + bytes([inner_type]) + bytes(pad)
        length = len(inner) + self.suite.tag_len
        header = b"\x17\x03\x03" + u(length, 2)
        nonce = u(self.iv ^ self.seq, 12)
        self.seq += 1
        return header + self.aead.encrypt(nonce, inner, header)

    def key_update(self) -> None:
        self._use(next_traffic_secret(self.secret, self.suite.hash))


class Tls12Sealer:
    """Protects TLS 1.2 records (AEAD or CBC with MAC-then-encrypt / encrypt-then-MAC)."""

    def __init__(self, suite: CipherSuite, key: bytes, iv: bytes, mac_key: bytes, etm: bool):
        self.suite, self.key, self.iv, self.mac_key, self.etm = suite, key, iv, mac_key, etm
        self.aead = _aead(suite, key) if suite.aead else None
        self.seq = 0

    def _mac(self, ctype: int, data: bytes) -> bytes:
        return hmac.digest(self.mac_key, u(self.seq, 8) + bytes([ctype]) + b"\x03\x03" + u(len(data), 2) + data,
                           self.suite.mac)

    def seal(self, ctype: int, data: bytes) -> bytes:
        if self.aead is not None:
            aad = u(self.seq, 8) + bytes([ctype]) + b"\x03\x03" + u(len(data), 2)
            if self.suite.cipher == "CHACHA20-POLY1305":
                body = self.aead.encrypt(u(int.from_bytes(self.iv, "big") ^ self.seq, 12), data, aad)
            else:
                explicit = os.urandom(8)
                body = explicit + self.aead.encrypt(self.iv + explicit, data, aad)
        else:
            iv = os.urandom(16)
            plain = data if self.etm else data + self._mac(ctype, data)
            pad = 15 - len(plain) % 16
            enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
            body = iv + enc.update(plain + bytes([pad]) * (pad + 1)) + enc.finalize()
            if self.etm:
                body += self._mac(ctype, body)
        self.seq += 1
        return record(ctype, body)


def _aead(suite: CipherSuite, key: bytes):
    if suite.cipher == "AES-GCM":
        return AESGCM(key)
    if suite.cipher == "CHACHA20-POLY1305":
        return ChaCha20Poly1305(key)
    return AESCCM(key, tag_length=suite.tag_len)


@dataclass
class Conversation:
    """A scripted connection: ``flights`` in wire order as (from_client, bytes); the key log lines that
    decrypt it; the application bytes each side sent."""

    flights: list = field(default_factory=list)
    keylog: str = ""
    client_data: bytes = b""
    server_data: bytes = b""
    client_random: bytes = b""

    def send(self, from_client: bool, data: bytes) -> None:
        self.flights.append((from_client, data))


def tls13_conversation(suite_id: int = 0x1301, *, alpn: str = "http/1.1", key_update=True,
                       messages=(b"GET / HTTP/1.1\r\n\r\n", b"more client data"),
                       replies=(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", b"x" * 40000)) -> Conversation:
    suite = SUITES[suite_id]
    size = 48 if suite.hash == "sha384" else 32
    secrets = {name: os.urandom(size) for name in (labels.CLIENT_HANDSHAKE, labels.SERVER_HANDSHAKE,
                                                    labels.CLIENT_TRAFFIC_0, labels.SERVER_TRAFFIC_0)}
    conv = Conversation(client_random=os.urandom(32))
    conv.keylog = "".join(f"{k} {conv.client_random.hex()} {v.hex()}\n" for k, v in secrets.items())
    conv.send(True, record(HANDSHAKE, client_hello(conv.client_random, alpn=(alpn, "http/1.1")), 0x0301))
    conv.send(False, record(HANDSHAKE, server_hello(os.urandom(32), suite_id)) + record(CCS, b"\x01"))
    s_hs = Tls13Sealer(suite, secrets[labels.SERVER_HANDSHAKE])
    flight = encrypted_extensions(alpn) + handshake(11, os.urandom(900)) + handshake(15, os.urandom(80))
    conv.send(False, s_hs.seal(HANDSHAKE, flight) + s_hs.seal(HANDSHAKE, finished(size), pad=7))
    c_hs = Tls13Sealer(suite, secrets[labels.CLIENT_HANDSHAKE])
    conv.send(True, record(CCS, b"\x01") + c_hs.seal(HANDSHAKE, finished(size)))
    c_ap = Tls13Sealer(suite, secrets[labels.CLIENT_TRAFFIC_0])
    s_ap = Tls13Sealer(suite, secrets[labels.SERVER_TRAFFIC_0])
    conv.send(False, s_ap.seal(HANDSHAKE, handshake(4, os.urandom(60))))
    conv.send(True, c_ap.seal(APP, messages[0]))
    conv.client_data += messages[0]
    for i in range(0, len(replies[0] + replies[1]), 16384):
        chunk = (replies[0] + replies[1])[i:i + 16384]
        conv.send(False, s_ap.seal(APP, chunk))
        conv.server_data += chunk
    if key_update:
        conv.send(True, c_ap.seal(HANDSHAKE, handshake(24, b"\x00")))
        c_ap.key_update()
    for msg in messages[1:]:
        conv.send(True, c_ap.seal(APP, msg))
        conv.client_data += msg
    conv.send(False, s_ap.seal(ALERT, b"\x01\x00"))
    return conv


def tls12_conversation(suite_id: int = 0xC02F, *, etm=False, alpn: str | None = None,
                       session_id: bytes = b"", resume_id: bytes = b"", ticket_in: bytes | None = None,
                       ticket_out: bytes | None = None, master: bytes | None = None) -> Conversation:
    """A TLS 1.2 connection; with *resume_id* or *ticket_in* an abbreviated (resumed) handshake."""
    suite = SUITES[suite_id]
    master = master or os.urandom(48)
    conv = Conversation(client_random=os.urandom(32))
    server_random = os.urandom(32)
    conv.keylog = f"CLIENT_RANDOM {conv.client_random.hex()} {master.hex()}\n"
    resumed = bool(resume_id) or ticket_in is not None
    conv.send(True, record(HANDSHAKE, client_hello(conv.client_random, tls13=False, session_id=resume_id,
                                                   ticket=ticket_in, etm=etm, suites=(suite_id,)), 0x0301))
    hello = server_hello(server_random, suite_id, tls13=False, session_id=resume_id or session_id, alpn=alpn,
                         etm=etm)
    kb = tls12_key_block(master, conv.client_random, server_random, suite.hash, suite.mac_len, suite.key_len,
                         suite.fixed_iv_len)
    etm = etm and not suite.aead
    client = Tls12Sealer(suite, kb.client_key, kb.client_iv, kb.client_mac, etm)
    server = Tls12Sealer(suite, kb.server_key, kb.server_iv, kb.server_mac, etm)
    ticket = handshake(4, u(7200, 4) + vec(ticket_out, 2)) if ticket_out is not None else b""
    if resumed:
        conv.send(False, record(HANDSHAKE, hello + ticket) + record(CCS, b"\x01") + server.seal(HANDSHAKE,
                                                                                               finished(12)))
        conv.send(True, record(CCS, b"\x01") + client.seal(HANDSHAKE, finished(12)))
    else:
        conv.send(False, record(HANDSHAKE, hello + handshake(11, os.urandom(700)) + handshake(12, os.urandom(100))
                                + handshake(14, b"")))
        conv.send(True, record(HANDSHAKE, handshake(16, os.urandom(33))) + record(CCS, b"\x01")
                  + client.seal(HANDSHAKE, finished(12)))
        conv.send(False, record(HANDSHAKE, ticket) * bool(ticket) + record(CCS, b"\x01")
                  + server.seal(HANDSHAKE, finished(12)))
    request = b"GET /chat HTTP/1.1\r\nHost: example.test\r\n\r\n"
    reply = b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + os.urandom(20000)
    conv.send(True, client.seal(APP, request))
    conv.send(False, server.seal(APP, reply[:16384]) + server.seal(APP, reply[16384:]))
    conv.send(True, client.seal(APP, b"") + client.seal(APP, b"\x88\x80\x00\x00\x00\x00"))
    conv.send(True, client.seal(ALERT, b"\x01\x00"))
    conv.client_data = request + b"\x88\x80\x00\x00\x00\x00"
    conv.server_data = reply
    return conv


def early_data_conversation(payload: bytes, log_early_secret: bool = True) -> tuple[Conversation, Tls13Sealer]:
    """A TLS 1.3 conversation whose client sends *payload* as 0-RTT data right after its ClientHello; returns it
    with the early-key sealer (for more early records)."""
    conv = tls13_conversation(key_update=False)
    early_secret = os.urandom(32)
    if log_early_secret:
        conv.keylog += f"CLIENT_EARLY_TRAFFIC_SECRET {conv.client_random.hex()} {early_secret.hex()}\n"
    sealer = Tls13Sealer(SUITES[0x1301], early_secret)
    hello = record(HANDSHAKE, client_hello(conv.client_random, early_data=True), 0x0301)
    conv.flights[0] = (True, hello + sealer.seal(APP, payload))
    return conv, sealer
