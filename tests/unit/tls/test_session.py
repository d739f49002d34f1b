"""TlsConnection on scripted conversations: every suite, TLS 1.2 and 1.3, fed whole, byte by byte and in random
splits; resumption, HelloRetryRequest, KeyUpdate, alerts, damaged records, missing keys."""
import os
import pathlib

import pytest

from tests.support import splits
from wsdissect.events import Finding
from wsdissect.findings import KINDS
from wsdissect.tls import KeyLog, Plaintext, SessionCache, TlsConnection, TlsRecord
from wsdissect.tls.ciphers import SUITES
from wsdissect.flow import Conn

from . import builder as b

CONN = Conn(3, "10.0.0.1", 50000, "10.0.0.2", 443)


class Run:
    """Feed a conversation and sort what comes out."""

    def __init__(self, conv, keylog_text=None, sessions=None, chunker=None):
        keys = KeyLog()
        keys.add_text(conv.keylog if keylog_text is None else keylog_text)
        self.tls = TlsConnection(keys, CONN, sessions)
        self.out = []
        for frame, (from_client, data) in enumerate(conv.flights, 1):
            for piece in (chunker(data, frame) if chunker else [data]):
                self.out += self.tls.feed(from_client, piece, frame, frame / 10)
        self.out += self.tls.end()

    def data(self, from_client):
        return b"".join(o.data for o in self.out if isinstance(o, Plaintext) and o.from_client == from_client)

    @property
    def codes(self):
        return [o.code for o in self.out if isinstance(o, Finding)]

    @property
    def records(self):
        return [o for o in self.out if isinstance(o, TlsRecord)]


def chunkers():
    yield "whole", None
    yield "bytewise", lambda data, frame: [data[i:i + 1] for i in range(len(data))]
    yield "split", lambda data, frame: splits(data, frame)


TLS13_SUITES = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305]
TLS12_CASES = [(s, False) for s in (0xC02F, 0xC030, 0xCCA8, 0xC0AC, 0xC0AE, 0x009C, 0xC013, 0xC027, 0xC028)] + \
    [(s, True) for s in (0xC013, 0xC027, 0xC028, 0x0035)]


@pytest.mark.parametrize("suite", TLS13_SUITES)
def test_tls13_round_trip_every_suite(suite):
    conv = b.tls13_conversation(suite)
    run = Run(conv)
    assert run.data(True) == conv.client_data and run.data(False) == conv.server_data
    assert run.codes == []
    info = run.tls.info
    assert (info.version, info.cipher_suite, info.sni, info.alpn) == ("TLSv1.3", SUITES[suite].name,
                                                                       "example.test", "http/1.1")
    assert info.decrypted and not info.resumed and info.records_not_decrypted == 0


@pytest.mark.parametrize("name,chunker", list(chunkers()))
def test_tls13_any_chunking_gives_the_same_result(name, chunker):
    conv = b.tls13_conversation(0x1302)
    run = Run(conv, chunker=chunker)
    assert run.data(True) == conv.client_data and run.data(False) == conv.server_data
    assert run.codes == []


@pytest.mark.parametrize("suite,etm", TLS12_CASES)
def test_tls12_round_trip_every_suite(suite, etm):
    conv = b.tls12_conversation(suite, etm=etm)
    run = Run(conv)
    assert run.data(True) == conv.client_data and run.data(False) == conv.server_data
    assert run.codes == []
    assert run.tls.info.version == "TLSv1.2" and run.tls.info.cipher_suite == SUITES[suite].name


@pytest.mark.parametrize("name,chunker", list(chunkers()))
def test_tls12_cbc_any_chunking(name, chunker):
    conv = b.tls12_conversation(0xC028, etm=True)
    run = Run(conv, chunker=chunker)
    assert run.data(True) == conv.client_data and run.data(False) == conv.server_data


