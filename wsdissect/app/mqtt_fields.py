"""MQTT 3.1.1 / 5.0 control packet bodies -> unit fields (sans-IO, one packet at a time)."""
from __future__ import annotations

from typing import Any, Callable

from .units import NO_DATA, parse_json_text
from .wire import Reader

PACKET_TYPES = ("reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
                "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH")
# Fixed-header flags every packet but PUBLISH must carry (MQTT 3.1.1 2.2.2, 5.0 2.1.3).
REQUIRED_FLAGS = {6: 0b0010, 8: 0b0010, 10: 0b0010}

_READERS: dict[str, Callable[[Reader], Any]] = {
    "byte": Reader.u8, "u16": Reader.u16, "u32": Reader.u32, "varint": Reader.varint, "str": Reader.string,
    "bin": lambda r: r.binary().hex(), "pair": lambda r: [r.string(), r.string()],
}
# MQTT 5.0 2.2.2.2: property identifier -> (name, encoding).
_PROPERTIES = {
    0x01: ("payload_format_indicator", "byte"), 0x02: ("message_expiry_interval", "u32"),
    0x03: ("content_type", "str"), 0x08: ("response_topic", "str"), 0x09: ("correlation_data", "bin"),
    0x0B: ("subscription_identifier", "varint"), 0x11: ("session_expiry_interval", "u32"),
    0x12: ("assigned_client_identifier", "str"), 0x13: ("server_keep_alive", "u16"),
    0x15: ("authentication_method", "str"), 0x16: ("authentication_data", "bin"),
    0x17: ("request_problem_information", "byte"), 0x18: ("will_delay_interval", "u32"),
    0x19: ("request_response_information", "byte"), 0x1A: ("response_information", "str"),
    0x1C: ("server_reference", "str"), 0x1F: ("reason_string", "str"), 0x21: ("receive_maximum", "u16"),
    0x22: ("topic_alias_maximum", "u16"), 0x23: ("topic_alias", "u16"), 0x24: ("maximum_qos", "byte"),
    0x25: ("retain_available", "byte"), 0x26: ("user_property", "pair"), 0x27: ("maximum_packet_size", "u32"),
    0x28: ("wildcard_subscription_available", "byte"), 0x29: ("subscription_identifier_available", "byte"),
    0x2A: ("shared_subscription_available", "byte"),
}


class BadProperty(ValueError):
    """Unknown MQTT 5 property identifier (the rest of the property block cannot be read)."""


def read_properties(r: Reader) -> dict[str, Any]:
    """An MQTT 5 property block; repeated properties (user properties) become lists."""
    length = r.varint()
    block = Reader(r.buf, r.pos, r.pos + length)
    r.pos = block.end
    if block.end > r.end:
        r.take(block.end - r.end)  # raises Short
    props: dict[str, Any] = {}
    while block.left:
        ident = block.varint()
        if ident not in _PROPERTIES:
            raise BadProperty(f"unknown MQTT 5 property 0x{ident:02x}")
        name, enc = _PROPERTIES[ident]
        value = _READERS[enc](block)
        if name == "user_property":
            props.setdefault(name, []).append(value)
        elif name in props:
            props[name] = (props[name] if isinstance(props[name], list) else [props[name]]) + [value]
        else:
            props[name] = value
    return props


class Fields:
    """The pieces of one packet a decoder turns into a unit."""

    __slots__ = ("name", "id", "data", "details")

    def __init__(self) -> None:
        self.name: str | None = None
        self.id: int | None = None
        self.data: Any = NO_DATA
        self.details: dict[str, Any] = {}


def parse_body(ptype: int, flags: int, r: Reader, version: int) -> Fields:
    """Read the variable header and payload of a packet of type *ptype* (raises Short / BadProperty)."""
    f = Fields()
    v5 = version >= 5
    if ptype == 1:
        _connect(r, f)
    elif ptype == 2:
        f.details["session_present"] = bool(r.u8() & 1)
        f.details["reason_code"] = r.u8()
        _props(r, f, v5)
    elif ptype == 3:
        _publish(flags, r, f, v5)
    elif 4 <= ptype <= 7 or ptype == 11:
        f.id = r.u16()
        _ack_tail(ptype, r, f, v5)
    elif ptype in (8, 10):
        f.id = r.u16()
        _props(r, f, v5)
        filters = []
        while r.left:
            filters.append(r.string())
            if ptype == 8:
                f.details.setdefault("options", []).append(r.u8())
        f.details["topics"] = filters
        f.name = filters[0] if filters else None
    elif ptype == 9:
        f.id = r.u16()
        _props(r, f, v5)
        f.details["reason_codes"] = list(r.rest())
    elif ptype in (14, 15) and r.left:
        f.details["reason_code"] = r.u8()
        _props(r, f, v5 and r.left > 0)
    return f


def _props(r: Reader, f: Fields, v5: bool) -> None:
    if v5:
        props = read_properties(r)
        if props:
            f.details["properties"] = props


def _ack_tail(ptype: int, r: Reader, f: Fields, v5: bool) -> None:
    if not v5:
        return
    if ptype == 11:
        _props(r, f, True)
        f.details["reason_codes"] = list(r.rest())
    elif r.left:
        f.details["reason_code"] = r.u8()
        _props(r, f, r.left > 0)


def _connect(r: Reader, f: Fields) -> None:
    f.details["protocol_name"] = r.string()
    level = r.u8()
    f.details["protocol_level"] = level
    cflags = r.u8()
    f.details["clean_start"] = bool(cflags & 0x02)
    f.details["keep_alive"] = r.u16()
    if level >= 5:
        _props(r, f, True)
    f.details["client_id"] = r.string()
    if cflags & 0x04:
        if level >= 5:
            read_properties(r)
        f.details["will_topic"] = r.string()
        r.binary()
        f.details["will_qos"] = (cflags >> 3) & 3
    if cflags & 0x80:
        f.details["username"] = r.string()
    if cflags & 0x40:
        r.binary()
        f.details["password"] = True


def _publish(flags: int, r: Reader, f: Fields, v5: bool) -> None:
    qos = (flags >> 1) & 3
    f.details.update(qos=qos, retain=bool(flags & 1), dup=bool(flags & 8))
    f.name = r.string()
    if qos:
        f.id = r.u16()
    _props(r, f, v5)
    payload = r.rest()
    f.details["payload_length"] = len(payload)
    f.data = parse_json_text(payload)
