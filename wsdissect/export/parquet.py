"""The ``parquet`` format: ``DIR/messages.parquet``, ``DIR/connections.parquet``, ``DIR/expert.parquet``.

The tables and their columns are :mod:`wsdissect.export.arrow`'s; each record batch becomes a row group as soon as
it is full, so memory stays flat.  Row groups are encoded, compressed and written by a background thread (pyarrow
releases the GIL there), at most :data:`QUEUED` batches behind the decoder.  Every file is written even when its
table is empty (DuckDB and pandas then read an empty table with the right columns).
"""
from __future__ import annotations

import queue
import threading

import pyarrow as pa
import pyarrow.parquet as pq

from .arrow import SCHEMAS, ArrowTables

FILES = {name: f"{name}.parquet" for name in SCHEMAS}
QUEUED = 2  # record batches waiting for the writer thread


class ParquetWriter:
    def __init__(self, destination, settings):
        self.writers = {name: pq.ParquetWriter(destination.member(FILES[name]), schema, compression="zstd")
                        for name, schema in SCHEMAS.items()}
        self.tables = ArrowTables(self._write, settings.min_severity)
        self.events = self.tables.events
        self.todo: queue.Queue = queue.Queue(QUEUED)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="wsdissect-parquet", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.todo.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self.writers[item[0]].write_batch(item[1])
                except BaseException as e:  # noqa: BLE001 - raised in the decoding thread
                    self.error = e

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def _write(self, name: str, batch: pa.RecordBatch) -> None:
        self._check()
        self.todo.put((name, batch))

    def close(self) -> None:
        try:
            self.tables.close()
        finally:
            self.todo.put(None)
            self.thread.join()
        self._check()
        for w in self.writers.values():
            w.close()