def test_records_name_the_frame_of_their_last_byte_and_describe_themselves():
    conv = b.tls13_conversation()
    run = Run(conv, chunker=lambda data, frame: [data])
    first = run.records[0]
    assert first.from_client and first.frame == first.first_frame == 1 and first.describe() == "Client Hello"
    server = [r for r in run.records if not r.from_client]
    assert server[0].describe() == "Server Hello" and server[1].describe() == "Change Cipher Spec"
    assert server[2].decrypted and server[2].inner_type == 22 and server[2].describe() == \
        "Encrypted Extensions, Certificate, Certificate Verify"
    assert server[-1].describe() == "Alert (Level: Warning, Description: Close Notify)"
    # a record split over two frames belongs to the second one
    split = Run(conv, chunker=lambda data, frame: [data[:3], data[3:]])
    assert split.records[0].frame == 1 and split.records[0].first_frame == 1


def test_record_spanning_feeds_is_attributed_to_the_last_frame():
    conv = b.tls13_conversation()
    keys = KeyLog()
    keys.add_text(conv.keylog)
    tls = TlsConnection(keys)
    hello = conv.flights[0][1]
    assert tls.feed(True, hello[:10], 7, 0.0) == []
    out = tls.feed(True, hello[10:], 8, 0.1)
    assert [(o.first_frame, o.frame) for o in out] == [(7, 8)]


def test_plaintext_frames_are_the_frames_of_their_records():
    conv = b.tls13_conversation()
    run = Run(conv)
    plain = [o for o in run.out if isinstance(o, Plaintext) and o.from_client]
    frames = [i for i, (fc, _d) in enumerate(conv.flights, 1) if fc]
    assert {p.frame for p in plain} <= set(frames) and plain[0].data.startswith(b"GET ")


def test_damaged_record_is_a_finding_at_its_frame_and_gives_no_plaintext():
    conv = b.tls13_conversation()
    # damage the client's first application record (flight 6)
    index = next(i for i, (fc, d) in enumerate(conv.flights) if fc and d.startswith(b"\x17") and i > 3)
    data = bytearray(conv.flights[index][1])
    data[20] ^= 0x40
    conv.flights[index] = (True, bytes(data))
    run = Run(conv)
    failures = [o for o in run.out if isinstance(o, Finding) and o.code == "tls.decrypt_failed"]
    assert len(failures) == 1 and failures[0].frame == index + 1 and failures[0].conn == CONN
    assert failures[0].direction == "client_to_server"
    assert not run.data(True).startswith(b"GET ")  # the damaged record's content is not shown
    assert run.data(False) == conv.server_data  # the other direction is unaffected


def test_wrong_keys_fail_and_stop_after_too_many_failures():
    conv = b.tls12_conversation(0xC02F)
    wrong = f"CLIENT_RANDOM {conv.client_random.hex()} {os.urandom(48).hex()}\n"
    run = Run(conv, keylog_text=wrong)
    assert run.data(True) == b"" and run.data(False) == b""
    assert "tls.decrypt_failed" in run.codes and "tls.no_keys" not in run.codes


def test_no_keys_tls13_reports_the_connection_once():
    conv = b.tls13_conversation()
    run = Run(conv, keylog_text="")
    assert run.codes == ["tls.no_keys"]
    finding = next(o for o in run.out if isinstance(o, Finding))
    assert "10.0.0.1:50000 -> 10.0.0.2:443" in finding.message and "example.test" in finding.message
    assert run.data(True) == b"" and run.data(False) == b""
    info = run.tls.info
    assert info.version == "TLSv1.3" and info.sni == "example.test" and not info.decrypted
    assert info.records_not_decrypted > 5
    assert all(not r.decrypted for r in run.records)


def test_no_keys_tls12():
    conv = b.tls12_conversation(0xC030, alpn="http/1.1")
    run = Run(conv, keylog_text="")
    assert run.codes == ["tls.no_keys"] and run.tls.info.alpn == "http/1.1"
    assert any(r.describe() == "Encrypted Handshake Message" for r in run.records)


