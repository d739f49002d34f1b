"""Binary payload formats (msgpack, CBOR) decoded to JSON-like trees.

No protocol of the export contract is "msgpack" or "CBOR", so these trees are not units: views show them for binary
messages no application decoder claims (``sniff_binary``), and the Socket.IO msgpack parser uses ``unpack_msgpack``
and ``json_value`` for its packets.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import cbor2
import msgpack

from .units import NO_DATA


class _Undefined:
    """JavaScript ``undefined`` as notepack/msgpack-lite encode it (fixext 1, type 0)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


@dataclass(frozen=True, slots=True)
class Extension:
    """A msgpack extension value or CBOR tag that has no JSON form."""

    code: int
    data: bytes


@dataclass(frozen=True, slots=True)
class BinaryDocument:
    """A binary message decoded as msgpack or CBOR; ``tree`` is JSON-compatible (bytes as ``{"$binary": hex}``)."""

    format: str
    tree: Any


def _ext_hook(code: int, data: bytes) -> Any:
    return UNDEFINED if code == 0 and data in (b"\x00", b"") else Extension(code, data)


def unpack_msgpack(payload: bytes) -> Any:
    """The one msgpack value that is all of *payload*, or NO_DATA."""
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False, ext_hook=_ext_hook, use_list=True)
    except Exception:  # noqa: BLE001 - any undecodable input (the library raises several types) is "not msgpack"
        return NO_DATA


def unpack_cbor(payload: bytes) -> Any:
    """The one CBOR data item that is all of *payload*, or NO_DATA."""
    stream = io.BytesIO(payload)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception:  # noqa: BLE001 - any undecodable input (the library raises several types) is "not CBOR"
        return NO_DATA
    return value if stream.tell() == len(payload) else NO_DATA


def json_value(value: Any) -> Any:
    """*value* as JSON (JavaScript's JSON.stringify rules for ``undefined``), or NO_DATA when it holds binary data,
    extensions, non-string keys or non-finite numbers."""
    if value is UNDEFINED:
        return NO_DATA
    try:
        return _json(value)
    except _NotJson:
        return NO_DATA


class _NotJson(Exception):
    pass


def _json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJson
        return value
    if isinstance(value, list):
        return [None if v is UNDEFINED else _json(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _NotJson
        return {k: _json(v) for k, v in value.items() if v is not UNDEFINED}
    raise _NotJson


def display_tree(value: Any) -> Any:
    """A JSON-compatible rendering of any decoded value, binary and extensions included (for views)."""
    if value is UNDEFINED:
        return {"$undefined": True}
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": bytes(value).hex(), "length": len(value)}
    if isinstance(value, Extension):
        return {"$ext": value.code, "$binary": value.data.hex()}
    if isinstance(value, cbor2.CBORTag):
        return {"$tag": value.tag, "value": display_tree(value.value)}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}
    if isinstance(value, (list, tuple)):
        return [display_tree(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(display_tree(k)): display_tree(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if hasattr(value, "isoformat"):
        return {"$datetime": value.isoformat()}
    return {"$value": str(value)}


def sniff_binary(payload: bytes) -> BinaryDocument | None:
    """A binary message as a msgpack or CBOR map/array filling the whole payload (first msgpack), else None."""
    for fmt, unpack in (("msgpack", unpack_msgpack), ("cbor", unpack_cbor)):
        value = unpack(payload)
        if isinstance(value, (dict, list)) and value:
            return BinaryDocument(fmt, display_tree(value))
    return None
