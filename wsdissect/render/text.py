"""Terminal-safe text: payloads and header values are shown inert.

Control characters (C0, DEL, C1), ANSI/OSC escape introducers, bidirectional overrides and other invisible
formatting characters are replaced by visible escapes (``\\x1b``, ``\\u202e``); output is bounded in length.
Everything is returned as :class:`rich.text.Text` or plain ``str`` meant for ``Text`` (never parsed as markup).
"""
from __future__ import annotations

import functools
import json
import re

from ..speedups import speedups

# C twin of the JSON branch of transcript_text (and pretty_payload's indenting): the indented JSON as UTF-8 for
# the inputs that need no judgement, None for everything else (then the Python code below decides)
_c_json_indent = getattr(speedups, "json_indent", None)

# C0 except tab/newline handled separately, DEL, C1, bidi controls, zero-width and other invisible format chars,
# lone surrogates (JSON's "\ud800" reads as one; no UTF-8 terminal can be sent it)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ud800-\udfff\ufeff"
                     "\ufff9-\ufffb]")
_UNSAFE_ML = _UNSAFE
JSON_LIMIT = 1 << 20  # longer text is shown as it is, not indented
_NAMED = {"\r": "\\r", "\x1b": "\\x1b", "\x00": "\\x00"}


def _esc(m: re.Match) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named:
        return named
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def safe(s: str, limit: int | None = 2000, newlines: bool = False) -> str:
    """*s* with unsafe characters escaped; tabs and newlines escaped unless *newlines*; cut at *limit* chars."""
    truncated = limit is not None and len(s) > limit
    if truncated:
        s = s[:limit]
    # the common case, nothing to escape: every character escaped below is one str.isprintable() rejects
    if (s.replace("\n", "") if newlines else s).isprintable():
        return s + "…" if truncated else s
    s = _UNSAFE.sub(_esc, s)
    if not newlines:
        s = s.replace("\n", "\\n").replace("\t", "\\t")
    else:
        s = s.replace("\t", "    ")
    if truncated:
        s += "…"
    return s


def pretty_payload(text: str, limit: int = 20000) -> tuple[str, bool]:
    """Pretty-printed JSON when *text* is a JSON object/array, else the text; returns (text, is_json)."""
    if _c_json_indent is not None:
        fast = _c_json_indent(text, limit)
        if fast is not None:
            return fast.decode(), True
    pretty = _json_pretty(text, limit) if _may_be_json(text) else None
    return (text, False) if pretty is None else (pretty, True)


def transcript_text(text: str, limit: int = 20000) -> tuple[bytes, bool]:
    """*text* as a transcript shows it, escaped, in UTF-8: ``(shown, block)``.  Pretty JSON (cut at *limit*
    characters) and text with newlines are a *block* of lines (newlines kept, tabs as spaces), other text is one
    line (tabs and newlines escaped); the same as :func:`pretty_payload` then :func:`safe` with ``newlines=block``,
    encoded, but orjson's UTF-8 is used as it is where nothing in it needs escaping or cutting (and the C twin's
    indented JSON where it is sure)."""
    if _c_json_indent is not None:
        fast = _c_json_indent(text, limit)
        if fast is not None:
            return fast, True
    first = text[:1]
    if (first == "{" or first == "[") and len(text) <= JSON_LIMIT or first.isspace() and _may_be_json(text):
        raw = _orjson_indented(text)
        if raw is not None:
            if len(raw) <= limit and not _may_need_escapes(raw):  # (no more bytes than the characters allowed)
                return raw, True
            return safe(raw.decode()[:limit], None, newlines=True).encode(), True
        pretty = _json_module_pretty(text, limit)
        if pretty is not None:
            return safe(pretty, None, newlines=True).encode(), True
    if "\n" in text:
        return safe(text, None, newlines=True).encode(), True
    return safe(text, None).encode(), False