def test_partial_keys_tls13_handshake_only():
    conv = b.tls13_conversation()
    partial = "".join(line + "\n" for line in conv.keylog.splitlines() if "HANDSHAKE" in line)
    run = Run(conv, keylog_text=partial)
    assert run.data(True) == b"" and run.data(False) == b""
    assert run.tls.info.alpn == "http/1.1"  # the handshake was decrypted
    assert run.codes.count("tls.no_keys") == 1


def test_tls12_alpn_h2_is_reported():
    conv = b.tls12_conversation(0xC02F, alpn="h2")
    run = Run(conv)
    assert "tls.alpn_h2" in run.codes and run.tls.info.alpn == "h2"


def test_tls13_alpn_h2_from_encrypted_extensions():
    conv = b.tls13_conversation(alpn="h2")
    run = Run(conv)
    assert run.codes == ["tls.alpn_h2"] and run.tls.info.alpn == "h2"


def test_fatal_alert_is_a_finding():
    conv = b.tls13_conversation()
    conv.flights[-1] = (False, b.record(b.ALERT, b"\x02\x28"))  # a cleartext fatal alert
    run = Run(conv)
    alerts = [o for o in run.out if isinstance(o, Finding) and o.code == "tls.alert"]
    assert len(alerts) == 1 and "Handshake Failure" in alerts[0].message


@pytest.mark.parametrize("first_args,second_args", [
    ({"session_id": b"S" * 32}, {"resume_id": b"S" * 32}),
    ({"ticket_out": b"T" * 100}, {"ticket_in": b"T" * 100}),
], ids=["session_id", "ticket"])
def test_tls12_resumption_uses_the_master_secret_of_an_earlier_connection(first_args, second_args):
    sessions = SessionCache()
    master = os.urandom(48)
    first = b.tls12_conversation(0xC030, master=master, **first_args)
    assert Run(first, sessions=sessions).data(True) == first.client_data
    second = b.tls12_conversation(0xC030, master=master, **second_args)
    run = Run(second, keylog_text="", sessions=sessions)  # the second client random is not logged
    assert run.data(True) == second.client_data and run.data(False) == second.server_data
    assert run.tls.info.resumed and run.codes == []
    assert master.hex()[:16] not in repr(sessions)


def test_tls12_resumption_without_the_earlier_connection_is_not_decrypted():
    second = b.tls12_conversation(0xC030, resume_id=b"S" * 32)
    run = Run(second, keylog_text="", sessions=SessionCache())
    assert run.codes == ["tls.no_keys"] and run.tls.info.resumed and run.data(True) == b""


def test_tls12_resumed_with_own_client_random_logged():
    second = b.tls12_conversation(0xC02F, resume_id=b"R" * 32)
    run = Run(second)
    assert run.data(True) == second.client_data and run.tls.info.resumed


def test_hello_retry_request_then_real_server_hello():
    conv = b.tls13_conversation()
    hrr = b.record(b.HANDSHAKE, b.server_hello(os.urandom(32), 0x1301, hrr=True)) + b.record(b.CCS, b"\x01")
    again = b.record(b.HANDSHAKE, b.client_hello(conv.client_random), 0x0303)
    conv.flights[1:1] = [(False, hrr), (True, b.record(b.CCS, b"\x01") + again)]
    run = Run(conv)
    assert run.data(True) == conv.client_data and run.data(False) == conv.server_data
    assert run.tls.info.retry_request and run.codes == []


def test_early_data_without_its_secret_is_skipped_and_reported():
    conv, _sealer = b.early_data_conversation(b"early bytes", log_early_secret=False)
    sh = b.record(b.HANDSHAKE, b.server_hello(os.urandom(32), 0x1301, psk=True)) + b.record(b.CCS, b"\x01")
    conv.flights[1] = (False, sh)
    run = Run(conv)
    assert run.codes == ["tls.early_data"]
    assert run.data(True) == conv.client_data and run.tls.info.resumed and run.tls.info.early_data


