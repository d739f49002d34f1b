#!/usr/bin/env python3
"""Scale-out benchmark (issue 17): ``export --engine dask --workers N`` against one process, and the split pass.

    python benchmarks/scale_benchmark.py                         # eight 50 MB captures, --workers 2, 3 runs
    python benchmarks/scale_benchmark.py --count 8 --size 50M --workers 2 --runs 3 --split-size 200M

1. Generates ``--count`` captures of ``--size`` with ``gen_capture.py`` (mixes payload, small, deflate in turn)
   into ``bench-out/scale/`` unless they are there, and reads them once to warm the page cache.
2. Runs, alternately (A B A B ...):

     A  wsdissect export F1..Fn -T FORMAT -o OUT-A                       (one process)
     B  wsdissect export F1..Fn -T FORMAT -o OUT-B --engine dask --workers N -q --split-size 0

   B's wall time includes starting and closing the LocalCluster.  Both outputs must hold the same number of rows
   per table (checked with pyarrow, or by counting JSONL records).
3. The split pass: one capture of ``--split-size`` x 4 is split with ``wsdissect.capture.split.split_capture``
   (in this process) and decoded whole by A; the ratio is the price of splitting.  Then B decodes it with
   ``--split-size`` so its shards run in parallel.

Prints a table (``--markdown`` for docs/scale.md) and writes the raw numbers to ``bench-out/scale/results.json``.
Wall times are medians; ``cpu`` is user+system time of the command and every process it started.  Before and
after, the *parallel capacity* is measured: how much faster N processes finish a pure-CPU loop than one; on a
shared machine that is the most any engine can gain at that moment, and it puts the speedup in context.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIXES = ("payload", "small", "deflate")
WSDISSECT = [sys.executable, "-m", "wsdissect"]


def generate(path: Path, size: str, mix: str, seed: int) -> None:
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "gen_capture.py"), "--size", size, "--mix", mix, "--seed",
                        str(seed), "-o", str(path)], check=True, stdout=subprocess.DEVNULL)
    with open(path, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (the command and its descendants), exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    status = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), status


def row_counts(out: str, fmt: str) -> dict[str, int]:
    """Rows per table of a single-process output or a dataset folder."""
    counts = {"messages": 0, "connections": 0, "expert": 0}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for table in counts:
            files = glob.glob(os.path.join(out, table, "part-*.parquet")) or [os.path.join(out, f"{table}.parquet")]
            counts[table] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        return counts
    files = glob.glob(os.path.join(out, "*", "part-*.jsonl")) if os.path.isdir(out) else [out]
    kinds = {"message": "messages", "connection": "connections", "expert": "expert"}
    for f in files:
        for line in open(f, "rb"):
            counts[kinds[json.loads(line)["type"]]] += 1
    return counts


def compare(label_a: str, cmd_a: list[str], label_b: str, cmd_b: list[str], runs: int, fmt: str,
            outs: tuple[str, str]) -> dict:
    """Alternate A and B *runs* times; medians; the row counts of both outputs must agree."""
    results: dict = {label_a: [], label_b: []}
    for _ in range(runs):
        for label, cmd in ((label_a, cmd_a), (label_b, cmd_b)):
            wall, cpu, status = timed(cmd)
            if status not in (0, 3):
                sys.exit(f"{label} failed with status {status}: {' '.join(cmd)}")
            results[label].append({"wall": wall, "cpu": cpu})
    counts = [row_counts(o, fmt) for o in outs]
    if counts[0] != counts[1]:
        sys.exit(f"outputs differ: {counts[0]} vs {counts[1]}")
    summary = {label: {"wall": statistics.median(r["wall"] for r in rs), "cpu": statistics.median(r["cpu"] for r in rs),
                       "runs": rs} for label, rs in results.items()}
    summary["speedup"] = summary[label_a]["wall"] / summary[label_b]["wall"]
    summary["rows"] = counts[0]
    return summary


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t0


def parallel_capacity(workers: int, n: int = 10_000_000) -> float:
    """How much faster *workers* processes finish the same pure-CPU work than one, right now: the best speedup
    any engine can show on this machine at this moment (other programs take their share of the cores)."""
    from concurrent.futures import ProcessPoolExecutor

    one = _spin(n)
    with ProcessPoolExecutor(workers) as pool:
        pool.submit(_spin, 1000).result()  # started
        t0 = time.perf_counter()
        list(pool.map(_spin, [n] * workers))
        many = time.perf_counter() - t0
    return workers * one / many


def split_cost(path: Path, shards: int, runs: int) -> dict:
    """Seconds of the split pass alone (in this process, median of *runs*)."""
    from wsdissect.capture.split import split_capture

    times = []
    for _ in range(runs):
        tmp = tempfile.mkdtemp(prefix="wsdissect-split-")
        t0 = time.perf_counter()
        split_capture(str(path), tmp, shards)
        times.append(time.perf_counter() - t0)
        shutil.rmtree(tmp)
    return {"wall": statistics.median(times), "runs": times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--size", default="50M")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--format", default="parquet", choices=["parquet", "jsonl"])
    ap.add_argument("--split-size", default="50M", help="the split part: a capture of 4x this size (0: skip)")
    ap.add_argument("--out-dir", default=str(ROOT / "bench-out" / "scale"))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"{MIXES[i % 3]}-{args.size}-{i}.pcap" for i in range(args.count)]
    for i, f in enumerate(files):
        generate(f, args.size, MIXES[i % 3], i + 1)
    fmt = args.format
    capacity = [parallel_capacity(args.workers)]
    a_out, b_out = str(out / f"one.{fmt}"), str(out / "dataset")
    engine = ["--engine", "dask", "--workers", str(args.workers), "-q"]
    results = {"files": compare("one process", WSDISSECT + ["export", *map(str, files), "-T", fmt, "-o", a_out],
                                f"dask {args.workers} workers",
                                WSDISSECT + ["export", *map(str, files), "-T", fmt, "-o", b_out, *engine,
                                             "--split-size", "0"], args.runs, fmt, (a_out, b_out))}
    if args.split_size != "0":
        big = out / f"small-{args.split_size}x4.pcap"
        n = int(args.split_size.rstrip("M")) * 4
        generate(big, f"{n}M", "small", 99)
        results["split pass"] = split_cost(big, 4, args.runs)
        results["split file"] = compare("one process", WSDISSECT + ["export", str(big), "-T", fmt, "-o", a_out],
                                        f"dask {args.workers} workers, split",
                                        WSDISSECT + ["export", str(big), "-T", fmt, "-o", b_out, *engine,
                                                     "--split-size", args.split_size], args.runs, fmt,
                                        (a_out, b_out))
    capacity.append(parallel_capacity(args.workers))
    results["parallel capacity before, after"] = capacity
    results["load average (1, 5, 15 min) at the end"] = os.getloadavg()  # other work on the machine skews walls
    (out / "results.json").write_text(json.dumps(results, indent=2))
    report(results, args)


def report(results: dict, args) -> None:
    bar = "|" if args.markdown else " "
    print(f"{bar} case {bar} one process (s) {bar} dask {args.workers} workers (s) {bar} speedup {bar} "
          f"cpu one / dask (s) {bar}")
    if args.markdown:
        print("|---|---|---|---|---|")
    for case in ("files", "split file"):
        if case not in results:
            continue
        r = results[case]
        a, b = [v for k, v in r.items() if isinstance(v, dict) and "wall" in v]
        print(f"{bar} {case} {bar} {a['wall']:.2f} {bar} {b['wall']:.2f} {bar} {r['speedup']:.2f}x {bar} "
              f"{a['cpu']:.1f} / {b['cpu']:.1f} {bar}")
    if "split pass" in results:
        whole = results["split file"]["one process"]["wall"]
        print(f"split pass alone: {results['split pass']['wall']:.2f} s = "
              f"{100 * results['split pass']['wall'] / whole:.0f} % of decoding the capture in one process")
    print("load average at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"the machine's parallel capacity for {args.workers} processes (pure CPU, before and after): "
          + " and ".join(f"{c:.2f}x" for c in results["parallel capacity before, after"]))


if __name__ == "__main__":
    main()
