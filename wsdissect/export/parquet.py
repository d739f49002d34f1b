"""The ``parquet`` format: ``DIR/messages.parquet``, ``DIR/connections.parquet``, ``DIR/expert.parquet``.

The tables and their columns are :mod:`wsdissect.export.arrow`'s.  Its record batches (small, so they are built
while the messages are in the CPU cache) are handed to a background thread, at most :data:`QUEUED` behind the
decoder, which gathers them into row groups of :data:`GROUP_ROWS` rows or :data:`GROUP_BYTES` bytes and encodes,
compresses and writes each as soon as it is full (pyarrow releases the GIL there), so memory stays flat.  Every
file is written even when its table is empty (DuckDB and pandas then read an empty table with the right columns).

Encodings, measured on the benchmark captures (benchmarks/format_speed.py): snappy compression (lz4 is no faster,
zstd is slower; snappy is what readers expect) except for ``payload`` and ``text`` (:data:`RAW`), stored as they
are: a payload is often compressed or random already, the text column repeats the text messages' payloads, and
compressing them was 10-20 % of the export's CPU time (the files are 2-4x larger than all-snappy, still smaller
than the JSONL; ``COPY (SELECT * FROM 'DIR/messages.parquet') TO 'small.parquet' (COMPRESSION zstd)`` in DuckDB
makes a compact copy).  Dictionary encoding only for the columns with few distinct values (:data:`DICTIONARY`),
and no statistics for ``payload`` and ``text`` (min/max of whole payloads help no query).
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from .arrow import SCHEMAS, ArrowTables
from .writer import Background

FILES = {name: f"{name}.parquet" for name in SCHEMAS}
QUEUED = 8  # record batches waiting for the writer thread
GROUP_ROWS = 1 << 15  # rows per row group
GROUP_BYTES = 8 << 20  # bytes of record batches per row group
# columns with few distinct values, dictionary-encoded (payload and text would only cost time trying)
DICTIONARY = ("file", "client", "server", "direction", "opcode", "close_reason", "note", "status", "severity", "code",
              "ended_by", "subprotocol")
NO_STATISTICS = ("payload", "text")
RAW = ("payload", "text")  # uncompressed columns


def _open(path, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(path, schema, compression={n: "none" if n in RAW else "snappy" for n in schema.names},
                            use_dictionary=[n for n in DICTIONARY if n in schema.names],
                            write_statistics=[n for n in schema.names if n not in NO_STATISTICS])


class ParquetWriter:
    def __init__(self, destination, settings):
        self.writers = {name: _open(destination.member(FILES[name]), schema) for name, schema in SCHEMAS.items()}
        self.pending: dict[str, list] = {name: [] for name in SCHEMAS}  # batches of the next row group
        self.background = Background(self._gather, "wsdissect-parquet", QUEUED)
        self.tables = ArrowTables(self._queue, settings.min_severity)
        self.events = self.tables.events

    def _gather(self, item: tuple) -> None:
        """In the writer thread: add a batch to its table's next row group, written when full."""
        name, batch = item
        pending = self.pending[name]
        pending.append(batch)
        if sum(map(len, pending)) >= GROUP_ROWS or sum(b.nbytes for b in pending) >= GROUP_BYTES:
            self._write(name)

    def _write(self, name: str) -> None:
        pending, self.pending[name] = self.pending[name], []
        if pending:
            table = pa.Table.from_batches(pending, schema=SCHEMAS[name])
            self.writers[name].write_table(table, row_group_size=len(table))

    def _queue(self, name: str, batch: pa.RecordBatch) -> None:
        self.background.put((name, batch))

    def close(self) -> None:
        try:
            self.tables.close()
        finally:
            self.background.close()
        for name, w in self.writers.items():
            self._write(name)
            w.close()
