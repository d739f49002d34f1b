#!/usr/bin/env python3
"""How many WebSocket messages per second ``wsdissect live`` keeps up with on loopback, and its memory (issue 6).

Needs root (or CAP_NET_RAW), Linux, libpcap (scapy compiles the BPF filter with it) and the ``websockets``
package.  All traffic is on 127.0.0.1.  Results and how to read them: docs/live.md.

    python benchmarks/live_rate.py sweep                          # views export, list, messages; 250..40k msg/s
    python benchmarks/live_rate.py sweep --views export --rates 1000,2000,3000 --seconds 10 --nice -10
    python benchmarks/live_rate.py longrun --rate 1500 --minutes 5 --clients 4   # steady rate + connection churn
    python benchmarks/live_rate.py loadgen --port P --rate R ...  # the load generator alone (used by the above)

**sweep** -- for each view and each target rate (application messages per second, client to server; the server
echoes every message, so the wire carries twice as many WebSocket messages):

  1. start ``wsdissect live -i lo -f 'tcp port P' ...`` (stdout to /dev/null) and wait for "Capturing on";
  2. run the load generator (a separate process: an asyncio ``websockets`` echo server and ``--clients`` clients
     in one event loop, JSON text messages of ``--size`` (150) bytes, paced to the target rate for ``--seconds``;
     no compression unless ``--deflate``; no keepalive pings).  Its *achieved* rate counts messages sent and
     echoed back within the time it took, so a generator that cannot keep up reports less than the target;
  3. wait until wsdissect has drained its socket (nothing queued, no CPU used for 0.5 s).  The *drain* time says
     how far behind it was when the load stopped;
  4. read its VmHWM (/proc/PID/status), send SIGINT, parse the summary line ("N packets captured, D dropped by
     the kernel, C connections, M messages") and, when exporting, count the exported message records.

While it runs, every second: wsdissect's VmRSS and CPU time (/proc/PID/status, /proc/PID/stat), the bytes queued
on its packet socket (the ``Rmem`` column of /proc/net/packet, matched by socket inode) and the machine's busy CPU
(/proc/stat).  Before each step the machine's busy CPU is measured for 1 s with nothing of ours running ("other
jobs CPU"); ``--wait-quiet S`` waits up to S s for it to drop below 10 %, ``--nice N`` runs everything at nice N
*and* sets this session's scheduler autogroup nice (with autogroups, CPU is shared between sessions first, so a
plain nice does not put the benchmark ahead of jobs started from other sessions); the old value is restored.

Views: ``export`` = ``--export FILE -q`` (messages counted in FILE; ``-q`` does not silence the live packet list,
which is still rendered to /dev/null), ``list`` = the default packet list, ``messages`` = ``--messages``; for
these two the count is the summary's message count minus the two close messages of each connection.
``export-noview`` is a diagnostic: the same CLI and options as ``export`` with the packet list's rendering
replaced by a no-op in-process (live has no option for that), to show what rendering costs.

Verdicts: *LOSS* = the kernel dropped packets or a sent message was not decoded; *clean, lagging* = no loss, but
a backlog built up (drain > 1 s: at that rate the socket buffer would overflow a little later); *kept up* = no
loss and drained within 1 s.  The sweep stops stepping up a view at the first loss, or when the load generator
reaches less than 90 % of the target.  A table on stdout, raw numbers in ``--json``
(default ``bench-out/live_rate.json``).

**longrun** -- one wsdissect (``--export FILE -q``) for ``--minutes``: a steady total rate carried by a few
long-lived connections (``--clients``) and by ``--workers`` clients that connect, exchange ``--per-conn`` messages,
close and start again, continuously (``--churn-share`` of the rate, default half).  VmRSS/VmHWM, CPU and the socket
backlog are sampled every 10 s; raw numbers in ``--json`` (default ``bench-out/live_longrun.json``).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
SUMMARY = re.compile(r"(\d+) packets captured, (\d+) dropped by the kernel, (\d+) connections, (\d+) messages")
VIEWS = {
    "export": ["--export", "{export}", "-q"],
    "list": [],
    "messages": ["--messages"],
    "export-noview": ["--export", "{export}", "-q"],
}
# Diagnostic only: the same CLI with the packet-list view's rendering replaced by a no-op (``live`` has no option
# to turn its view off; ``-q`` does not), to show what the rendering costs.  Not something a user can run.
NOVIEW = ("import sys; from wsdissect.render import packets as p; "
          "p.PacketListView.group = p.PacketListView.end = lambda *a, **k: None; "
          "from wsdissect.cli import main; sys.argv[0] = 'wsdissect'; main()")
EXPORTING = ("export", "export-noview")
SUSTAINED_DRAIN = 1.0  # seconds


# -- the load generator (runs in its own process) ----------------------------------------------------------------

def _message(cid: int, seq: int, pad: str) -> str:
    return json.dumps({"type": "tick", "client": cid, "seq": seq, "ts": round(time.time(), 6),
                       "body": {"price": 101.25, "qty": seq % 97, "side": "buy" if seq & 1 else "sell"}, "pad": pad})


async def _loadgen(a) -> dict:
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    comp = "deflate" if a.deflate else None
    loop = asyncio.get_running_loop()
    st = {"sent": 0, "received": 0, "echoed": 0, "connections": 0, "errors": 0}
    pad = "x" * max(0, a.size - len(_message(0, 0, "")))
    uri = f"ws://127.0.0.1:{a.port}/bench"

    async def echo(ws):
        async for m in ws:
            await ws.send(m)
            st["echoed"] += 1

    async def reader(ws, box):
        async for _ in ws:
            box[0] += 1
            st["received"] += 1

    async def session(cid: int, rate: float, t0: float, t_end: float, sent_before: int, limit: int | None):
        """One connection: send paced messages until t_end (or *limit* messages), wait for the echoes, close.
        Pacing is against the client's schedule since t0, so a slow connect is caught up on."""
        box = [0]
        n = 0
        async with connect(uri, compression=comp, ping_interval=None, max_queue=None) as ws:
            st["connections"] += 1
            rt = asyncio.create_task(reader(ws, box))
            while limit is None or n < limit:
                now = loop.time()
                if now >= t_end:
                    break
                due = int((now - t0) * rate) + 1 - (sent_before + n)
                if limit is not None:
                    due = min(due, limit - n)
                for _ in range(max(0, due)):
                    await ws.send(_message(cid, sent_before + n, pad))
                    n += 1
                    st["sent"] += 1
                await asyncio.sleep(0.001)
            deadline = loop.time() + 15
            while box[0] < n and loop.time() < deadline:
                await asyncio.sleep(0.005)
            rt.cancel()
        return n

    async def steady(cid: int, rate: float, t0: float, t_end: float):
        try:
            await session(cid, rate, t0, t_end, 0, None)
        except Exception:  # noqa: BLE001
            st["errors"] += 1

    async def churn(cid: int, rate: float, t0: float, t_end: float):
        done = 0
        while loop.time() < t_end:
            try:
                done += await session(cid, rate, t0, t_end, done, a.per_conn)
            except Exception:  # noqa: BLE001
                st["errors"] += 1
                await asyncio.sleep(0.05)

    async def progress(t0: float):
        while True:
            await asyncio.sleep(a.report_every)
            print(json.dumps({"t": round(loop.time() - t0, 1), **st}), flush=True)

    async with serve(echo, "127.0.0.1", a.port, compression=comp, ping_interval=None, max_queue=None,
                     reuse_address=True):
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = loop.time() + 0.05
        t_end = t0 + a.duration
        churn_rate = a.rate * a.churn_share if a.workers else 0.0
        steady_rate = a.rate - churn_rate
        tasks = [asyncio.create_task(steady(i, steady_rate / a.clients, t0 + i * 0.0003, t_end))
                 for i in range(a.clients)]
        tasks += [asyncio.create_task(churn(a.clients + i, churn_rate / a.workers, t0 + i * 0.0003, t_end))
                  for i in range(a.workers)]
        pt = asyncio.create_task(progress(t0)) if a.report_every else None
        await asyncio.gather(*tasks)
        t_done = loop.time()
        if pt:
            pt.cancel()
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"final": True, "target_rate": a.rate, "duration": a.duration, **st,
            # every message sent *and* echoed back: a generator that falls behind takes longer than the duration
            "achieved_rate": round(st["sent"] / max(a.duration, t_done - t0), 1),
            "send_rate": round(st["sent"] / a.duration, 1), "wall": round(t_done - t0, 3),
            "cpu_s": round(cpu, 3), "cpu_pct": round(100 * cpu / max(1e-9, t_done - t0), 1),
            "msg_bytes": len(_message(0, 0, pad))}