def test_early_data_with_its_secret_then_end_of_early_data():
    conv, sealer = b.early_data_conversation(b"0-RTT!")
    conv.flights[1] = (False, b.record(b.HANDSHAKE, b.server_hello(os.urandom(32), 0x1301, psk=True)))
    # the client's EndOfEarlyData goes under the early key, before its handshake-key Finished
    index = next(i for i, (fc, d) in enumerate(conv.flights) if fc and i > 1)
    conv.flights[index] = (True, sealer.seal(b.HANDSHAKE, b.handshake(5, b"")) + conv.flights[index][1])
    run = Run(conv)
    assert run.codes == [] and run.data(True) == b"0-RTT!" + conv.client_data


def test_gap_resynchronises_and_finds_the_sequence_number():
    conv = b.tls13_conversation()
    keys = KeyLog()
    keys.add_text(conv.keylog)
    tls = TlsConnection(keys)
    out = []
    big = [i for i, (fc, d) in enumerate(conv.flights) if not fc and len(d) > 16000]
    lost = big[0]  # the first full-size server record: 100 bytes arrive, the rest is lost
    for frame, (from_client, data) in enumerate(conv.flights, 1):
        if frame - 1 == lost:
            out += tls.feed(False, data[:100], frame, 0.0)
            out += tls.gap(False, len(data) - 100, frame, 0.0)
        else:
            out += tls.feed(from_client, data, frame, 0.0)
    assert [o.code for o in out if isinstance(o, Finding)] == ["tls.gap"]
    server = b"".join(o.data for o in out if isinstance(o, Plaintext) and not o.from_client)
    assert len(big) >= 2 and server and len(server) < len(conv.server_data)
    assert conv.server_data.endswith(server[-1000:])  # the records after the gap decrypt


@pytest.mark.parametrize("suite,etm", [(0xC02F, False), (0xCCA8, False), (0xC027, True), (0xC027, False),
                                       (0xC0AE, False)])
def test_tls12_damaged_record_is_rejected(suite, etm):
    conv = b.tls12_conversation(suite, etm=etm)
    index = next(i for i, (fc, d) in enumerate(conv.flights) if fc and d.startswith(b"\x17"))
    data = bytearray(conv.flights[index][1])
    data[-3] ^= 0x01  # inside the tag, the MAC or the padding
    conv.flights[index] = (True, bytes(data))
    run = Run(conv)
    assert run.codes == ["tls.decrypt_failed"]
    assert not run.data(True).startswith(b"GET ") and run.data(False) == conv.server_data


def test_midstream_connection_without_handshake():
    conv = b.tls13_conversation()
    app = [(fc, d) for fc, d in conv.flights[5:]]
    conv.flights = app
    run = Run(conv)
    assert run.codes == ["tls.no_handshake"] and run.data(True) == b""


def test_garbage_stops_the_direction_with_a_finding():
    keys = KeyLog()
    tls = TlsConnection(keys)
    out = tls.feed(True, b"GET / HTTP/1.1\r\n\r\n", 1, 0.0)
    assert [o.code for o in out] == ["tls.malformed"]
    assert tls.feed(True, b"\x16\x03\x01\x00\x01\x01", 2, 0.0) == []


def test_truncated_record_at_the_end():
    keys = KeyLog()
    tls = TlsConnection(keys)
    assert tls.feed(True, b"\x16\x03\x01\x00\x50\x01", 1, 0.0) == []
    assert [o.code for o in tls.end()] == ["tls.truncated"]


def test_unsupported_cipher_suite_is_named():
    conv = b.tls12_conversation(0xC02F)
    hello = conv.flights[1][1]
    conv.flights[1] = (False, hello.replace(b"\xc0\x2f\x00", b"\x00\x0a\x00", 1))
    run = Run(conv)
    assert run.codes == ["tls.unsupported_cipher"] and run.tls.info.cipher_suite == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    assert run.data(True) == b""


def test_early_data_without_a_server_hello_is_reported_at_the_end():
    conv = b.tls13_conversation()
    hello = b.record(b.HANDSHAKE, b.client_hello(conv.client_random, early_data=True), 0x0301)
    early = b.Tls13Sealer(SUITES[0x1301], os.urandom(32)).seal(b.APP, b"early")
    conv.flights = [(True, hello + early + early)]
    run = Run(conv)
    assert run.codes == ["tls.no_handshake"] and run.tls.info.records_not_decrypted == 2
    assert [r.describe() for r in run.records] == ["Client Hello", "Application Data", "Application Data"]


