"""Test helper: real TLS conversations between two OpenSSL peers (Python's ``ssl`` over memory BIOs), with the
client's key log written by OpenSSL itself (``SSLContext.keylog_filename``).  No sockets, no capture: the bytes
each side writes are the flights, in the order they would be on the wire."""
from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass, field
from typing import Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REQUEST = b"GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\n\r\n"
RESPONSE = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"


def write_certificate(folder) -> tuple[str, str]:
    """A self-signed P-256 certificate for example.test; returns (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("example.test")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@dataclass
class Exchange:
    flights: list = field(default_factory=list)  # (from_client, bytes)
    session: Optional[ssl.SSLSession] = None
    cipher: str = ""
    version: str = ""
    reused: bool = False
    client_data: bytes = b""
    server_data: bytes = b""


def _pump(src: ssl.MemoryBIO, dst: ssl.MemoryBIO, from_client: bool, flights: list) -> bool:
    data = src.read()
    if data:
        flights.append((from_client, data))
        dst.write(data)
    return bool(data)


def _step(obj, action) -> None:
    try:
        action(obj)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        pass


def converse(client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, session: Optional[ssl.SSLSession] = None,
             alpn_reply_size: int = 70000) -> Exchange:
    """Handshake, one request and a large reply, then close_notify from both sides."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="example.test", session=session)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    ex = Exchange()
    for _ in range(20):
        _step(client, lambda o: o.do_handshake())
        moved = _pump(c_out, s_in, True, ex.flights)
        _step(server, lambda o: o.do_handshake())
        moved |= _pump(s_out, c_in, False, ex.flights)
        if not moved and client.version() and server.version():
            break
    reply = RESPONSE + bytes(range(256)) * (alpn_reply_size // 256)
    client.write(REQUEST)
    _pump(c_out, s_in, True, ex.flights)
    got = b""
    while len(got) < len(REQUEST):
        got += server.read(65536)
    server.write(reply)
    _pump(s_out, c_in, False, ex.flights)
    received = b""
    while len(received) < len(reply):
        received += client.read(65536)
    assert got == REQUEST and received == reply
    _step(client, lambda o: o.unwrap())
    _pump(c_out, s_in, True, ex.flights)
    _step(server, lambda o: o.unwrap())  # a clean shutdown keeps the session resumable
    _pump(s_out, c_in, False, ex.flights)
    ex.session, ex.cipher, ex.version, ex.reused = client.session, client.cipher()[0], client.version(), \
        client.session_reused
    ex.client_data, ex.server_data = REQUEST, reply
    return ex


OP_NO_ENCRYPT_THEN_MAC = 1 << 19  # OpenSSL's SSL_OP_NO_ENCRYPT_THEN_MAC (Python has no name for it)


def contexts(cert: str, key: str, keylog: str, version: ssl.TLSVersion, ciphers: Optional[str] = None,
             tickets: bool = True) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Client and server contexts; *ciphers* may end in ``+no_etm`` (CBC with MAC-then-encrypt)."""
    no_etm = bool(ciphers) and ciphers.endswith("+no_etm")
    if no_etm:
        ciphers = ciphers[:-len("+no_etm")]
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.keylog_filename = keylog
    for ctx in (server, client):
        ctx.minimum_version = ctx.maximum_version = version
        if ciphers:
            ctx.set_ciphers(ciphers)
        if not tickets:
            ctx.options |= ssl.OP_NO_TICKET
        if no_etm:
            ctx.options |= OP_NO_ENCRYPT_THEN_MAC
        ctx.set_alpn_protocols(["http/1.1"])
    return client, server
