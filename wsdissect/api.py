"""The Python API: ``wsdissect.open(source, **options)`` gives a :class:`Capture` whose records are the export's.

Every record object has the JSONL field names as attributes (``payload`` as bytes instead of ``payload_b64``), and
``to_dict()`` returns exactly the JSONL record.  ``to_arrow``/``to_pandas`` give the Parquet tables.  Options are
the ``export`` command's long option names with underscores, checked by the same code as on the command line;
problems are raised as :class:`wsdissect.Error` subclasses.  Each iteration decodes the capture again (nothing is
kept in memory between calls).
"""
from __future__ import annotations

import builtins
import os
import shutil
import tempfile
from binascii import b2a_base64
from dataclasses import dataclass, fields
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, ClassVar, Iterator, Union

from .errors import CaptureError, UsageError, WsdissectError
from .events import ConnectionEnd, Finding, Message, Packet
from .export.formats import DATA_EXTRA, require
from .export.records import connection_record, expert_record, is_exported_connection, message_record, time_ns

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    import pyarrow

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]
KINDS = ("messages", "connections", "expert")
OPTIONAL = {"text": None, "truncated": False, "note": None, "app": None}  # message fields the JSONL omits at these values


class _Record:
    """Shared behaviour of the record classes: built from an event by the export's record function (``encode``),
    ``to_dict()`` is the JSONL record."""

    type: ClassVar[str]
    encode: ClassVar[Any]

    @classmethod
    def from_event(cls, ev: Any) -> Any:
        rec = cls.encode(ev)
        del rec["type"]
        return cls(**rec)

    def to_dict(self) -> dict:
        rec: dict = {"type": self.type}
        for f in fields(self):  # type: ignore[arg-type]
            rec[f.name] = getattr(self, f.name)
        return rec


@dataclass(frozen=True, slots=True)
class MessageRecord(_Record):
    """A WebSocket message (see docs/export.md, ``"type": "message"``)."""

    type: ClassVar[str] = "message"
    stream: int
    client: str
    server: str
    direction: str
    opcode: str
    payload: bytes
    complete: bool
    close_code: int | None
    close_reason: str | None
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    first_time_ns: int
    last_time_ns: int
    fragments: int
    compressed: bool
    wire_length: int
    payload_length: int
    text: str | None = None
    truncated: bool = False
    note: str | None = None
    raw: bytes | None = None  # the wire bytes of a payload that could not be made (JSONL: raw_b64)
    app: list | None = None  # application units (docs/app.md), None when no application decoder read it

    @classmethod
    def from_event(cls, m: Message) -> "MessageRecord":
        rec = message_record(m)
        del rec["type"], rec["payload_b64"]
        rec.pop("raw_b64", None)
        return cls(payload=m.payload, raw=m.raw, **rec)

    def to_dict(self) -> dict:
        rec: dict = {"type": self.type}
        for f in fields(self):
            name = f.name
            value = getattr(self, name)
            if name == "payload":
                rec["payload_b64"] = b2a_base64(value, newline=False).decode("ascii")
            elif name == "raw":
                if value is not None:
                    rec["raw_b64"] = b2a_base64(value, newline=False).decode("ascii")
            elif name not in OPTIONAL or value != OPTIONAL[name]:
                rec[name] = value
        return rec


@dataclass(frozen=True, slots=True)
class ConnectionRecord(_Record):
    """A WebSocket connection or refused upgrade (``"type": "connection"``); nested fields are plain dicts."""

    type: ClassVar[str] = "connection"
    encode: ClassVar[Any] = staticmethod(connection_record)
    stream: int
    client: str
    server: str
    status: str
    request: dict | None
    response: dict | None
    subprotocol: str | None
    extensions: list
    permessage_deflate: dict | None
    first_frame: int
    last_frame: int
    start_time: float
    end_time: float
    start_time_ns: int
    end_time_ns: int
    duration: float
    handshake_ms: float | None
    ended_by: str
    first_close: str | None
    close: dict
    midstream: bool
    stats: dict
    ping_rtt: dict | None
    tls: dict | None  # wss://: version, cipher_suite, sni, alpn, decrypted, resumed


