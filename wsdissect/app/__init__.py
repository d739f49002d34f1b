"""Application protocols over WebSocket messages: Socket.IO/Engine.IO, MQTT, STOMP, GraphQL, JSON-RPC.

Entry point: ``new_dissector(subprotocol, uri, forced)`` gives one ``AppDissector`` per connection; feed it every
WebSocket message in order with ``message(from_client, opcode, payload, frame, ts, complete)``; it returns an
``AppResult`` of ``AppUnit`` units (``to_dict()`` is the export form) and findings.

The names below are loaded on first use, and each decoder when a connection first needs it (see registry.py): a
capture without application protocols never imports them (nor cbor2 and msgpack).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:  # pragma: no cover
    from .binary import BinaryDocument, sniff_binary
    from .latency import LatencySummary, LatencyTracker
    from .registry import PROTOCOLS, AppDissector, Choice, choose, new_dissector
    from .sniff import sniff
    from .units import NO_DATA, AppResult, AppUnit

_WHERE = {"BinaryDocument": "binary", "sniff_binary": "binary", "LatencySummary": "latency",
          "LatencyTracker": "latency", "PROTOCOLS": "registry", "AppDissector": "registry", "Choice": "registry",
          "choose": "registry", "new_dissector": "registry", "sniff": "sniff", "NO_DATA": "units",
          "AppResult": "units", "AppUnit": "units"}

__all__ = ["AppDissector", "AppResult", "AppUnit", "BinaryDocument", "Choice", "LatencySummary", "LatencyTracker",
           "NO_DATA", "PROTOCOLS", "choose", "new_dissector", "sniff", "sniff_binary"]


__getattr__ = lazy_names(__name__, _WHERE, globals())