def cmd_loadgen(a) -> None:
    res = asyncio.run(_loadgen(a))
    print(json.dumps(res), flush=True)


# -- measuring wsdissect -----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])  # kB
    except OSError:
        pass
    return out


def _cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def _machine_ticks() -> tuple[int, int]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def _socket_inodes(pid: int) -> set[int]:
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if t.startswith("socket:["):
                out.add(int(t[8:-1]))
    except OSError:
        pass
    return out


def _backlog(inodes: set[int]) -> int | None:
    """Bytes queued on the process's packet socket (``Rmem`` in /proc/net/packet)."""
    try:
        with open("/proc/net/packet") as f:
            next(f)
            for line in f:
                p = line.split()
                if len(p) >= 9 and int(p[8]) in inodes:
                    return int(p[6])
    except (OSError, ValueError):
        pass
    return None


class Sampler(threading.Thread):
    def __init__(self, pid: int, every: float, extra=None):
        super().__init__(daemon=True)
        self.pid, self.every, self.extra = pid, every, extra
        self.samples: list[dict] = []
        self.stop_ev = threading.Event()
        self.inodes = _socket_inodes(pid)
        self.t0 = time.monotonic()

    def sample(self) -> dict:
        busy, total = _machine_ticks()
        s = {"t": round(time.monotonic() - self.t0, 2), **_status(self.pid), "cpu_ticks": _cpu_ticks(self.pid),
             "backlog": _backlog(self.inodes), "machine_busy": busy, "machine_total": total}
        if self.extra is not None:
            s.update(self.extra())
        return s

    def run(self) -> None:
        while not self.stop_ev.wait(self.every):
            self.samples.append(self.sample())

    def stop(self) -> None:
        self.stop_ev.set()
        self.join()


