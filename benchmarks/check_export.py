#!/usr/bin/env python3
"""Check a ``wsdissect export --format jsonl`` output against a generated capture's ``.expected.json``.

    python benchmarks/check_export.py OUT.jsonl CAPTURE.pcap.expected.json [--manifest CAPTURE.pcap.messages.jsonl]

Streams the JSONL (constant memory), recomputes the per-stream digests defined in ``gen_capture.py`` from the
``message`` records of type text/binary, and compares counts, per-stream digests and the overall checksum.  Every
text/binary message must have ``"complete": true``.  Prints one JSON object (``ok``, counts, the first
differences) and exits 0 when everything matches, 1 otherwise.  With ``--manifest`` (written by
``gen_capture.py --manifest``) it also names the first message that differs in each differing stream.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from binascii import a2b_base64

try:
    import orjson

    loads = orjson.loads
except ImportError:  # pragma: no cover
    loads = json.loads

OPCODES = {"text": 1, "binary": 2}
_u64 = struct.Struct("!Q")


def check(out_path: str, expected_path: str, manifest_path: str | None = None, max_report: int = 10) -> dict:
    with open(expected_path) as f:
        exp = json.load(f)
    streams: dict[str, list] = {}  # name -> [sha256, count, [per-message digests] | None]
    counts: dict[str, int] = {}
    incomplete: list[dict] = []
    records = 0
    keep = manifest_path is not None
    with open(out_path, "rb") as f:
        for line in f:
            if b'"type":"message"' not in line:  # cheap pre-filter (orjson writes no spaces)
                continue
            rec = loads(line)
            if rec.get("type") != "message":
                continue
            records += 1
            op = rec.get("opcode")
            counts[op] = counts.get(op, 0) + 1
            code = OPCODES.get(op)
            if code is None:
                continue
            name = f"{rec['client']} {rec['direction']}"
            payload = a2b_base64(rec["payload_b64"])
            st = streams.get(name)
            if st is None:
                st = streams[name] = [hashlib.sha256(), 0, [] if keep else None]
            if rec.get("complete") is not True and len(incomplete) < max_report:
                incomplete.append({"stream": name, "index": st[1], "opcode": op, "length": len(payload),
                                   "first_frame": rec.get("first_frame"), "note": rec.get("note")})
            st[0].update(bytes((code,)) + _u64.pack(len(payload)))
            st[0].update(payload)
            if keep:
                st[2].append((op, len(payload), hashlib.sha256(payload).hexdigest(), rec.get("first_frame"),
                              rec.get("complete")))
            st[1] += 1
    got = {k: {"count": v[1], "sha256": v[0].hexdigest()} for k, v in streams.items()}
    lines = "".join(f"{k} {v['sha256']}\n" for k, v in sorted(got.items(), key=lambda kv: kv[0].encode()))
    checksum = hashlib.sha256(lines.encode()).hexdigest()
    want = exp["per_stream"]
    diffs = []
    for name in sorted(set(want) | set(got)):
        w, g = want.get(name), got.get(name)
        if w != g:
            diffs.append({"stream": name, "expected_count": w and w["count"], "got_count": g and g["count"]})
    n_incomplete = sum(1 for _ in incomplete)
    result = {
        "ok": checksum == exp["checksum"] and not diffs and not incomplete
        and counts.get("text", 0) == exp["messages"]["text"] and counts.get("binary", 0) == exp["messages"]["binary"],
        "checksum_ok": checksum == exp["checksum"],
        "expected": {k: exp["messages"][k] for k in ("text", "binary", "ping", "pong", "close")},
        "got": {k: counts.get(k, 0) for k in ("text", "binary", "ping", "pong", "close")},
        "message_records": records,
        "streams_expected": len(want),
        "streams_got": len(got),
        "streams_differing": len(diffs),
        "first_differences": diffs[:max_report],
        "incomplete": incomplete,
    }
    if n_incomplete:
        result["incomplete_note"] = f"first {n_incomplete} incomplete text/binary messages shown"
    if keep and diffs:
        result["first_messages_differing"] = _locate(manifest_path, streams, [d["stream"] for d in diffs[:max_report]])
    return result


def _locate(manifest_path: str, streams: dict, names: list[str]) -> list[dict]:
    """For each differing stream, the first message whose opcode, length or payload digest differs."""
    wanted: dict[str, list] = {n: [] for n in names}
    with open(manifest_path) as f:
        for line in f:
            m = json.loads(line)
            lst = wanted.get(m["stream"])
            if lst is not None:
                lst.append((m["opcode"], m["len"], m["sha256"]))
    out = []
    for name in names:
        exp = wanted[name]
        got = streams[name][2] if name in streams else []
        for i in range(max(len(exp), len(got))):
            e = exp[i] if i < len(exp) else None
            g = got[i][:3] if i < len(got) else None
            if e != g:
                out.append({"stream": name, "index": i,
                            "expected": e and {"opcode": e[0], "length": e[1], "sha256": e[2][:16]},
                            "got": g and {"opcode": g[0], "length": g[1], "sha256": g[2][:16],
                                          "first_frame": got[i][3], "complete": got[i][4]}})
                break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", help="wsdissect JSONL export")
    ap.add_argument("expected", help="CAPTURE.expected.json from gen_capture.py")
    ap.add_argument("--manifest", help="CAPTURE.messages.jsonl from gen_capture.py --manifest")
    a = ap.parse_args(argv)
    r = check(a.output, a.expected, a.manifest)
    json.dump(r, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
