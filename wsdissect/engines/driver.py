"""Run a dataset export on any pool of workers: plan the tasks, split large captures, commit shards, report.

The engine supplies a :class:`Pool` (``submit``, ``wait``, ``cancel``): a local process pool or a Dask client.
For each input the driver submits one :func:`~wsdissect.engines.task.write_part` task, or, for an input larger
than ``split_size``, a split task, then one task per shard, then one commit task per shard that gives its rows
the whole capture's tcp.stream numbers.  Interrupted, it cancels what is queued and removes temporary and staged
files, so no part is left under a final name that is not complete.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import uuid
from dataclasses import dataclass, field
from typing import Callable, Protocol

from ..capture.remote import is_url
from ..capture.split import split_capture
from ..errors import CaptureError
from .parts import commit_part, stream_mappings
from .task import TABLES, ExportJob, PartResult, PartTask, part_path, write_part

SHARDS_DIR = ".shards"


class Pool(Protocol):
    def submit(self, fn: Callable, *args): ...
    def wait(self, futures: set) -> tuple[set, set]: ...  # at least one done
    def cancel(self, futures: set) -> None: ...
    def close(self) -> None: ...  # waits for running tasks (local) or stops the local cluster


@dataclass
class DatasetOutcome:
    warnings: list[str] = field(default_factory=list)
    damaged: bool = False
    parts: int = 0
    files: int = 0
    split: int = 0  # inputs decoded as shards


def split_task(source: str, directory: str, count: int):
    """A split pass as a task: None when the input cannot be read (its own task then records why).  Each attempt
    writes its own folder, so an attempt the scheduler believed lost cannot mix its shards into the result."""
    attempt = os.path.join(directory, uuid.uuid4().hex[:8])
    try:
        return split_capture(source, attempt, count)
    except CaptureError:
        shutil.rmtree(attempt, ignore_errors=True)
        return None


def commit_shard(job: ExportJob, stem: str, mapping: list[int]) -> str:
    """Give one staged shard part the whole capture's stream numbers and its final name."""
    for table in TABLES:
        commit_part(job.writer, part_path(job, table, stem, staged=True), part_path(job, table, stem), mapping)
    return stem


def _input_size(source: str) -> int | None:
    if is_url(source) or source == "-":
        return None
    try:
        return os.path.getsize(source)
    except OSError:
        return None


def prepare_output(out_dir: str) -> None:
    """Create the table directories; parts of an earlier export there are replaced, like ``-o FILE``."""
    for table in TABLES:
        d = os.path.join(out_dir, table)
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "part-*")) + glob.glob(os.path.join(d, ".*")):
            os.unlink(old)
    shutil.rmtree(os.path.join(out_dir, SHARDS_DIR), ignore_errors=True)


def clean_output(out_dir: str) -> None:
    """After an interruption: remove temporary and staged parts and the shards (final parts are complete)."""
    for table in TABLES:
        for leftover in glob.glob(os.path.join(out_dir, table, ".*")):
            try:
                os.unlink(leftover)
            except OSError:
                pass
    shutil.rmtree(os.path.join(out_dir, SHARDS_DIR), ignore_errors=True)


