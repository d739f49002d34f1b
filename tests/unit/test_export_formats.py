"""Every export format carries the same messages as JSONL, on every sample capture and every shared-corpus case.

Parquet is read back with pyarrow and DuckDB, CSV with pandas, HAR is checked against the HAR 1.2 structure and
Chrome's WebSocket extension; the Python API (path, file object, bytes) gives the JSONL records.
"""
from __future__ import annotations

import base64
import datetime
import io
import json
import os
import pathlib
import stat

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

import wsdissect
from wsdissect.cli import main
from wsdissect.export.formats import FORMATS

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "sample_pcaps").glob("*.pcap"))
_CORPORA = [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]  # main tree, worktrees
CORPUS = next((c for c in _CORPORA if c.is_dir()), None)


def _corpus_cases() -> list:
    if CORPUS is None:
        return []
    cases = []
    for case in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        capture = next(iter(sorted(case.glob("capture.pcap*"))), None)
        meta = json.loads((case / "meta.json").read_text())
        if capture is not None and "tls_keylog" not in meta:
            cases.append(pytest.param(capture, tuple(meta.get("export_args", [])), id=case.name))
    return cases


CAPTURES = [pytest.param(p, (), id=p.name) for p in SAMPLES] + _corpus_cases()


def export(*args: str) -> int:
    res = CliRunner().invoke(main, ["export", *args], catch_exceptions=False)
    return res.exit_code


def jsonl_records(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _key(rec: dict) -> tuple:
    """What must be the same in every format: where, which way, what, and whether it is whole."""
    return (rec["stream"], rec["direction"], rec["opcode"], rec["payload_b64"], rec["complete"], rec["first_frame"],
            rec["last_frame"], rec["first_time_ns"], rec["last_time_ns"])


@pytest.mark.parametrize("capture,args", CAPTURES)
def test_every_format_carries_the_jsonl_messages(tmp_path, capture, args):
    jl = tmp_path / "o.jsonl"
    assert export(str(capture), "-o", str(jl), *args) in (0, 3)
    records = jsonl_records(jl)
    messages = [r for r in records if r["type"] == "message"]
    expected = [_key(r) for r in messages]

    assert export(str(capture), "-T", "csv", "-o", str(tmp_path / "o.csv"), *args) in (0, 3)
    df = pd.read_csv(tmp_path / "o.csv", keep_default_na=False, dtype={"payload_b64": str, "text": str})
    assert [(r.stream, r.direction, r.opcode, r.payload_b64, r.complete, r.first_frame, r.last_frame,
             r.first_time_ns, r.last_time_ns) for r in df.itertuples()] == expected
    assert list(df["text"]) == [m.get("text", "") for m in messages]

    assert export(str(capture), "-T", "parquet", "-o", str(tmp_path / "pq"), *args) in (0, 3)
    table = pq.read_table(tmp_path / "pq" / "messages.parquet")
    rows = table.to_pylist()
    got = [(r["stream"], r["direction"], r["opcode"], base64.b64encode(r["payload"]).decode(), r["complete"],
            r["first_frame"], r["last_frame"], _ns(r["first_time"]), _ns(r["last_time"])) for r in rows]
    assert got == expected
    assert {r["file"] for r in rows} <= {str(capture)}
    conns = pq.read_table(tmp_path / "pq" / "connections.parquet").to_pylist()
    assert [c["stream"] for c in conns] == [r["stream"] for r in records if r["type"] == "connection"]
    assert duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'pq' / 'messages.parquet'}'").fetchall()[0][0] == len(rows)

    assert export(str(capture), "-T", "har", "-o", str(tmp_path / "o.har"), *args) in (0, 3)
    har = json.loads((tmp_path / "o.har").read_text(encoding="utf-8"))
    check_har(har)
    by_stream = {e["_wsdissect"]["stream"]: e["_webSocketMessages"] for e in har["log"]["entries"]}
    for stream in {m["stream"] for m in messages}:
        mine = [m for m in messages if m["stream"] == stream]
        assert [_har_item(m) for m in mine] == [(i["type"], i["opcode"], i["data"]) for i in by_stream[stream]]

    with wsdissect.open(capture, **_api_options(args)) as cap:
        assert [m.to_dict() for m in cap.messages()] == messages