NICE = 0


def _child_setup() -> None:
    # SIGINT back to the default in the child: a shell's background job (nohup ... &) ignores it, and Python then
    # would not turn it into KeyboardInterrupt.  --nice: a higher priority than other jobs sharing the machine.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if NICE:
        os.nice(NICE)


def start_wsdissect(port: int, view: str, export: str | None, more: list[str] = ()) -> subprocess.Popen:
    extra = [x.format(export=export) for x in VIEWS[view]] + list(more)
    entry = ["-c", NOVIEW] if view == "export-noview" else ["-m", "wsdissect"]
    cmd = [sys.executable, *entry, "live", "-i", "lo", "-f", f"tcp port {port}", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=_child_setup)
    proc.cmd = cmd  # type: ignore[attr-defined]
    line = proc.stderr.readline().decode()
    if not line.startswith("Capturing on"):
        proc.kill()
        raise SystemExit(f"wsdissect did not start: {line}{proc.stderr.read().decode()}")
    return proc


def wait_drained(pid: int, inodes: set[int], limit: float = 120.0) -> float:
    """Seconds until the packet socket is empty and the process used no CPU for 0.5 s."""
    t0 = time.monotonic()
    last = _cpu_ticks(pid)
    quiet_since = None
    while time.monotonic() - t0 < limit:
        time.sleep(0.1)
        now_ticks = _cpu_ticks(pid)
        b = _backlog(inodes)
        if now_ticks == last and not b:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 0.5:
                return round(quiet_since - t0, 2)
        else:
            quiet_since = None
        last = now_ticks
    return float("inf")


