"""Application protocols over WebSocket messages: Socket.IO/Engine.IO, MQTT, STOMP, GraphQL, JSON-RPC.

Entry point: ``new_dissector(subprotocol, uri, forced)`` gives one ``AppDissector`` per connection; feed it every
WebSocket message in order with ``message(from_client, opcode, payload, frame, ts, complete)``; it returns an
``AppResult`` of ``AppUnit`` units (``to_dict()`` is the export form) and findings.
"""
from .binary import BinaryDocument, sniff_binary
from .latency import LatencySummary, LatencyTracker
from .registry import PROTOCOLS, AppDissector, Choice, choose, new_dissector, sniff
from .units import NO_DATA, AppResult, AppUnit

__all__ = ["AppDissector", "AppResult", "AppUnit", "BinaryDocument", "Choice", "LatencySummary", "LatencyTracker",
           "NO_DATA", "PROTOCOLS", "choose", "new_dissector", "sniff", "sniff_binary"]
