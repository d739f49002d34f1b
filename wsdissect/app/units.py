"""What an application decoder reports: units (one per application message) and findings, as frozen data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..events import Finding
from ..findings import KINDS
from ..flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT
from ..record import frozen_record

# Marks "no JSON payload" (``data`` absent from the export), as distinct from a JSON ``null`` payload.
NO_DATA: Any = type("NoData", (), {"__repr__": lambda self: "NO_DATA", "__bool__": lambda self: False})()


@frozen_record
class AppUnit:
    """One application-level message (a Socket.IO packet, an MQTT control packet, a STOMP frame...).

    ``data`` is the decoded JSON payload or ``NO_DATA``; ``details`` holds protocol extras (flags, QoS, headers...)
    as JSON-compatible values. ``namespace`` is only meaningful for Socket.IO.
    """

    protocol: str
    kind: str
    name: Optional[str] = None
    id: Any = None
    namespace: Optional[str] = None
    data: Any = NO_DATA
    details: tuple[tuple[str, Any], ...] = ()

    @property
    def has_data(self) -> bool:
        return self.data is not NO_DATA

    def detail(self, key: str, default: Any = None) -> Any:
        for k, v in self.details:
            if k == key:
                return v
        return default

    def to_dict(self) -> dict[str, Any]:
        """The export form (``shared/corpus-app/FORMAT.md``): namespace only for Socket.IO, data only if present."""
        out: dict[str, Any] = {"protocol": self.protocol, "kind": self.kind, "name": self.name, "id": self.id}
        if self.namespace is not None:
            out["namespace"] = self.namespace
        if self.data is not NO_DATA:
            out["data"] = self.data
        if self.details:
            out["details"] = dict(self.details)
        return out


@frozen_record
class AppResult:
    """The units and findings one WebSocket message produced, in order."""

    units: tuple[AppUnit, ...] = ()
    findings: tuple[Finding, ...] = ()


EMPTY = AppResult()


@frozen_record
class MessageRef:
    """Where a WebSocket message was seen: direction, capture frame and time (for findings)."""

    from_client: bool
    frame: int
    ts: float

    @property
    def direction(self) -> str:
        return CLIENT_TO_SERVER if self.from_client else SERVER_TO_CLIENT


def finding(code: str, at: MessageRef, message: str) -> Finding:
    """A finding of a registered *code* at the WebSocket message *at* (the integrator attaches the connection)."""
    return Finding(at.frame, at.ts, code, KINDS[code].severity, message, None, at.direction)


@dataclass(slots=True)
class Collector:
    """Accumulates units and findings while one message is decoded."""

    at: MessageRef
    units: list[AppUnit] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def unit(self, unit: AppUnit) -> None:
        self.units.append(unit)

    def find(self, code: str, message: str) -> None:
        self.findings.append(finding(code, self.at, message))

    def result(self) -> AppResult:
        if not self.units and not self.findings:
            return EMPTY
        return AppResult(tuple(self.units), tuple(self.findings))


class MessageOriented:
    """Base of decoders whose WebSocket messages stand alone: nothing is buffered, lost or left unfinished."""

    __slots__ = ()

    def reset(self, from_client: bool) -> None:
        """Nothing to forget when a message is lost."""

    def unfinished(self, from_client: bool) -> str:
        return ""


def parse_json_text(raw: bytes | str) -> Any:
    """Strict JSON text (as JavaScript's JSON.parse: no NaN/Infinity, no trailing data) -> value, or NO_DATA.

    Integers beyond 64 bits become floats, as in JavaScript; a string with a lone surrogate escape counts as not
    JSON (it could not be written as UTF-8 in an export)."""
    import orjson  # on first use: the views import this module, most captures have no application JSON

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NO_DATA


def escape_text(text: str, limit: int = 80) -> str:
    """A short, printable rendering of peer-supplied text for finding messages."""
    shown = text[:limit].encode("unicode_escape").decode("ascii")
    return shown + ("..." if len(text) > limit else "")
