"""TLS 1.3 key schedule and record protection against the published traces of RFC 8448, and the TLS 1.2 PRF
against the IETF TLS working group's test vector."""
import hashlib

from wsdissect.tls import keylog as labels
from wsdissect.tls.ciphers import SUITES, Tls13Decrypter
from wsdissect.tls.keys import derive_secret, hkdf_expand_label, hkdf_extract, next_traffic_secret, prf, \
    tls13_traffic_keys
from wsdissect.tls.session import TlsConnection


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace("\n", " "))


AES128 = SUITES[0x1301]
EMPTY_HASH = hashlib.sha256(b"").digest()

# RFC 8448 3 (Simple 1-RTT Handshake)
ECDHE_SHARED = h("8b d4 05 4f b5 5b 9d 63 fd fb ac f9 f0 4b 9f 0d 35 e6 d6 3f 53 75 63 ef d4 62 72 90 0f 89 49 2d")
EARLY_SECRET = h("33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f 26 60 e1 b2 2e 10 f1 70 f9 2a")
HANDSHAKE_SECRET = h("1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f "
                     "be ac")
HELLO_HASH = h("86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8")
C_HS_TRAFFIC = h("b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21")
S_HS_TRAFFIC = h("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38")
C_AP_TRAFFIC = h("9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5")
CLIENT_APP_RECORD = h("""17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc
ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21
69 49 15 e4""")

# RFC 8448 4 (Resumed 0-RTT Handshake)
RESUMPTION_PSK = h("4e cd 0e b6 ec 3b 4d 87 f5 d6 02 8f 92 2c a4 c5 85 1a 27 7f d4 13 11 c9 e6 2d 2c 94 92 e1 c4 f3")
EARLY_SECRET_0RTT = h("9b 21 88 e9 b2 fc 6d 64 d7 1d c3 29 90 0e 20 bb 41 91 50 00 f6 78 aa 83 9c bb 79 7c b7 d8 "
                      "33 2c")
C_E_TRAFFIC = h("3f bb e6 a6 0d eb 66 c3 0a 32 79 5a ba 0e ff 7e aa 10 10 55 86 e7 be 5c 09 67 8d 63 b6 ca ab 62")
EARLY_RECORD = h("17 03 03 00 17 ab 1d f4 20 e7 5c 45 7a 7c c5 d2 84 4f 76 d5 ae e4 b4 ed bf 04 9b e0")
CLIENT_HELLO_0RTT = h("""16 03 01 02 00 01 00 01 fc 03 03 1b c3 ce b6 bb e3 9c ff 93 83 55 b5 a5 0a db 6d b2 1b
7a 6a f6 49 d7 b4 bc 41 9d 78 76 48 7d 95 00 00 06 13 01 13 03 13 02 01 00 01 cd 00 00 00 0b 00 09 00 00 06 73 65
72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 33 00 26 00
24 00 1d 00 20 e4 ff b6 8a c0 5f 8d 96 c9 9d a2 66 98 34 6c 6b e1 64 82 ba dd da fe 05 1a 66 b4 f1 8d 66 8f 0b 00
2a 00 00 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01 02 01
04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01 00 15 00 57 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 29 00 dd 00 b8 00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9 00 00 00 00 26 2a 64 94 dc 48 6d 2c 8a
34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9 36 7c 09 a2 be 78 5a bc 55 cd 22 60 97 a3 a9 82 11 72 83 f8 2a 03 a1
43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27 db 27 9c ce 14 50 77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25 a6 a4
da fc d0 fc 67 d2 ae a7 05 29 51 3e 3d a2 67 7f a5 90 6c 5b 3f 7d 8f 92 f2 28 bd a4 0d da 72 14 70 f9 fb f2 97 b5
ae a6 17 64 6f ac 5c 03 27 2e 97 07 27 c6 21 a7 91 41 ef 5f 7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a e4 d3
57 fa d6 aa cb 00 21 20 3a dd 4f b2 d8 fd f8 22 a0 ca 3c f7 67 8e f5 e8 8d ae 99 01 41 c5 92 4d 57 bb 6f a3 1b 9e
5f 9d""")


def test_handshake_secrets_from_the_ecdhe_secret():
    early = hkdf_extract(b"", bytes(32), "sha256")
    assert early == EARLY_SECRET
    derived = derive_secret(early, b"derived", EMPTY_HASH, "sha256")
    handshake = hkdf_extract(derived, ECDHE_SHARED, "sha256")
    assert handshake == HANDSHAKE_SECRET
    assert derive_secret(handshake, b"c hs traffic", HELLO_HASH, "sha256") == C_HS_TRAFFIC
    assert derive_secret(handshake, b"s hs traffic", HELLO_HASH, "sha256") == S_HS_TRAFFIC


