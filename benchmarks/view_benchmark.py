#!/usr/bin/env python3
"""The views against tshark on the same synthetic captures, in paired runs (one after the other, repeated), and
their ratios (wsdissect time / tshark time; below 1 is faster than tshark).

    python -m benchmarks.view_benchmark --size 15M --mix small --runs 3

Jobs: the packet list (``show`` vs ``tshark -r``), detail trees (``show -V`` vs ``tshark -V``), one late frame's
tree (``show -V --frame N`` vs ``tshark -V -Y frame.number==N``), and ``follow`` vs ``export`` (wsdissect
against itself: the goal is within 2x).  Every command writes to /dev/null; peak RSS is each run's maximum
resident size (from ``wait4``).  Results go to stdout as a Markdown table (paste into docs/performance.md).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

WSD = [sys.executable, "-m", "wsdissect"]


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of *cmd*, output to /dev/null."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL)
        _pid, _status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="15M")
    ap.add_argument("--mix", default="small", choices=["small", "payload"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", help="run only the jobs whose name contains this")
    ap.add_argument("--dir", default="bench-out")
    args = ap.parse_args(argv)
    Path(args.dir).mkdir(exist_ok=True)
    path = str(Path(args.dir) / f"{args.mix}-{args.size}.pcap")
    if not Path(path).exists():
        subprocess.run([sys.executable, "-m", "benchmarks.gen_capture", "--size", args.size, "--mix", args.mix,
                        "-o", path], check=True)
    print(f"| job ({args.mix} mix, {args.size}) | wsdissect s | reference s | ratio | wsdissect peak RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, ours, theirs in jobs(path):
        if args.only and args.only not in name:
            continue
        pairs = [(_timed(ours), _timed(theirs)) for _ in range(args.runs)]  # paired: one after the other
        a = min(p[0][0] for p in pairs)
        b = min(p[1][0] for p in pairs)
        rss = max(p[0][1] for p in pairs)
        print(f"| {name} | {a:.2f} | {b:.2f} | {a / b:.2f} | {rss:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
