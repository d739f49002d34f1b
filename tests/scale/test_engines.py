"""Dataset exports on engines: the dataset equals the single-process export, split or not, on a local process pool,
a Dask LocalCluster and a scheduler with workers started as separate processes; faults (damaged input, a worker
killed mid-run, Ctrl-C) leave an exact dataset or none of a part."""
from __future__ import annotations

import glob
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import orjson
import pytest
from click.testing import CliRunner

from tests.conftest import CORPUS, ROOT, SAMPLES
from wsdissect.capture.pcapwriter import PcapWriter
from wsdissect.cli import main
from wsdissect.engines.driver import DatasetRun, prepare_output
from wsdissect.engines.inputs import expand_inputs
from wsdissect.engines.local import LocalPool
from wsdissect.engines.parts import JsonlParts, ParquetParts, stream_mappings
from wsdissect.engines.task import ExportJob
from wsdissect.errors import UsageError
from wsdissect.pipeline import Options

from .synthetic import write_mixed_capture

HAVE_PARQUET = importlib.util.find_spec("wsdissect.export.parquet") is not None
FORMATS = ["jsonl"] + (["parquet"] if HAVE_PARQUET else [])
TABLES = ("messages", "connections", "expert")
TABLE_OF_TYPE = {"message": "messages", "connection": "connections", "expert": "expert"}


def _corpus() -> list[str]:
    for root in (CORPUS, ROOT.parent.parent / "shared" / "corpus"):  # the repository's sibling, or a worktree's
        if root.is_dir():
            return sorted(glob.glob(str(root / "*" / "capture.pcap*")))
    return []


def all_captures() -> list[str]:
    return sorted(str(p) for p in SAMPLES.glob("*.pcap")) + _corpus()


# -- reading datasets and single-process exports as sorted rows ----------------------------------------------------
def _canon(row: dict) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def _parquet_rows(path: str) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def single_rows(capture: str, fmt: str, tmp) -> dict[str, list[bytes]]:
    """The single-process export of one capture, rows per table, sorted."""
    if fmt == "jsonl":
        res = CliRunner().invoke(main, ["export", capture, "-T", "jsonl"])
        rows = [orjson.loads(line) for line in res.stdout_bytes.splitlines()]
        return {t: sorted(_canon(r) for r in rows if TABLE_OF_TYPE[r["type"]] == t) for t in TABLES}
    out = str(tmp / f"single-{os.path.basename(os.path.dirname(capture))}-{os.path.basename(capture)}")
    CliRunner().invoke(main, ["export", capture, "-T", "parquet", "-o", out])
    return {t: sorted(_canon(r) for r in _parquet_rows(os.path.join(out, f"{t}.parquet"))) for t in TABLES}


def dataset_rows(out_dir: str, fmt: str, number: int, source: str | None = None) -> dict[str, list[bytes]]:
    """The rows of input *number* (its parts, shards included) in a dataset, per table, sorted.  JSONL rows name
    their input (``file``, checked against *source*), which a one-input JSONL export does not: it is dropped."""
    tables = {}
    for t in TABLES:
        rows = []
        for p in glob.glob(os.path.join(out_dir, t, f"part-{number:05d}*.{fmt}")):
            if fmt == "jsonl":
                lines = [orjson.loads(line) for line in open(p, "rb")]
                assert source is None or all(r.pop("file") == source for r in lines)
                rows += lines
            else:
                rows += _parquet_rows(p)
        tables[t] = sorted(_canon(r) for r in rows)
    return tables


def assert_no_leftovers(out_dir: str) -> None:
    for t in TABLES:
        assert not [n for n in os.listdir(os.path.join(out_dir, t)) if not n.startswith("part-")]
    assert not os.path.exists(os.path.join(out_dir, ".shards"))


def assert_dataset_equals_single(out_dir: str, captures: list[str], fmt: str, tmp) -> None:
    for i, capture in enumerate(captures):
        assert dataset_rows(out_dir, fmt, i, capture) == single_rows(capture, fmt, tmp), capture
    assert_no_leftovers(out_dir)


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory) -> str:
    """Many connections, reused ports, IPv4 fragments out of order, UDP, a late packet after a sweep point."""
    return write_mixed_capture(str(tmp_path_factory.mktemp("big") / "mixed.pcap"))


# -- the per-file engines ------------------------------------------------------------------------------------------
def _export(captures, out_dir, fmt="jsonl", split_size=None, pool=None, min_severity=2):
    writer = JsonlParts() if fmt == "jsonl" else ParquetParts()
    job = ExportJob(str(out_dir), Options(), None, min_severity, writer)
    prepare_output(job.out_dir)
    with pool or LocalPool(2) as p:
        run = DatasetRun(p, job, split_size)
        run.start(captures)
        return run.run()