def stop_wsdissect(proc: subprocess.Popen) -> dict:
    hwm = _status(proc.pid).get("VmHWM")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    err = err.decode(errors="replace")
    m = SUMMARY.search(err)
    res = {"returncode": proc.returncode, "stop_s": round(time.monotonic() - t0, 2), "vmhwm_kb": hwm,
           "stderr": err.strip()[-4000:], "traceback": "Traceback" in err}
    if m:
        res.update(packets=int(m[1]), dropped=int(m[2]), ws_connections=int(m[3]), summary_messages=int(m[4]))
    return res


def count_export(path: str) -> dict:
    c = {"c2s": 0, "s2c": 0, "incomplete": 0, "close": 0, "other": 0, "connections": 0, "expert": 0}
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            t = r.get("type")
            if t == "message":
                if r["opcode"] == "text":
                    c["c2s" if r["direction"] == "client_to_server" else "s2c"] += 1
                    if not r.get("complete", True):
                        c["incomplete"] += 1
                elif r["opcode"] == "close":
                    c["close"] += 1
                else:
                    c["other"] += 1
            elif t == "connection":
                c["connections"] += 1
            else:
                c["expert"] += 1
                code = r.get("code", "?")
                c.setdefault("expert_codes", {})[code] = c.get("expert_codes", {}).get(code, 0) + 1
    return c


def run_loadgen(port: int, rate: float, seconds: float, a, workers: int = 0, report_every: float = 0,
                on_progress=None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "loadgen", "--port", str(port), "--rate", str(rate),
           "--duration", str(seconds), "--clients", str(a.clients), "--size", str(a.size),
           "--workers", str(workers), "--per-conn", str(getattr(a, "per_conn", 20)),
           "--churn-share", str(getattr(a, "churn_share", 0.5)), "--report-every", str(report_every)]
    if a.deflate:
        cmd.append("--deflate")
    if a.pin_loadgen is not None:
        cmd = ["taskset", "-c", a.pin_loadgen, *cmd]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_child_setup)
    final = None
    for line in p.stdout:
        d = json.loads(line)
        if d.get("final"):
            final = d
        elif on_progress:
            on_progress(d)
    err = p.stderr.read()
    p.wait()
    if final is None:
        raise SystemExit(f"load generator failed ({p.returncode}):\n{err}")
    return final


def background_busy(seconds: float = 1.0) -> float:
    """The machine's busy CPU % over *seconds* (nothing of ours running): other jobs competing for the cores."""
    b0, t0 = _machine_ticks()
    time.sleep(seconds)
    b1, t1 = _machine_ticks()
    return round(100 * (b1 - b0) / max(1, t1 - t0), 1)


def wait_quiet(limit: float, threshold: float = 10.0) -> float:
    """Wait up to *limit* seconds for the machine to be idle (busy < threshold %); the last busy % measured."""
    t_end = time.monotonic() + limit
    while True:
        busy = background_busy()
        if busy < threshold or time.monotonic() >= t_end:
            return busy
        time.sleep(4)


