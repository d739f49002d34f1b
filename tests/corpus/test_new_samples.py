"""The wss://, Socket.IO and MQTT sample captures (made by tools/make_sample_pcaps.py; see sample_pcaps/README.md).

(a) ``wsdissect export NAME.pcap --format jsonl`` (in-process through click), plus ``--tls-keylog NAME.keys.log``
    for wss, against the truth with the checks of ``test_sample_pcaps.py``.  The wss cases are skipped while
    ``wsdissect export --help`` does not list ``--tls-keylog``; they run as soon as it does.
(b) tshark's WebSocket frames (decrypted with the key log for wss; from the embedded secrets alone for the
    ``.dsb.pcapng``), per (client, server, direction): one text/binary first frame per truth data message, and at
    least as many ping/pong/close frames as the truth has (tshark also sees the automatic ones).
(c) The ``.app.jsonl`` sidecars are the truth with units; the exported units equal them.
"""
from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections import Counter

import pytest
from click.testing import CliRunner

from tests.corpus.test_sample_pcaps import (
    CONTROL, DATA, SAMPLES, check_control_frames, check_data_messages, key, load_truth,
)
from wsdissect.cli import main

TLS = ("wss_tls13", "wss_tls12")
APP = ("socketio_chat", "mqtt_ws")
NEW = TLS + APP
WS_OPCODES = {"1": "text", "2": "binary", "8": "close", "9": "ping", "10": "pong"}


def _export_options() -> str:
    return CliRunner().invoke(main, ["export", "--help"]).output


HAS_TLS_KEYLOG = "--tls-keylog" in _export_options()
NO_TLS = pytest.mark.skipif(not HAS_TLS_KEYLOG, reason="`wsdissect export --help` lists no --tls-keylog yet (TLS "
                                                       "decryption not integrated); runs once the option exists")
NEEDS_TSHARK = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def _param(name: str):
    return pytest.param(name, id=name, marks=NO_TLS if name in TLS else ())


