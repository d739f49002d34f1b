"""Validation harness for wsdissect/app before it is wired into the pipeline: export a capture with the existing
exporter, run the application decoders over each connection's messages in order, and write the same JSONL with
``"app"`` added to every message record (plus ``"type": "expert"`` records for application findings).

Usage::

    python -m tools.app_annotate CAPTURE -o OUT [--app PROTO] [--latency]

Score it with ``python ../shared/tools/check_app.py --cmd "env PYTHONPATH=$PWD python -m tools.app_annotate
{capture} -o {out} {args}"``.  Exit status: 0, 2 bad usage / unreadable input, 3 damaged capture (output still
written), 4 output cannot be written.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from typing import Any, Iterable, Optional

from wsdissect.app import PROTOCOLS, LatencyTracker, new_dissector
from wsdissect.events import Finding

_OPCODES = {"text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}


def annotate(records: list[dict[str, Any]], forced: Optional[str] = None,
             latency: Optional[LatencyTracker] = None) -> list[dict[str, Any]]:
    """The records with ``"app"`` on each message and the application findings appended as expert records;
    *latency*, if given, is fed every unit (one tracker per connection, merged into it)."""
    trackers: dict[Any, LatencyTracker] = {}
    connections = {r.get("stream"): r for r in records if r.get("type") == "connection"}
    dissectors: dict[Any, Any] = {}
    experts: list[dict[str, Any]] = []
    for rec in records:
        if rec.get("type") != "message":
            continue
        stream = rec.get("stream")
        if stream not in dissectors:
            conn = connections.get(stream) or {}
            uri = (conn.get("request") or {}).get("uri")
            dissectors[stream] = new_dissector(conn.get("subprotocol"), uri, forced)
        payload = base64.b64decode(rec.get("payload_b64") or "")
        result = dissectors[stream].message(rec.get("direction") == "client_to_server",
                                            _OPCODES.get(rec.get("opcode"), 0), payload,
                                            rec.get("last_frame") or 0, rec.get("last_time") or 0.0,
                                            rec.get("complete") is True)
        rec["app"] = [u.to_dict() for u in result.units]
        tracker = trackers.setdefault(stream, LatencyTracker())
        for unit in result.units:
            tracker.observe(unit, rec.get("direction") == "client_to_server", rec.get("last_time") or 0.0)
        experts.extend(_expert(f, rec) for f in result.findings)
    for stream, dissector in dissectors.items():
        conn = connections.get(stream) or {"stream": stream}
        ended = dissector.end(conn.get("last_frame") or 0, conn.get("end_time") or 0.0)
        experts.extend(_expert(f, conn) for f in ended.findings)
    if latency is not None:
        for tracker in trackers.values():
            latency.merge(tracker)
    return records + experts


def _expert(f: Finding, rec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "expert", "frame": f.frame, "time": f.ts, "severity": f.severity.label, "code": f.code,
            "message": f.message, "stream": rec.get("stream"), "client": rec.get("client"),
            "server": rec.get("server"), "direction": f.direction}


def _export(capture: str, out: str) -> int:
    cmd = [sys.executable, "-m", "wsdissect", "export", capture, "--format", "jsonl", "-o", out]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode not in (0, 3):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        print(tail[-1] if tail else f"wsdissect export failed ({proc.returncode})", file=sys.stderr)
    return proc.returncode


def _read(path: str) -> list[dict[str, Any]]:
    with open(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(path: str, records: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.app_annotate", description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--app", choices=sorted(PROTOCOLS), help="force this application protocol on every connection")
    ap.add_argument("--latency", action="store_true", help="print request -> response latency per protocol")
    args, _unused = ap.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="app-annotate-") as tmp:
        raw = os.path.join(tmp, "export.jsonl")
        status = _export(args.capture, raw)
        if status not in (0, 3):
            return status
        latency = LatencyTracker() if args.latency else None
        records = annotate(_read(raw), args.app, latency)
    try:
        _write(args.output, records)
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 4
    for summary in latency.summaries() if latency else ():
        print(f"{summary.protocol:22} count {summary.count:5d}  p50 {summary.p50 * 1000:8.3f} ms  p95 "
              f"{summary.p95 * 1000:8.3f} ms  max {summary.max * 1000:8.3f} ms  unanswered {summary.unanswered}")
    return status


if __name__ == "__main__":
    sys.exit(main())
