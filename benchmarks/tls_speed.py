#!/usr/bin/env python3
"""wss:// export speed: the same generated traffic over ws:// and over TLS 1.3, and tshark with the key log.

    python -m benchmarks.tls_speed --size 100M --mix payload --out bench-out [--tshark] [--runs 3]

Generates ``ws-MIX-SIZE.pcap`` and ``wss-MIX-SIZE.pcap`` (+ ``.keys.log``) with ``benchmarks.gen_capture`` (same
seed: the same WebSocket messages), checks both exports against the generator's expected digests, and prints, per
run, wall and CPU seconds (user + system of the child, which is steadier than wall time on a shared machine) of
``wsdissect export -T jsonl``, and with ``--tshark`` of ``tshark -o tls.keylog_file:... -Y websocket -T fields``
(docs/performance.md's tshark command, with the key log).  The ratios use the best run of each.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of *cmd* (output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _best(cmd: list[str], runs: int) -> dict:
    results = [_timed(cmd) for _ in range(runs)]
    return {"wall": round(min(w for w, _ in results), 2), "cpu": round(min(c for _, c in results), 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="100M")
    ap.add_argument("--mix", default="payload")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tshark", action="store_true")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    wsdissect = [sys.executable, "-m", "wsdissect", "export", "-T", "jsonl"]
    report: dict = {"size": a.size, "mix": a.mix}
    for scheme in ("ws", "wss"):
        pcap = os.path.join(a.out, f"{scheme}-{a.mix}-{a.size}.pcap")
        gen = [sys.executable, "-m", "benchmarks.gen_capture", "--size", a.size, "--mix", a.mix, "--seed",
               str(a.seed), "-o", pcap] + (["--tls"] if scheme == "wss" else [])
        subprocess.run(gen, check=True, stderr=subprocess.DEVNULL)
        keys = ["--tls-keylog", pcap + ".keys.log"] if scheme == "wss" else []
        out = pcap + ".jsonl"
        subprocess.run(wsdissect + [pcap, "-o", out] + keys, check=True)
        check = subprocess.run([sys.executable, "-m", "benchmarks.check_export", out, pcap + ".expected.json"],
                               capture_output=True, text=True)
        expected = json.load(open(pcap + ".expected.json"))
        report[scheme] = {"bytes": expected["bytes"], "data_messages": expected["data_messages"],
                          "payload_bytes": expected["payload_bytes"], "correct": check.returncode == 0,
                          **_best(wsdissect + [pcap, "-o", out] + keys, a.runs)}
        if scheme == "wss" and a.tshark and shutil.which("tshark"):
            report["tshark"] = _best(["tshark", "-n", "-r", pcap, "-o", f"tls.keylog_file:{pcap}.keys.log",
                                      "-d", "tcp.port==8443,tls", "-Y", "websocket", "-T", "fields",
                                      "-e", "frame.number", "-e", "tcp.stream", "-e", "websocket.opcode",
                                      "-e", "websocket.payload.text", "-e", "data.data",
                                      "-o", "websocket.decompress:TRUE"], 1)
    ws, wss = report["ws"], report["wss"]
    for kind in ("wall", "cpu"):  # per payload byte, since the TLS capture's size target holds slightly less
        report[f"wss_vs_ws_{kind}"] = round((ws[kind] / ws["payload_bytes"]) / (wss[kind] / wss["payload_bytes"]), 2)
        if "tshark" in report:
            report[f"wss_vs_tshark_{kind}"] = round(report["tshark"][kind] / wss[kind], 1)
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