def _ns(ts: datetime.datetime) -> int:
    """pyarrow gives datetimes to the microsecond; the export's times are exact microseconds."""
    return int(ts.timestamp()) * 10**9 + ts.microsecond * 1000


def _har_item(m: dict) -> tuple:
    op = {"text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}.get(m["opcode"], int(m["opcode"][-3:], 16)
                                                                         if "0x" in m["opcode"] else 0)
    if op == 1:
        data = m["text"] if "text" in m else base64.b64decode(m["payload_b64"]).decode("utf-8", "replace")
    else:
        data = m["payload_b64"]
    return ("send" if m["direction"] == "client_to_server" else "receive", op, data)


def _api_options(args: tuple) -> dict:
    opts: dict = {}
    for flag, value in zip(args[::2], args[1::2]):
        opts.setdefault(flag.lstrip("-").replace("-", "_"), []).append(value)
    return opts


# -- HAR 1.2 structure (http://www.softwareishard.com/blog/har-12-spec/) and Chrome's WebSocket extension ----------
def check_har(har: dict) -> None:
    log = har["log"]
    assert log["version"] == "1.2"
    assert isinstance(log["creator"]["name"], str) and isinstance(log["creator"]["version"], str)
    assert isinstance(log["entries"], list)
    for e in log["entries"]:
        datetime.datetime.fromisoformat(e["startedDateTime"].replace("Z", "+00:00"))
        assert e["startedDateTime"].endswith("Z")
        req, resp, t = e["request"], e["response"], e["timings"]
        for name, kind in (("method", str), ("url", str), ("httpVersion", str), ("cookies", list),
                           ("headers", list), ("queryString", list), ("headersSize", int), ("bodySize", int)):
            assert isinstance(req[name], kind), name
        assert req["url"].startswith(("ws://", "wss://"))
        for name, kind in (("status", int), ("statusText", str), ("httpVersion", str), ("cookies", list),
                           ("headers", list), ("redirectURL", str), ("headersSize", int), ("bodySize", int)):
            assert isinstance(resp[name], kind), name
        assert isinstance(resp["content"]["size"], int) and isinstance(resp["content"]["mimeType"], str)
        for h in req["headers"] + resp["headers"] + req["queryString"]:
            assert set(h) == {"name", "value"} and all(isinstance(v, str) for v in h.values())
        assert isinstance(e["cache"], dict)
        for name in ("send", "wait", "receive"):
            assert isinstance(t[name], (int, float)) and t[name] >= 0
        assert e["time"] == pytest.approx(sum(v for v in t.values() if v != -1))
        assert e["_resourceType"] == "websocket"
        for m in e["_webSocketMessages"]:
            assert m["type"] in ("send", "receive") and isinstance(m["time"], float)
            assert isinstance(m["opcode"], int) and isinstance(m["data"], str)
            if m["opcode"] != 1:
                base64.b64decode(m["data"], validate=True)


# -- outputs ----------------------------------------------------------------------------------------------------
def test_formats_registry_matches_the_cli():
    assert set(FORMATS) == {"jsonl", "json", "csv", "parquet", "har"}
    param = next(p for p in main.commands["export"].params if p.name == "fmt")
    assert list(param.type.choices) == list(FORMATS)


