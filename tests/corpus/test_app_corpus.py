"""The application-protocol corpus (../shared/corpus-app): ``wsdissect export`` scored by
../shared/tools/check_app.py (units) and ../shared/tools/check_corpus.py (messages), and the export's ``app``
contract on its cases."""
from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# ../shared next to the checkout (/work/main), or two levels up from a worktree (/work/wt/NAME)
SHARED = next((d for d in (ROOT.parent / "shared", ROOT.parents[1] / "shared") if d.is_dir()), ROOT.parent / "shared")
CORPUS = SHARED / "corpus-app"
CHECKER = SHARED / "tools" / "check_app.py"
present = pytest.mark.skipif(not (CORPUS.is_dir() and CHECKER.is_file()), reason="../shared/corpus-app not present")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def _score(checker: pathlib.Path, *extra: str) -> str:
    """Run a shared checker on ``wsdissect export`` of this checkout; its table, asserting every case passed."""
    template = f"{shlex.quote(sys.executable)} -m wsdissect export {{capture}} --format jsonl -o {{out}} {{args}}"
    p = subprocess.run([sys.executable, str(checker), *extra, "--cmd", template, "--timeout", "60"],
                       cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    lines = p.stdout.strip().splitlines()
    assert lines, f"checker printed nothing; stderr: {p.stderr[-2000:]}"
    m = re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1])
    assert m and m.group(2) == "0" and int(m.group(1)) >= 9, "\n" + p.stdout
    assert p.returncode == 0, "\n" + p.stdout + p.stderr
    return p.stdout


@present
def test_app_corpus_units_all_cases_pass():
    _score(CHECKER, "--corpus", str(CORPUS))


@present
def test_app_corpus_messages_all_cases_pass():
    _score(SHARED / "tools" / "check_corpus.py", "--corpus", str(CORPUS))


def _export(capture: pathlib.Path, out: pathlib.Path, *args: str) -> list[dict]:
    p = subprocess.run([sys.executable, "-m", "wsdissect", "export", str(capture), "-o", str(out), *args],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


@present
def test_every_message_of_a_decoded_connection_has_app_and_real_peers_give_no_finding(tmp_path):
    records = _export(CORPUS / "stomp_over_ws" / "capture.pcap", tmp_path / "out.jsonl")
    messages = [r for r in records if r["type"] == "message"]
    assert messages and all(isinstance(r["app"], list) for r in messages if r["opcode"] in ("text", "binary"))
    assert sum(len(r["app"]) for r in messages) == 31
    app_codes = [r["code"] for r in records if r["type"] == "expert" and r["code"].startswith(("stomp.", "app."))]
    assert app_codes == []


@present
def test_unknown_subprotocol_gets_no_app_field(tmp_path):
    records = _export(CORPUS / "unknown_json_subprotocol" / "capture.pcap", tmp_path / "out.jsonl")
    messages = [r for r in records if r["type"] == "message"]
    assert messages and not any("app" in r for r in messages)


@present
def test_forced_protocol_decodes_and_unknown_name_is_a_usage_error(tmp_path):
    capture = CORPUS / "unknown_json_subprotocol" / "capture.pcap"
    records = _export(capture, tmp_path / "out.jsonl", "--app", "json-rpc")
    texts = [r for r in records if r["type"] == "message" and r["opcode"] == "text"]
    assert texts and all(r["app"] and r["app"][0]["protocol"] == "json-rpc" for r in texts)
    invalid = [r for r in records if r["type"] == "expert" and r["code"] == "jsonrpc.invalid"]
    assert len(invalid) >= len(texts) and all(r["stream"] is not None for r in invalid)
    p = subprocess.run([sys.executable, "-m", "wsdissect", "export", str(capture), "-o", str(tmp_path / "x.jsonl"),
                        "--app", "nonsense"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


@present
def test_stats_latency_pairs_every_acknowledged_request_of_the_truth():
    case = CORPUS / "socketio_v4_websocket"
    truth = [json.loads(line) for line in (case / "truth.jsonl").read_text().splitlines() if line.strip()]
    acks = sum(1 for r in truth for u in r.get("app", []) if u["kind"] in ("ACK", "BINARY_ACK"))
    p = subprocess.run([sys.executable, "-m", "wsdissect", "stats", "-T", "json", str(case / "capture.pcap")],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    (latency,) = json.loads(p.stdout)["app"]["latency"]
    assert acks > 0 and latency["protocol"] == "socket.io" and latency["count"] == acks
    assert latency["unanswered"] == 0 and 0 < latency["p50"] <= latency["p95"] <= latency["max"]