def measure(view: str, rate: float, seconds: float, a, workers: int = 0, sample_every: float = 1.0,
            report_every: float = 0) -> dict:
    bg = wait_quiet(a.wait_quiet)
    if bg >= 10:
        print(f"  (warning: the machine is already {bg:.0f}% busy with other jobs)", flush=True)
    port = _free_port()
    tmpdir = a.tmpdir or tempfile.gettempdir()
    export = os.path.join(tmpdir, f"wsd-live-{port}.jsonl") if view in EXPORTING else None
    if export and os.path.exists(export):
        os.unlink(export)
    proc = start_wsdissect(port, view, export, ["--idle-timeout", str(a.idle_timeout)] if a.idle_timeout else [])
    if a.pin_wsdissect is not None:
        subprocess.run(["taskset", "-pc", a.pin_wsdissect, str(proc.pid)], check=True, capture_output=True)
    time.sleep(0.3)
    gen_state: dict = {}
    sampler = Sampler(proc.pid, sample_every, extra=lambda: {"gen": dict(gen_state)} if report_every else {})
    sampler.start()
    rss_start = _status(proc.pid).get("VmRSS")
    cpu0, (mb0, mt0), t0 = _cpu_ticks(proc.pid), _machine_ticks(), time.monotonic()
    try:
        gen = run_loadgen(port, rate, seconds, a, workers, report_every, on_progress=gen_state.update)
        t_gen = time.monotonic()
        cpu_gen, (mb1, mt1) = _cpu_ticks(proc.pid), _machine_ticks()
        drain = wait_drained(proc.pid, sampler.inodes)
        t1, cpu1 = time.monotonic(), _cpu_ticks(proc.pid)
    finally:
        sampler.stop()
        if proc.poll() is None:
            stop = stop_wsdissect(proc)
        else:
            _, err = proc.communicate()
            stop = {"returncode": proc.returncode, "stderr": err.decode(errors="replace"), "traceback": True}
    res = {"view": view, "target_rate": rate, "seconds": seconds, "port": port, "cmd": " ".join(proc.cmd),
           "background_busy_pct": bg,
           "gen": gen, "drain_s": drain, **stop, "rss_start_kb": rss_start,
           "wsd_cpu_pct": round(100 * (cpu1 - cpu0) / CLK_TCK / max(1e-9, t1 - t0), 1),
           "wsd_cpu_pct_during_load": round(100 * (cpu_gen - cpu0) / CLK_TCK / max(1e-9, t_gen - t0), 1),
           "machine_busy_pct": round(100 * (mb1 - mb0) / max(1, mt1 - mt0), 1),
           "rss_peak_sampled_kb": max((s.get("VmRSS", 0) for s in sampler.samples), default=None),
           "backlog_peak": max((s.get("backlog") or 0 for s in sampler.samples), default=0),
           "samples": sampler.samples}
    expected_text = gen["sent"] + gen["echoed"]
    if export:
        c = count_export(export)
        res["export"] = c
        res["decoded"] = c["c2s"] + c["s2c"]
        res["lost"] = (gen["sent"] - c["c2s"]) + (gen["echoed"] - c["s2c"])
        res["export_bytes"] = os.path.getsize(export)
        if not a.keep:
            os.unlink(export)
    elif "summary_messages" in res:
        # the summary counts every message: the text ones plus a close each way per connection
        res["decoded"] = res["summary_messages"] - 2 * gen["connections"]
        res["lost"] = expected_text - res["decoded"]
    res["expected"] = expected_text
    res["clean"] = (res.get("dropped") == 0 and res.get("lost") == 0 and res.get("returncode") == 0
                    and not res.get("traceback"))
    # kept up: clean, and nothing left to catch up on when the load stopped (a backlog that grows during the step
    # means the socket buffer would overflow a little later)
    res["kept_up"] = res["clean"] and res["drain_s"] <= SUSTAINED_DRAIN
    return res


# -- sweep -------------------------------------------------------------------------------------------------------

def _n(v) -> str:
    return "-" if v is None else f"{v:,}"


def _mib(kb) -> str:
    return f"{kb / 1024:.1f}" if kb else "-"


ROW = ("| {view} | {bg:.0f}% | {target_rate:,.0f} | {achieved:,.0f} | {gen_cpu:.0f}% | {sent:,} | {expected:,} | "
       "{decoded} | {dropped} | {cpu:.0f}% | {drain} | {backlog} | {rss} | {clean} |")
