"""Filters shared by every view and the exporter: connection, endpoints, direction, opcode, payload match, time.

An :class:`EventFilter` decides per event; events without the attribute a criterion needs pass that criterion
(a connection filter does not hide capture-level findings unless ``strict``).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .errors import UsageError
from .events import CaptureStart, ConnectionEnd, Finding, HttpRequest, HttpResponse, Message, Packet, Upgrade, WsFrame
from .flow import CLIENT_TO_SERVER, SERVER_TO_CLIENT
from .rfc6455 import OPCODE_NAMES

_OPCODES = {v: k for k, v in OPCODE_NAMES.items()}
_DIRECTIONS = {"c2s": CLIENT_TO_SERVER, "client_to_server": CLIENT_TO_SERVER, "client": CLIENT_TO_SERVER,
               "s2c": SERVER_TO_CLIENT, "server_to_client": SERVER_TO_CLIENT, "server": SERVER_TO_CLIENT}


def _endpoint_matcher(spec: str):
    """``1.2.3.4``, ``:8765``, ``1.2.3.4:8765`` or ``[::1]:8765`` -> predicate over (ip, port)."""
    spec = spec.strip()
    ip, port = spec, None
    m = re.match(r"^\[(.+)\](?::(\d+))?$", spec) or re.match(r"^([^:]*):(\d+)$", spec)
    if m:
        ip, port = m.group(1), m.group(2)
    if port is not None and not (port.isascii() and port.isdigit() and int(port) < 65536):
        raise UsageError(f"bad endpoint {spec!r}: expected IP, :PORT, IP:PORT or [IPv6]:PORT")
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise UsageError(f"bad endpoint {spec!r}: {ip!r} is not an IP address") from None
    p = int(port) if port else None
    return lambda i, pt: (not ip or i == ip) and (p is None or pt == p)


@dataclass
class EventFilter:
    streams: frozenset | None = None
    client: str | None = None
    server: str | None = None
    direction: str | None = None
    opcodes: frozenset | None = None
    match: str | None = None
    regex: str | None = None
    time_from: float | None = None  # seconds relative to the capture's first packet
    time_to: float | None = None
    app_kinds: frozenset | None = None  # application unit kinds (EVENT, PUBLISH...): messages with such a unit
    app_names: frozenset | None = None  # application unit names (event, topic, destination, method...)

    def __post_init__(self):
        if self.direction is not None:
            d = _DIRECTIONS.get(self.direction.lower())
            if d is None:
                raise UsageError(f"--direction {self.direction!r}: use c2s or s2c")
            self.direction = d
        if self.opcodes is not None:
            ops = set()
            for name in self.opcodes:
                name = str(name).lower()
                if name in _OPCODES:
                    ops.add(_OPCODES[name])
                elif re.fullmatch(r"[0-9]{1,2}|0x[0-9a-f]", name) and int(name, 0) < 16:
                    ops.add(int(name, 0))
                else:
                    raise UsageError(f"--opcode {name!r}: use text, binary, continuation, close, ping, pong")
            self.opcodes = frozenset(ops)
        if self.time_from is not None and self.time_to is not None and self.time_from > self.time_to:
            raise UsageError(f"--time-from {self.time_from:g} is after --time-to {self.time_to:g}")
        self._client = _endpoint_matcher(self.client) if self.client else None
        self._server = _endpoint_matcher(self.server) if self.server else None
        try:
            self._regex = re.compile(self.regex) if self.regex else None
        except re.error as e:
            raise UsageError(f"--regex {self.regex!r}: {e}") from None
        self._match_b = self.match.encode("utf-8") if self.match else None
        self._app = self.app_kinds is not None or self.app_names is not None
        self.t0: float | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.streams, self.client, self.server, self.direction, self.opcodes,
                                           self.match, self.regex, self.time_from, self.time_to, self.app_kinds,
                                           self.app_names))

    @property
    def narrows_messages(self) -> bool:
        """True when some messages of a selected connection may be left out (per-connection totals must then be
        counted from the selected messages)."""
        return any(v is not None for v in (self.direction, self.opcodes, self.match, self.regex, self.time_from,
                                           self.time_to, self.app_kinds, self.app_names))

    def packet_ok(self, pkt: Packet, events: list) -> bool:
        """Packet views: is this packet (with the *events* it produced) shown?  Its connection, direction and time
        must pass; with an opcode criterion it must carry a frame with that opcode or complete a selected
        message; with a payload or application criterion (``--match``/``--regex``/``--app-kind``/``--app-name``)
        it must complete a selected message."""
        if not self.accepts(pkt):
            return False
        if self.opcodes is None and self._match_b is None and self._regex is None and not self._app:
            return True
        by_frame = self._match_b is None and self._regex is None and not self._app
        for ev in events:
            cls = ev.__class__
            if (cls is Message or by_frame and cls is WsFrame) and self.accepts(ev):
                return True
        return False

    def conn_ok(self, conn) -> bool:
        if conn is None:
            return True
        if self.streams is not None and conn.index not in self.streams:
            return False
        if self._client and not self._client(conn.client_ip, conn.client_port):
            return False
        if self._server and not self._server(conn.server_ip, conn.server_port):
            return False
        return True

    def _payload_ok(self, payload: bytes, text: str | None) -> bool:
        if self._match_b is not None and self._match_b not in payload:
            return False
        if self._regex is not None:
            s = text if text is not None else payload.decode("utf-8", "replace")
            if not self._regex.search(s):
                return False
        return True

    def accepts(self, ev) -> bool:
        cls = ev.__class__
        if cls is CaptureStart:
            self.t0 = ev.ts
            return True
        if cls in (ConnectionEnd, Upgrade, HttpRequest, HttpResponse):
            return self.conn_ok(ev.conn)
        if cls is Packet or cls is Finding:
            if cls is Packet and ev.conn is None and (self.streams is not None or self._client or self._server
                                                      or self.direction):
                return False  # a packet of no connection (UDP, ARP...) is in none of the selected ones
            if not self.conn_ok(ev.conn) or (self.direction and ev.direction and ev.direction != self.direction):
                return False
            return self._time_ok(ev.ts)
        if cls is Message or cls is WsFrame:
            if not self.conn_ok(ev.conn):
                return False
            if self.direction and ev.direction != self.direction:
                return False
            if self.opcodes is not None and ev.opcode not in self.opcodes:
                return False
            if not self._time_ok(ev.ts if cls is WsFrame else ev.last_ts):
                return False
            if cls is Message and self._app and not self._app_ok(ev.app):
                return False
            if cls is Message and (self._match_b is not None or self._regex is not None):
                return self._payload_ok(ev.payload, ev.text)
            return True
        return True

    def _app_ok(self, units: tuple | None) -> bool:
        """Some application unit of the message has a selected kind and a selected name."""
        kinds, names = self.app_kinds, self.app_names
        return any((kinds is None or u.kind in kinds) and (names is None or u.name in names) for u in units or ())

    def _time_ok(self, ts: float) -> bool:
        if self.time_from is None and self.time_to is None:
            return True
        rel = ts - (self.t0 if self.t0 is not None else ts)
        if self.time_from is not None and rel < self.time_from:
            return False
        if self.time_to is not None and rel > self.time_to:
            return False
        return True
