"""The project's own sample captures (real peers on loopback, see sample_pcaps/README.md) against their truth.

For every ``sample_pcaps/NAME.pcap`` with a ``NAME.truth.jsonl`` beside it, the pipeline runs in-process and the
exported records (``message_record``, the export contract) must show, per (client, server, direction):
- the complete text/binary messages equal to the truth exactly, in order, and no incomplete data message;
- every truth ping/pong/close (extra automatic control frames are allowed);
- no expert finding of severity warning or error, since these are clean captures of well-behaved peers.
Regenerate the captures with ``python tools/make_sample_pcaps.py`` (root, tcpdump); these tests only read them.
wss:// captures (a ``NAME.keys.log`` beside them) need TLS decryption: ``test_new_samples.py`` checks them, with the
same ``check_*`` functions, through ``wsdissect export --tls-keylog``.
"""
from __future__ import annotations

import base64
import json
import pathlib
from collections import Counter

import pytest

from wsdissect.events import Finding, Message
from wsdissect.export.records import message_record
from wsdissect.findings import Severity
from wsdissect.pipeline import Options, dissect_files

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "sample_pcaps"
CAPTURES = sorted(p for p in SAMPLES.glob("*.pcap")
                  if p.with_suffix(".truth.jsonl").exists() and not p.with_suffix(".keys.log").exists())
# The captures tools/make_sample_pcaps.py makes; they are committed, so their absence is a failure, not a skip.
EXPECTED = {"asr_28002", "websockets_deflate", "aiohttp_mixed", "wsproto_fragments"}
DATA = ("text", "binary")
CONTROL = ("ping", "pong", "close")


def load_truth(pcap: pathlib.Path) -> list[dict]:
    with open(pcap.with_suffix(".truth.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def key(rec: dict) -> tuple:
    return rec["client"], rec["server"], rec["direction"]


def control_key(rec: dict) -> tuple:
    payload = base64.b64decode(rec["payload_b64"])
    if rec["opcode"] == "close":
        return "close", rec["close_code"], rec["close_reason"] or "", payload
    return rec["opcode"], payload


_cache: dict[pathlib.Path, tuple[list[dict], list[Finding]]] = {}


def export(pcap: pathlib.Path) -> tuple[list[dict], list[Finding]]:
    """Message records and findings of one capture (computed once per session)."""
    if pcap not in _cache:
        records, findings = [], []
        for ev in dissect_files([str(pcap)], Options()):
            if isinstance(ev, Message):
                records.append(message_record(ev))
            elif isinstance(ev, Finding):
                findings.append(ev)
        _cache[pcap] = records, findings
    return _cache[pcap]


def test_expected_captures_present():
    assert EXPECTED <= {p.stem for p in CAPTURES}, f"missing from {SAMPLES}: {EXPECTED - {p.stem for p in CAPTURES}}"


def check_data_messages(name: str, truth: list[dict], records: list[dict]) -> None:
    """The complete text/binary messages of the exported *records* equal the truth's, in order, per (client,
    server, direction), and none is incomplete."""
    want: dict[tuple, list] = {}
    got: dict[tuple, list] = {}
    for r in truth:
        if r["opcode"] in DATA:
            want.setdefault(key(r), []).append((r["opcode"], base64.b64decode(r["payload_b64"])))
    incomplete = [(r["direction"], r["opcode"], r["first_frame"], r.get("note")) for r in records
                  if r["opcode"] in DATA and r["complete"] is not True]
    assert incomplete == [], f"{name}: incomplete data messages"
    for r in records:
        if r["opcode"] in DATA:
            got.setdefault(key(r), []).append((r["opcode"], base64.b64decode(r["payload_b64"])))
    assert sorted(got) == sorted(want), f"{name}: (client, server, direction) groups differ"
    for k, expected in want.items():
        actual = got[k]
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert a == e, (f"{name} {k} message {i}: exported {a[0]} {a[1][:60]!r}... "
                            f"!= truth {e[0]} {e[1][:60]!r}...")
        assert len(actual) == len(expected), f"{name} {k}: {len(actual)} messages exported, {len(expected)} in truth"


def check_control_frames(name: str, truth: list[dict], records: list[dict]) -> None:
    """Every truth ping/pong/close is among the complete exported control messages (extra ones are allowed)."""
    pool = Counter((key(r), control_key(r)) for r in records if r["opcode"] in CONTROL and r["complete"] is True)
    missing = []
    for r in truth:
        if r["opcode"] in CONTROL:
            k = (key(r), control_key(r))
            if pool[k] > 0:
                pool[k] -= 1
            else:
                missing.append(k)
    assert missing == [], f"{name}: truth control frames not exported"


@pytest.mark.parametrize("pcap", CAPTURES, ids=[p.stem for p in CAPTURES])
def test_data_messages_equal_truth(pcap):
    check_data_messages(pcap.name, load_truth(pcap), export(pcap)[0])


@pytest.mark.parametrize("pcap", CAPTURES, ids=[p.stem for p in CAPTURES])
def test_truth_control_frames_exported(pcap):
    check_control_frames(pcap.name, load_truth(pcap), export(pcap)[0])


@pytest.mark.parametrize("pcap", CAPTURES, ids=[p.stem for p in CAPTURES])
def test_no_warning_or_error_findings(pcap):
    _, findings = export(pcap)
    bad = [(f.frame, Severity(f.severity).label, f.code, f.message) for f in findings if f.severity >= Severity.WARNING]
    assert bad == [], f"{pcap.name}: findings on a capture of well-behaved peers"