HEAD = ("| view | other jobs CPU | target msg/s | achieved msg/s | loadgen CPU | sent | expected (x2 echo) | decoded | "
        "kernel drops | wsdissect CPU | drain s | peak backlog KiB | peak RSS MiB | result |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def row(r: dict) -> str:
    g = r["gen"]
    verdict = "kept up" if r["kept_up"] else "clean, lagging" if r["clean"] else "**LOSS**"
    return ROW.format(view=r["view"], bg=r["background_busy_pct"], target_rate=r["target_rate"],
                      achieved=g["achieved_rate"], gen_cpu=g["cpu_pct"], sent=g["sent"], expected=r["expected"],
                      decoded=_n(r.get("decoded")), dropped=_n(r.get("dropped")), cpu=r["wsd_cpu_pct"],
                      drain=r["drain_s"], backlog=f"{r['backlog_peak'] // 1024:,}", rss=_mib(r.get("vmhwm_kb")),
                      clean=verdict)


def _best(r: dict | None) -> dict | None:
    return r and {"target": r["target_rate"], "achieved": r["gen"]["achieved_rate"], "drain_s": r["drain_s"],
                  "cpu_pct": r["wsd_cpu_pct"], "vmhwm_kb": r.get("vmhwm_kb")}


def cmd_sweep(a) -> None:
    rates = [float(x) for x in a.rates.split(",")]
    out = {"machine": {"nproc": os.cpu_count(), "kernel": os.uname().release, "python": sys.version.split()[0]},
           "args": {k: v for k, v in vars(a).items() if k != "func"}, "steps": [], "max_clean": {},
           "max_kept_up": {}}
    print(HEAD, flush=True)
    for view in a.views.split(","):
        clean = kept = None
        for rate in rates:
            r = measure(view, rate, a.seconds, a)
            out["steps"].append(r)
            print(row(r), flush=True)
            if r.get("traceback") or r.get("returncode") not in (0, None):
                print(f"  !! wsdissect failed: {r['stderr'][-2000:]}", flush=True)
            if r["clean"]:
                clean = r
            if r["kept_up"]:
                kept = r
            if not r["clean"]:
                break
            if r["gen"]["achieved_rate"] < 0.9 * rate:
                print(f"  (load generator reached only {r['gen']['achieved_rate']:,.0f} of {rate:,.0f} msg/s: "
                      "stopping)", flush=True)
                break
        out["max_clean"][view], out["max_kept_up"][view] = _best(clean), _best(kept)
    print("\nhighest rates (application msg/s, client to server; the echo doubles them on the wire):", flush=True)
    for view in out["max_clean"]:
        c, k = out["max_clean"][view], out["max_kept_up"][view]
        print(f"  {view}: kept up (no loss, drained within {SUSTAINED_DRAIN:g} s) at "
              + (f"{k['achieved']:,.0f}" if k else "none") + "; no loss in a "
              f"{a.seconds:g} s step at " + (f"{c['achieved']:,.0f} (drain {c['drain_s']} s)" if c else "none"),
              flush=True)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(out, indent=1))
    print(f"raw results: {a.json}")


# -- long run ----------------------------------------------------------------------------------------------------

