"""Closed pipes, bad option values and several input files, for every view (run as a user would: subprocesses)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASR = str(ROOT / "sample_pcaps" / "asr_28002.pcap")
MQTT = str(ROOT / "sample_pcaps" / "mqtt_ws.pcap")
VIEWS = [["show"], ["show", "-V"], ["show", "-x"], ["follow"], ["stats"], ["stats", "-T", "json"], ["expert", "-v"],
         ["export"], ["export", "-T", "csv"]]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wsdissect", *args], capture_output=True, text=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.parametrize("view", VIEWS, ids=" ".join)
def test_a_closed_pipe_ends_quietly_with_0(view):
    """``wsdissect VIEW ... | head -1``: the reader goes away after one line."""
    inputs = [ASR, MQTT] * 15  # enough output to outlast the pipe's buffer
    proc = subprocess.Popen([sys.executable, "-m", "wsdissect", *view, *inputs], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert err == b""


@pytest.mark.parametrize("view", VIEWS, ids=" ".join)
def test_a_terminal_that_is_not_utf8_gets_escapes_not_a_traceback(view):
    """``PYTHONIOENCODING=ascii`` (or a Latin-1 terminal): what the encoding cannot hold is written as a backslash
    escape; the whole output comes, with status 0 (exports stay UTF-8)."""
    aiohttp = str(ROOT / "sample_pcaps" / "aiohttp_mixed.pcap")  # em dashes, CJK, emoji in its payloads
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    r = subprocess.run([sys.executable, "-m", "wsdissect", *view, aiohttp], capture_output=True, cwd=ROOT, env=env,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert r.stdout.strip()
    if view[0] == "export":  # a data format: UTF-8 whatever the terminal (FORMAT.md)
        r.stdout.decode("utf-8")
        return
    assert r.stdout.isascii()
    if view[0] in ("show", "follow"):
        assert b"\\u2014" in r.stdout or b"\\u2192" in r.stdout  # (an em dash in a payload, the list's arrow)


@pytest.mark.parametrize("args", [
    ["show", ASR, "--width", "-5"], ["show", ASR, "--width", "0"], ["show", ASR, "--frame", "0"],
    ["show", ASR, "--frame", "99999"], ["follow", ASR, "--client", "notanip"], ["stats", ASR, "--server", "1.2.3.4:99999"],
    ["show", ASR, "--stream", "-1"], ["export", ASR, "--time-from", "5", "--time-to", "1"],
    ["expert", ASR, "--max-message", "0"], ["export", ASR, "--max-inflated", "lots"], ["show", ASR, "-c", "0"],
    ["follow", ASR, "--hex-limit", "-1"], ["show", ASR, "-Y", "websocket.opcode =="], ["show", ASR, "-t", "x"],
    ["show"], ["stats", "-r", ASR, "--nonsense"], ["expert", ASR, "-s", "note"],
], ids=lambda a: " ".join(a[:1] + a[2:]))
def test_a_bad_option_value_is_one_line_and_exit_2(args):
    r = _run(*args)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wsdissect: error: "), r.stderr


def test_frame_beyond_the_capture_names_its_size():
    assert "48 packets" in _run("show", ASR, "--frame", "99999").stderr


@pytest.mark.parametrize("view", [["show"], ["show", "-V"], ["follow"], ["stats"], ["expert"]], ids=" ".join)
def test_several_files_each_get_a_header_and_their_own_numbering(view):
    out = _run(*view, ASR, "-r", MQTT).stdout
    headers = [line for line in out.splitlines() if line.startswith("==> ")]
    assert headers == [f"==> {MQTT} <==", f"==> {ASR} <=="]  # -r inputs first
    if view == ["show"]:
        first_rows = [line for line in out.splitlines() if line.startswith("     1 ")]
        assert len(first_rows) == 2 and all(" 0.000000 " in row for row in first_rows)


def test_one_file_has_no_header():
    assert "==>" not in _run("show", ASR).stdout


def test_narrow_terminal_keeps_number_protocol_and_info():
    rows = _run("show", ASR, "--width", "60", "--color", "never").stdout.splitlines()
    assert rows[0].split() == ["No.", "Time", "Protocol", "Info"]
    assert all(len(r) <= 60 for r in rows)
    assert rows[8].split()[2] == "WebSocket" and "Text" in rows[8]


def test_narrow_expert_keeps_whole_codes():
    dropped = ROOT.parent / "shared" / "corpus" / "variant_dropped_segment" / "capture.pcap"
    if not dropped.exists():
        pytest.skip("shared corpus not present")
    out = _run("expert", str(dropped), "--width", "40", "--color", "never").stdout
    assert "tcp.gap" in out
