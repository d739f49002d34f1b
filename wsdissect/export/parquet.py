"""The ``parquet`` format: ``DIR/messages.parquet``, ``DIR/connections.parquet``, ``DIR/expert.parquet``.

The tables and their columns are :mod:`wsdissect.export.arrow`'s; each record batch becomes a row group as soon as
it is full, so memory stays flat.  Every file is written even when its table is empty (DuckDB and pandas then read
an empty table with the right columns).
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from .arrow import SCHEMAS, ArrowTables

FILES = {name: f"{name}.parquet" for name in SCHEMAS}


class ParquetWriter:
    def __init__(self, destination, settings):
        self.writers = {name: pq.ParquetWriter(destination.member(FILES[name]), schema, compression="zstd")
                        for name, schema in SCHEMAS.items()}
        self.tables = ArrowTables(self._write, settings.min_severity)
        self.events = self.tables.events

    def _write(self, name: str, batch: pa.RecordBatch) -> None:
        self.writers[name].write_batch(batch)

    def close(self) -> None:
        self.tables.close()
        for w in self.writers.values():
            w.close()