class DatasetRun:
    """The state of one export: what is submitted, what each future means, what came back."""

    def __init__(self, pool: Pool, job: ExportJob, split_size: int | None, progress=None):
        self.pool, self.job, self.split_size = pool, job, split_size
        self.progress = progress
        self.pending: dict = {}  # future -> (kind, input number, extra)
        self.shards: dict[int, dict] = {}  # input number -> {"stems": [...], "left": n, "frames": {...}}
        self.outcome = DatasetOutcome()

    def _submit(self, kind: str, number: int, extra, fn: Callable, *args) -> None:
        self.pending[self.pool.submit(fn, *args)] = (kind, number, extra)
        if self.progress is not None:
            self.progress.add(1)

    def start(self, sources: list[str]) -> None:
        self.outcome.files = len(sources)
        for i, source in enumerate(sources):
            size = _input_size(source)
            if self.split_size and size is not None and size > self.split_size:
                count = -(-size // self.split_size)
                shard_dir = os.path.join(self.job.out_dir, SHARDS_DIR, f"{i:05d}")
                self._submit("split", i, (source, shard_dir), split_task, source, shard_dir, count)
            else:
                self._submit("part", i, None, write_part, PartTask(source, source, f"{i:05d}"), self.job)

    def run(self) -> DatasetOutcome:
        try:
            while self.pending:
                done, _ = self.pool.wait(set(self.pending))
                for fut in done:
                    kind, number, extra = self.pending.pop(fut)
                    getattr(self, "_on_" + kind)(fut.result(), number, extra)
                    if self.progress is not None:
                        self.progress.advance(1)
        except BaseException:  # Ctrl-C or a failed task: stop the rest, then remove what is not complete
            self._abort()
            raise
        clean_output(self.job.out_dir)  # every task is done: hidden files left are a dead worker's attempts
        return self.outcome

    def _abort(self) -> None:
        """Cancel, stop the pool, remove temporary files; a failure here must not hide why the run stopped."""
        for step in (lambda: self.pool.cancel(set(self.pending)), self.pool.close,
                     lambda: clean_output(self.job.out_dir)):
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort while already failing
                pass

    def _on_part(self, result: PartResult, number: int, extra) -> None:
        self.outcome.parts += 1
        self.outcome.warnings.extend(result.warnings)
        self.outcome.damaged |= result.damaged
        if result.task.shard is not None:
            state = self.shards[number]
            state["frames"][result.task.part] = result.outcome.stream_frames
            state["left"] -= 1
            if not state["left"]:  # every shard decoded: renumber them in parallel
                stems = state["stems"]
                state["left"] = len(stems)
                for stem, mapping in zip(stems, stream_mappings([state["frames"][s] for s in stems])):
                    self._submit("commit", number, None, commit_shard, self.job, stem, mapping)

    def _on_split(self, result, number: int, extra) -> None:
        source, shard_dir = extra
        if result is None:  # unreadable: its ordinary task writes the expert record
            self._submit("part", number, None, write_part, PartTask(source, source, f"{number:05d}"), self.job)
            return
        self.outcome.split += 1
        stems = [f"{number:05d}-s{k:04d}" for k in range(len(result.shards))]
        self.shards[number] = {"stems": stems, "left": len(stems), "frames": {}, "dir": shard_dir}
        for stem, shard in zip(stems, result.shards):
            self._submit("part", number, None, write_part, PartTask(shard.path, source, stem, shard), self.job)

    def _on_commit(self, result: str, number: int, extra) -> None:
        state = self.shards[number]
        state["left"] -= 1
        if not state["left"]:
            shutil.rmtree(state["dir"], ignore_errors=True)


def make_pool(engine: str, workers: int | None, scheduler: str | None, preload: tuple[str, ...] = ()) -> Pool:
    if engine == "dask":
        from .dask_engine import DaskPool
        return DaskPool(scheduler, workers, preload)
    from .local import LocalPool
    return LocalPool(workers or os.cpu_count() or 1)


def export_dataset(sources: list[str], job: ExportJob, engine: str = "local", workers: int | None = None,
                   scheduler: str | None = None, split_size: int | None = None,
                   progress: bool = False) -> DatasetOutcome:
    """Export *sources* into ``job.out_dir`` on the chosen engine (docs/scale.md)."""
    prepare_output(job.out_dir)  # an output that cannot be created fails before a cluster starts
    pool = make_pool(engine, workers, scheduler, job.writer.preload)
    with pool, (_task_progress() if progress else contextlib.nullcontext()) as bar:
        run = DatasetRun(pool, job, split_size, bar)
        run.start(sources)
        return run.run()


def _task_progress():
    from .progress import TaskProgress
    return TaskProgress()