def test_malformed_client_hello_is_a_finding_at_its_frame():
    tls = TlsConnection(KeyLog(), CONN)
    out = tls.feed(True, b.record(b.HANDSHAKE, b.handshake(1, b"\x03\x03" + bytes(10))), 4, 0.5)
    findings = [o for o in out if isinstance(o, Finding)]
    assert [(f.code, f.frame) for f in findings] == [("tls.handshake.malformed", 4)]
    assert "Client Hello" in findings[0].message and tls.info.sni is None


def test_oversized_handshake_message_is_reported_once():
    tls = TlsConnection(KeyLog())
    huge = b"\x0b" + (1 << 21).to_bytes(3, "big") + bytes(100)
    out = tls.feed(False, b.record(b.HANDSHAKE, huge) + b.record(b.HANDSHAKE, bytes(50)), 1, 0.0)
    assert [o.code for o in out if isinstance(o, Finding)] == ["tls.handshake.malformed"]


def test_tls10_is_recognised_but_not_decrypted():
    conv = b.tls12_conversation(0xC013)
    hello = bytearray(conv.flights[1][1])
    assert hello[9:11] == b"\x03\x03"
    hello[9:11] = b"\x03\x01"  # ServerHello.legacy_version: TLS 1.0
    conv.flights[1] = (False, bytes(hello))
    run = Run(conv)
    assert run.codes == ["tls.unsupported_version"] and run.tls.info.version == "TLSv1"
    finding = next(o for o in run.out if isinstance(o, Finding))
    assert run.data(True) == b"" and "TLSv1 is not decrypted" in finding.message


def test_every_tls_finding_code_is_asserted_by_a_test():
    """A registered tls.* code that no test expects would be a finding nobody has seen produced."""
    text = "".join(p.read_text() for p in pathlib.Path(__file__).parent.glob("test_*.py"))
    for code in (c for c in KINDS if c.startswith("tls.")):
        assert f'"{code}"' in text, code


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_secrets_logged_after_the_server_hello_are_still_used(version):
    """Live capture: a browser appends the secrets while the handshake is under way."""
    conv = b.tls13_conversation() if version == "1.3" else b.tls12_conversation(0xC02F)
    keys = KeyLog()
    tls = TlsConnection(keys, CONN)
    out = []
    for frame, (from_client, data) in enumerate(conv.flights, 1):
        if frame == 3:
            keys.add_text(conv.keylog)  # the lines arrive after the ServerHello was decoded
        out += tls.feed(from_client, data, frame, 0.0)
    plain = b"".join(o.data for o in out if isinstance(o, Plaintext) and o.from_client)
    assert plain == conv.client_data and not [o for o in out if isinstance(o, Finding) and o.code == "tls.no_keys"]


def test_early_data_refused_by_a_hello_retry_request_is_skipped():
    conv, _sealer = b.early_data_conversation(b"refused 0-RTT")
    hrr = b.record(b.HANDSHAKE, b.server_hello(os.urandom(32), 0x1301, hrr=True))
    again = b.record(b.HANDSHAKE, b.client_hello(conv.client_random), 0x0303)
    conv.flights[1:1] = [(False, hrr), (True, again)]
    run = Run(conv)
    assert run.codes == ["tls.early_data"] and run.data(True) == conv.client_data
    assert run.tls.info.retry_request and run.tls.info.early_data


def test_lost_server_hello_is_reported():
    conv = b.tls13_conversation()
    del conv.flights[1]  # the ServerHello flight is not in the capture
    run = Run(conv)
    findings = [o for o in run.out if isinstance(o, Finding)]
    assert [f.code for f in findings] == ["tls.no_handshake"] and "ServerHello" in findings[0].message
    assert run.data(True) == b"" and run.data(False) == b""