@pytest.mark.parametrize("fmt", FORMATS)
def test_split_capture_equals_whole(tmp_path, big_capture, fmt):
    outcome = _export([big_capture], tmp_path / "split", fmt, split_size=200_000)
    assert outcome.split == 1 and outcome.parts > 3
    assert dataset_rows(str(tmp_path / "split"), fmt, 0, big_capture) == single_rows(big_capture, fmt, tmp_path)
    streams = {orjson.loads(r)["stream"] for r in dataset_rows(str(tmp_path / "split"), fmt, 0,
                                                               big_capture)["connections"]}
    assert len(streams) > 20  # many connections, numbered as in the whole capture (compared above)
    assert_no_leftovers(str(tmp_path / "split"))


def test_every_capture_split_small_equals_whole(tmp_path):
    captures = all_captures()
    outcome = _export(captures, tmp_path / "ds", split_size=40_000)
    assert outcome.split >= 5
    assert_dataset_equals_single(str(tmp_path / "ds"), captures, "jsonl", tmp_path)


def test_stream_mappings_rank_opening_frames():
    assert stream_mappings([(5, 40), (1, 7, 90), ()]) == [[1, 3], [0, 2, 4], []]


# -- Dask ----------------------------------------------------------------------------------------------------------
def test_local_cluster_dataset_equals_single_process(tmp_path, big_capture):
    fmt = FORMATS[-1]  # parquet when the Parquet writer is installed (jsonl parts are checked below)
    bad = tmp_path / "not-a-capture.pcap"
    bad.write_bytes(b"this is text\n")
    captures = all_captures() + [big_capture, str(bad)]
    out = tmp_path / "ds"
    res = CliRunner().invoke(main, ["export", *captures, "--engine", "dask", "--workers", "2", "-T", fmt,
                                    "--split-size", "300k", "-q", "-o", str(out)])
    assert res.exit_code == 3, res.output  # the damaged corpus capture and the text file
    assert "not-a-capture.pcap: not a pcap or pcapng capture" in res.stderr
    assert_dataset_equals_single(str(out), captures[:-1], fmt, tmp_path)
    expert = [orjson.loads(r) for r in dataset_rows(str(out), fmt, len(captures) - 1, str(bad))["expert"]]
    assert [(e["code"], e["severity"]) for e in expert] == [("capture.unreadable", "error")]
    assert expert[0].get("file", str(bad)) == str(bad)  # rows name their input


