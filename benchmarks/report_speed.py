#!/usr/bin/env python3
"""``wsdissect report`` against ``wsdissect export`` (the reference speed) on the same captures.

    python -m benchmarks.report_speed bench-out/small-200M-s1.pcap bench-out/payload-200M-s1.pcap --runs 3

Alternates the two commands (A B A B ...) on each capture, like run_benchmark.py, and prints medians: wall and CPU
seconds, peak RSS, output size, and speed of the report relative to the export (issue 19 asks for at least 0.5),
by wall time and by CPU time (user + system; steadier on a shared machine).

- A: ``wsdissect export F --format jsonl -o OUT --expert none`` (as in docs/performance.md)
- B: ``wsdissect report F -o OUT.html -q``
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.run_benchmark import alternate, wsdissect_cmd


def bench(capture: Path, runs: int, out_dir: Path) -> dict:
    exe = wsdissect_cmd()
    jsonl, html = out_dir / "out.jsonl", out_dir / "report.html"
    commands = {"export": exe + ["export", str(capture), "--format", "jsonl", "-o", str(jsonl), "--expert", "none"],
                "report": exe + ["report", str(capture), "-o", str(html), "-q"]}
    results = alternate(commands, capture, runs)
    sizes = {"export": jsonl.stat().st_size, "report": html.stat().st_size}
    jsonl.unlink()
    row = {"capture": capture.name, "MB": capture.stat().st_size / 1e6}
    for name, rs in results.items():
        row[f"{name} s"] = statistics.median(r["seconds"] for r in rs)
        row[f"{name} cpu s"] = statistics.median(r["user"] + r["sys"] for r in rs)
        row[f"{name} RSS MiB"] = max(r["rss_mib"] for r in rs)
        row[f"{name} output MB"] = sizes[name] / 1e6
    row["report speed / export speed"] = row["export s"] / row["report s"]
    row["same, by CPU time"] = row["export cpu s"] / row["report cpu s"]
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [bench(c, args.runs, Path(tmp)) for c in args.captures]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    print(f"load average: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
