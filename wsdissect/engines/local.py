"""The local engine: the dataset export's tasks in a pool of worker processes on this machine (``-j N``)."""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait


class LocalPool:
    """:class:`~wsdissect.engines.driver.Pool` over a ``ProcessPoolExecutor``."""

    def __init__(self, workers: int):
        self.executor = ProcessPoolExecutor(max_workers=workers)

    def submit(self, fn, *args):
        return self.executor.submit(fn, *args)

    def wait(self, futures: set) -> tuple[set, set]:
        done, pending = wait(futures, return_when=FIRST_COMPLETED)
        return set(done), set(pending)

    def cancel(self, futures: set) -> None:
        for f in futures:
            f.cancel()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
