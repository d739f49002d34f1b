"""Application units (wsdissect.app) in the views: the packet list's Info text, the detail tree's node per unit
(like Wireshark's MQTT tree), and ``follow``'s one line per unit.  Every payload-derived string is escaped."""
from __future__ import annotations

import json
from typing import Any

from ..app import AppUnit
from .nodes import Node
from .text import pretty_payload, safe

LABELS = {"socket.io": "Socket.IO", "engine.io": "Engine.IO", "mqtt": "MQTT", "stomp": "STOMP",
          "graphql-transport-ws": "GraphQL", "graphql-ws": "GraphQL", "json-rpc": "JSON-RPC"}
NAME_LABELS = {"socket.io": "Event", "mqtt": "Topic", "stomp": "Destination", "json-rpc": "Method",
               "graphql-transport-ws": "Operation name", "graphql-ws": "Operation name"}
_FLAG_DETAILS = ("qos", "retain", "dup")


def protocol_label(protocol: str) -> str:
    """The display name of a unit's protocol (``Socket.IO``, ``MQTT``...)."""
    return LABELS.get(protocol, protocol)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def unit_info(u: AppUnit) -> str:
    """One unit as the packet list's Info: ``Socket.IO EVENT "chat"``, ``MQTT PUBLISH a/b QoS 1 id=7``."""
    parts = [protocol_label(u.protocol), u.kind]
    if u.namespace not in (None, "/"):
        parts.append(u.namespace)
    if u.name is not None:
        parts.append(_json_text(u.name) if u.protocol == "socket.io" else str(u.name))
    qos = u.detail("qos")
    if qos is not None:
        parts.append(f"QoS {qos}")
    if u.id is not None:
        parts.append(f"id={u.id}")
    return safe(" ".join(parts), 300)


def units_info(units: tuple) -> str:
    """A message's units for the Info column, comma separated."""
    return ", ".join(map(unit_info, units))


def unit_node(u: AppUnit) -> Node:
    """The detail tree of one unit: kind, namespace, name (event/topic/destination/method), id, flags, details,
    and the decoded payload."""
    node = Node(unit_info(u), "bright_green")
    node.add(f"Protocol: {protocol_label(u.protocol)} ({safe(u.protocol)})")
    node.add(f"Kind: {safe(u.kind)}")
    if u.namespace is not None:
        node.add(f"Namespace: {safe(u.namespace, 300)}")
    if u.name is not None:
        node.add(f"{NAME_LABELS.get(u.protocol, 'Name')}: {safe(str(u.name), 500)}")
    if u.id is not None:
        node.add(f"Id: {safe(str(u.id), 200)}")
    flags = [f"{key.capitalize()}: {u.detail(key)}" for key in _FLAG_DETAILS if u.detail(key) is not None]
    for line in flags:
        node.add(line)
    for key, value in u.details:
        if key not in _FLAG_DETAILS:
            node.add(f"{safe(key, 100)}: {safe(_json_text(value), 500)}")
    if u.has_data:
        text, _ = pretty_payload(_json_text(u.data))
        data = node.add("Data (JSON):")
        for line in safe(text, 20000, newlines=True).split("\n")[:400]:
            data.add(line)
    return node


def add_unit_nodes(parent: Node, units: tuple) -> None:
    """One node per unit under *parent* (the WebSocket payload)."""
    for u in units:
        parent.children.append(unit_node(u))


def unit_line(u: AppUnit, limit: int = 4000) -> str:
    """One unit as ``follow`` prints it: its Info, then its payload as compact JSON."""
    line = unit_info(u)
    if u.has_data:
        line += "  " + safe(_json_text(u.data), limit)
    return line
