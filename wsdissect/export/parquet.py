"""The ``parquet`` format: ``DIR/messages.parquet``, ``DIR/connections.parquet``, ``DIR/expert.parquet``.

The tables and their columns are :mod:`wsdissect.export.arrow`'s; each record batch becomes a row group as soon as
it is full, so memory stays flat.  Row groups are encoded, compressed and written by a background thread (pyarrow
releases the GIL there), at most :data:`QUEUED` batches behind the decoder.  Every file is written even when its
table is empty (DuckDB and pandas then read an empty table with the right columns).
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from .arrow import SCHEMAS, ArrowTables
from .writer import Background

FILES = {name: f"{name}.parquet" for name in SCHEMAS}
QUEUED = 1  # record batches waiting for the writer thread
# columns with few distinct values, dictionary-encoded (payload and text would only cost time trying)
DICTIONARY = ("file", "client", "server", "direction", "opcode", "close_reason", "note", "status", "severity", "code",
              "ended_by", "subprotocol")


class ParquetWriter:
    def __init__(self, destination, settings):
        self.writers = {name: pq.ParquetWriter(destination.member(FILES[name]), schema, compression="snappy",
                                               use_dictionary=[n for n in DICTIONARY if n in schema.names])
                        for name, schema in SCHEMAS.items()}
        self.background = Background(self._write, "wsdissect-parquet", QUEUED)
        self.tables = ArrowTables(self._queue, settings.min_severity)
        self.events = self.tables.events

    def _write(self, item: tuple) -> None:
        self.writers[item[0]].write_batch(item[1])

    def _queue(self, name: str, batch: pa.RecordBatch) -> None:
        self.background.put((name, batch))

    def close(self) -> None:
        try:
            self.tables.close()
        finally:
            self.background.close()
        for w in self.writers.values():
            w.close()