@dataclass(frozen=True, slots=True)
class ExpertRecord(_Record):
    """A finding (``"type": "expert"``)."""

    type: ClassVar[str] = "expert"
    encode: ClassVar[Any] = staticmethod(expert_record)
    frame: int
    time: float
    time_ns: int
    severity: str
    code: str
    message: str
    stream: int | None
    client: str | None
    server: str | None
    direction: str | None



@dataclass(frozen=True, slots=True)
class PacketRecord(_Record):
    """A TCP packet (API only, no export record): addresses, TCP header fields, its connection if it has one."""

    type: ClassVar[str] = "packet"
    frame: int
    time: float
    time_ns: int
    length: int  # on the wire
    captured_length: int
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    ack: int
    rel_seq: int | None
    rel_ack: int | None
    flags: int
    window: int
    payload_length: int
    stream: int | None
    direction: str | None

    @classmethod
    def from_event(cls, p: Packet) -> "PacketRecord":
        return cls(frame=p.frame, time=p.ts, time_ns=time_ns(p.ts), length=p.wire_len, captured_length=p.cap_len,
                   src=p.src, dst=p.dst, sport=p.sport, dport=p.dport, seq=p.seq, ack=p.ack, rel_seq=p.rel_seq,
                   rel_ack=p.rel_ack, flags=p.flags, window=p.window, payload_length=p.payload_len,
                   stream=p.conn.index if p.conn is not None else None, direction=p.direction)


# -- options ------------------------------------------------------------------------------------------------------
_NOT_API = ("format", "f", "output", "jobs")  # export options that choose the output, not the decoding


def _command_options() -> dict:
    """The ``export`` command's options by long name with underscores (``max_message``...)."""
    import click

    from .cli import export

    table = {}
    for p in export.params:
        if isinstance(p, click.Option) and not p.hidden:
            long = max(p.opts, key=len).lstrip("-").replace("-", "_")
            if long not in _NOT_API:
                table[long] = p
    return table


@dataclass(frozen=True)
class Settings:
    """What :func:`open` was asked to decode: pipeline options, the event filter, the lowest expert severity."""

    options: Any
    event_filter: Any
    min_severity: int


def parse_options(given: dict) -> Settings:
    """Check *given* (option names as ``export`` spells them, with underscores) as the command line does: they are
    turned into ``export`` arguments and parsed by the command itself, so the API and the CLI cannot drift apart.

    The one place that knows how the CLI turns option values into pipeline options (``cli._options``/
    ``cli._filter``)."""
    import click

    from . import cli
    from .findings import Severity

    table = _command_options()
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise UsageError(f"unknown option {unknown[0]!r}; the options are: {', '.join(sorted(table))}")
    argv = []
    for name, value in given.items():
        flag = "--" + name.replace("_", "-")
        many = value if table[name].multiple and isinstance(value, (list, tuple, set, frozenset)) else [value]
        for v in many:
            argv += [flag, str(v)]
    try:
        values = dict(cli.export.make_context("export", argv + ["-"]).params)
    except click.ClickException as e:
        raise UsageError(e.format_message()) from None
    level = values.pop("expert_level")
    options = cli._options(**cli._split(values, cli.DECODE))
    event_filter = cli._filter(**cli._split(values, cli.FILTER))
    return Settings(options, event_filter, 99 if level == "none" else Severity[level.upper()])