def test_several_inputs_name_their_file_and_parquet_always_does(tmp_path):
    a, b = str(SAMPLES[0]), str(SAMPLES[1])
    assert export(a, b, "-o", str(tmp_path / "o.jsonl"), "--expert", "chat") == 0
    records = jsonl_records(tmp_path / "o.jsonl")
    assert {r["file"] for r in records} == {a, b}
    assert all(list(r)[:2] == ["type", "file"] for r in records)
    first_b = next(i for i, r in enumerate(records) if r["file"] == b)
    assert all(r["file"] == a for r in records[:first_b]) and records[first_b].get("stream", 0) == 0
    assert export(a, b, "-T", "csv", "-o", str(tmp_path / "o.csv")) == 0
    df = pd.read_csv(tmp_path / "o.csv")
    assert list(df["file"]) == [r["file"] for r in records if r["type"] == "message"]
    assert export(a, "-o", str(tmp_path / "one.jsonl")) == 0
    assert all("file" not in r for r in jsonl_records(tmp_path / "one.jsonl"))
    assert export(a, "-T", "parquet", "-o", str(tmp_path / "pq")) == 0
    for name in ("messages", "connections", "expert"):
        assert pq.read_schema(tmp_path / "pq" / f"{name}.parquet").names[0] == "file"


def test_parquet_types_and_duckdb_queries(tmp_path):
    assert export(*map(str, SAMPLES), "-T", "parquet", "-o", str(tmp_path)) == 0
    schema = pq.read_schema(tmp_path / "messages.parquet")
    assert schema.field("payload").type == pa.binary()
    assert schema.field("first_time").type == pa.timestamp("ns", tz="UTC")
    con = duckdb.connect()
    q = (f"SELECT c.request.uri, count(*) AS n FROM '{tmp_path}/messages.parquet' m JOIN "
         f"'{tmp_path}/connections.parquet' c USING (file, stream) GROUP BY ALL ORDER BY n DESC")
    rows = con.sql(q).fetchall()
    assert rows and sum(n for _, n in rows) == con.sql(f"SELECT count(*) FROM '{tmp_path}/messages.parquet'"
                                                        ).fetchall()[0][0]


def test_csv_quotes_hostile_text_rfc4180(tmp_path):
    """Commas, quotes, CR/LF and NUL in a text message survive a round trip through pandas."""
    from tests.support.builders import FastConversation, upgrade_request, upgrade_response, ws_frame
    from wsdissect.capture.pcapwriter import PcapWriter

    text = 'a,b "quoted"\r\nnext\x00line =cmd()'
    path = tmp_path / "t.pcap"
    with open(path, "wb") as f:
        conv = FastConversation(PcapWriter(f, 1), ("10.0.0.1", 40000), ("10.0.0.2", 80))
        conv.handshake()
        req = upgrade_request()
        conv.send(True, req)
        conv.send(False, upgrade_response(req))
        conv.send(True, ws_frame(1, text.encode(), mask=b"abcd"))
    assert export(str(path), "-T", "csv", "-o", str(tmp_path / "o.csv")) == 0
    df = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)
    assert list(df["text"]) == [text]
    assert base64.b64decode(df["payload_b64"][0]).decode() == text


def test_output_that_is_an_input_is_refused(tmp_path):
    capture = tmp_path / "c.pcap"
    capture.write_bytes(SAMPLES[0].read_bytes())
    (tmp_path / "hard.pcap").hardlink_to(capture)
    (tmp_path / "soft.pcap").symlink_to(capture)
    before = capture.read_bytes()
    for out in ("c.pcap", "hard.pcap", "soft.pcap", "./c.pcap"):
        res = CliRunner().invoke(main, ["export", str(capture), "-o", str(tmp_path / out)])
        assert res.exit_code == 2, out
        assert "is the input" in res.output and res.output.count("\n") == 1
    assert capture.read_bytes() == before


def test_failed_export_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    import wsdissect.export.csv_writer as csv_writer

    out = tmp_path / "o.csv"
    out.write_text("previous\n")

    def broken(batch, prefix=""):
        raise KeyboardInterrupt

    monkeypatch.setattr(csv_writer, "csv_block", broken)
    res = CliRunner().invoke(main, ["export", str(SAMPLES[0]), "-T", "csv", "-o", str(out)])
    assert res.exit_code == 130
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv"]  # the temporary file is gone too


def test_missing_extra_is_one_line_naming_the_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a))
    res = CliRunner().invoke(main, ["export", str(SAMPLES[0]), "-T", "parquet", "-o", str(tmp_path / "pq")])
    assert res.exit_code == 2
    assert "pip install 'wsdissect[data]'" in res.output and res.output.count("\n") == 1
    assert not (tmp_path / "pq").exists()


