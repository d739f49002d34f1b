"""The JSONL writer with the C run encoder (``encode_messages``) writes byte-identical output to the pure writer."""
from __future__ import annotations

import contextlib
import io
import random

import pytest

import wsdissect.export.records as records
from tests.support.dual_path import (CONNS, DIRECTIONS, handpicked_messages, message, needs_c, plain_conversation,
                                     pure_python, run_events, write_records)
from wsdissect.events import CaptureEnd, CaptureStart, ConnectionEnd, Finding, Message
from wsdissect.export.writer import BATCH, RecordWriter
from wsdissect.findings import KINDS, Severity
from wsdissect.flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT
from wsdissect.options import Options
from wsdissect.speedups import speedups as C


# -- (c) the writer ------------------------------------------------------------------------------------------------
def finding(conn, code="ws.message.utf8", sev=None, frame=5, ts=1700000000.5, direction=CLIENT_TO_SERVER):
    return Finding(frame, ts, code, KINDS[code].severity if sev is None else sev, "a \"finding\" é\x01", conn,
                   direction)


def realistic_events() -> list:
    """The events of a real (synthetic) conversation: HTTP heads, Upgrade, messages, findings, ConnectionEnd."""
    return run_events(plain_conversation(n=12), Options(), pure=False)


def writer_event_lists() -> dict:
    conv = realistic_events()
    ends = [e for e in conv if e.__class__ is ConnectionEnd]
    assert ends
    c0, c1 = CONNS[0], CONNS[1]
    mixed = []
    for i, m in enumerate(handpicked_messages()):
        mixed.append(m)
        if i % 3 == 0:
            mixed.append(finding(c0 if i & 1 else None, sev=Severity(1 + i % 4)))
        if i % 7 == 0:
            mixed.append(ends[0])
        if i % 11 == 0:
            mixed += [CaptureStart("x", 1.0), CaptureEnd("x", 3, False)]
    big_text = "é\"\\\x01" * 300_000
    big = [message(c1, SERVER_TO_CLIENT, 2, random.Random(2).randbytes(1_200_000)),  # > the writer's buffer
           finding(c1), ends[0],
           message(c0, CLIENT_TO_SERVER, 1, big_text.encode(), text=big_text),
           message(c0, CLIENT_TO_SERVER, 1, b"small", text="small")]
    # many medium records: the buffer fills at every possible place
    medium = []
    rnd = random.Random(3)
    for i in range(300):
        n = rnd.randint(0, 20000)
        medium.append(message(CONNS[i % 3], DIRECTIONS[i & 1], 1 + i % 2, rnd.randbytes(n),
                              t0=1700000000 + i * 0.001, t1=1700000000 + i * 0.001))
        if i % 13 == 0:
            medium.append(finding(CONNS[i % 3], frame=i))
        if i % 29 == 0:
            medium.append(ends[0])
    return {"conversation": conv, "mixed": mixed, "big": big + mixed[:20] + big, "medium": medium}


@pytest.fixture(scope="module")
def event_lists():
    if C is None:
        pytest.skip("no C module")
    return writer_event_lists()


@needs_c
@pytest.mark.parametrize("case", ["conversation", "mixed", "big", "medium"])
@pytest.mark.parametrize("fmt,flush_each,min_severity", [
    ("jsonl", False, Severity.NOTE), ("jsonl", False, Severity.CHAT), ("jsonl", False, 99),
    ("jsonl", True, Severity.NOTE), ("json", False, Severity.NOTE)])
def test_writer_output_identical(event_lists, case, fmt, flush_each, min_severity):
    if flush_each and case in ("big", "medium"):
        pytest.skip("flush_each does not use the C run encoder; covered by the smaller lists")
    evs = event_lists[case]
    c_out, c_writes = write_records(evs, pure=False, fmt=fmt, flush_each=flush_each, min_severity=min_severity)
    py_out, py_writes = write_records(evs, pure=True, fmt=fmt, flush_each=flush_each, min_severity=min_severity)
    assert len(c_out) == len(py_out) and c_out == py_out, \
        f"outputs differ from byte {next(i for i, (a, b) in enumerate(zip(c_out + b'$', py_out + b'#')) if a != b)}"
    if fmt == "jsonl":  # whole records per write, both ways
        assert all(w.endswith(b"\n") for w in c_writes if w)
        assert all(w.endswith(b"\n") for w in py_writes if w)
        lines = c_out.splitlines()
        assert len(lines) == sum(1 for e in evs if e.__class__ is Message) + sum(
            1 for e in evs if e.__class__ is Finding and e.severity >= min_severity) + sum(
            1 for e in evs if e.__class__ is ConnectionEnd and records.is_exported_connection(e))
    if case == "big":
        with contextlib.closing(RecordWriter(io.BytesIO())) as w:
            assert max(len(line) for line in c_out.split(b"\n")) > len(w.buf) > BATCH


@needs_c
def test_writer_uses_the_c_run_encoder():
    """The C writer path is the one compared: RecordWriter binds encode_messages for JSONL."""
    with contextlib.closing(RecordWriter(io.BytesIO(), "jsonl")) as w:
        assert w._encode_run is C.encode_messages
    with pure_python(), contextlib.closing(RecordWriter(io.BytesIO(), "jsonl")) as w:
        assert w._encode_run is None