def cmd_longrun(a) -> None:
    r = measure("export", a.rate, a.minutes * 60, a, workers=a.workers, sample_every=10.0, report_every=10.0)
    print("| t (s) | VmRSS MiB | VmHWM MiB | backlog KiB | wsdissect CPU (last 10 s) | sent | connections |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    prev = None
    for s in r["samples"]:
        cpu = "-" if prev is None else \
            f"{100 * (s['cpu_ticks'] - prev['cpu_ticks']) / CLK_TCK / (s['t'] - prev['t']):.0f}%"
        g = s.get("gen", {})
        print(f"| {s['t']:.0f} | {_mib(s.get('VmRSS'))} | {_mib(s.get('VmHWM'))} | {(s.get('backlog') or 0) // 1024:,} "
              f"| {cpu} | {_n(g.get('sent'))} | {_n(g.get('connections'))} |")
        prev = s
    g = r["gen"]
    print(f"\nload: target {a.rate:,.0f} msg/s, achieved {g['achieved_rate']:,.0f}; sent {g['sent']:,}, echoed "
          f"{g['echoed']:,}, connections {g['connections']:,}, loadgen errors {g['errors']}, loadgen CPU "
          f"{g['cpu_pct']}%")
    print(f"wsdissect: {_n(r.get('packets'))} packets, {r.get('dropped', '?')} dropped by the kernel, "
          f"decoded {_n(r.get('decoded'))} of {r['expected']:,} text messages (lost {r.get('lost')}), export "
          f"{r.get('export')}, CPU {r['wsd_cpu_pct']}%, RSS at start {_mib(r['rss_start_kb'])} MiB, VmHWM "
          f"{_mib(r.get('vmhwm_kb'))} MiB, drain {r['drain_s']} s, exit {r.get('returncode')}")
    print(f"summary line: {r['stderr'].splitlines()[-1] if r['stderr'] else ''}")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(r, indent=1))
    print(f"raw results: {a.json}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(required=True)

    def common(p):
        p.add_argument("--clients", type=int, default=8, help="long-lived client connections (default 8)")
        p.add_argument("--size", type=int, default=150, help="bytes per JSON message (default 150)")
        p.add_argument("--deflate", action="store_true", help="negotiate permessage-deflate")

    def driver(p):
        common(p)
        p.add_argument("--pin-wsdissect", metavar="CPUS", help="taskset wsdissect to these CPUs")
        p.add_argument("--pin-loadgen", metavar="CPUS", help="taskset the load generator to these CPUs")
        p.add_argument("--tmpdir", help="where the export file goes (default: the temp dir)")
        p.add_argument("--keep", action="store_true", help="keep the export files")
        p.add_argument("--nice", type=int, default=0, metavar="N",
                       help="run wsdissect and the load generator at nice N (e.g. -10: ahead of other jobs)")
        p.add_argument("--idle-timeout", type=float, help="pass --idle-timeout S to wsdissect (its default: 300)")
        p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                       help="before each measurement wait up to S seconds for other jobs to leave the CPUs idle")

    p = sub.add_parser("sweep", help="step the rate up per view")
    driver(p)
    p.add_argument("--views", default="export,list,messages", help="comma-separated: " + ", ".join(VIEWS))
    p.add_argument("--rates", default="250,500,1000,2000,3000,4000,5000,6000,8000,10000,15000,20000,30000,40000")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--json", default=str(ROOT / "bench-out" / "live_rate.json"))
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("longrun", help="steady rate with connection churn, RSS every 10 s")
    driver(p)
    p.add_argument("--rate", type=float, required=True, help="total application msg/s")
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=10, help="short-lived connection workers (default 10)")
    p.add_argument("--per-conn", type=int, default=20, help="messages per short-lived connection (default 20)")
    p.add_argument("--churn-share", type=float, default=0.5, help="share of the rate on short-lived connections")
    p.add_argument("--json", default=str(ROOT / "bench-out" / "live_longrun.json"))
    p.set_defaults(func=cmd_longrun)

    p = sub.add_parser("loadgen", help="the load generator alone: echo server + clients, JSON result on stdout")
    common(p)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--per-conn", type=int, default=20)
    p.add_argument("--churn-share", type=float, default=0.5)
    p.add_argument("--report-every", type=float, default=0)
    p.set_defaults(func=cmd_loadgen)

    a = ap.parse_args()
    global NICE
    NICE = getattr(a, "nice", 0)
    old = _autogroup_nice(NICE) if NICE else None
    try:
        a.func(a)
    finally:
        if old is not None:
            _autogroup_nice(old)


def _autogroup_nice(n: int) -> int | None:
    """Set this session's scheduler autogroup nice (Linux CONFIG_SCHED_AUTOGROUP); the old value.  With autogroups
    the CPU is shared between sessions first, so a per-process nice alone does not put this benchmark ahead of
    jobs started from other sessions."""
    try:
        with open("/proc/self/autogroup") as f:
            old = int(f.read().split("nice")[1])
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(n))
        return old
    except (OSError, ValueError, IndexError):
        return None


if __name__ == "__main__":
    main()
