#!/usr/bin/env python3
"""Run a time-bounded, seeded mutation-fuzzing campaign against wsdissect's whole pipeline.

    python -m fuzz.run_fuzz --seconds 120 --seed 1            # short campaign, 2 worker processes
    python -m fuzz.run_fuzz --seconds 2400 --seed 7 --json stats.json
    python -m fuzz.run_fuzz --replay fuzz/crashes/<hash>.pcap   # run one saved input and print the outcome

Every input goes through ``wsdissect.run.dissect_files`` (the one driver) with ``Options(packets=True, frames=True)`` (so every
event type is built) and every event through the ``wsdissect.export.records`` functions and ``orjson``; then once
more the way ``export`` runs it (no frame events, so the C fast lane decodes when it is built, and
``RecordWriter.events`` encodes), which must give the same messages, findings and connection ends
(``PathMismatch`` otherwise).

What counts as a failure:

- *crash*: any exception other than ``wsdissect.errors.CaptureError``, or a ``Finding`` with code ``internal``
  (the pipeline's conversion of a stage exception: the original traceback is captured by wrapping
  ``Connection.segment`` in the worker process);
- *oom*: a ``MemoryError`` under the worker's ``RLIMIT_AS`` (``--mem-limit``, default 4 GiB);
- *hang*: an input still running after ``--timeout`` seconds (default 5, ``SIGALRM`` inside the worker), confirmed
  by a second run; a worker stuck in C code past three times that is killed by the parent.

Each distinct failure (by signature: kind, exception type and the innermost wsdissect function) is minimized
(records first, then bytes, within a small time budget) and saved as ``<out>/<sha1>.pcap`` with ``<sha1>.txt``
(traceback, seed, mutation steps, options) and ``<sha1>.json`` (options, signature) beside it.  Exit status 1 when
any crash, oom or hang was found (``--known`` lists signatures to tolerate), else 0.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing as mp
import os
import queue as queue_mod
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field

from fuzz.mutate import load_seeds, make_input, parse_capture, write

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

DEFAULT_OUT = os.path.join(HERE, "crashes")
FAIL_KINDS = ("crash", "internal", "oom", "hang")


class Hang(BaseException):
    """Raised by SIGALRM inside a running input (a BaseException so the pipeline's ``except Exception`` lets it
    through)."""


@dataclass
class Outcome:
    kind: str  # "ok", "crash" (exception), "internal" (internal finding), "oom", "hang"
    signature: str = ""
    text: str = ""  # traceback or finding message
    seconds: float = 0.0
    peak_kb: int = 0  # peak resident memory growth while this input ran
    events: int = 0
    rss_kb: int = 0  # the worker's peak resident set size while this input ran

    @property
    def failed(self) -> bool:
        return self.kind != "ok"


# ---------------------------------------------------------------------------------------------------------------
# Running one input
# ---------------------------------------------------------------------------------------------------------------
_INTERNAL: list = []  # (exception, formatted traceback) of stage exceptions the pipeline turned into findings
_tracer_installed = False


def install_tracer() -> None:
    """Wrap ``Connection.segment`` so the traceback behind an ``internal`` finding is kept (runtime only)."""
    global _tracer_installed
    if _tracer_installed:
        return
    from wsdissect import connection

    original = connection.Connection.segment

    def segment(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except Exception as e:  # noqa: BLE001 - recorded, then re-raised for the pipeline to handle
            _INTERNAL.append((e, traceback.format_exc()))
            raise

    segment.__wrapped__ = original  # type: ignore[attr-defined]
    connection.Connection.segment = segment
    _tracer_installed = True


def _where(tb) -> str:
    """``file:function`` of the innermost wsdissect frame of a traceback (``harness`` if none)."""
    frames = traceback.extract_tb(tb)
    for fr in reversed(frames):
        path = fr.filename.replace(os.sep, "/")
        if "/wsdissect/" in path:
            rel = path.split("/wsdissect/")[-1]
            return f"wsdissect/{rel}:{fr.name}"
    return "harness"


class ExportError(Exception):
    """A record the exporters built cannot be serialized (as ``RecordWriter`` would find)."""


class PathMismatch(Exception):
    """The export path (C fast lane and encoder, when built) decoded an input differently from the view path."""


def _hang_where(tb) -> str:
    """Where a hang was interrupted: the innermost wsdissect file and its run of functions (outer>inner)."""
    frames = [fr for fr in traceback.extract_tb(tb) if "/wsdissect/" in fr.filename.replace(os.sep, "/")]
    if not frames:
        return "harness"
    inner = frames[-1].filename
    run = []
    for fr in reversed(frames):
        if fr.filename != inner:
            break
        run.append(fr.name)
    rel = inner.replace(os.sep, "/").split("/wsdissect/")[-1]
    return f"wsdissect/{rel}:{'>'.join(reversed(run))}"


def signature_of(kind: str, exc: BaseException) -> str:
    if isinstance(exc, ExportError):
        return f"{kind}:{type(exc.__cause__).__name__}@export:{str(exc).split(':')[0]}"
    return f"{kind}:{type(exc).__name__}@{_where(exc.__traceback__)}"


def _maxrss_kb() -> int:
    """Peak resident set size (KiB) since the last :func:`_reset_hwm` (Linux resets it via clear_refs)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _on_alarm(signum, frame):
    raise Hang()


