"""TLS decryption for wss:// (sans-IO): key logs, the record layer, handshake parsing, key schedules, ciphers,
and :class:`TlsConnection`, which turns one TCP connection's TLS bytes into decrypted application data.

The names below are loaded on first use: a capture without TLS never imports the ciphers (nor ``cryptography``),
which is a good part of every command's start-up time.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .keylog import KeyLog, KeyLogWarning
    from .outputs import Plaintext, TlsInfo, TlsOutput, TlsRecord
    from .records import looks_like_tls
    from .resumption import SessionCache
    from .session import TlsConnection

_WHERE = {"KeyLog": "keylog", "KeyLogWarning": "keylog", "Plaintext": "outputs", "TlsInfo": "outputs",
          "TlsOutput": "outputs", "TlsRecord": "outputs", "looks_like_tls": "records", "SessionCache": "resumption",
          "TlsConnection": "session"}

__all__ = ["KeyLog", "KeyLogWarning", "Plaintext", "SessionCache", "TlsConnection", "TlsInfo", "TlsOutput",
           "TlsRecord", "looks_like_tls"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'wsdissect.tls' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