def test_parquet_needs_a_folder():
    res = CliRunner().invoke(main, ["export", str(SAMPLES[0]), "-T", "parquet"])
    assert res.exit_code == 2 and "-o DIR" in res.output


# -- the Python API ---------------------------------------------------------------------------------------------
def test_api_path_file_object_and_bytes_equal_the_jsonl_export(tmp_path):
    capture = SAMPLES[0]
    assert export(str(capture), "-o", str(tmp_path / "o.jsonl"), "--expert", "chat") == 0
    records = jsonl_records(tmp_path / "o.jsonl")
    want = {kind: [r for r in records if r["type"] == kind] for kind in ("message", "connection", "expert")}
    with open(capture, "rb") as f:
        sources = [str(capture), capture, f, capture.read_bytes()]
        for source in sources:
            with wsdissect.open(source, expert="chat") as cap:
                assert [m.to_dict() for m in cap.messages()] == want["message"]
                assert [c.to_dict() for c in cap.connections()] == want["connection"]
                assert [x.to_dict() for x in cap.findings()] == want["expert"]
    with wsdissect.open(capture) as cap:
        m = next(cap.messages())
        assert isinstance(m.payload, bytes) and m.payload_length == len(m.payload)
        assert m.first_time_ns == round(m.first_time * 1e6) * 1000
        packets = list(cap.packets())
        assert packets and packets[0].frame == 1 and packets[0].time_ns > 0
        table = cap.to_arrow("messages")
        assert table.schema == pq.read_schema(_parquet(tmp_path, capture) / "messages.parquet")
        assert table.column("payload").to_pylist() == [base64.b64decode(r["payload_b64"]) for r in want["message"]]
        df = cap.to_pandas("connections")
        assert list(df["stream"]) == [r["stream"] for r in want["connection"]]


def _parquet(tmp_path, capture) -> pathlib.Path:
    assert export(str(capture), "-T", "parquet", "-o", str(tmp_path / "pq")) == 0
    return tmp_path / "pq"


def test_api_options_are_checked_like_the_cli():
    capture = SAMPLES[0]
    with pytest.raises(wsdissect.UsageError, match="bad size"):
        wsdissect.open(capture, max_message="lots")
    with pytest.raises(wsdissect.UsageError, match="--opcode"):
        wsdissect.open(capture, opcode="texty")
    with pytest.raises(wsdissect.UsageError, match="unknown option 'format'"):
        wsdissect.open(capture, format="csv")
    with pytest.raises(wsdissect.Error, match="no such file"):
        wsdissect.open(capture.parent / "missing.pcap")
    with pytest.raises(wsdissect.CaptureError, match="<bytes>"):
        wsdissect.open(b"not a capture at all")
    with pytest.raises(wsdissect.UsageError, match="binary mode"):
        with open(capture, encoding="latin-1") as f:
            wsdissect.open(f)
    with wsdissect.open(capture, opcode=["text"], stream=0) as cap:
        assert {m.opcode for m in cap.messages()} == {"text"}


def test_dissect_accepts_a_single_path():
    events = list(wsdissect.dissect(str(SAMPLES[0])))
    assert events and events[0].__class__.__name__ == "CaptureStart"
    assert len(list(wsdissect.dissect(SAMPLES[0]))) == len(events)


# -- the column-wise encoders' twins -------------------------------------------------------------------------------
def test_message_columns_c_equals_python():
    from wsdissect.events import Message
    from wsdissect.export.records import message_columns_py
    from wsdissect.run import dissect_files
    from wsdissect.speedups import speedups

    if speedups is None:
        pytest.skip("the C extension is not built")
    messages = [ev for p in SAMPLES for ev in dissect_files([str(p)]) if ev.__class__ is Message]
    assert speedups.message_columns(messages) == message_columns_py(messages)
    with pytest.raises(TypeError):
        speedups.message_columns([object()])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 2**33, allow_nan=False), st.integers(0, 2**32 * 10**6).map(lambda u: u / 1e6),
                          st.floats(-1e12, 1e12, allow_nan=False)), min_size=1))
