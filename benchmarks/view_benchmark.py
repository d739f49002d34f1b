#!/usr/bin/env python3
"""The views against tshark on the same synthetic captures, in paired runs (one after the other, repeated), and
their ratios (wsdissect time / tshark time; below 1 is faster than tshark).

    python -m benchmarks.view_benchmark --size 15M --mix small --runs 3

Jobs: the packet list (``show`` vs ``tshark -r``), detail trees (``show -V`` vs ``tshark -V``), one late frame's
tree (``show -V --frame N`` vs ``tshark -V -Y frame.number==N``), and ``follow`` vs ``export`` (wsdissect
against itself: the goal is within 2x).  Every command writes to /dev/null.  Times are CPU seconds (user +
system, from ``wait4``: steadier than wall time on a shared machine), medians over the runs; the order of each pair
alternates and the ratio is the median of the pairs' ratios.  Peak RSS is the largest maximum resident size of the
runs.  ``--size 200M,2G --delete`` checks that memory stays flat (captures made by ``benchmarks.gen_capture
--seed 1`` and deleted afterwards).  Results go to stdout as a Markdown table (paste into docs/performance.md).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

WSD = [sys.executable, "-m", "wsdissect"]


class Run(NamedTuple):
    """One run of a command: wall seconds, CPU seconds (user + system) and peak RSS (MiB)."""

    wall: float
    cpu: float
    rss: float


def _timed(cmd: list[str]) -> Run:
    """One run of *cmd*, output to /dev/null."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL)
        _pid, _status, usage = os.wait4(proc.pid, 0)
    return Run(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _frames(path: str) -> int:
    out = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True).stdout
    return int(out.split()[-1]) if shutil.which("capinfos") and out else 1


def jobs(path: str) -> list[tuple[str, list[str], list[str]]]:
    late = _frames(path) - 1
    quiet = ["--color", "never", "-q"]
    return [
        ("packet list", [*WSD, "show", path, *quiet], ["tshark", "-r", path]),
        ("detail trees", [*WSD, "show", "-V", path, *quiet], ["tshark", "-r", path, "-V"]),
        (f"tree of frame {late}", [*WSD, "show", "-V", "--frame", str(late), path, *quiet],
         ["tshark", "-r", path, "-V", "-Y", f"frame.number=={late}"]),
        ("follow (vs export)", [*WSD, "follow", path, *quiet], [*WSD, "export", path, "-o", os.devnull]),
    ]


def _capture(directory: str, mix: str, size: str) -> str:
    path = str(Path(directory) / f"{mix}-{size}.pcap")
    if not Path(path).exists():
        subprocess.run([sys.executable, "-m", "benchmarks.gen_capture", "--size", size, "--mix", mix, "--seed", "1",
                        "-o", path], check=True)
    return path


def measure(ours: list[str], theirs: list[str] | None, runs: int) -> str:
    """The table row of one job: paired runs (the order alternates), CPU ratio = the median of the pairs' ratios
    (*theirs* None: wsdissect alone, for its memory on large captures)."""
    if theirs is None:
        mine = [_timed(ours) for _ in range(runs)]
        return (f"{statistics.median(a.cpu for a in mine):.2f} | - | - | - | {max(a.rss for a in mine):.0f} "
                f"| - |")
    pairs = []
    for i in range(runs):
        if i % 2:
            b, a = _timed(theirs), _timed(ours)
        else:
            a, b = _timed(ours), _timed(theirs)
        pairs.append((a, b))
    cpu_a = statistics.median(a.cpu for a, _ in pairs)
    cpu_b = statistics.median(b.cpu for _, b in pairs)
    ratio = statistics.median(a.cpu / max(b.cpu, 1e-6) for a, b in pairs)
    wall = statistics.median(a.wall / max(b.wall, 1e-6) for a, b in pairs)
    return (f"{cpu_a:.2f} | {cpu_b:.2f} | **{ratio:.2f}** | {wall:.2f} | {max(a.rss for a, _ in pairs):.0f} | "
            f"{max(b.rss for _, b in pairs):.0f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="15M", help="capture size; several separated by commas (e.g. 200M,2G)")
    ap.add_argument("--mix", default="small", help="small, payload, or both separated by a comma")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", help="run only the jobs whose name contains this")
    ap.add_argument("--dir", default="bench-out")
    ap.add_argument("--delete", action="store_true", help="delete each generated capture after its jobs")
    ap.add_argument("--no-reference", action="store_true", help="run wsdissect only (memory on large captures)")
    args = ap.parse_args(argv)
    Path(args.dir).mkdir(exist_ok=True)
    print("| capture | job | wsdissect CPU s | reference CPU s | CPU ratio | wall ratio | wsdissect peak RSS MiB "
          "| reference peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size in args.size.split(","):
        for mix in args.mix.split(","):
            existed = Path(args.dir, f"{mix}-{size}.pcap").exists()
            path = _capture(args.dir, mix, size)
            for name, ours, theirs in jobs(path):
                if args.only and args.only not in name:
                    continue
                print(f"| {mix} {size} | {name} | {measure(ours, None if args.no_reference else theirs, args.runs)}", flush=True)
            if args.delete and not existed:
                os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
