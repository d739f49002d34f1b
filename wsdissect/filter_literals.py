"""Literal values of display filters (``-Y``): unescaping and conversion to a field's type, as Wireshark does.

Wireshark's scanner reads ``10.0.0.0/8``, ``01:02:03``, ``0x1f`` and ``GET`` alike as one unquoted word and decides
what it is from the field it is compared with; so does :func:`convert`.  A literal that does not fit raises
:class:`LiteralError` with Wireshark's wording; the parser adds the column.
"""
from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from .fields import Field, FieldType

WORD, STRING, CHAR = "word", "string", "char"  # how a literal was written

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
            "'": "'", "0": "\0"}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)
_HEX_BYTES = re.compile(r"[0-9a-fA-F]{2}(?:([:.-]?)[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2})*)?")
_UINT = re.compile(r"(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_SLICE = re.compile(r"(?P<start>-?\d+)?(?:(?P<colon>:)(?P<length>\d+)?|-(?P<end>-?\d+))?")
_BOOLS = {"1": True, "0": False, "True": True, "False": False, "TRUE": True, "FALSE": False, "true": True,
          "false": False}


class LiteralError(ValueError):
    """A literal that cannot be a value of the field it is compared with."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal as written: its text (unescaped for strings), how it was written, and where (0-based)."""

    text: str
    kind: str
    pos: int
    width: int


def unescape(body: str) -> str:
    """The text of a quoted literal's body, escapes resolved (``\\n``, ``\\x41``, ``\\101``, ``\\u00e9``).

    As in Wireshark a ``\\xhh`` or octal escape is one raw byte: the result is the UTF-8 decoding of those bytes,
    with bytes that are not UTF-8 kept as surrogates, so ``encode("utf-8", "surrogateescape")`` gives them back."""
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(body):
        out += raw_bytes(body[pos:m.start()])
        e = m.group(1)
        if e[0] == "x" and len(e) > 1:
            out.append(int(e[1:], 16))
        elif e[0] in "01234567":
            out.append(int(e, 8) & 0xFF)
        elif e[0] in "uU" and len(e) > 1:
            out += chr(int(e[1:], 16)).encode("utf-8", "surrogatepass")
        else:
            out += raw_bytes(_ESCAPES.get(e, e))
        pos = m.end()
    out += raw_bytes(body[pos:])
    return out.decode("utf-8", "surrogateescape")


def raw_bytes(text: str) -> bytes:
    """The bytes a string literal stands for (see :func:`unescape`); other lone surrogates as UTF-8 would."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def parse_uint(text: str) -> int:
    """C's strtoul with base 0, as Wireshark reads numbers: ``0x1f``, ``017`` (octal), ``15``."""
    m = _UINT.fullmatch(text)
    if not m:
        raise LiteralError(f'"{text}" is not a valid number.')
    sign, digits = m.groups()
    if digits[:2] in ("0x", "0X"):
        n = int(digits, 16)
    else:
        n = int(digits, 8 if digits[0] == "0" else 10)
    return -n if sign else n


@functools.lru_cache(maxsize=65536)
def address_int(text: str) -> int:
    """An address as written in a packet (dotted quad or IPv6 text) as an integer, memoised."""
    return int(ipaddress.ip_address(text))


def parse_network(text: str, version: int) -> tuple[int, int]:
    """``10.0.0.1`` or ``10.0.0.0/8`` (``::1``, ``fe80::/10``) as the inclusive range of addresses it covers."""
    what = "IPv4" if version == 4 else "IPv6"
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise LiteralError(f'"{text}" is not a valid hostname or {what} address.') from None
    if net.version != version:
        raise LiteralError(f'"{text}" is not a valid hostname or {what} address.')
    return int(net.network_address), int(net.broadcast_address)


def _char(text: str) -> int:
    """A character constant's value: its byte (``'\\x81'`` is 0x81), or its code point beyond ASCII."""
    raw = raw_bytes(text)
    return raw[0] if len(raw) == 1 else ord(text)


def _uint(f: Field, lit: Literal) -> int:
    if lit.kind == CHAR:
        return _char(lit.text)
    names = f.names_to_values
    if lit.text in names:
        return names[lit.text]
    try:
        n = parse_uint(lit.text)
    except LiteralError:
        if lit.kind == STRING and names:
            raise LiteralError(f'"{lit.text}" cannot be found among the possible values for {f.name}.') from None
        raise
    if f.bits and n >= 1 << f.bits:  # Wireshark's words for each case
        if n >= 1 << 64:
            raise LiteralError(f'"{lit.text}" causes an integer overflow.')
        if names:
            raise LiteralError(f'"{lit.text}" cannot be found among the possible values for {f.name}.')
        raise LiteralError(f'"{lit.text}" too big for this field, maximum {(1 << f.bits) - 1}.')
    return n


def _bytes(lit: Literal) -> bytes:
    if lit.kind == STRING:
        return raw_bytes(lit.text)
    if lit.kind == CHAR:
        return raw_bytes(lit.text)
    if _HEX_BYTES.fullmatch(lit.text):
        return bytes.fromhex(re.sub(r"[:.-]", "", lit.text))
    raise LiteralError(f'"{lit.text}" is not a valid byte string.')


def convert(f: Field, lit: Literal):
    """*lit* as a value of field *f*: int, bool, str, bytes, float, or an (low, high) address range."""
    t = f.type
    if t is FieldType.UINT:
        return _uint(f, lit)
    if t is FieldType.BOOL:
        if lit.text in _BOOLS:
            return _BOOLS[lit.text]
        raise LiteralError(f'"{lit.text}" cannot be found among the possible values for {f.name}.')
    if t is FieldType.STRING:
        return lit.text
    if t is FieldType.BYTES:
        return _bytes(lit)
    if t in (FieldType.TIME, FieldType.FLOAT):
        try:
            return float(lit.text)
        except ValueError:
            raise LiteralError(f'"{lit.text}" is not a valid number.') from None
    if t in (FieldType.IPV4, FieldType.IPV6):
        return parse_network(lit.text, 4 if t is FieldType.IPV4 else 6)
    raise LiteralError(f"{f.name} (type={t.value}) cannot be compared with a value.")


def compile_regex(lit: Literal, for_bytes: bool) -> re.Pattern:
    """A ``matches`` pattern: PCRE-like, case-insensitive unless it starts with ``(?-i)`` (Wireshark 4.0)."""
    pattern, flags = lit.text, re.IGNORECASE
    if pattern.startswith("(?-i)"):
        pattern, flags = pattern[5:], 0
    try:
        return re.compile(raw_bytes(pattern) if for_bytes else pattern, flags)
    except re.error as e:
        raise LiteralError(f'"{lit.text}" is not a valid regular expression: {e}.') from None


def parse_slice(spec: str) -> tuple[int, int | None, bool] | None:
    """One range of a slice ``[...]``: ``i`` (one byte), ``i:n`` (n bytes from i), ``i-j`` (i to j inclusive),
    ``i:`` (to the end), ``:n``; negative offsets count from the end.  As ``(start, count or end, is_end)``."""
    m = _SLICE.fullmatch(spec)
    if not m or spec in ("", ":"):
        return None
    start = int(m["start"] or 0)
    if m["end"] is not None:
        return start, int(m["end"]), True
    if m["colon"]:
        return start, None if m["length"] is None else int(m["length"]), False
    return start, 1, False


def cut_ranges(value: bytes, ranges: list) -> bytes | None:
    """The bytes the slice *ranges* select from *value*, or None when a range falls outside it (as in Wireshark)."""
    out = b""
    n = len(value)
    for start, last, is_end in ranges:
        if start < 0:
            start += n
        if is_end:
            stop = (last + n if last < 0 else last) + 1
        else:
            stop = n if last is None else start + last
        if start < 0 or stop > n or start >= stop:
            return None
        out += value[start:stop]
    return out