def test_csv_nanoseconds_equal_time_ns(seconds):
    from wsdissect.export.csv_writer import _nanoseconds
    from wsdissect.export.records import time_ns

    assert list(_nanoseconds(seconds)) == [str(time_ns(t)) for t in seconds]


def test_the_duckdb_queries_in_docs_run(tmp_path):
    assert export(*map(str, SAMPLES), "-T", "parquet", "-o", str(tmp_path / "out")) == 0
    sql = (ROOT / "docs" / "export.md").read_text().split("```sql")[1].split("```")[0]
    queries = [q for q in sql.replace("'out/", f"'{tmp_path}/out/").split(";") if q.strip()]
    assert len(queries) == 3
    for q in queries:
        assert duckdb.sql(q).fetchall()


def test_devices_and_links_are_written_through(tmp_path):
    """A device is written in place (never replaced by a file); a symbolic link keeps pointing at the new file."""
    assert export(str(SAMPLES[0]), "-o", os.devnull) == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    (tmp_path / "link.jsonl").symlink_to(real)
    assert export(str(SAMPLES[0]), "-o", str(tmp_path / "link.jsonl")) == 0
    assert (tmp_path / "link.jsonl").is_symlink() and real.read_text().startswith('{"type"')
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    import threading

    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert export(str(SAMPLES[0]), "-o", str(fifo)) == 0
    reader.join(30)
    assert got and got[0].startswith(b'{"type"') and stat.S_ISFIFO(os.stat(fifo).st_mode)


_texts = st.text(alphabet=st.sampled_from('ab,"\r\n\x00é€😀 '), max_size=12)


@st.composite
def _messages(draw):
    from wsdissect.events import new_message
    from wsdissect.flow import Conn

    conn = draw(st.sampled_from([Conn(0, "10.0.0.1", 40000, "10.0.0.2", 80), Conn(7, "::1", 5, "fe80::1", 65535)]))
    payload_text = draw(st.one_of(st.none(), _texts))
    payload = payload_text.encode() if payload_text is not None else draw(st.binary(max_size=40))
    times = st.one_of(st.floats(-1e10, 1e13, allow_nan=False), st.integers(1000, 2**32 * 10**6).map(lambda u: u / 1e6))
    return new_message(conn, draw(st.sampled_from(["client_to_server", "server_to_client"])),
                       draw(st.integers(0, 15)), payload, draw(st.booleans()), draw(st.integers(0, 2**40)),
                       draw(st.integers(0, 2**40)), draw(times), draw(times), draw(st.integers(1, 99)),
                       draw(st.booleans()), draw(st.integers(0, 2**70)), (),
                       draw(st.one_of(st.none(), st.integers(0, 65535))), draw(st.one_of(st.none(), _texts)),
                       payload_text, draw(st.booleans()), draw(st.one_of(st.none(), _texts)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_messages(), max_size=6), st.sampled_from(["", '"in,put.pcap",']))
def test_csv_c_lines_equal_python(messages, prefix):
    from wsdissect.export import csv_writer
    from wsdissect.speedups import speedups

    if speedups is None:
        pytest.skip("the C extension is not built")
    python = b"".join(line + b"\r\n" for line in csv_writer.message_lines(messages, prefix))
    assert speedups.csv_lines(messages, prefix.encode(), csv_writer._OPCODE_NAMES) == python
    if messages:
        rows = pd.read_csv(io.BytesIO(python), header=None, keep_default_na=False)
        assert len(rows) == len(messages)


