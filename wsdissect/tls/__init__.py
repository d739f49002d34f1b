"""TLS decryption for wss:// (sans-IO): key logs, the record layer, handshake parsing, key schedules, ciphers,
and :class:`TlsConnection`, which turns one TCP connection's TLS bytes into decrypted application data."""
from .keylog import KeyLog, KeyLogWarning
from .outputs import Plaintext, TlsInfo, TlsOutput, TlsRecord
from .records import looks_like_tls
from .resumption import SessionCache
from .session import TlsConnection

__all__ = ["KeyLog", "KeyLogWarning", "Plaintext", "SessionCache", "TlsConnection", "TlsInfo", "TlsOutput",
           "TlsRecord", "looks_like_tls"]