def in_packet_order(events: list) -> list:
    """*events* grouped by the packet they belong to, stably: the view path hands events decoded late from held
    bytes on with their own packets (wsdissect.run.regroup), the export path as they are decoded; within a packet
    and connection both keep the decoding order."""
    from wsdissect.run.regroup import event_frame

    def key(ev) -> tuple[int, int]:
        frame = event_frame(ev)
        conn = getattr(ev, "conn", None)
        return (ev.last_frame if frame is None else frame), (-1 if conn is None else conn.index)
    return sorted(events, key=key)


def execute(data: bytes, options: dict | None = None, path: str | None = None, timeout: float = 5.0,
            measure: bool = True) -> Outcome:
    """Run the whole pipeline and the exporters over one input; classify what happened."""
    import orjson

    from wsdissect.errors import CaptureError
    from wsdissect.events import ConnectionEnd, Finding, Message
    from wsdissect.export.records import connection_record, expert_record, is_exported_connection, message_record
    from wsdissect.export.writer import RecordWriter
    from wsdissect.options import Options
    from wsdissect.run import dissect_files

    install_tracer()
    own = path is None
    if own:
        fd, path = tempfile.mkstemp(prefix="wsfuzz-", suffix=".pcap")
        os.close(fd)
    with open(path, "wb") as f:
        f.write(data)
    opts = dict(options or {})
    if "decode_as" in opts:
        opts["decode_as"] = frozenset(opts["decode_as"])
    if "tls_keylog" in opts:  # a wss:// seed: decrypt with its key log (the CLI's one loader)
        from wsdissect.options import load_tls_keys
        opts["tls_keys"] = load_tls_keys(opts.pop("tls_keylog")).keylog
    del _INTERNAL[:]
    base = 0
    if measure and _reset_hwm():
        base = _maxrss_kb()
    use_alarm = timeout and timeout > 0 and hasattr(signal, "setitimer")
    old = None
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    t0 = time.perf_counter()
    out = Outcome("ok")
    internal_msg = None
    n = 0
    seen: list = []  # the view path's messages, findings and connection ends
    KEPT = (Message, Finding, ConnectionEnd)
    try:
        try:
            for ev in dissect_files([path], Options(packets=True, frames=True, **opts)):
                n += 1
                cls = ev.__class__
                if cls is Message:
                    rec = message_record(ev)
                elif cls is ConnectionEnd:
                    is_exported_connection(ev)
                    rec = connection_record(ev)
                elif cls is Finding:
                    rec = expert_record(ev)
                    if ev.code == "internal" and internal_msg is None:
                        internal_msg = ev.message
                else:
                    continue
                try:
                    orjson.dumps(rec)
                except TypeError as e:  # what RecordWriter would hit: name the record, not the harness
                    raise ExportError(f"orjson.dumps({rec['type']} record): {e}") from e
                seen.append(ev)
            # The export path: without WsFrame events the C fast lane (when built) decodes, and RecordWriter's
            # encoder writes the records.  It must decode exactly what the view path decoded.
            exported = [ev for ev in dissect_files([path], Options(**opts)) if ev.__class__ in KEPT]
            writer = RecordWriter(io.BytesIO(), "jsonl")
            writer.events(exported)
            writer.close()
            seen, exported = in_packet_order(seen), in_packet_order(exported)
            if exported != seen:
                i = next((i for i, (a, b) in enumerate(zip(seen, exported)) if a != b), min(len(seen), len(exported)))
                raise PathMismatch(f"event {i}: view path {seen[i] if i < len(seen) else None!r} / export path "
                                   f"{exported[i] if i < len(exported) else None!r}")
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except CaptureError:
        pass
    except Hang as e:
        out = Outcome("hang", f"hang@{_hang_where(e.__traceback__)}",
                      f"input still running after {timeout} s; interrupted at:\n{traceback.format_exc()}")
    except MemoryError as e:
        out = Outcome("oom", signature_of("oom", e), traceback.format_exc())
    except Exception as e:  # noqa: BLE001 - that is what we are looking for
        out = Outcome("crash", signature_of("crash", e), traceback.format_exc())
    finally:
        if use_alarm:
            signal.signal(signal.SIGALRM, old)
        if own:
            os.unlink(path)
    out.seconds = time.perf_counter() - t0
    out.events = n
    if measure:
        rss = _maxrss_kb()
        out.peak_kb = max(0, rss - base) if base else 0
        out.rss_kb = rss
    if out.kind == "ok" and internal_msg is not None:
        if _INTERNAL:
            e, text = _INTERNAL[0]
            kind = "oom" if isinstance(e, MemoryError) else "internal"
            out = Outcome(kind, signature_of(kind, e), f"internal finding: {internal_msg}\n\n{text}", out.seconds,
                          out.peak_kb, n, out.rss_kb)
        else:
            out = Outcome("internal", "internal:" + internal_msg.split("(", 1)[-1].split(":")[0],
                          f"internal finding: {internal_msg}", out.seconds, out.peak_kb, n, out.rss_kb)
    del _INTERNAL[:]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Minimization