def _may_be_json(text: str) -> bool:
    """Whether *text* starts (after white space) like a JSON object or array and is small enough to indent."""
    first = text[:1]
    if first != "{" and first != "[":
        if not first.isspace() or text.lstrip()[:1] not in ("{", "["):
            return False
    return len(text) <= JSON_LIMIT


def _may_need_escapes(raw: bytes) -> bool:
    """Whether indented JSON (UTF-8) may hold a character :func:`safe` escapes.  JSON escapes every C0 control;
    DEL and the others, from U+0080 up (C1, the invisible format characters), start with one of these bytes.
    (``find``, not ``in``: bytes' ``in`` first tries its operand as an integer and pays for the TypeError.)"""
    find = raw.find
    return find(b"\x7f") >= 0 or not raw.isascii() and (
        find(b"\xc2") >= 0 or find(b"\xd8") >= 0 and find(b"\xd8\x9c") >= 0
        or find(b"\xe2") >= 0 and (find(b"\xe2\x80") >= 0 or find(b"\xe2\x81") >= 0)  # (not the € or arrows)
        or find(b"\xef") >= 0 and (find(b"\xef\xbb") >= 0 or find(b"\xef\xbf") >= 0))


def _json_pretty(text: str, limit: int) -> str | None:
    """``json.dumps(json.loads(text), indent=2, ensure_ascii=False)`` cut at *limit*, or None if not JSON."""
    fast = _orjson_indented(text)
    return fast.decode()[:limit] if fast is not None else _json_module_pretty(text, limit)


def _json_module_pretty(text: str, limit: int) -> str | None:
    """:func:`_json_pretty` by the json module alone (where orjson's text could differ)."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return json.dumps(obj, indent=2, ensure_ascii=False)[:limit]


try:
    import orjson
except ImportError:  # pragma: no cover - a required dependency; the json module alone gives the same text
    orjson = None  # type: ignore[assignment]
else:
    _orjson_loads, _orjson_dumps, _INDENT_2 = orjson.loads, orjson.dumps, orjson.OPT_INDENT_2

# orjson writes a float as Python's repr does, except where repr uses an exponent (below 1e-4, from 1e16 on):
# orjson's exponent (a lowercase e then a digit or a sign: "1e23" from orjson 3.8, "1e+23" from 3.13) or four
# zeros after "0." anywhere in its output sends the text to the json module instead (two searches: re's alternation
# without a literal prefix is several times slower; a pattern that starts with the literal e is scanned for quickly)
_EXPONENT = re.compile(rb"e[-+0-9]")


def _orjson_indented(text: str) -> bytes | None:
    """``json.dumps(json.loads(text), indent=2, ensure_ascii=False)`` done by orjson (the json module's indenting
    encoder is pure Python), as UTF-8, or None where the two could differ: what orjson does not read as json does
    (NaN, integers past 64 bits, lone surrogates) and floats written with an exponent."""
    if orjson is None:
        return None
    try:
        out = _orjson_dumps(_orjson_loads(text), option=_INDENT_2)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, UnicodeDecodeError):
        return None
    return None if out.find(b"0.0000") >= 0 or _EXPONENT.search(out) else out


def hexdump(data: bytes, limit: int = 512) -> list[str]:
    """Wireshark-style hex dump lines: offset, 16 hex bytes, printable ASCII."""
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off:off + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        asc = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:04x}  {hexpart:<49} {asc}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes")
    return lines


@functools.lru_cache(maxsize=4096)
def bitfield(value: int, mask: int, width: int = 8) -> str:
    """Wireshark's bit-field notation: ``.111 1110`` shows *value*'s bits under *mask*, dots elsewhere (cached:
    a detail tree draws the same few header bytes over and over)."""
    out = []
    for i in range(width - 1, -1, -1):
        bit = 1 << i
        out.append(("1" if value & bit else "0") if mask & bit else ".")
        if i % 4 == 0 and i:
            out.append(" ")
    return "".join(out)


def size(n: int) -> str:
    """Human byte count."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
