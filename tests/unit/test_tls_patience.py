"""Live wss://: a connection whose secrets reach the key log only after its first protected records were seen
is decrypted from its start once they do (PatientTls), and is reported once when they never come."""
from __future__ import annotations

import pathlib

from wsdissect.capture.files import CaptureFile
from wsdissect.events import Finding, Message
from wsdissect.options import Options, load_tls_keys
from wsdissect.run import Driver

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "sample_pcaps"


def _live(keylog: pathlib.Path, append_after: int | None) -> list:
    """Feed wss_tls13.pcap record by record like live capture; the key lines are written after frame
    *append_after* (never when None)."""
    options = Options(tls_keys=load_tls_keys([str(keylog)], refresh_interval=0.0).keylog)
    events: list = []
    feed = Driver(options).live(events.extend)
    with CaptureFile(str(SAMPLES / "wss_tls13.pcap")) as cf:
        for rec in cf:
            feed.packet(rec)
            if rec[0] == append_after:
                keylog.write_text((SAMPLES / "wss_tls13.keys.log").read_text())
    feed.end()
    return events


def _offline() -> list:
    options = Options(tls_keys=load_tls_keys([str(SAMPLES / "wss_tls13.keys.log")]).keylog)
    return list(Driver(options).events([str(SAMPLES / "wss_tls13.pcap")]))


def _messages(events: list) -> list:
    return [(m.direction, m.opcode, m.payload, m.first_frame) for m in events if m.__class__ is Message]


def test_secrets_written_late_still_decrypt_everything(tmp_path):
    keylog = tmp_path / "keys.log"
    keylog.write_text("")
    for late in (6, 8, 12):  # after the server's flight, after the client's Finished, after the 101
        keylog.write_text("")
        events = _live(keylog, late)
        assert _messages(events) == _messages(_offline()), late
        assert not [e for e in events if e.__class__ is Finding and e.code.startswith("tls.")]


def test_secrets_that_never_come_are_reported_once(tmp_path):
    keylog = tmp_path / "keys.log"
    keylog.write_text("")
    events = _live(keylog, None)
    assert not _messages(events)
    assert [e.code for e in events if e.__class__ is Finding and e.code.startswith("tls.")] == ["tls.no_keys"]
