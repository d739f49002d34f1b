"""Property tests: whatever the bytes, the engine never raises, and whatever is damaged, it never shows
plaintext the peers did not send."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsdissect.events import Finding
from wsdissect.tls import KeyLog, Plaintext, TlsConnection, TlsRecord

from . import builder as b

CONVERSATIONS = [b.tls13_conversation(0x1302), b.tls12_conversation(0xC028, etm=False),
                 b.tls12_conversation(0xC027, etm=True), b.tls12_conversation(0xCCA8)]


def feed_all(conv, flights, splits_at=()):
    keys = KeyLog()
    keys.add_text(conv.keylog)
    tls = TlsConnection(keys)
    out = []
    for frame, (from_client, data) in enumerate(flights, 1):
        cut = splits_at[frame % len(splits_at)] % (len(data) + 1) if splits_at else len(data)
        out += tls.feed(from_client, data[:cut], frame, 0.0)
        out += tls.feed(from_client, data[cut:], frame, 0.0)
    out += tls.end()
    assert all(isinstance(o, (TlsRecord, Plaintext, Finding)) for o in out)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(CONVERSATIONS))), st.integers(0, 10**9), st.integers(1, 255),
       st.lists(st.integers(0, 10**6), min_size=1, max_size=4))
def test_a_damaged_byte_never_gives_wrong_plaintext(which, where, flip, cuts):
    conv = CONVERSATIONS[which]
    flights = list(conv.flights)
    index = where % len(flights)
    data = bytearray(flights[index][1])
    data[(where // len(flights)) % len(data)] ^= flip
    flights[index] = (flights[index][0], bytes(data))
    out = feed_all(conv, flights, cuts)
    for side, sent in ((True, conv.client_data), (False, conv.server_data)):
        got = b"".join(o.data for o in out if isinstance(o, Plaintext) and o.from_client == side)
        pieces = [o.data for o in out if isinstance(o, Plaintext) and o.from_client == side]
        assert all(p in sent for p in pieces) and len(got) <= len(sent)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=12))
def test_arbitrary_bytes_never_raise(chunks):
    tls = TlsConnection(KeyLog())
    for frame, (from_client, data) in enumerate(chunks, 1):
        tls.feed(from_client, data, frame, 0.0)
        if frame % 5 == 0:
            tls.gap(not from_client, 17, frame, 0.0)
    tls.end()
    assert tls.info.records_decrypted == 0


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=400), st.sampled_from([1, 2, 4, 8, 11, 20, 24]))
def test_handshake_messages_of_any_content_never_raise(body, msg_type):
    hello = b.record(b.HANDSHAKE, b.handshake(msg_type, body))
    tls = TlsConnection(KeyLog())
    tls.feed(True, hello, 1, 0.0)
    tls.feed(False, hello, 2, 0.0)
    tls.feed(False, b.record(b.APP, body), 3, 0.0)
    tls.end()
    _ = tls.info


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=6))
def test_any_two_way_split_of_every_flight_gives_the_same_plaintext(cuts):
    conv = CONVERSATIONS[0]
    out = feed_all(conv, conv.flights, cuts)
    got = b"".join(o.data for o in out if isinstance(o, Plaintext) and not o.from_client)
    assert got == conv.server_data and not [o for o in out if isinstance(o, Finding)]
