"""The Dask engine: the dataset export's tasks on a dask.distributed cluster.

Without an address a ``LocalCluster`` of *workers* processes (one thread each) is started and closed; with
``tcp://host:8786`` the running cluster is used, and its workers must see the inputs and the output directory
under the same paths or URLs.  A worker that dies mid-task loses its task to the scheduler, which runs it again
elsewhere; parts are renamed into place only when complete (engines/task.py), so the dataset stays exact.
"""
from __future__ import annotations

import logging
import os
import signal

from ..errors import UsageError
from .local import CompletionQueue

INSTALL_HINT = "pip install 'wsdissect[dask]'"


def require_dask() -> None:
    """UsageError naming the install command when dask.distributed or pyarrow is missing."""
    try:
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as e:
        raise UsageError(f"--engine dask needs dask.distributed and pyarrow ({e.name} is missing): "
                         f"{INSTALL_HINT}") from None


def _local_cluster(local_cluster, workers: int, preload: tuple[str, ...]):
    """A LocalCluster of *workers* single-threaded processes on 127.0.0.1.  Where ``fork`` exists the worker
    processes are forked from this one with the decoder and the *preload* modules (the part writer's) already
    imported: seconds faster to start and to close than spawning fresh interpreters (docs/scale.md)."""
    import importlib
    import multiprocessing

    import dask

    from . import task  # noqa: F401 - imported before forking, so workers start with it

    for module in preload:
        importlib.import_module(module)

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    # workers ignore Ctrl-C (the terminal sends it to every process of the group): this process cancels the
    # tasks and closes the cluster, without a traceback from each worker
    # a task's error reaches this process through its future: the workers' own log lines would repeat it
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with dask.config.set({"distributed.worker.multiprocessing-method": method}):
            return local_cluster(n_workers=workers, threads_per_worker=1, processes=True,
                                 dashboard_address=":0", host="127.0.0.1")
    finally:
        signal.signal(signal.SIGINT, previous)


class DaskPool:
    """:class:`~wsdissect.engines.driver.Pool` over a ``distributed.Client``."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, preload: tuple[str, ...] = ()):
        require_dask()
        from distributed import Client, LocalCluster

        self.queue = CompletionQueue()
        self.cluster = None
        if scheduler is None:
            self.cluster = _local_cluster(LocalCluster, workers or os.cpu_count() or 1, preload)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as e:
                raise UsageError(f"--scheduler {scheduler}: cannot connect ({e})") from None

    def submit(self, fn, *args):
        return self.queue.watch(self.client.submit(fn, *args, pure=False))

    def wait(self, futures: set) -> tuple[set, set]:
        return self.queue.wait(futures)

    def cancel(self, futures: set) -> None:
        if futures:
            self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> "DaskPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
