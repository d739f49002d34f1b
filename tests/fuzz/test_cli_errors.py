"""``wsdissect export`` on bad inputs and bad outputs (issue 8, item 3), run as a user would: a subprocess.

The contract (wsdissect/cli.py's docstring): exit 0 success; 2 bad input or usage, one line on stderr; 3 the capture
is damaged, everything before the damage decoded and written; 4 the output cannot be written.  Every case here
checks: exactly one stderr line starting with ``wsdissect: error:`` (``wsdissect: warning:`` for a damaged capture
with partial output), no ``Traceback`` anywhere, the documented exit status, and JSONL output made of whole lines.

Captures are synthesized in-process (fuzz.mutate), so nothing here needs the shared corpus.
"""
from __future__ import annotations

import gzip
import json
import os
import pathlib
import stat
import struct
import subprocess
import sys
import threading

import pytest

from fuzz.mutate import MASK, Capture, Conv, synth_plain, upgrade_request, upgrade_response, write, ws_frame

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_INPUT, EXIT_DAMAGED, EXIT_OUTPUT = 0, 2, 3, 4


# -- helpers ------------------------------------------------------------------------------------------------------
def wsd(*args, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "wsdissect", "export", *map(str, args)], stdin=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=timeout, cwd=ROOT, **kw)


def no_traceback(*streams: bytes) -> None:
    for s in streams:
        assert b"Traceback" not in (s or b""), (s or b"").decode(errors="replace")[-3000:]


def one_line(r: subprocess.CompletedProcess, level: str, status: int) -> str:
    """Exactly one stderr line ``wsdissect: <level>: ...``, no traceback, exit *status*; returns the line."""
    no_traceback(r.stdout, r.stderr)
    err = r.stderr.decode(errors="replace")
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    assert lines[0].startswith(f"wsdissect: {level}: "), err
    assert r.returncode == status, f"exit status {r.returncode}, documented {status}; stderr: {err}"
    return lines[0]


def whole_lines(data: bytes) -> list[dict]:
    """JSONL made of whole records only: ends with a newline, every line parses."""
    if not data:
        return []
    assert data.endswith(b"\n"), f"output ends inside a record: ...{data[-80:]!r}"
    return [json.loads(line) for line in data.splitlines()]


def messages(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("type") == "message"]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> pathlib.Path:
    p = tmp_path_factory.mktemp("cli") / "good.pcap"
    p.write_bytes(write(synth_plain())[0])
    return p


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> pathlib.Path:
    """A capture whose export is several MB (larger than the pipe buffer and the writer's 1 MiB batch)."""
    recs: list = []
    c = Conv(recs)
    c.send(True, upgrade_request())
    c.send(False, upgrade_response())
    for i in range(6000):
        c.send(bool(i % 2), ws_frame(1, f"message {i} ".encode() + b"x" * 300, mask=MASK if i % 2 else None),
               ack=False)
    c.close()
    p = tmp_path_factory.mktemp("cli") / "big.pcap"
    p.write_bytes(write(Capture("pcap", 1, recs))[0])
    return p


# -- bad input: exit 2, one error line -----------------------------------------------------------------------------
def test_missing_file(tmp_path):
    line = one_line(wsd(tmp_path / "nope.pcap"), "error", EXIT_INPUT)
    assert "nope.pcap" in line


def test_directory(tmp_path):
    one_line(wsd(tmp_path), "error", EXIT_INPUT)


def test_wrong_magic(tmp_path):
    p = tmp_path / "text.pcap"
    p.write_bytes(b"this is not a capture file at all\n" * 10)
    one_line(wsd(p), "error", EXIT_INPUT)


def test_zero_length_file(tmp_path):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    one_line(wsd(p), "error", EXIT_INPUT)


def test_garbage_on_stdin():
    r = subprocess.run([sys.executable, "-m", "wsdissect", "export", "-"], input=b"garbage" * 100,
                       capture_output=True, timeout=60, cwd=ROOT)
    one_line(r, "error", EXIT_INPUT)


def _fifo_writer(path: pathlib.Path, payload: bytes) -> threading.Thread:
    def run():
        try:
            with open(path, "wb") as f:  # blocks until the reader opens the FIFO
                f.write(payload)
        except OSError:
            pass  # the reader went away

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _unblock(path: pathlib.Path, t: threading.Thread) -> None:
    """If wsdissect never opened the FIFO, open it for reading so the writer thread can finish."""
    if t.is_alive():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        t.join(5)
        os.close(fd)


