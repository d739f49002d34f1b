"""``export -j N``: decode capture files in parallel processes, write their records in file order.

Each worker exports one file as JSONL into a temporary file; the parent copies them to the output in the order
the files were given (JSONL as is, JSON as one array).  Every input is opened and checked before any work starts.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from typing import BinaryIO

from ..capture.files import CaptureFile
from .writer import RecordWriter


def _export_one(path: str, options, event_filter, min_severity: int, tmp: str, named: bool = False
                ) -> tuple[list[str], bool]:
    """One worker: one capture through the per-file function (the one driver) into a temporary JSONL file."""
    from ..engines.task import decode_capture  # the per-file function every engine runs

    with open(tmp, "wb") as out:
        writer = RecordWriter(out, "jsonl", min_severity, named=named)
        writer.input.file = path if named else None  # also for a file without packets (no CaptureStart)
        outcome = decode_capture(path, writer.events, options, event_filter)
        writer.close()
    return list(outcome.warnings), outcome.damaged


def check_inputs(paths) -> None:
    """Open every input once: a missing or non-capture file raises CaptureError before any work."""
    for p in paths:
        CaptureFile(p).close()


def export_parallel(paths, options, event_filter, min_severity: int, fmt: str, out: BinaryIO,
                    jobs: int, named: bool = False) -> tuple[list[str], bool]:
    warnings: list[str] = []
    damaged = False
    with tempfile.TemporaryDirectory(prefix="wsdissect-") as tmpdir, \
            ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
        tmps = [os.path.join(tmpdir, f"{i}.jsonl") for i in range(len(paths))]
        futures = [pool.submit(_export_one, p, options, event_filter, min_severity, t, named) for p, t in zip(paths, tmps)]
        first = True
        if fmt == "json":
            out.write(b"[")
        for fut, tmp in zip(futures, tmps):
            w, d = fut.result()
            warnings.extend(w)
            damaged |= d
            with open(tmp, "rb") as f:
                if fmt == "jsonl":
                    shutil.copyfileobj(f, out, 1 << 20)
                else:
                    for line in f:
                        out.write((b"\n" if first else b",\n") + line.rstrip(b"\n"))
                        first = False
            os.unlink(tmp)
        if fmt == "json":
            out.write(b"\n]\n")
        out.flush()
    return warnings, damaged