def _reference_messages(batch: list) -> pa.RecordBatch:
    """The messages table as ``pa.array`` builds it, value by value (what the buffer builders must equal)."""
    from wsdissect.export import arrow
    from wsdissect.export.records import U64, app_text, time_ns

    rows = [{"file": "f", "stream": m.conn.index, "client": m.conn.client, "server": m.conn.server,
             "direction": m.direction, "opcode": arrow.opcode_name(m.opcode), "payload": m.payload,
             "complete": m.complete, "close_code": m.close_code, "close_reason": m.close_reason,
             "first_frame": m.first_frame, "last_frame": m.last_frame, "first_time": time_ns(m.first_ts),
             "last_time": time_ns(m.last_ts), "fragments": m.fragments, "compressed": m.compressed,
             "wire_length": min(m.wire_length, U64), "payload_length": len(m.payload), "text": m.text,
             "truncated": m.truncated, "note": m.note, "app": app_text(m.app)} for m in batch]
    return pa.RecordBatch.from_pylist(rows, schema=arrow.MESSAGES)


def _both_builders(batch: list) -> tuple:
    """The messages batch as built (by the C buffers when they take it), and by the Python columns."""
    from wsdissect.export import arrow

    built = arrow.message_batch("f", batch)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(arrow, "_message_buffers", None)
        return built, arrow.message_batch("f", batch)


@settings(max_examples=300, deadline=None)
@given(st.lists(_messages(), min_size=1, max_size=6))
def test_arrow_buffer_builders_equal_pa_array(messages):
    """The C buffers (when it takes the batch) and the Python columns both equal ``pa.array``'s table."""
    c_built, py_built = _both_builders(messages)
    reference = _reference_messages(messages)
    assert c_built.equals(reference) and py_built.equals(reference)


def test_arrow_c_buffers_take_ordinary_captures():
    from wsdissect.events import Message
    from wsdissect.export import arrow
    from wsdissect.pipeline import dissect_files

    if arrow._message_buffers is None:
        pytest.skip("the C extension is not built")
    messages = [ev for p in SAMPLES for ev in dissect_files([str(p)]) if ev.__class__ is Message]
    assert arrow._message_buffers(messages) is not None
    c_built, py_built = _both_builders(messages)
    assert c_built.equals(py_built) and c_built.equals(_reference_messages(messages))
    with pytest.raises(TypeError):
        arrow._message_buffers(object())
    assert arrow._message_buffers([object()]) is None


_VALUES = {pa.int64(): st.integers(-2**63, 2**63 - 1), pa.int32(): st.integers(-2**31, 2**31 - 1),
           pa.float64(): st.floats(allow_nan=False), pa.bool_(): st.booleans(), pa.string(): _texts,
           pa.list_(pa.string()): st.lists(_texts, max_size=3),
           pa.list_(pa.list_(pa.string())): st.lists(st.lists(_texts, max_size=2), max_size=3)}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(_VALUES)).flatmap(lambda t: st.tuples(st.just(t), st.lists(
    st.one_of(st.none(), _VALUES[t]), max_size=8))))
def test_arrow_column_equals_pa_array(case):
    from wsdissect.export.arrow import column

    type_, values = case
    assert column(values, type_).equals(pa.array(values, type=type_))


def test_arrow_tables_equal_from_pylist_and_never_import_pandas(tmp_path):
    """Connections and expert rows (structs, lists, nulls) as ``from_pylist`` builds them; an export never loads
    pandas (pa.array would, 0.2-0.3 s and 40 MB)."""
    import subprocess
    import sys

    from wsdissect.export import arrow

    rows = {"connections": [], "expert": []}
    tables = arrow.ArrowTables(lambda name, b: None, min_severity=1, file="f")  # chat: every finding
    tables._add = lambda table, row: rows[table].append(row)
    for p in [*SAMPLES, *(c.values[0] for c in _corpus_cases())]:
        tables.events(list(wsdissect.dissect(str(p))))
    assert rows["connections"] and rows["expert"]
    for name, table_rows in rows.items():
        schema = arrow.SCHEMAS[name]
        assert arrow.table_batch(table_rows, schema).equals(pa.RecordBatch.from_pylist(table_rows, schema=schema))
    code = ("import sys; from wsdissect.cli import main; "
            f"main(['export', {str(SAMPLES[0])!r}, '-T', 'parquet', '-o', {str(tmp_path / 'o')!r}], "
            "standalone_mode=False); assert 'pandas' not in sys.modules, 'pandas imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
