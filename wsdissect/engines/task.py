"""The one per-capture function every engine runs: decode a capture (or a shard of one) into a sink of events.

:func:`decode_capture` is what ``export -j`` (``export/parallel.py``), the local dataset engine and the Dask engine
all call for each file or shard: it reads the records, runs the pipeline, hands the sink each packet's events,
turns the file's damage into findings and ends with a ``CaptureEnd``.  :func:`write_part` wraps it for the
dataset engines: the part files are written under temporary names and renamed when complete, so a task that is
retried (a worker died) replaces its own parts and never adds rows twice.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Callable

from ..capture.files import CaptureFile
from ..capture.split import Shard, shard_records
from ..errors import CaptureError
from ..events import CaptureEnd, CaptureStart, Finding
from ..findings import KINDS
from ..run.driver import CapturePart, Driver

TABLES = ("messages", "connections", "expert")


@dataclass(frozen=True, slots=True)
class CaptureOutcome:
    """What one decoded capture or shard reports besides its events."""

    warnings: tuple[str, ...]  # the file's damage, one line each (the CLI prints them)
    damaged: bool
    packets: int
    stream_frames: tuple[int, ...]  # the frame that opened each tcp.stream index of this decoder


def decode_capture(source: str, sink: Callable[[list], None], options, event_filter=None,
                   shard: Shard | None = None, label: str | None = None) -> CaptureOutcome:
    """Decode *source* (a path, URL or a shard file) into *sink* through the one driver; raises CaptureError if it
    cannot be opened."""
    driver = Driver(options, event_filter)
    part = None
    if shard is not None:
        part = CapturePart(label, shard.first_ts, lambda cf, d: shard_records(cf, shard, d), tuple(shard.problems))
    elif label is not None:
        part = CapturePart(label)
    with CaptureFile(source) as cf:
        feed = driver.feed_capture(cf, sink, part)
        problems = list(cf.problems) + list(shard.problems if shard is not None else ())
    return CaptureOutcome(tuple(m for _c, m, _f in problems), bool(problems), cf.records_read,
                          tuple(feed.dissector.stream_frames))


def unreadable_finding(message: str) -> Finding:
    """The expert record of an input that could not be read at all."""
    return Finding(0, 0.0, "capture.unreadable", KINDS["capture.unreadable"].severity, message)


@dataclass(frozen=True, slots=True)
class PartTask:
    """One unit of work: a capture, or one shard of a split capture, written as one part of each table."""

    source: str  # what is read: the input itself or a shard file
    label: str  # the input it belongs to (the dataset's ``file`` column)
    part: str  # part name stem, unique in the dataset ("00003", "00003-s0002")
    shard: Shard | None = None


@dataclass(frozen=True, slots=True)
class ExportJob:
    """Everything a task needs besides its own PartTask (sent once per task; small and picklable)."""

    out_dir: str
    options: object
    event_filter: object
    min_severity: int
    writer: object  # a part-writer factory (engines/parts.py): suffix, open(paths, label, min_severity), renumber


@dataclass(frozen=True, slots=True)
class PartResult:
    task: PartTask
    outcome: CaptureOutcome | None  # None: the input could not be read
    warnings: tuple[str, ...] = field(default=())

    @property
    def damaged(self) -> bool:
        return self.outcome is None or self.outcome.damaged


def part_path(job: ExportJob, table: str, part: str, staged: bool = False) -> str:
    name = f"{'.staged-' if staged else 'part-'}{part}.{job.writer.suffix}"
    return os.path.join(job.out_dir, table, name)


def write_part(task: PartTask, job: ExportJob) -> PartResult:
    """Decode *task* into its parts: temporary files first, renamed to their final names only when complete.

    A shard's parts are renamed to *staged* names instead: its stream numbers are the shard's own until
    :func:`~wsdissect.engines.parts.commit_shards` renumbers them."""
    attempt = uuid.uuid4().hex[:8]
    finals = {t: part_path(job, t, task.part, staged=task.shard is not None) for t in TABLES}
    temps = {t: f"{os.path.join(os.path.dirname(p), '.tmp-' + attempt + '-' + os.path.basename(p))}"
             for t, p in finals.items()}
    sink = job.writer.open(temps, task.label, job.min_severity)
    try:
        try:
            outcome = decode_capture(task.source, sink.events, job.options, job.event_filter, task.shard, task.label)
            warnings = outcome.warnings
        except CaptureError as e:
            outcome, warnings = None, (str(e),)
            sink.events([CaptureStart(task.label, 0.0), unreadable_finding(str(e)), CaptureEnd(task.label, 0, True)])
        sink.close()
    except BaseException:
        sink.abort()
        for p in temps.values():
            _remove(p)
        raise
    for t in TABLES:
        os.replace(temps[t], finals[t])
    return PartResult(task, outcome, warnings)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