@functools.cache
def exported(name: str) -> tuple[list[dict], list[dict]]:
    """(message records, expert records) of ``wsdissect export`` on the capture (computed once)."""
    pcap = SAMPLES / f"{name}.pcap"
    args = ["export", str(pcap), "--format", "jsonl", "-o", "-"]
    if name in TLS:
        args += ["--tls-keylog", str(SAMPLES / f"{name}.keys.log")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, (res.stderr[-500:], res.exception)
    records = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    return ([r for r in records if r["type"] == "message"], [r for r in records if r["type"] == "expert"])


def test_new_captures_and_their_files_present():
    want = [f"{n}.pcap" for n in NEW] + [f"{n}.truth.jsonl" for n in NEW] + [f"{n}.keys.log" for n in TLS]
    want += [f"{n}.dsb.pcapng" for n in TLS] + [f"{n}.app.jsonl" for n in APP]
    assert [f for f in want if not (SAMPLES / f).exists()] == []


# -- (a) wsdissect export against the truth ------------------------------------------------------------------------
@pytest.mark.parametrize("name", [_param(n) for n in NEW])
def test_export_data_messages_equal_truth(name):
    check_data_messages(name, load_truth(SAMPLES / f"{name}.pcap"), exported(name)[0])


@pytest.mark.parametrize("name", [_param(n) for n in NEW])
def test_export_truth_control_frames(name):
    check_control_frames(name, load_truth(SAMPLES / f"{name}.pcap"), exported(name)[0])


@pytest.mark.parametrize("name", [_param(n) for n in NEW])
def test_export_no_warning_or_error_expert_records(name):
    bad = [(r.get("frame"), r["severity"], r.get("code")) for r in exported(name)[1]
           if r["severity"] in ("warning", "error")]
    assert bad == [], f"{name}: expert records on a capture of well-behaved peers"


# -- (b) tshark's WebSocket frames against the truth ---------------------------------------------------------------
@functools.cache
def tshark_frames(capture: str, keylog: str | None) -> Counter:
    """Counter of (src endpoint, dst endpoint, opcode name) over the WebSocket frames tshark dissects."""
    cmd = ["tshark", "-n", "-r", capture, "-Y", "websocket", "-T", "fields",
           "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "websocket.opcode"]
    if keylog:
        cmd[2:2] = ["-o", f"tls.keylog_file:{keylog}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    frames: Counter = Counter()
    for line in out.splitlines():
        src, sport, dst, dport, opcodes = line.split("\t")
        for op in opcodes.split(","):
            frames[f"{src}:{sport}", f"{dst}:{dport}", WS_OPCODES.get(op, "continuation")] += 1
    return frames


def check_tshark_counts(name: str, frames: Counter) -> None:
    truth = load_truth(SAMPLES / f"{name}.pcap")
    servers = {r["server"] for r in truth}
    want_data: Counter = Counter(key(r) for r in truth if r["opcode"] in DATA)
    want_control: Counter = Counter((key(r), r["opcode"]) for r in truth if r["opcode"] in CONTROL)
    got_data: Counter = Counter()
    got_control: Counter = Counter()
    for (src, dst, opcode), n in frames.items():
        k = (src, dst, "client_to_server") if dst in servers else (dst, src, "server_to_client")
        if opcode in DATA:
            got_data[k] += n
        elif opcode in CONTROL:
            got_control[k, opcode] += n
    assert got_data == want_data, f"{name}: tshark's text/binary first frames per direction != truth messages"
    short = {k: (got_control[k], n) for k, n in want_control.items() if got_control[k] < n}
    assert short == {}, f"{name}: tshark shows fewer control frames than the truth (got, truth)"


@NEEDS_TSHARK
@pytest.mark.parametrize("name", NEW)
def test_tshark_frames_match_truth(name):
    keylog = str(SAMPLES / f"{name}.keys.log") if name in TLS else None
    check_tshark_counts(name, tshark_frames(str(SAMPLES / f"{name}.pcap"), keylog))


@NEEDS_TSHARK
@pytest.mark.parametrize("name", TLS)
def test_tshark_decrypts_dsb_pcapng_alone(name):
    frames = tshark_frames(str(SAMPLES / f"{name}.dsb.pcapng"), None)
    assert frames == tshark_frames(str(SAMPLES / f"{name}.pcap"), str(SAMPLES / f"{name}.keys.log"))
    check_tshark_counts(name, frames)


@NEEDS_TSHARK
@pytest.mark.parametrize("name", TLS)
def test_tshark_sees_no_websocket_without_keys(name):
    assert tshark_frames(str(SAMPLES / f"{name}.pcap"), None) == Counter()


# -- (c) application units ----------------------------------------------------------------------------------------
def load_app(name: str) -> list[dict]:
    with open(SAMPLES / f"{name}.app.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.parametrize("name", APP)
def test_app_sidecar_is_the_truth_with_units(name):
    app = load_app(name)
    assert [{k: v for k, v in r.items() if k != "app"} for r in app] == load_truth(SAMPLES / f"{name}.pcap")
    assert all(isinstance(r["app"], list) for r in app)
    assert sum(len(r["app"]) for r in app) >= len([r for r in app if r["opcode"] in DATA])


def unit_matches(truth_unit: dict, unit: dict) -> bool:
    same = all(unit.get(f) == truth_unit[f] for f in ("protocol", "kind", "name", "id"))
    for optional in ("namespace", "data"):
        if optional in truth_unit:
            same = same and optional in unit and unit[optional] == truth_unit[optional]
    return same


@pytest.mark.parametrize("name", APP)
def test_exported_units_equal_sidecar(name):
    records = [r for r in exported(name)[0] if r["opcode"] in DATA]
    assert any("app" in r for r in records), "`wsdissect export` wrote no \"app\" units"
    want: dict[tuple, list] = {}
    got: dict[tuple, list] = {}
    for r in load_app(name):
        if r["opcode"] in DATA:
            want.setdefault(key(r), []).append(r["app"])
    for r in records:
        got.setdefault(key(r), []).append(r.get("app", []))
    for k, messages in want.items():  # the messages themselves are compared by test_export_data_messages_equal_truth
        for i, (units, exported_units) in enumerate(zip(messages, got.get(k, []))):
            assert len(units) == len(exported_units) and all(map(unit_matches, units, exported_units)), (
                f"{name} {k} message {i}: exported units {exported_units} != truth {units}")
