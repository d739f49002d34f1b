"""Dataset exports on engines: many captures (and shards of large ones) decoded in parallel into one dataset.

``inputs`` expands the INPUT arguments; ``task`` holds the one per-capture function every engine runs;
``parts`` the part writers and the shard renumbering; ``driver`` plans and runs the tasks on a pool;
``local`` and ``dask_engine`` are the pools; ``progress`` the bar on stderr.
"""
from __future__ import annotations

from .driver import DatasetOutcome


def export_dataset(sources, job, engine: str = "local", workers: int | None = None, scheduler: str | None = None,
                   split_size: int | None = None, progress: bool = False) -> DatasetOutcome:
    """Export *sources* into ``job.out_dir`` on the chosen engine; see docs/scale.md."""
    import contextlib
    import os

    from .driver import DatasetRun, prepare_output

    if engine == "dask":
        from .dask_engine import DaskPool
        pool = DaskPool(scheduler, workers)
    else:
        from .local import LocalPool
        pool = LocalPool(workers or os.cpu_count() or 1)
    prepare_output(job.out_dir)
    with pool, (_progress() if progress else contextlib.nullcontext()) as bar:
        run = DatasetRun(pool, job, split_size, bar)
        run.start(sources)
        return run.run()


def _progress():
    from .progress import TaskProgress
    return TaskProgress()
