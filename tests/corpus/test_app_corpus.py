"""The application-protocol corpus (../shared/corpus-app) scored by ../shared/tools/check_app.py through the
validation harness ``tools/app_annotate.py`` (the existing exporter plus wsdissect/app over each connection), until
the lead wires wsdissect/app into the exporter; and the harness's own contract on one case."""
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


@present
def test_app_corpus_all_cases_pass():
    template = f"{shlex.quote(sys.executable)} -m tools.app_annotate {{capture}} -o {{out}} {{args}}"
    p = subprocess.run([sys.executable, str(CHECKER), "--corpus", str(CORPUS), "--cmd", template, "--timeout", "60"],
                       cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    lines = p.stdout.strip().splitlines()
    assert lines, f"checker printed nothing; stderr: {p.stderr[-2000:]}"
    m = re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1])
    assert m and m.group(2) == "0" and int(m.group(1)) >= 9, "\n" + p.stdout
    assert p.returncode == 0, "\n" + p.stdout + p.stderr


@present
def test_harness_adds_app_to_every_message_and_reports_no_finding_on_real_peers(tmp_path):
    out = tmp_path / "out.jsonl"
    p = subprocess.run([sys.executable, "-m", "tools.app_annotate", str(CORPUS / "stomp_over_ws" / "capture.pcap"),
                        "-o", str(out)], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    messages = [r for r in records if r["type"] == "message"]
    assert messages and all(isinstance(r["app"], list) for r in messages)
    assert sum(len(r["app"]) for r in messages) == 31
    app_codes = [r["code"] for r in records if r["type"] == "expert" and r["code"].startswith(("stomp.", "app."))]
    assert app_codes == []


def test_harness_bad_capture_is_one_line_and_status_2(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture")
    p = subprocess.run([sys.executable, "-m", "tools.app_annotate", str(bad), "-o", str(tmp_path / "o.jsonl")],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


@present
def test_latency_pairs_every_acknowledged_request_of_the_truth(tmp_path):
    case = CORPUS / "socketio_v4_websocket"
    truth = [json.loads(line) for line in (case / "truth.jsonl").read_text().splitlines() if line.strip()]
    acks = sum(1 for r in truth for u in r.get("app", []) if u["kind"] in ("ACK", "BINARY_ACK"))
    p = subprocess.run([sys.executable, "-m", "tools.app_annotate", str(case / "capture.pcap"), "-o",
                        str(tmp_path / "o.jsonl"), "--latency"], cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    (line,) = p.stdout.splitlines()
    assert acks > 0 and re.match(rf"socket\.io\s+count\s+{acks}\s.*unanswered 0$", line), line