# ---------------------------------------------------------------------------------------------------------------
def minimize(data: bytes, options: dict, signature: str, path: str, timeout: float = 5.0,
             budget: float = 20.0) -> bytes:
    """A smaller input with the same failure signature: delta debugging over records, then over bytes."""
    deadline = time.monotonic() + budget

    def same(d: bytes) -> bool:
        return execute(d, options, path, timeout, measure=False).signature == signature

    best = data
    cap = parse_capture(data)
    if cap is not None and cap.records:
        cand = write(cap)[0]
        if len(cand) <= len(best) and same(cand):
            best = cand
            recs = cap.records
            n = 2
            while len(recs) >= 2 and time.monotonic() < deadline:
                chunk = max(1, len(recs) // n)
                reduced = False
                for start in range(0, len(recs), chunk):
                    if time.monotonic() > deadline:
                        break
                    trial = recs[:start] + recs[start + chunk:]
                    cap.records = trial
                    d = write(cap)[0]
                    if same(d):
                        recs, best, reduced = trial, d, True
                        n = max(n - 1, 2)
                        break
                if not reduced:
                    if chunk == 1:
                        break
                    n = min(len(recs), n * 2)
            cap.records = recs
    # bytes: try dropping chunks (big to small) from the end backwards
    size = max(1, len(best) // 2)
    while size >= 1 and time.monotonic() < deadline:
        pos = len(best) - size
        changed = False
        while pos >= 0 and time.monotonic() < deadline:
            trial = best[:pos] + best[pos + size:]
            if trial and same(trial):
                best = trial
                changed = True
            pos -= size
        if not changed:
            size //= 2
    return best


# ---------------------------------------------------------------------------------------------------------------
# Workers and the campaign
# ---------------------------------------------------------------------------------------------------------------
def _worker(wid: int, nworkers: int, start_index: int, cfg: dict, q, cur_index, cur_start) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if cfg["mem_limit"]:
        lim = int(cfg["mem_limit"])
        try:
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        except (ValueError, OSError):
            pass
    seeds = load_seeds(cfg["corpus"])
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    fd, path = tempfile.mkstemp(prefix=f"wsfuzz-w{wid}-", suffix=".pcap", dir=shm)
    os.close(fd)
    seen: set[str] = set()
    deadline = cfg["deadline"]
    max_inputs = cfg["max_inputs"]
    count = 0
    peak = (0, -1, "")
    rss_peak = 0
    last_report = time.monotonic()
    slow = 0
    index = start_index
    try:
        while time.time() < deadline and (max_inputs is None or index < max_inputs):
            cur_index[wid] = index
            cur_start[wid] = time.time()
            try:
                m = make_input(seeds, cfg["seed"], index)
            except Exception:  # noqa: BLE001 - a bug in the fuzzer, not in wsdissect: report it, go on
                q.put(("harness", wid, index, traceback.format_exc()))
                index += nworkers
                continue
            out = execute(m.data, m.options, path, cfg["timeout"])
            cur_start[wid] = 0.0
            count += 1
            if out.peak_kb > peak[0]:
                peak = (out.peak_kb, index, m.seed_name)
            rss_peak = max(rss_peak, out.rss_kb)
            if out.kind == "hang":  # confirm: a loaded machine must not make a slow input a "hang"
                again = execute(m.data, m.options, path, cfg["timeout"] * 2)
                if again.kind != "hang":
                    slow += 1
                    out = again
            if out.failed:
                first = out.signature not in seen
                seen.add(out.signature)
                small = None
                if first and cfg["minimize"] and out.kind != "hang" and not is_known(out.signature, cfg["known"]):
                    budget = max(1.0, min(cfg["min_budget"], deadline - time.time()))
                    small = minimize(m.data, m.options, out.signature, path, cfg["timeout"], budget)
                q.put(("fail", wid, index, asdict(out), m.seed_name, m.steps, m.options, m.data if first else None,
                       small))
            now = time.monotonic()
            if now - last_report > 0.5:
                q.put(("stats", wid, count, peak, slow, rss_peak))
                count, slow = 0, 0
                last_report = now
            index += nworkers
    finally:
        q.put(("stats", wid, count, peak, slow, rss_peak))
        q.put(("done", wid, index))
        try:
            os.unlink(path)
        except OSError:
            pass


@dataclass
class CampaignResult:
    seed: int
    seconds: float
    workers: int
    inputs: int = 0
    crashes: int = 0  # failing inputs of kind crash/internal/oom (all, not unique)
    hangs: int = 0
    slow: int = 0  # inputs over the time limit once, but not when re-run
    killed: int = 0  # workers the parent had to kill (stuck past the hard limit)
    peak_kb: int = 0  # worst growth of a worker's resident memory during one input
    peak_input: tuple = ()  # (input index, seed capture) of that input
    rss_kb: int = 0  # worst peak resident set size of a worker process
    harness_errors: int = 0  # inputs the mutator itself failed to make (a fuzzer bug)
    signatures: dict = field(default_factory=dict)  # signature -> {kind, count, file, first_index, seed, ...}
    known: dict = field(default_factory=dict)  # tolerated signatures -> count

    @property
    def inputs_per_second(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0

    @property
    def unknown_failures(self) -> dict:
        return {s: v for s, v in self.signatures.items() if s not in self.known}

    @property
    def unknown_crashes(self) -> dict:
        return {s: v for s, v in self.unknown_failures.items() if v["kind"] != "hang"}

    @property
    def unknown_hangs(self) -> dict:
        return {s: v for s, v in self.unknown_failures.items() if v["kind"] == "hang"}

    def summary(self) -> str:
        lines = [
            f"campaign seed {self.seed}: {self.inputs} inputs in {self.seconds:.1f} s "
            f"({self.inputs_per_second:.1f} inputs/s, {self.workers} workers)",
            f"crashes: {self.crashes} ({len([s for s, v in self.signatures.items() if v['kind'] != 'hang'])} "
            f"unique)   hangs: {self.hangs}   slow-but-finished: {self.slow}   workers killed: {self.killed}"
            + (f"   fuzzer errors: {self.harness_errors}" if self.harness_errors else ""),
            f"worst peak memory growth during one input: {self.peak_kb / 1024:.1f} MiB"
            + (f" (input {self.peak_input[0]}, seed {self.peak_input[1]})" if self.peak_input else "")
            + f"; worst worker peak RSS: {self.rss_kb / 1024:.1f} MiB",
        ]
        for sig, v in sorted(self.signatures.items(), key=lambda kv: -kv[1]["count"]):
            tag = " [known bug]" if sig in self.known else ""
            lines.append(f"  {v['count']:>6}x {sig}{tag}  -> {v.get('file') or '(not saved)'}")
        return "\n".join(lines)


def _save(out_dir: str, sig: str, info: dict, data: bytes, small: bytes | None, seed: int) -> str:
    os.makedirs(out_dir, exist_ok=True)
    keep = small if small else data
    h = hashlib.sha1(keep).hexdigest()[:16]
    base = os.path.join(out_dir, h)
    with open(base + ".pcap", "wb") as f:
        f.write(keep)
    o = info["outcome"]
    meta = {"signature": sig, "kind": o["kind"], "options": info["options"], "campaign_seed": seed,
            "index": info["index"], "seed_capture": info["seed_name"], "steps": info["steps"],
            "original_size": len(data), "minimized_size": len(keep)}
    with open(base + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    with open(base + ".txt", "w") as f:
        f.write(f"signature: {sig}\nkind: {o['kind']}\nseed capture: {info['seed_name']}\n"
                f"campaign seed / input index: {seed} / {info['index']}  "
                f"(regenerate: fuzz.mutate.make_input(load_seeds(), {seed}, {info['index']}))\n"
                f"mutation steps: {info['steps']}\noptions: {json.dumps(info['options'])}\n"
                f"size: {len(data)} bytes, minimized to {len(keep)}\n\n{o['text']}\n")
    return base + ".pcap"


def campaign(seconds: float, seed: int = 1, workers: int = 2, out_dir: str | None = DEFAULT_OUT,
             corpus: str | None = None, timeout: float = 5.0, mem_limit: int = 4 << 30, max_inputs: int | None = None,
             minimize_failures: bool = True, min_budget: float = 20.0, known: set | None = None,
             progress=None) -> CampaignResult:
    """Run *workers* processes for *seconds*; returns the numbers and the distinct failures found."""
    known = list(known or ())
    ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
    q = ctx.Queue()
    cur_index = ctx.Array("q", workers, lock=False)
    cur_start = ctx.Array("d", workers, lock=False)
    t_start = time.time()
    cfg = {"deadline": t_start + seconds, "seed": seed, "corpus": corpus, "timeout": timeout,
           "mem_limit": mem_limit, "max_inputs": max_inputs, "minimize": minimize_failures,
           "min_budget": min_budget, "known": known}
    res = CampaignResult(seed, 0.0, workers)
    procs: dict[int, mp.Process] = {}

    def spawn(wid: int, start: int) -> None:
        p = ctx.Process(target=_worker, args=(wid, workers, start, cfg, q, cur_index, cur_start), daemon=True)
        p.start()
        procs[wid] = p

    for w in range(workers):
        spawn(w, w)
    done: set[int] = set()
    hard = max(timeout * 3 + 5, 15)
    parent_seeds = None
    last_progress = time.time()

    def record_failure(sig: str, kind: str, info: dict, data: bytes | None, small: bytes | None) -> None:
        entry = res.signatures.get(sig)
        if entry is None:
            entry = res.signatures[sig] = {"kind": kind, "count": 0, "first_index": info["index"],
                                           "seed_capture": info["seed_name"], "file": None,
                                           "text": info["outcome"]["text"], "options": info["options"]}
            if out_dir and data is not None:
                entry["file"] = _save(out_dir, sig, info, data, small, seed)
        entry["count"] += 1
        if is_known(sig, known):
            res.known[sig] = res.known.get(sig, 0) + 1
        if kind == "hang":
            res.hangs += 1
        else:
            res.crashes += 1

    while len(done) < workers:
        try:
            msg = q.get(timeout=0.5)
        except queue_mod.Empty:
            msg = None
        if msg is not None:
            tag = msg[0]
            if tag == "stats":
                _, wid, count, peak, slow, rss_peak = msg
                res.inputs += count
                res.slow += slow
                res.rss_kb = max(res.rss_kb, rss_peak)
                if peak[0] > res.peak_kb:
                    res.peak_kb, res.peak_input = peak[0], (peak[1], peak[2])
            elif tag == "fail":
                _, wid, index, outcome, seed_name, steps, options, data, small = msg
                info = {"index": index, "outcome": outcome, "seed_name": seed_name, "steps": steps,
                        "options": options}
                record_failure(outcome["signature"], outcome["kind"], info, data, small)
            elif tag == "harness":
                res.harness_errors += 1
                if res.harness_errors <= 3:
                    print(f"fuzzer error generating input {msg[2]}:\n{msg[3]}", file=sys.stderr)
            elif tag == "done":
                done.add(msg[1])
        # watchdog: a worker stuck past the hard limit (e.g. inside C code, where SIGALRM cannot interrupt)
        now = time.time()
        for wid, p in list(procs.items()):
            if wid in done:
                continue
            started = cur_start[wid]
            if started and now - started > hard:
                index = cur_index[wid]
                p.kill()
                p.join()
                res.killed += 1
                if parent_seeds is None:
                    parent_seeds = load_seeds(corpus)
                m = make_input(parent_seeds, seed, index)
                info = {"index": index, "seed_name": m.seed_name, "steps": m.steps, "options": m.options,
                        "outcome": asdict(Outcome("hang", "hang:killed", f"worker stuck for more than {hard} s "
                                                                         "(killed by the parent)"))}
                record_failure("hang:killed", "hang", info, m.data, None)
                res.inputs += 1
                cur_start[wid] = 0.0
                if now < cfg["deadline"]:
                    spawn(wid, index + workers)
                else:
                    done.add(wid)
            elif not p.is_alive() and p.exitcode != 0:
                # died without saying goodbye (a segfault, the kernel's OOM killer...); exit code 0 means it
                # finished and its "done" message is on its way
                p.join()
                index = cur_index[wid]
                if parent_seeds is None:
                    parent_seeds = load_seeds(corpus)
                m = make_input(parent_seeds, seed, index)
                info = {"index": index, "seed_name": m.seed_name, "steps": m.steps, "options": m.options,
                        "outcome": asdict(Outcome("crash", f"crash:worker-died({p.exitcode})",
                                                  f"worker process died with exit code {p.exitcode}"))}
                record_failure(info["outcome"]["signature"], "crash", info, m.data, None)
                if now < cfg["deadline"]:
                    spawn(wid, index + workers)
                else:
                    done.add(wid)
        if progress and now - last_progress > 10:
            last_progress = now
            progress(res, now - t_start)
    for p in procs.values():
        p.join(timeout=5)
    res.seconds = time.time() - t_start
    return res


def load_known(path: str | None) -> list:
    """Signature patterns of known, open bugs from a regressions index (``tests/fuzz/regressions/index.json``):
    each entry with a ``bug`` contributes its ``match`` regex if it has one, else its exact ``signature``."""
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        entries = json.load(f)
    return [e.get("match") or re.escape(e["signature"]) for e in entries if e.get("bug")]


def is_known(sig: str, patterns) -> bool:
    return any(re.fullmatch(p, sig) for p in patterns)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=120.0, help="campaign wall-clock time (default 120)")
    ap.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--max-inputs", type=int, default=None, help="stop after this many inputs")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before an input is a hang (default 5)")
    ap.add_argument("--mem-limit", type=int, default=4096, help="RLIMIT_AS per worker in MiB (default 4096; 0: none)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="where failing inputs are saved (default fuzz/crashes)")
    ap.add_argument("--corpus", default=None, help="corpus directory (default ../shared/corpus)")
    ap.add_argument("--no-minimize", action="store_true", help="save failing inputs as found")
    ap.add_argument("--known", default=None, help="regressions index.json: tolerate its open bugs' signatures")
    ap.add_argument("--json", default=None, help="write the numbers as JSON here")
    ap.add_argument("--replay", nargs="+", default=None, metavar="FILE", help="run saved inputs and print outcomes")
    args = ap.parse_args(argv)

    if args.replay:
        bad = 0
        for p in args.replay:
            opts = {}
            side = os.path.splitext(p)[0] + ".json"
            if os.path.exists(side):
                with open(side) as f:
                    opts = json.load(f).get("options", {})
            with open(p, "rb") as f:
                o = execute(f.read(), opts, timeout=args.timeout)
            print(f"{p}: {o.kind} {o.signature} ({o.seconds:.3f} s, {o.events} events)")
            if o.failed:
                bad += 1
                print(o.text)
        return 1 if bad else 0

    def progress(res: CampaignResult, elapsed: float) -> None:
        print(f"[{elapsed:7.0f} s] {res.inputs} inputs ({res.inputs / elapsed:.0f}/s), crashes {res.crashes} "
              f"({len(res.signatures)} signatures), hangs {res.hangs}, peak {res.peak_kb / 1024:.1f} MiB",
              flush=True)

    res = campaign(args.seconds, args.seed, args.workers, args.out, args.corpus, args.timeout,
                   args.mem_limit << 20, args.max_inputs, not args.no_minimize, known=load_known(args.known),
                   progress=progress)
    print(res.summary(), flush=True)
    if args.json:
        d = asdict(res)
        d["inputs_per_second"] = res.inputs_per_second
        for v in d["signatures"].values():
            v["text"] = v["text"][-4000:]
        with open(args.json, "w") as f:
            json.dump(d, f, indent=1)
    return 1 if res.unknown_failures else 0


if __name__ == "__main__":
    sys.exit(main())