class SeparateCluster:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (random ports), torn down at exit."""

    def __init__(self, tmp):
        self.file = str(tmp / "scheduler.json")
        py = [sys.executable, "-m", "dask"]
        self.scheduler = subprocess.Popen(py + ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                                "--dashboard-address", ":0", "--scheduler-file", self.file],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers = [subprocess.Popen(py + ["worker", "--scheduler-file", self.file, "--nthreads", "1",
                                               "--no-nanny", "--host", "127.0.0.1", "--dashboard-address", ":0",
                                               "--death-timeout", "60"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for _ in range(2)]
        self.address = self._wait()

    def _wait(self) -> str:
        from distributed import Client

        deadline = time.monotonic() + 30
        while not os.path.exists(self.file) or not os.path.getsize(self.file):
            assert time.monotonic() < deadline, "scheduler did not start"
            time.sleep(0.1)
        address = json.load(open(self.file))["address"]
        with Client(address, timeout="20s") as client:
            client.wait_for_workers(2, timeout=30)
        return address

    def close(self) -> None:
        for p in self.workers + [self.scheduler]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.workers + [self.scheduler]:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def separate_cluster(tmp_path):
    cluster = SeparateCluster(tmp_path)
    yield cluster
    cluster.close()


def test_scheduler_and_workers_processes(tmp_path, separate_cluster, big_capture):
    captures = all_captures() + [big_capture]
    out = tmp_path / "ds"
    res = CliRunner().invoke(main, ["export", *captures, "--engine", "dask", "--scheduler", separate_cluster.address,
                                    "--split-size", "300k", "-q", "-o", str(out)] + ["-T", FORMATS[-1]])
    assert res.exit_code == 3, res.output  # variant_file_cut_mid_record is damaged
    assert_dataset_equals_single(str(out), captures, FORMATS[-1], tmp_path)

    # a worker killed mid-run: the scheduler runs its task again on the other one, the dataset stays exact
    out2 = tmp_path / "ds2"
    victim = separate_cluster.workers[0]
    killer = threading.Thread(target=_kill_when_parts_appear, args=(str(out2), victim))
    killer.start()
    captures = [big_capture] + all_captures()
    res = CliRunner().invoke(main, ["export", *captures, "--engine", "dask", "--scheduler",
                                    separate_cluster.address, "--split-size", "100k", "-q", "-o", str(out2),
                                    "-T", "jsonl"])
    killer.join()
    assert victim.poll() is not None  # it really died during the run
    assert res.exit_code == 3, res.output
    assert_dataset_equals_single(str(out2), captures, "jsonl", tmp_path)


def _kill_when_parts_appear(out_dir: str, victim: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if glob.glob(os.path.join(out_dir, "messages", ".*")) or glob.glob(os.path.join(out_dir, ".shards", "*")):
            break
        time.sleep(0.005)
    victim.kill()


def test_missing_dask_is_one_line_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    res = CliRunner().invoke(main, ["export", str(SAMPLES / "asr_28002.pcap"), "--engine", "dask", "-o",
                                    str(tmp_path / "ds")])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]
    assert "pip install 'wsdissect[dask]'" in res.stderr
    assert not (tmp_path / "ds").exists()


# -- interruption --------------------------------------------------------------------------------------------------
class _InterruptedPool(LocalPool):
    """A local pool whose second wait is interrupted, as by Ctrl-C."""

    def __init__(self):
        super().__init__(2)
        self.waits = 0

    def wait(self, futures):
        self.waits += 1
        if self.waits == 2:
            raise KeyboardInterrupt
        return super().wait(futures)


def test_interrupt_leaves_only_complete_parts(tmp_path, big_capture):
    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        _export([big_capture] + all_captures(), out, split_size=100_000, pool=_InterruptedPool())
    assert_no_leftovers(str(out))
    for t in TABLES:
        for part in glob.glob(str(out / t / "part-*")):
            for line in open(part, "rb"):
                orjson.loads(line)  # whole records only
            assert "-s" not in os.path.basename(part)  # shards are committed only when all are done


# -- inputs --------------------------------------------------------------------------------------------------------
def test_inputs_directories_globs_and_urls(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/x.pcap", "a/b/y.pcapng.gz", "a/b/z.cap", "a/notes.txt", "w.pcap"):
        (tmp_path / name).write_bytes(b"")
    found = expand_inputs([str(tmp_path / "a")])
    assert sorted(found) == sorted(str(tmp_path / p) for p in ("a/x.pcap", "a/b/y.pcapng.gz", "a/b/z.cap"))
    assert expand_inputs([str(tmp_path / "*.pcap"), str(tmp_path / "w.pcap")]) == [str(tmp_path / "w.pcap")]
    assert expand_inputs([str(tmp_path / "**" / "*.cap")]) == [str(tmp_path / "a" / "b" / "z.cap")]
    for missing in ("nothing-here.pcap", str(tmp_path / "*.pcapng")):
        with pytest.raises(UsageError):
            expand_inputs([missing])
    if importlib.util.find_spec("fsspec") is not None:
        assert expand_inputs([f"file://{tmp_path}/w.pcap"]) == [f"file://{tmp_path}/w.pcap"]


def test_url_input_decodes_like_the_path(tmp_path):
    pytest.importorskip("fsspec")
    path = str(SAMPLES / "asr_28002.pcap")
    out = tmp_path / "ds"
    outcome = _export([f"file://{path}"], out)
    assert not outcome.damaged
    assert dataset_rows(str(out), "jsonl", 0, f"file://{path}") == single_rows(path, "jsonl", tmp_path)


# -- the split pass itself -----------------------------------------------------------------------------------------
def test_split_shards_are_flow_consistent_and_keep_frame_numbers(tmp_path, big_capture):
    from wsdissect.capture.files import CaptureFile
    from wsdissect.capture.layers import TcpSegment, parse_tcp
    from wsdissect.capture.split import INDEX, split_capture

    result = split_capture(big_capture, str(tmp_path / "shards"), 4)
    with CaptureFile(big_capture) as cf:
        whole = {rec[0]: rec for rec in cf}
    seen: dict[int, int] = {}
    flow_shard: dict[tuple, int] = {}
    for number, shard in enumerate(result.shards):
        index = list(INDEX.iter_unpack(open(shard.index_path, "rb").read()))
        with CaptureFile(shard.path) as cf:
            records = list(cf)
        assert len(index) == len(records)
        for (frame, ts, linktype), rec in zip(index, records):
            assert (ts, linktype, rec[3], rec[4]) == whole[frame][1:]  # same packet, same exact time
            seen[frame] = number
            r = parse_tcp(linktype, rec[3])
            if r.__class__ is TcpSegment:
                key = frozenset({(r.src, r.sport), (r.dst, r.dport)})
                assert flow_shard.setdefault(key, number) == number  # a 4-tuple lives in one shard
            elif r is None:
                assert number == 0  # not TCP: shard 0
    assert sorted(seen) == sorted(whole)  # every packet exactly once
    fragments = [f for f, rec in whole.items() if parse_tcp(rec[2], rec[3]) == "IPv4 fragment"]
    late_flow = next(k for k in flow_shard if (bytes([10, 1, 0, 1]), 40000) in k)
    assert len(fragments) == 3 and {seen[f] for f in fragments} == {flow_shard[late_flow]} != {0}
    assert len({n for n in seen.values() if n}) == 4  # the flows spread over the four shards
