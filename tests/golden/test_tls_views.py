"""wss:// views: golden output of the packet list and TLS trees of ``sample_pcaps/wss_tls13.pcap`` (with and without
its key log), and the list's TLS rows against tshark's with the same key log.

Regenerate after an intended change (then review the diff)::

    WSDISSECT_UPDATE_GOLDEN=1 python -m pytest tests/golden/test_tls_views.py -o addopts=""
"""
from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import pytest

from ._support import SAMPLES, UPDATE, run_cli

EXPECTED = pathlib.Path(__file__).resolve().parent / "expected" / "tls"  # apart from test_golden_views.py's cases
PCAP = str(SAMPLES / "wss_tls13.pcap")
KEYS = str(SAMPLES / "wss_tls13.keys.log")

CASES = {
    "wss_tls13.show": ["show", PCAP, "--tls-keylog", KEYS],
    "wss_tls13.show-no-keys": ["show", PCAP],
    "wss_tls13.show-V-frame4-client-hello": ["show", "-V", "--frame", "4", PCAP, "--tls-keylog", KEYS],
    "wss_tls13.show-V-frame6-server-flight": ["show", "-V", "--frame", "6", PCAP, "--tls-keylog", KEYS],
    "wss_tls13.show-V-frame14-decrypted-websocket": ["show", "-V", "--frame", "14", PCAP, "--tls-keylog", KEYS],
    "wss_tls13.stats": ["stats", PCAP, "--tls-keylog", KEYS],
    "wss_tls13.stats-no-keys": ["stats", PCAP],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tls_view_golden(case):
    res = run_cli(CASES[case])
    assert res.exit_code == 0, res.stderr
    path = EXPECTED / f"{case}.txt"
    if UPDATE:
        path.write_bytes(res.stdout)
    assert res.text == path.read_text(encoding="utf-8")


def _rows(text: str) -> dict[int, tuple[str, str]]:
    """frame -> (protocol, info) of the TLS rows of a packet list (wsdissect's or tshark's)."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+\S+\s+\S+\s+(?:→\s+)?\S+\s+(TLSv1(?:\.\d)?)\s+\d+\s+(.*)$", line)
        if m:
            rows[int(m.group(1))] = (m.group(2), m.group(3).strip())
    return rows


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("with_keys", [True, False], ids=["keys", "no-keys"])
def test_tls_rows_match_tshark(with_keys):
    keys = ["-o", f"tls.keylog_file:{KEYS}"] if with_keys else []
    ts = subprocess.run(["tshark", "-n", "-r", PCAP, *keys], capture_output=True, text=True, timeout=60, check=True)
    ours = run_cli(["show", PCAP, *(["--tls-keylog", KEYS] if with_keys else [])], width=400)
    theirs, mine = _rows(ts.stdout), _rows(ours.text)
    assert theirs, "tshark shows no TLS rows"
    assert mine == theirs