def test_traffic_keys_and_ivs():
    assert tls13_traffic_keys(S_HS_TRAFFIC, "sha256", 16) == (h("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"),
                                                             h("5d 31 3e b2 67 12 76 ee 13 00 0b 30"))
    assert tls13_traffic_keys(C_HS_TRAFFIC, "sha256", 16).iv == h("5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f")
    assert tls13_traffic_keys(C_AP_TRAFFIC, "sha256", 16) == (h("17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51"),
                                                             h("5b 78 92 3d ee 08 57 90 33 e5 23 d9"))
    assert tls13_traffic_keys(C_E_TRAFFIC, "sha256", 16) == (h("92 02 05 a5 b7 bf 21 15 e6 fc 5c 29 42 83 4f 54"),
                                                            h("6d 47 5f 09 93 c8 e5 64 61 0d b2 b9"))


def test_hkdf_expand_label_info_layout():
    # the "key" info of RFC 8448 is 00 10 09 "tls13 key" 00: the label carries the "tls13 " prefix
    assert hkdf_expand_label(S_HS_TRAFFIC, b"key", b"", 16, "sha256") == \
        h("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")


def test_resumption_early_secret():
    assert hkdf_extract(b"", RESUMPTION_PSK, "sha256") == EARLY_SECRET_0RTT


def test_client_application_record_decrypts():
    key, iv = tls13_traffic_keys(C_AP_TRAFFIC, "sha256", 16)
    opened = Tls13Decrypter(AES128, key, iv).open(0x17, 0x0303, CLIENT_APP_RECORD[5:], 0)
    assert opened is not None and opened.content_type == 0x17 and opened.data == bytes(range(50))


def test_client_application_record_fails_with_the_wrong_sequence_number_or_a_flipped_bit():
    key, iv = tls13_traffic_keys(C_AP_TRAFFIC, "sha256", 16)
    dec = Tls13Decrypter(AES128, key, iv)
    assert dec.open(0x17, 0x0303, CLIENT_APP_RECORD[5:], 1) is None
    damaged = bytearray(CLIENT_APP_RECORD[5:])
    damaged[10] ^= 1
    assert dec.open(0x17, 0x0303, bytes(damaged), 0) is None
    assert dec.open(0x17, 0x0302, CLIENT_APP_RECORD[5:], 0) is None  # the header is authenticated too


def test_early_data_record_decrypts():
    key, iv = tls13_traffic_keys(C_E_TRAFFIC, "sha256", 16)
    opened = Tls13Decrypter(AES128, key, iv).open(0x17, 0x0303, EARLY_RECORD[5:], 0)
    assert opened == (0x17, b"ABCDEF")


class _Secrets:
    def __init__(self, table):
        self.table = table

    def lookup(self, label, client_random):
        return self.table.get((label, client_random))


def _server_hello_psk() -> bytes:
    """A ServerHello accepting the PSK with TLS_AES_128_GCM_SHA256 (its other fields do not matter here)."""
    exts = (b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x29\x00\x02\x00\x00"
            + b"\x00\x33\x00\x24\x00\x1d\x00\x20" + bytes(32))
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x13\x01" + b"\x00" + len(exts).to_bytes(2, "big") + exts
    msg = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + len(msg).to_bytes(2, "big") + msg


def test_0rtt_session_decrypts_early_data_sent_before_the_server_hello():
    client_random = CLIENT_HELLO_0RTT[11:43]
    tls = TlsConnection(_Secrets({(labels.CLIENT_EARLY, client_random): C_E_TRAFFIC}))
    out = tls.feed(True, CLIENT_HELLO_0RTT, 1, 1.0)
    out += tls.feed(True, EARLY_RECORD, 2, 1.1)
    assert not [o for o in out if type(o).__name__ == "Plaintext"]  # held until the ServerHello
    out += tls.feed(False, _server_hello_psk(), 3, 1.2)
    plain = [o for o in out if type(o).__name__ == "Plaintext"]
    assert [(p.data, p.frame, p.from_client) for p in plain] == [(b"ABCDEF", 2, True)]
    info = tls.info
    assert info.sni == "server" and info.early_data and info.resumed and info.version == "TLSv1.3"
    assert info.cipher_suite == "TLS_AES_128_GCM_SHA256"
    assert "tls.no_keys" in [o.code for o in out if type(o).__name__ == "Finding"]  # handshake secrets absent


def test_next_generation_secret_is_hkdf_expand_label_traffic_upd():
    nxt = next_traffic_secret(C_AP_TRAFFIC, "sha256")
    assert nxt == hkdf_expand_label(C_AP_TRAFFIC, b"traffic upd", b"", 32, "sha256") and nxt != C_AP_TRAFFIC


def test_tls12_prf_sha256_vector():
    out = prf(h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"), b"test label",
              h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"), 100, "sha256")
    assert out == h("""e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e
    db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab 4f bc 91
    66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01 87 34 7b 66""")
