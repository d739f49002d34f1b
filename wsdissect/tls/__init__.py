"""TLS decryption for wss:// (sans-IO): key logs, the record layer, handshake parsing, key schedules, ciphers,
and :class:`TlsConnection`, which turns one TCP connection's TLS bytes into decrypted application data.

The names below are loaded on first use: a capture without TLS never imports the ciphers (nor ``cryptography``),
which is a good part of every command's start-up time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

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


__getattr__ = lazy_names(__name__, _WHERE, globals())
