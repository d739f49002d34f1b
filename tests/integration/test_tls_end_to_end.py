"""wss:// end to end through the CLI and the driver: key logs (files, SSLKEYLOGFILE, pcapng DSB), no keys, partial
keys, the connection record's TLS facts, HAR urls, the display-filter fields, export -j."""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from wsdissect.display_filter import compile_filter
from wsdissect.events import Message, Packet
from wsdissect.filter_fields import PacketFields
from wsdissect.options import Options, load_tls_keys
from wsdissect.render.packets import group_by_packet
from wsdissect.run import Driver

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_pcaps"
TLS13, TLS12 = SAMPLES / "wss_tls13.pcap", SAMPLES / "wss_tls12.pcap"
CORPUS_TLS = ROOT.parent / "shared" / "corpus-tls"


def _export(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wsdissect", "export", *map(str, args), "-T", "jsonl"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


def _records(p: subprocess.CompletedProcess) -> list[dict]:
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def _data(rows: list[dict]) -> list[tuple[str, str, str]]:
    """(direction, opcode, payload) of the text and binary messages (the truth has no automatic pongs)."""
    return [(r["direction"], r["opcode"], r["payload_b64"]) for r in rows
            if r.get("type", "message") == "message" and r.get("opcode") in ("text", "binary")]


def _truth(name: str) -> list[tuple[str, str, str]]:
    return _data([json.loads(line) for line in (SAMPLES / f"{name}.truth.jsonl").read_text().splitlines() if line])


@pytest.mark.parametrize("name", ["wss_tls13", "wss_tls12"])
def test_key_log_decrypts_and_connection_has_tls_facts(name):
    recs = _records(_export(SAMPLES / f"{name}.pcap", "--tls-keylog", SAMPLES / f"{name}.keys.log"))
    messages = [r for r in recs if r["type"] == "message"]
    assert messages and all(m["complete"] for m in messages)
    (conn,) = [r for r in recs if r["type"] == "connection"]
    assert conn["status"] == "upgraded"
    assert conn["tls"]["version"] == ("TLSv1.3" if name.endswith("13") else "TLSv1.2")
    assert conn["tls"]["cipher_suite"].startswith("TLS_") and conn["tls"]["decrypted"] is True
    assert not any(r["type"] == "expert" and r["code"].startswith("tls.") for r in recs)


def test_no_keys_lists_the_connection_and_reports_it():
    recs = _records(_export(TLS13))
    assert not [r for r in recs if r["type"] == "message"]
    (conn,) = [r for r in recs if r["type"] == "connection"]
    assert conn["status"] == "not decrypted"
    assert conn["tls"] == {"version": "TLSv1.3", "cipher_suite": "TLS_AES_256_GCM_SHA384", "sni": None,
                           "alpn": None, "decrypted": False, "resumed": False}
    codes = [r["code"] for r in recs if r["type"] == "expert"]
    assert codes.count("tls.no_keys") == 1


def test_wrong_keys_never_give_plaintext(tmp_path):
    """The TLS 1.2 capture's key log used on the TLS 1.3 capture: nothing matches, nothing is decoded."""
    recs = _records(_export(TLS13, "--tls-keylog", SAMPLES / "wss_tls12.keys.log"))
    assert not [r for r in recs if r["type"] == "message"]
    assert "tls.no_keys" in [r["code"] for r in recs if r["type"] == "expert"]


def test_dsb_secrets_are_used_without_a_key_log():
    recs = _records(_export(SAMPLES / "wss_tls13.dsb.pcapng"))
    assert _data(recs) == _truth("wss_tls13")


def test_sslkeylogfile_note_and_malformed_lines(tmp_path):
    keys = tmp_path / "keys.log"
    good = (SAMPLES / "wss_tls13.keys.log").read_text().splitlines()
    keys.write_text("\r\n".join(["# comment", "NOT A KEY LINE", *good, "CLIENT_RANDOM 00 zz"]) + "\r\n")
    env = {"PATH": "/usr/bin:/bin", "SSLKEYLOGFILE": str(keys), "PYTHONPATH": str(ROOT)}
    p = _export(TLS13, env=env)
    recs = _records(p)
    assert _data(recs) == _truth("wss_tls13")
    lines = p.stderr.splitlines()
    assert any("note:" in ln and "SSLKEYLOGFILE" in ln for ln in lines)
    warned = [ln for ln in lines if "warning:" in ln]
    assert len(warned) == 2 and f"{keys}:2:" in warned[0] and f"{keys}:{len(good) + 3}:" in warned[1]
    secrets = {line.split()[2] for line in good if line and not line.startswith("#")}
    assert not any(s in p.stderr or s in p.stdout for s in secrets)  # key material never in any output


def test_several_key_logs_and_an_unreadable_one(tmp_path):
    recs = _records(_export(TLS13, "--tls-keylog", SAMPLES / "wss_tls12.keys.log",
                            "--tls-keylog", SAMPLES / "wss_tls13.keys.log"))
    assert _data(recs) == _truth("wss_tls13")
    p = _export(TLS13, "--tls-keylog", tmp_path / "missing.log")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "missing.log" in p.stderr


@pytest.mark.skipif(not (CORPUS_TLS / "tls_three_connections_one_keylog").is_dir(), reason="../shared/corpus-tls")
def test_partial_keys_decrypt_the_others(tmp_path):
    case = CORPUS_TLS / "tls_three_connections_one_keylog"
    lines = (case / "keys.log").read_text().splitlines()
    randoms = list(dict.fromkeys(line.split()[1] for line in lines if line and not line.startswith("#")))
    assert len(randoms) == 3
    partial = tmp_path / "partial.log"
    partial.write_text("\n".join(line for line in lines if randoms[1] not in line) + "\n")
    full = _records(_export(case / "capture.pcap", "--tls-keylog", case / "keys.log"))
    part = _records(_export(case / "capture.pcap", "--tls-keylog", partial))
    streams = lambda recs: {r["stream"] for r in recs if r["type"] == "message"}  # noqa: E731
    assert len(streams(full)) == 3 and len(streams(part)) == 2
    conns = {r["stream"]: r for r in part if r["type"] == "connection"}
    (missing,) = streams(full) - streams(part)
    assert conns[missing]["tls"]["decrypted"] is False and conns[missing]["status"] == "not decrypted"
    assert [r["stream"] for r in part if r["type"] == "expert" and r["code"] == "tls.no_keys"] == [missing]
    kept = [r for r in full if r["type"] == "message" and r["stream"] != missing]
    assert [r for r in part if r["type"] == "message"] == kept


def test_export_jobs_and_har_scheme(tmp_path):
    har = tmp_path / "out.har"
    p = subprocess.run([sys.executable, "-m", "wsdissect", "export", str(TLS13), str(TLS12), "-j", "2", "-T", "har",
                        "-o", str(har), "--tls-keylog", str(SAMPLES / "wss_tls13.keys.log"),
                        "--tls-keylog", str(SAMPLES / "wss_tls12.keys.log")], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    entries = json.loads(har.read_text())["log"]["entries"]
    assert len(entries) == 2 and all(e["request"]["url"].startswith("wss://") for e in entries)


def test_display_filter_fields():
    options = Options(packets=True, frames=True, tls_keys=load_tls_keys([str(SAMPLES / "wss_tls13.keys.log")]).keylog)
    tls = compile_filter("tls")
    websocket = compile_filter("websocket")
    hits = {"tls": [], "websocket": []}
    for pkt, evs in group_by_packet(Driver(options).events([str(TLS13)])):
        if pkt is None:
            continue
        fields = PacketFields(pkt, evs, 0.0)
        if tls(fields):
            hits["tls"].append(pkt.frame)
        if websocket(fields):
            hits["websocket"].append(pkt.frame)
        assert fields.values("tls.handshake.extensions_server_name") == []  # the sample connects by address
    assert hits["tls"][:4] == [4, 6, 8, 9] and 14 in hits["tls"] and 14 in hits["websocket"]
    assert 5 not in hits["tls"]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_sni_field_on_a_client_hello_with_server_name(tmp_path):
    """The SNI of a Client Hello reaches tls.handshake.extensions_server_name (tshark agrees on the value)."""
    case = CORPUS_TLS / "tls_node_tls13_chacha20" / "capture.pcap"
    if not case.exists():
        pytest.skip("../shared/corpus-tls")
    ts = subprocess.run(["tshark", "-n", "-r", str(case), "-Y", "tls.handshake.type == 1", "-T", "fields",
                         "-e", "frame.number", "-e", "tls.handshake.extensions_server_name"],
                        capture_output=True, text=True, timeout=60, check=True)
    expected = {int(f): sni for f, sni in (line.split("\t") for line in ts.stdout.splitlines())}
    found = {}
    for pkt, evs in group_by_packet(Driver(Options(packets=True)).events([str(case)])):
        if pkt is not None:
            sni = PacketFields(pkt, evs, 0.0).values("tls.handshake.extensions_server_name")
            if sni:
                found[pkt.frame] = sni[0]
    assert found == {f: s for f, s in expected.items() if s}
