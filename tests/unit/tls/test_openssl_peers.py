"""Real OpenSSL peers (Python's ``ssl`` over memory BIOs): the key log OpenSSL writes, growing as connections
are made, decrypts what they exchanged, for TLS 1.2 suites, TLS 1.3, and resumption."""
import ssl

import pytest

from wsdissect.events import Finding
from wsdissect.tls import KeyLog, Plaintext, SessionCache, TlsConnection

from .openssl_peers import contexts, converse, write_certificate

TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return write_certificate(tmp_path_factory.mktemp("cert"))


def decrypt(ex, keys, sessions=None):
    tls = TlsConnection(keys, sessions=sessions)
    out = []
    for frame, (from_client, data) in enumerate(ex.flights, 1):
        out += tls.feed(from_client, data, frame, float(frame))
    out += tls.end()
    up = b"".join(o.data for o in out if isinstance(o, Plaintext) and o.from_client)
    down = b"".join(o.data for o in out if isinstance(o, Plaintext) and not o.from_client)
    return tls, up, down, [o.code for o in out if isinstance(o, Finding)]


@pytest.mark.parametrize("ciphers", ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                     "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-SHA",
                                     "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES256-SHA384+no_etm",
                                     "ECDHE-ECDSA-AES128-CCM"])
def test_tls12_suites(cert, tmp_path, ciphers):
    keylog = str(tmp_path / "keys.log")
    client, server = contexts(*cert, keylog, TLS12, ciphers)
    try:
        ex = converse(client, server)
    except ssl.SSLError as e:  # a suite this OpenSSL build does not offer
        pytest.skip(f"OpenSSL refuses {ciphers}: {e}")
    keys = KeyLog()
    keys.add_file(keylog)
    tls, up, down, codes = decrypt(ex, keys)
    assert (up, down, codes) == (ex.client_data, ex.server_data, [])
    assert tls.info.version == "TLSv1.2" and tls.info.alpn == "http/1.1" and tls.info.sni == "example.test"
    if "-SHA" in ciphers and "GCM" not in ciphers and "CHACHA" not in ciphers:  # CBC: EtM unless turned off
        assert tls.hello.server.encrypt_then_mac == (not ciphers.endswith("+no_etm"))


def test_tls13_and_psk_resumption_with_a_growing_key_log(cert, tmp_path):
    keylog = tmp_path / "keys.log"
    keylog.write_text("")
    keys = KeyLog()
    keys.add_file(str(keylog))  # watched from before the first connection, like live capture
    client, server = contexts(*cert, str(keylog), TLS13)
    first = converse(client, server)
    assert keys.refresh() >= 4
    tls, up, down, codes = decrypt(first, keys)
    assert (up, down, codes) == (first.client_data, first.server_data, [])
    assert tls.info.version == "TLSv1.3" and tls.info.cipher_suite == first.cipher and not tls.info.resumed
    second = converse(client, server, session=first.session)
    assert second.reused
    tls, up, down, codes = decrypt(second, keys)  # not refreshed yet: its secrets are not known
    assert codes == ["tls.no_keys"] and up == b""
    assert keys.refresh() >= 4
    tls, up, down, codes = decrypt(second, keys)
    assert (up, down, codes) == (second.client_data, second.server_data, [])
    assert tls.info.resumed and tls.info.alpn == "http/1.1"


@pytest.mark.parametrize("tickets", [True, False], ids=["ticket", "session_id"])
def test_tls12_resumption(cert, tmp_path, tickets):
    keylog = str(tmp_path / "keys.log")
    client, server = contexts(*cert, keylog, TLS12, "ECDHE-ECDSA-AES128-GCM-SHA256", tickets=tickets)
    first = converse(client, server)
    second = converse(client, server, session=first.session)
    assert second.reused
    keys = KeyLog()
    keys.add_file(keylog)
    sessions = SessionCache()
    assert decrypt(first, keys, sessions)[3] == []
    tls, up, down, codes = decrypt(second, keys, sessions)
    assert (up, down, codes) == (second.client_data, second.server_data, []) and tls.info.resumed
    # without its own key log line, the master secret of the first connection decrypts the second
    only_first = KeyLog()
    lines = [line for line in open(keylog).read().splitlines() if line.startswith("CLIENT_RANDOM")]
    assert len(lines) == 2
    only_first.add_text(lines[0] + "\n")
    sessions = SessionCache()
    decrypt(first, only_first, sessions)
    tls, up, down, codes = decrypt(second, only_first, sessions)
    assert (up, down, codes) == (second.client_data, second.server_data, [])
