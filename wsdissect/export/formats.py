"""The registry of export formats: one entry per format, one writer module per format.

A format is a :class:`Format`: its name (``export --format NAME``), a one-line summary, whether it writes one
stream or a folder of files, the modules it needs (an optional extra), and ``factory``, the dotted path of a
callable ``factory(destination, settings) -> EventWriter``.  The writer module is imported only when the format is
used, so ``wsdissect --help`` never loads pyarrow.  To add a format: write ``wsdissect/export/NAME.py`` with a
class that has ``events(list)`` and ``close()`` (see :class:`EventWriter`) and call :func:`register` below.

:func:`open_export` checks everything (format, extra installed, output not an input) before any file exists.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Callable, Iterable, NamedTuple, Protocol

from ..errors import UsageError
from ..findings import Severity
from .output import Destination

DATA_EXTRA = "pip install 'wsdissect[data]'"


class EventWriter(Protocol):
    """What every format's writer is: fed lists of events (a packet's worth each), then closed once."""

    def events(self, evs: list) -> None: ...

    def close(self) -> None: ...


class ExportSettings(NamedTuple):
    """What every writer is told: the lowest severity of expert records, and whether records name their input."""

    min_severity: int = Severity.NOTE
    named: bool = False  # records carry ``file`` (more than one input; Parquet always has the column)


class Format(NamedTuple):
    name: str
    summary: str
    factory: str  # "module:callable" under wsdissect.export
    folder: bool = False  # writes several files into the folder given as -o
    requires: tuple[str, ...] = ()  # importable modules it needs
    extra: str = DATA_EXTRA  # how to install them


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> None:
    FORMATS[fmt.name] = fmt


register(Format("jsonl", "one JSON record per line (messages, connections, expert info)", "writer:jsonl_writer"))
register(Format("json", "one JSON array of the same records", "writer:json_writer"))
register(Format("csv", "messages, one row each: flat fields, payload_b64 and text (RFC 4180)",
                "csv_writer:CsvWriter"))
register(Format("parquet", "DIR/messages.parquet, DIR/connections.parquet, DIR/expert.parquet (pyarrow)",
                "parquet:ParquetWriter", folder=True, requires=("pyarrow",)))
register(Format("har", "HAR 1.2 as Chrome DevTools writes WebSocket connections", "har:HarWriter"))


def names() -> list[str]:
    return list(FORMATS)


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown export format {name!r}: use one of {', '.join(FORMATS)}") from None


def require(modules: Iterable[str], what: str, extra: str = DATA_EXTRA) -> None:
    """UsageError naming the install command when one of *modules* is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"{what} needs {', '.join(missing)}, which is not installed: {extra}")


def factory(fmt: Format) -> Callable:
    require(fmt.requires, f"--format {fmt.name}", fmt.extra)
    module, _, attr = fmt.factory.partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), attr)


class Export:
    """One export in progress: feed it events, then :meth:`close` (writes and renames into place) or
    :meth:`abort` (removes what was started)."""

    def __init__(self, writer: EventWriter, destination: Destination):
        self.writer = writer
        self.destination = destination
        self.events = writer.events

    def close(self) -> None:
        try:
            self.writer.close()
        except BaseException:
            self.destination.abort()
            raise
        self.destination.commit()

    def abort(self) -> None:
        self.destination.abort()


def open_export(name: str, output: str, inputs: list[str], settings: ExportSettings) -> Export:
    """Check and open an export of *inputs* in format *name* to *output* (``-``: stdout)."""
    fmt = get(name)
    make = factory(fmt)
    destination = Destination(output, inputs, folder=fmt.folder)
    try:
        writer = make(destination, settings)
    except BaseException:
        destination.abort()
        raise
    return Export(writer, destination)
