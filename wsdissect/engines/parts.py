"""Part writers for the dataset engines, and the renumbering that commits a split capture's shards.

A *part-writer factory* is a small picklable object sent to every task:

- ``suffix``: the parts' file extension (``"parquet"``, ``"jsonl"``); ``preload``: modules to import before
  forking a local cluster's workers;
- ``open(paths, label, min_severity)``: a sink for one part, ``paths`` mapping each table (``messages``,
  ``connections``, ``expert``) to the file to write; the sink has ``events(list)``, ``close()`` and ``abort()``
  (the rows' ``file`` is the ``CaptureStart`` source, which the task sets to *label*);
- ``renumber(src, dst, mapping)``: copy a part with every ``stream`` value ``i`` replaced by ``mapping[i]``.

:class:`ParquetParts` adapts the single-process Parquet writer of the exports work (one schema, one writer);
:class:`JsonlParts` writes the JSONL records of docs/export.md, one file per table and part.
"""
from __future__ import annotations

import bisect
import os
import uuid
from dataclasses import dataclass

from ..events import ConnectionEnd, Finding, Message
from ..export.writer import RecordWriter

_TABLE_OF = {Message: "messages", ConnectionEnd: "connections", Finding: "expert"}


class _JsonlSink:
    """One part as three JSONL files, events routed to the table of their record type."""

    def __init__(self, paths: dict[str, str], label: str, min_severity: int):
        self.files = {t: open(p, "wb") for t, p in paths.items()}
        self.writers = {t: RecordWriter(f, "jsonl", min_severity, named=True) for t, f in self.files.items()}
        for w in self.writers.values():
            w.input.file = label  # a part holds one input's records: each names it

    def events(self, evs: list) -> None:
        routed: dict[str, list] = {}
        for ev in evs:
            table = _TABLE_OF.get(ev.__class__)
            if table is not None:
                routed.setdefault(table, []).append(ev)
        for table, batch in routed.items():
            self.writers[table].events(batch)

    def close(self) -> None:
        for t, w in self.writers.items():
            w.close()
            self.files[t].close()

    def abort(self) -> None:
        for f in self.files.values():
            f.close()


@dataclass(frozen=True)
class JsonlParts:
    suffix: str = "jsonl"
    preload: tuple[str, ...] = ()  # modules a local cluster's workers should start with

    def open(self, paths: dict[str, str], label: str, min_severity: int) -> _JsonlSink:
        return _JsonlSink(paths, label, min_severity)

    def renumber(self, src: str, dst: str, mapping: list[int]) -> None:
        import orjson

        with open(src, "rb") as f, open(dst, "wb") as out:
            for line in f:
                rec = orjson.loads(line)
                if rec.get("stream") is not None:
                    rec["stream"] = mapping[rec["stream"]]
                out.write(orjson.dumps(rec) + b"\n")


class _PartFolder:
    """The ``Destination`` the Parquet writer expects, handing out this part's files (``messages.parquet`` is
    ``DIR/messages/<temporary name>``)."""

    def __init__(self, paths: dict[str, str]):
        self.paths = paths
        self.files: list = []

    def member(self, name: str):
        f = open(self.paths[name.rsplit(".", 1)[0]], "wb")
        self.files.append(f)
        return f

    def close(self) -> None:
        for f in self.files:
            f.close()


class _ParquetSink:
    def __init__(self, paths: dict[str, str], min_severity: int):
        from ..export.formats import ExportSettings
        from ..export.parquet import ParquetWriter

        self.folder = _PartFolder(paths)
        self.writer = ParquetWriter(self.folder, ExportSettings(min_severity=min_severity, named=True))
        self.events = self.writer.events

    def close(self) -> None:
        self.writer.close()
        self.folder.close()

    def abort(self) -> None:
        self.folder.close()


@dataclass(frozen=True)
class ParquetParts:
    """Parts written by the single-process Parquet writer (wsdissect/export/parquet.py): the same columns."""

    suffix: str = "parquet"
    preload: tuple[str, ...] = ("pyarrow.parquet", "wsdissect.export.parquet")

    def open(self, paths: dict[str, str], label: str, min_severity: int) -> _ParquetSink:
        return _ParquetSink(paths, min_severity)

    def renumber(self, src: str, dst: str, mapping: list[int]) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table_map = pa.array(mapping, type=pa.int64())
        source = pq.ParquetFile(src)
        schema = source.schema_arrow
        column = schema.get_field_index("stream")
        with pq.ParquetWriter(dst, schema, compression="zstd") as out:
            for i in range(source.num_row_groups):
                group = source.read_row_group(i)
                out.write_table(group.set_column(column, schema.field(column), pc.take(table_map, group["stream"])))


WRITERS = {"parquet": ParquetParts, "jsonl": JsonlParts}


def stream_mappings(stream_frames: list[tuple[int, ...]]) -> list[list[int]]:
    """For each shard, its local tcp.stream index -> the index in the whole capture (the rank of the frame that
    opened the connection among every shard's)."""
    every = sorted(f for frames in stream_frames for f in frames)
    return [[bisect.bisect_left(every, f) for f in frames] for frames in stream_frames]


def commit_part(writer, staged: str, final: str, mapping: list[int]) -> None:
    """Renumber a staged shard part into its final name (written aside, renamed when complete).

    Idempotent: a second attempt of the same commit (the scheduler may run a task again while a worker it
    believed lost still runs it) finds the part committed and leaves it."""
    tmp = os.path.join(os.path.dirname(final), f".tmp-{uuid.uuid4().hex[:8]}-commit-{os.path.basename(final)}")
    try:
        writer.renumber(staged, tmp, mapping)
    except FileNotFoundError:
        if os.path.exists(final) and not os.path.exists(staged):
            return
        raise
    os.replace(tmp, final)
    try:
        os.unlink(staged)
    except FileNotFoundError:
        pass
