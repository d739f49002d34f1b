"""Request -> response latency per request id, per application protocol (a pure data structure).

Pairs: Socket.IO EVENT/BINARY_EVENT with an ack id -> ACK/BINARY_ACK (same namespace and id, other side); MQTT
PUBLISH QoS 1 -> PUBACK, PUBLISH QoS 2 -> PUBCOMP (the whole flow), SUBSCRIBE -> SUBACK, UNSUBSCRIBE -> UNSUBACK;
JSON-RPC request -> response/error; GraphQL subscribe/start -> its first next/data/error/complete from the server.
Feed units of one connection in capture order with ``observe``; keep one tracker per connection (ids are
per connection) and merge the summaries, or ``merge`` trackers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Hashable, Optional

from .units import AppUnit

_MQTT_END = {"PUBACK": "PUBLISH1", "PUBCOMP": "PUBLISH2", "SUBACK": "SUBSCRIBE", "UNSUBACK": "UNSUBSCRIBE"}
_GRAPHQL_REPLIES = {"next", "data", "error", "complete"}


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency of matched request/response pairs of one protocol, in seconds."""

    protocol: str
    count: int
    p50: float
    p95: float
    max: float
    unanswered: int


@dataclass
class LatencyTracker:
    """Open requests keyed by (protocol, requesting side, id) and the latencies measured so far."""

    _open: dict[Hashable, float] = field(default_factory=dict)
    _samples: dict[str, list[float]] = field(default_factory=dict)
    _carried: dict[str, int] = field(default_factory=dict)  # unanswered requests of merged trackers

    def observe(self, unit: AppUnit, from_client: bool, ts: float) -> Optional[float]:
        """Account for *unit* seen at *ts*; returns the latency when it answers an open request."""
        role = _role(unit)
        if role is None:
            return None
        opens, key = role
        if opens:
            self._open.setdefault((unit.protocol, from_client, key), ts)
            return None
        start = self._open.pop((unit.protocol, not from_client, key), None)
        if start is None:
            return None
        latency = max(0.0, ts - start)
        self._samples.setdefault(unit.protocol, []).append(latency)
        return latency

    def merge(self, other: "LatencyTracker") -> None:
        """Add the measurements of another connection's tracker (its open requests count as unanswered)."""
        for proto, values in other._samples.items():
            self._samples.setdefault(proto, []).extend(values)
        for proto, count in other._unanswered().items():
            self._carried[proto] = self._carried.get(proto, 0) + count

    def _unanswered(self) -> dict[str, int]:
        counts = dict(self._carried)
        for key in self._open:
            counts[key[0]] = counts.get(key[0], 0) + 1
        return counts

    def summaries(self) -> list[LatencySummary]:
        """One summary per protocol that had a request, sorted by protocol."""
        unanswered_by = self._unanswered()
        out = []
        for proto in sorted(set(self._samples) | set(unanswered_by)):
            values = sorted(self._samples.get(proto, []))
            unanswered = unanswered_by.get(proto, 0)
            out.append(LatencySummary(proto, len(values), percentile(values, 50), percentile(values, 95),
                                      values[-1] if values else 0.0, unanswered))
        return out


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _role(unit: AppUnit) -> Optional[tuple[bool, Hashable]]:
    """(True, key) for a request, (False, key) for a response, None otherwise."""
    if unit.id is None or isinstance(unit.id, (dict, list)):
        return None
    if unit.protocol == "socket.io":
        if unit.kind in ("EVENT", "BINARY_EVENT"):
            return True, (unit.namespace, unit.id)
        if unit.kind in ("ACK", "BINARY_ACK"):
            return False, (unit.namespace, unit.id)
    elif unit.protocol == "mqtt":
        if unit.kind == "PUBLISH" and unit.detail("qos") in (1, 2):
            return True, (f"PUBLISH{unit.detail('qos')}", unit.id)
        if unit.kind in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return True, (unit.kind, unit.id)
        if unit.kind in _MQTT_END:
            return False, (_MQTT_END[unit.kind], unit.id)
    elif unit.protocol == "json-rpc":
        if unit.kind in ("request", "response", "error"):
            return unit.kind == "request", (type(unit.id).__name__ == "str", unit.id)
    elif unit.protocol.startswith("graphql"):
        if unit.kind in ("subscribe", "start"):
            return True, unit.id
        if unit.kind in _GRAPHQL_REPLIES:
            return False, unit.id
    return None
