#!/usr/bin/env python3
"""Benchmark ``wsdissect export`` against tshark on the same synthetic captures (issue 7).

    python -m benchmarks.run_benchmark                       # payload, small, deflate at 200M, 3 runs each
    python -m benchmarks.run_benchmark 200M 2G --mix small --runs 3 --markdown

For every mix and size it generates the capture with ``gen_capture.py`` if it is not already in the cache
directory (``bench-out/``, gitignored), reads it once to warm the page cache, then runs, alternately (A B A B ...):

  A  wsdissect export F --format jsonl -o OUT --expert none
  B  tshark -r F -Y websocket -T fields -e frame.number -e tcp.stream -e websocket.opcode
            -e websocket.payload.text -e data.data -o websocket.decompress:TRUE   (stdout to /dev/null)

Each child's wall time is measured around its spawn and ``os.wait4``, and its peak RSS is the ``ru_maxrss`` that
``wait4`` returns for it.  (Linux charges a child, at exec, the peak RSS of the process that spawned it, so the
children are spawned by a fresh small launcher interpreter rather than by this runner; see ``LAUNCHER``.)
After each wsdissect run the output is checked against ``F.expected.json`` by ``check_export.py``
(counts, every message complete, per-connection/direction order via per-stream SHA-256 digests).

It also measures start-up: ``wsdissect --help`` and the export of a tiny capture (median of 10 each; tshark on
the tiny capture for reference).  Prints a table (``--markdown`` for the docs), writes all the raw numbers to
``bench-out/results.json``, and exits 1 if any correctness check fails (2 if a tool fails to run).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIXES = ("payload", "small", "deflate")
TSHARK_FIELDS = ["-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "websocket.opcode",
                 "-e", "websocket.payload.text", "-e", "data.data", "-o", "websocket.decompress:TRUE"]

from benchmarks.gen_capture import parse_size


# -- measuring ---------------------------------------------------------------------------------------------------
# The launcher: a fresh, small interpreter that spawns the command, waits for it with os.wait4 and prints the wall
# time and the child's rusage.  Linux charges a child, at exec, the peak RSS of the process image it replaces (the
# spawning process's peak, with vfork/posix_spawn); spawning from this launcher (peak ~8 MiB) instead of from the
# runner keeps the runner's own memory out of the numbers.  ``rss_floor_mib`` in the results is what /bin/true
# reports through it.
LAUNCHER = r"""
import os, sys, time
out, err = sys.argv[1], sys.argv[2]
cmd = sys.argv[3:]
fa = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
      (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
      (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
t0 = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=fa)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
print(wall, ru.ru_maxrss, os.waitstatus_to_exitcode(status), ru.ru_utime, ru.ru_stime)
"""


def measure(cmd: list[str], stdout_path: str = os.devnull, stderr_path: str | None = None) -> dict:
    """Run *cmd* (stdout to *stdout_path*); wall time (s), peak RSS (MiB, the child's ru_maxrss from wait4), exit
    status, CPU times, stderr tail on failure."""
    err = stderr_path or os.devnull
    r = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, stdout_path, err] + cmd, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"launcher failed for {cmd}: {r.stderr.strip()[-1000:]}")
    wall, maxrss, status, utime, stime = r.stdout.split()
    status = int(status)
    tail = ""
    if stderr_path and status != 0:
        with open(stderr_path, "rb") as f:
            tail = f.read()[-2000:].decode("utf-8", "replace")
    return {"seconds": float(wall), "rss_mib": int(maxrss) / 1024, "status": status, "user": float(utime),
            "sys": float(stime), "stderr": tail}


def alternate(commands: dict[str, list[str]], capture: Path, runs: int, after=None) -> dict[str, list[dict]]:
    """Run each of *commands* on *capture* (warmed first) *runs* times, alternating (A B A B ...) so both see the
    same load; ``after(name)`` runs after each command.  Exits naming the command when one fails."""
    results: dict[str, list] = {name: [] for name in commands}
    warm(capture)
    for _ in range(runs):
        for name, cmd in commands.items():
            r = measure(cmd)
            if r["status"] != 0:
                raise SystemExit(f"{name} failed on {capture}: status {r['status']}")
            results[name].append(r)
            if after is not None:
                after(name)
    return results


def wsdissect_cmd() -> list[str]:
    exe = shutil.which("wsdissect")
    return [exe] if exe else [sys.executable, "-m", "wsdissect"]


def warm(path: Path) -> None:
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(8 << 20)
        while f.readinto(buf):
            pass


def ensure_capture(out_dir: Path, mix: str, size: str, seed: int, conns: int, log) -> Path:
    path = out_dir / f"{mix}-{size}-s{seed}.pcap"
    exp = Path(str(path) + ".expected.json")
    if path.exists() and exp.exists():
        return path
    log(f"generating {path} ...")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmarks.gen_capture", "--size", size, "--mix", mix, "--seed", str(seed),
                    "--conns", str(conns), "-o", str(path)], check=True, cwd=ROOT)
    log(f"  generated in {time.perf_counter() - t0:.1f} s")
    return path


def check_output(out: Path, capture: Path) -> dict:
    r = subprocess.run([sys.executable, str(HERE / "check_export.py"), str(out), str(capture) + ".expected.json"],
                       capture_output=True, text=True)
    try:
        res = json.loads(r.stdout)
    except ValueError:
        res = {"ok": False, "error": (r.stdout + r.stderr)[-2000:]}
    return res


def source_fingerprint() -> str:
    """SHA-256 (first 12 hex digits) of wsdissect's *.py sources: shows whether the code changed during a run."""
    import hashlib

    h = hashlib.sha256()
    pkg = ROOT / "wsdissect"
    for p in sorted(pkg.rglob("*.py")):
        h.update(str(p.relative_to(pkg)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# -- the benchmark -------------------------------------------------------------------------------------------------
def bench_capture(capture: Path, mix: str, runs: int, out_dir: Path, check: str, use_tshark: bool, log) -> dict:
    exp = json.loads(Path(str(capture) + ".expected.json").read_text())
    size = capture.stat().st_size
    out = out_dir / f"out-{capture.stem}.jsonl"
    errf = str(out_dir / "stderr.txt")
    ws_runs, ts_runs, checks = [], [], []
    log(f"{capture.name}: {size / 1e6:.1f} MB, {exp['packets']} packets, {exp['connections']} connections, "
        f"{exp['data_messages']} data messages")
    warm(capture)
    src = source_fingerprint()
    for i in range(runs):
        log(f"  load average before run {i + 1}: {os.getloadavg()[0]:.2f}")
        r = measure(wsdissect_cmd() + ["export", str(capture), "--format", "jsonl", "-o", str(out),
                                       "--expert", "none"], stderr_path=errf)
        r["loadavg_after"] = os.getloadavg()[0]
        ws_runs.append(r)
        log(f"  run {i + 1}/{runs} wsdissect {r['seconds']:.2f} s, {r['rss_mib']:.0f} MiB, exit {r['status']}")
        if r["status"] != 0:
            log("    wsdissect failed: " + r["stderr"].strip().replace("\n", "\n    "))
            checks.append({"ok": False, "error": f"exit status {r['status']}"})
        elif check == "all" or (check == "first" and i == 0):
            c = check_output(out, capture)
            checks.append(c)
            if not c["ok"]:
                log("    CHECK FAILED: " + json.dumps(c)[:3000])
        if out.exists():
            r["output_bytes"] = out.stat().st_size
            out.unlink()
        if use_tshark:
            r = measure(["tshark", "-r", str(capture), "-Y", "websocket"] + TSHARK_FIELDS, stderr_path=errf)
            r["loadavg_after"] = os.getloadavg()[0]
            ts_runs.append(r)
            log(f"  run {i + 1}/{runs} tshark    {r['seconds']:.2f} s, {r['rss_mib']:.0f} MiB, exit {r['status']}")
            if r["status"] != 0:
                log("    tshark failed: " + r["stderr"].strip()[-500:])
    ws_t = median([r["seconds"] for r in ws_runs])
    ts_t = median([r["seconds"] for r in ts_runs])
    ws_cpu = median([r["user"] + r["sys"] for r in ws_runs])
    ts_cpu = median([r["user"] + r["sys"] for r in ts_runs])
    return {
        "mix": mix, "capture": capture.name, "bytes": size, "packets": exp["packets"],
        "connections": exp["connections"], "data_messages": exp["data_messages"],
        "payload_bytes": exp["payload_bytes"],
        "wsdissect": {"runs": ws_runs, "median_s": ws_t, "mb_s": size / 1e6 / ws_t,
                      "msgs_s": exp["data_messages"] / ws_t, "median_cpu_s": ws_cpu,
                      "peak_rss_mib": max(r["rss_mib"] for r in ws_runs)},
        "tshark": {"runs": ts_runs, "median_s": ts_t, "mb_s": size / 1e6 / ts_t if ts_runs else None,
                   "median_cpu_s": ts_cpu,
                   "peak_rss_mib": max((r["rss_mib"] for r in ts_runs), default=None)} if use_tshark else None,
        "ratio": ts_t / ws_t if ts_runs else None,
        "cpu_ratio": ts_cpu / ws_cpu if ts_runs else None,
        "correct": bool(checks) and all(c["ok"] for c in checks),
        "checked_runs": len(checks),
        "checks": checks,
        "tool_failed": any(r["status"] != 0 for r in ws_runs + ts_runs),
        "wsdissect_source": src if src == source_fingerprint() else f"{src} (changed during the runs!)",
    }


def bench_startup(out_dir: Path, n: int, use_tshark: bool, log) -> dict:
    tiny = ensure_capture(out_dir, "small", "50K", 1, 4, log)
    out = out_dir / "out-tiny.jsonl"
    res = {"tiny_capture_bytes": tiny.stat().st_size}
    cases = {"wsdissect --help": wsdissect_cmd() + ["--help"],
             "wsdissect export (tiny capture)": wsdissect_cmd() + ["export", str(tiny), "--format", "jsonl", "-o",
                                                                   str(out), "--expert", "none"]}
    if use_tshark:
        cases["tshark (tiny capture)"] = ["tshark", "-r", str(tiny), "-Y", "websocket"] + TSHARK_FIELDS
    for name, cmd in cases.items():
        rs = [measure(cmd) for _ in range(n)]
        res[name] = {"median_s": median([r["seconds"] for r in rs]), "peak_rss_mib": max(r["rss_mib"] for r in rs),
                     "status": sorted({r["status"] for r in rs})}
        log(f"start-up: {name}: median {res[name]['median_s'] * 1000:.0f} ms, {res[name]['peak_rss_mib']:.0f} MiB")
    c = check_output(out, tiny) if out.exists() else {"ok": False}
    res["tiny_correct"] = c["ok"]
    if out.exists():
        out.unlink()
    return res


def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        ts = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        ts = None
    try:
        ws = subprocess.run(wsdissect_cmd() + ["--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        ws = None
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "wsdissect"],
                               capture_output=True, text=True).stdout.strip()
        head += " (wsdissect/ has uncommitted changes)" if dirty else ""
    except OSError:
        head = None
    return {"git": head, "wsdissect_source": source_fingerprint(), "nproc": os.cpu_count(), "memory": mem,
            "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "tshark": ts, "wsdissect": ws}


# -- output ------------------------------------------------------------------------------------------------------
HEAD = ["mix", "size MB", "wsdissect s", "wsdissect MB/s", "wsdissect msg/s", "tshark s", "tshark MB/s",
        "ratio tshark/wsdissect", "CPU-time ratio", "wsdissect peak RSS MiB", "tshark peak RSS MiB", "correct"]


def rows(results: list[dict]) -> list[list[str]]:
    out = []
    for r in results:
        w, t = r["wsdissect"], r["tshark"]
        out.append([r["mix"], f"{r['bytes'] / 1e6:.0f}", f"{w['median_s']:.2f}", f"{w['mb_s']:.1f}",
                    f"{w['msgs_s']:,.0f}", f"{t['median_s']:.2f}" if t else "-", f"{t['mb_s']:.1f}" if t else "-",
                    f"{r['ratio']:.2f}x" if r["ratio"] else "-", f"{r['cpu_ratio']:.2f}x" if r["ratio"] else "-",
                    f"{w['peak_rss_mib']:.0f}",
                    f"{t['peak_rss_mib']:.0f}" if t else "-", "OK" if r["correct"] else "FAIL"])
    return out


def table(results: list[dict], markdown: bool) -> str:
    rs = rows(results)
    if markdown:
        lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(HEAD)))
                 + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rs]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rs)) for i, h in enumerate(HEAD)]
    fmt = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa
    return "\n".join([fmt(HEAD), fmt(["-" * w for w in widths])] + [fmt(r) for r in rs])


