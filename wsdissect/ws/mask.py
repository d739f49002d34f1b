"""Unmasking (RFC 6455 5.3): XOR with the 4-byte masking key.

Uses the C routine of wsdissect's own speedups when they are there (hundreds of times faster than a Python loop),
else the one shipped with the ``websockets`` package when it is installed (imported only then: importing that
package costs every command several milliseconds of start-up), else one big-integer XOR, the fastest pure-Python
way.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..speedups import speedups


def unmask_py(data: bytes, key: bytes) -> bytes:
    """Pure-Python unmasking."""
    n = len(data)
    if not n:
        return b""
    stream = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def _c_unmask() -> Optional[Callable[[bytes, bytes], bytes]]:
    if speedups is not None:
        return speedups.unmask
    try:  # pragma: no cover - depends on the installed wheel
        from websockets.speedups import apply_mask  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover
        return None
    return apply_mask


_c_apply_mask = _c_unmask()


def unmask(data: bytes, key: bytes) -> bytes:
    """*data* XOR the repeating *key* (masking and unmasking are the same operation)."""
    if _c_apply_mask is not None:
        return _c_apply_mask(data, key)
    return unmask_py(data, key)