# -- sources and the capture ----------------------------------------------------------------------------------------
def _spool(source: Any) -> tuple[str, str]:
    """bytes or a binary file object -> a temporary capture file (path) and a display name."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "<bytes>", bytes(source)
    elif hasattr(source, "read"):
        name, data = str(getattr(source, "name", "<file>")), None
    else:
        raise UsageError(f"source must be a path, bytes or a binary file object, not {type(source).__name__}")
    fd, path = tempfile.mkstemp(prefix="wsdissect-", suffix=".cap")
    with builtins.open(fd, "wb") as out:
        if data is not None:
            out.write(data)
        else:
            first = source.read(0)
            if not isinstance(first, bytes):
                os.unlink(path)
                raise UsageError(f"{name}: open the file in binary mode ('rb')")
            shutil.copyfileobj(source, out, 1 << 20)
    return path, name


class Capture:
    """A capture opened with :func:`open`.  Use as a context manager (it removes its temporary copy of a bytes or
    file-object source on exit)."""

    def __init__(self, source: Source, settings: Settings):
        self.settings = settings
        self._temp: str | None = None
        if isinstance(source, (str, os.PathLike)):
            self.path = self.name = os.fspath(source)
        else:
            self._temp, self.name = _spool(source)
            self.path = self._temp
        from .capture.files import CaptureFile

        try:
            CaptureFile(self.path).close()  # not a capture: fail now, not at the first iteration
        except CaptureError as e:
            self.close()
            raise CaptureError(str(e).replace(self.path, self.name)) from None

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._temp is not None:
            try:
                os.unlink(self._temp)
            except OSError:
                pass
            self._temp = None

    def _events(self, packets: bool = False) -> Iterator:
        """Every event of the capture, filtered like the export (the one place the API runs the pipeline)."""
        import dataclasses

        from .run import dissect_files

        options = dataclasses.replace(self.settings.options, packets=packets) if packets else self.settings.options
        flt = self.settings.event_filter
        events = dissect_files([self.path], options)
        return filter(flt.accepts, events) if flt.active else events

    def messages(self) -> Iterator[MessageRecord]:
        """The WebSocket messages, in the order they completed."""
        return (MessageRecord.from_event(ev) for ev in self._events() if ev.__class__ is Message)

    def connections(self) -> Iterator[ConnectionRecord]:
        """WebSocket connections and refused upgrades, in the order they ended."""
        return (ConnectionRecord.from_event(ev) for ev in self._events()
                if ev.__class__ is ConnectionEnd and is_exported_connection(ev))

    def findings(self) -> Iterator[ExpertRecord]:
        """Expert info at or above the ``expert`` option's severity (default ``note``)."""
        least = self.settings.min_severity
        return (ExpertRecord.from_event(ev) for ev in self._events()
                if ev.__class__ is Finding and ev.severity >= least)

    def packets(self) -> Iterator[PacketRecord]:
        """Every TCP packet (the ``--stream``/``--client``... filters apply)."""
        return (PacketRecord.from_event(ev) for ev in self._events(packets=True) if ev.__class__ is Packet)

    def to_arrow(self, kind: str = "messages") -> "pyarrow.Table":
        """Table *kind* (``messages``, ``connections`` or ``expert``) with the Parquet export's columns."""
        if kind not in KINDS:
            raise UsageError(f"kind={kind!r}: use one of {', '.join(KINDS)}")
        require(("pyarrow",), "to_arrow()", DATA_EXTRA)
        import pyarrow as pa

        from .export.arrow import SCHEMAS, ArrowTables

        batches: list = []
        tables = ArrowTables(lambda name, b: batches.append(b) if name == kind else None,
                             self.settings.min_severity, file=self.name)
        events = self._events()
        while True:
            chunk = list(islice(events, 4096))
            if not chunk:
                break
            tables.events(chunk)
        tables.close()
        return pa.Table.from_batches(batches, schema=SCHEMAS[kind])

    def to_pandas(self, kind: str = "messages") -> "pandas.DataFrame":
        """:meth:`to_arrow` as a pandas DataFrame (timestamps as ``datetime64[ns, UTC]``)."""
        require(("pyarrow", "pandas"), "to_pandas()", DATA_EXTRA)
        return self.to_arrow(kind).to_pandas()


def open(source: Source, **options: Any) -> Capture:  # noqa: A001 - wsdissect.open, like io.open
    """Open a capture: a path, bytes, or a binary file object; *options* as ``wsdissect export`` takes them."""
    return Capture(source, parse_options(options))


__all__ = ["Capture", "ConnectionRecord", "CaptureError", "ExpertRecord", "MessageRecord", "PacketRecord",
           "UsageError", "WsdissectError", "open", "parse_options"]
