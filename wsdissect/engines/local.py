"""The local engine: the dataset export's tasks in a pool of worker processes on this machine (``-j N``).

:class:`CompletionQueue` is shared with the Dask pool: futures report themselves when done, so waiting for the
next one costs the same with ten or ten thousand tasks outstanding.
"""
from __future__ import annotations

import queue
from concurrent.futures import ProcessPoolExecutor


class CompletionQueue:
    """Done futures, in the order they finished."""

    def __init__(self):
        self.done: queue.SimpleQueue = queue.SimpleQueue()

    def watch(self, future):
        future.add_done_callback(self.done.put)
        return future

    def wait(self, futures: set) -> tuple[set, set]:
        """At least one finished future of *futures* (and every other one already finished), and the rest."""
        ready = set()
        while not ready:
            ready.add(self.done.get())
            while not self.done.empty():
                ready.add(self.done.get())
            ready &= futures
        return ready, futures - ready


class LocalPool:
    """:class:`~wsdissect.engines.driver.Pool` over a ``ProcessPoolExecutor``."""

    def __init__(self, workers: int):
        self.executor = ProcessPoolExecutor(max_workers=workers)
        self.queue = CompletionQueue()

    def submit(self, fn, *args):
        return self.queue.watch(self.executor.submit(fn, *args))

    def wait(self, futures: set) -> tuple[set, set]:
        return self.queue.wait(futures)

    def cancel(self, futures: set) -> None:
        for f in futures:
            f.cancel()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