def test_fifo_with_garbage(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    t = _fifo_writer(fifo, b"\x00garbage, then the writer closes" * 50)
    try:
        r = wsd(fifo, timeout=60)
    finally:
        _unblock(fifo, t)
    one_line(r, "error", EXIT_INPUT)


def test_fifo_with_a_capture(tmp_path, good):
    """A FIFO is read like a file (no seeking): same records as the file itself."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    t = _fifo_writer(fifo, good.read_bytes())
    try:
        r = wsd(fifo, timeout=60)
    finally:
        _unblock(fifo, t)
    no_traceback(r.stdout, r.stderr)
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stderr == b""
    assert whole_lines(r.stdout) == whole_lines(wsd(good).stdout)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="running as root: permission checks are bypassed")
def test_no_read_permission(tmp_path, good):
    p = tmp_path / "secret.pcap"
    p.write_bytes(good.read_bytes())
    p.chmod(0)
    try:
        one_line(wsd(p), "error", EXIT_INPUT)
    finally:
        p.chmod(stat.S_IRUSR | stat.S_IWUSR)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_missing_second_input(tmp_path, good, jobs):
    """Every input is checked before the output file is created (exit 2, no output file)."""
    out = tmp_path / "out.jsonl"
    one_line(wsd("-j", jobs, good, tmp_path / "nope.pcap", "-o", out), "error", EXIT_INPUT)
    assert not out.exists()


# -- damaged captures: exit 3, one warning line, partial output of whole lines ------------------------------------
def _check_partial(r: subprocess.CompletedProcess, out: pathlib.Path | None = None) -> list[dict]:
    one_line(r, "warning", EXIT_DAMAGED)
    return whole_lines(out.read_bytes() if out is not None else r.stdout)


def test_pcap_cut_mid_record(tmp_path, good):
    data = good.read_bytes()
    p = tmp_path / "cut.pcap"
    p.write_bytes(data[:len(data) * 2 // 3])
    out = tmp_path / "out.jsonl"
    records = _check_partial(wsd(p, "-o", out), out)
    assert messages(records), "the messages before the damage are missing"


def test_pcap_cut_mid_record_json_format(tmp_path, good):
    data = good.read_bytes()
    p = tmp_path / "cut.pcap"
    p.write_bytes(data[:len(data) // 2])
    r = wsd(p, "--format", "json")
    one_line(r, "warning", EXIT_DAMAGED)
    assert isinstance(json.loads(r.stdout), list)


def _pcapng_with_bad_block(good: pathlib.Path, blen: int) -> bytes:
    cap = synth_plain()
    cap.fmt = "pcapng"
    data = bytearray(write(cap)[0])
    pos, block = 0, 0
    while block < 12:  # SHB, IDB, then ten packets: corrupt the next block's length
        pos += struct.unpack_from("<I", data, pos + 4)[0]
        block += 1
    struct.pack_into("<I", data, pos + 4, blen)
    return bytes(data)


@pytest.mark.parametrize("blen", [13, 8, 0xFFFFFFF0, 64])
def test_pcapng_corrupt_block_length(tmp_path, good, blen):
    p = tmp_path / "bad.pcapng"
    p.write_bytes(_pcapng_with_bad_block(good, blen))
    records = _check_partial(wsd(p))
    assert messages(records), "the messages before the damage are missing"


def _truncated_gzip(good: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    gz = gzip.compress(good.read_bytes(), mtime=0)
    p = tmp_path / "cut.pcap.gz"
    p.write_bytes(gz[:len(gz) * 2 // 3])
    return p


def test_truncated_gzip_one_warning(tmp_path, good):
    p = _truncated_gzip(good, tmp_path)
    _check_partial(wsd(p))


def test_truncated_gzip_keeps_records_before_damage(tmp_path, good):
    p = _truncated_gzip(good, tmp_path)
    r = wsd(p)
    no_traceback(r.stdout, r.stderr)
    assert r.returncode == EXIT_DAMAGED
    assert messages(whole_lines(r.stdout)), "the messages before the damage are missing"


def test_gzip_cut_inside_pcap_header(tmp_path):
    from fuzz.crafted import gzip_cut_inside_pcap_header

    p = tmp_path / "header.pcap.gz"
    p.write_bytes(gzip_cut_inside_pcap_header())
    r = wsd(p)
    assert r.returncode in (EXIT_INPUT, EXIT_DAMAGED), (r.returncode, r.stderr)
    one_line(r, "error" if r.returncode == EXIT_INPUT else "warning", r.returncode)


def test_gzip_with_garbage_after_magic(tmp_path):
    p = tmp_path / "bad.pcap.gz"
    p.write_bytes(b"\x1f\x8b" + b"garbage" * 20)
    one_line(wsd(p), "error", EXIT_INPUT)


# -- output errors: exit 4, one error line -------------------------------------------------------------------------
def test_output_in_missing_directory(good):
    one_line(wsd(good, "-o", "/proc/nonexistent/x"), "error", EXIT_OUTPUT)


def test_output_is_a_directory(tmp_path, good):
    one_line(wsd(good, "-o", tmp_path), "error", EXIT_OUTPUT)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_output_to_dev_full(good):
    one_line(wsd(good, "-o", "/dev/full"), "error", EXIT_OUTPUT)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_stdout_is_dev_full(big):
    with open("/dev/full", "wb") as full:
        r = wsd(big, stdout=full)
    one_line(r, "error", EXIT_OUTPUT)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_damaged_capture_to_dev_full(tmp_path, good):
    """Output error wins over damage: exit 4; the damage warning may come first, the error line is last."""
    data = good.read_bytes()
    p = tmp_path / "cut.pcap"
    p.write_bytes(data[:len(data) // 2])
    r = wsd(p, "-o", "/dev/full")
    no_traceback(r.stdout, r.stderr)
    lines = r.stderr.decode().splitlines()
    assert lines and lines[-1].startswith("wsdissect: error: "), lines
    assert all(x.startswith(("wsdissect: warning: ", "wsdissect: error: ")) for x in lines), lines
    assert r.returncode == EXIT_OUTPUT


def test_closed_pipe(big):
    """``wsdissect export big.pcap | head -1``: the reader goes away; no traceback, no error, exit 0."""
    p = subprocess.Popen([sys.executable, "-m", "wsdissect", "export", str(big)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        first = p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read()
        status = p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert json.loads(first)
    no_traceback(err)
    assert err == b"", err.decode(errors="replace")
    assert status == EXIT_OK


def test_good_capture_sanity(good):
    r = wsd(good)
    no_traceback(r.stdout, r.stderr)
    assert r.returncode == EXIT_OK and r.stderr == b""
    assert len(messages(whole_lines(r.stdout))) >= 10