def startup_table(s: dict, markdown: bool) -> str:
    names = [k for k in s if isinstance(s[k], dict)]
    if markdown:
        lines = ["| command | median wall time (ms) | peak RSS MiB |", "|---|---:|---:|"]
        lines += [f"| `{k}` | {s[k]['median_s'] * 1000:.0f} | {s[k]['peak_rss_mib']:.0f} |" for k in names]
    else:
        lines = [f"{k:<34} {s[k]['median_s'] * 1000:8.0f} ms  {s[k]['peak_rss_mib']:5.0f} MiB" for k in names]
    return "\n".join(lines)


def report(doc: dict, markdown: bool) -> None:
    print(table(doc["results"], markdown))
    if doc.get("startup"):
        print()
        print(startup_table(doc["startup"], markdown))
    print()
    note = (f"Medians of {doc['runs']} runs (alternating wsdissect/tshark); ratio = median tshark wall time / "
            f"median wsdissect wall time; CPU-time ratio = the same with user+sys CPU time (less sensitive to other "
            f"load); MB = 10^6 bytes; peak RSS = max ru_maxrss over the runs (floor of the method, /bin/true: "
            f"{doc['rss_floor_mib']:.0f} MiB).")
    print(note if not markdown else f"_{note}_")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", default=["200M"], help="capture sizes (default 200M)")
    ap.add_argument("--mix", action="append", choices=MIXES, help="mix to run (repeatable; default all three)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each tool per capture (default 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--conns", type=int, default=100, help="concurrent connections in generated captures")
    ap.add_argument("--out-dir", default=str(ROOT / "bench-out"), help="capture cache and outputs (bench-out/)")
    ap.add_argument("--check", choices=["all", "first", "none"], default="all",
                    help="which wsdissect runs to check against the expected results (default all)")
    ap.add_argument("--no-tshark", action="store_true", help="run wsdissect only")
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up measurements")
    ap.add_argument("--startup-runs", type=int, default=10)
    ap.add_argument("--delete-captures", action="store_true", help="delete each capture after benchmarking it")
    ap.add_argument("--results", help="where to write the raw results JSON (default OUT_DIR/results.json)")
    ap.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    ap.add_argument("--show", metavar="RESULTS_JSON", help="print the tables of a saved results file and exit")
    a = ap.parse_args(argv)
    if a.show:
        report(json.loads(Path(a.show).read_text()), a.markdown)
        return 0
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_tshark = not a.no_tshark
    if use_tshark and not shutil.which("tshark"):
        print("run_benchmark: tshark not found (use --no-tshark)", file=sys.stderr)
        return 2
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    mixes = a.mix or list(MIXES)
    info = machine()
    log(f"machine: {info}")
    results = []
    for size in a.sizes:
        parse_size(size)
        for mix in mixes:
            cap = ensure_capture(out_dir, mix, size, a.seed, a.conns, log)
            results.append(bench_capture(cap, mix, a.runs, out_dir, a.check, use_tshark, log))
            if a.delete_captures:
                cap.unlink()
    startup = None if a.no_startup else bench_startup(out_dir, a.startup_runs, use_tshark, log)
    floor = measure(["true"])["rss_mib"]
    runner_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    doc = {"machine": info, "argv": sys.argv, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": a.runs,
           "results": results, "startup": startup, "runner_peak_rss_mib": runner_rss,
           "rss_floor_mib": floor}
    Path(a.results or out_dir / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    report(doc, a.markdown)
    if any(r["tool_failed"] for r in results):
        return 2
    if not all(r["correct"] for r in results) or (startup and not startup["tiny_correct"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
