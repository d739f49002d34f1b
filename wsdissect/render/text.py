"""Terminal-safe text: payloads and header values are shown inert.

Control characters (C0, DEL, C1), ANSI/OSC escape introducers, bidirectional overrides and other invisible
formatting characters are replaced by visible escapes (``\\x1b``, ``\\u202e``); output is bounded in length.
Everything is returned as :class:`rich.text.Text` or plain ``str`` meant for ``Text`` (never parsed as markup).
"""
from __future__ import annotations

import functools
import json
import re

# C0 except tab/newline handled separately, DEL, C1, bidi controls, zero-width and other invisible format chars
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")
_UNSAFE_ML = _UNSAFE
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
    if s.isascii() and (s.replace("\n", "") if newlines else s).isprintable():  # the common case: nothing to escape
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
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and len(text) <= 1 << 20:
        fast = _orjson_indented(text)
        if fast is not None:
            return fast[:limit], True
        try:
            obj = json.loads(text)
        except ValueError:
            return text, False
        return json.dumps(obj, indent=2, ensure_ascii=False)[:limit], True
    return text, False


try:
    import orjson
except ImportError:  # pragma: no cover - a required dependency; the json module alone gives the same text
    orjson = None  # type: ignore[assignment]

# orjson writes a float as Python's repr does, except where repr uses an exponent (below 1e-4, from 1e16 on):
# an exponent or four zeros after "0." anywhere in its output sends the text to the json module instead (two
# searches: re's alternation without a literal prefix is several times slower)
_EXPONENT = re.compile(r"[0-9][eE]")


def _orjson_indented(text: str) -> str | None:
    """``json.dumps(json.loads(text), indent=2, ensure_ascii=False)`` done by orjson (the json module's indenting
    encoder is pure Python), or None where the two could differ: what orjson does not read as json does (NaN,
    integers past 64 bits, lone surrogates) and floats written with an exponent."""
    if orjson is None:
        return None
    try:
        out = orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, UnicodeDecodeError):
        return None
    return None if "0.0000" in out or _EXPONENT.search(out) else out


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
