"""Dataset exports on engines: many captures (and shards of large ones) decoded in parallel into one dataset.

``inputs`` expands the INPUT arguments; ``task`` holds the one per-capture function every engine runs;
``parts`` the part writers and the shard renumbering; ``driver`` plans and runs the tasks on a pool;
``local`` and ``dask_engine`` are the pools; ``progress`` the bar on stderr.
"""
from __future__ import annotations

from .driver import DatasetOutcome, export_dataset

__all__ = ["DatasetOutcome", "export_dataset"]
