"""The export command: several files, -j N gives the same bytes as sequential, JSON is one valid array."""
import json
import pathlib
import subprocess
import sys

SAMPLES = sorted(str(p) for p in (pathlib.Path(__file__).resolve().parents[2] / "sample_pcaps").glob("*.pcap"))


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wsdissect", "export", *args], capture_output=True, timeout=120)


def test_parallel_export_equals_sequential(tmp_path):
    seq, par = tmp_path / "seq.jsonl", tmp_path / "par.jsonl"
    assert _run(*SAMPLES, "-o", str(seq)).returncode == 0
    p = _run(*SAMPLES, "-j", "2", "-o", str(par))
    assert p.returncode == 0, p.stderr
    assert seq.read_bytes() == par.read_bytes()
    recs = [json.loads(line) for line in seq.read_text().splitlines()]
    assert {r["type"] for r in recs} >= {"message", "connection"}


def test_json_format_is_one_array_in_both_modes(tmp_path):
    for jobs in ("1", "2"):
        p = _run(*SAMPLES, "-T", "json", "-j", jobs)
        assert p.returncode == 0
        data = json.loads(p.stdout)
        assert isinstance(data, list) and len(data) > 50


def test_bad_input_among_several_fails_before_output(tmp_path):
    out = tmp_path / "o.jsonl"
    p = _run(SAMPLES[0], str(tmp_path / "missing.pcap"), "-j", "2", "-o", str(out))
    assert p.returncode == 2 and b"no such file" in p.stderr and b"Traceback" not in p.stderr
    assert not out.exists()
