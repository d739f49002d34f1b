"""What to decode and the resource bounds (:class:`Options`), and the parsers of the user-facing option values
shared by the CLI commands (no click here)."""
from __future__ import annotations

import re
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Optional

from .errors import UsageError


@dataclass
class Options:
    """What to decode and emit, and the resource bounds (each reported as a finding when hit)."""

    decode_as: frozenset = frozenset()  # server TCP ports to decode as WebSocket without a handshake
    packets: bool = False  # emit a Packet event per TCP packet (views)
    frames: bool = False  # emit a WsFrame event per WebSocket frame (views)
    max_message: int = 64 << 20  # bytes of one message kept; beyond it the payload is truncated
    max_inflated: int = 256 << 20  # decompressed bytes produced per message (CPU bound; past it the history is lost)
    max_ratio: int = 0  # decompressed/compressed ratio per message (0 = off: deflate itself stops near 1032:1)
    max_tcp_buffer: int = 8 << 20  # out-of-order bytes buffered per direction
    max_connections: int = 100_000  # connections tracked at once (oldest evicted)
    max_http_head: int = 64 << 10  # bytes of one HTTP header block
    detect: bool = True  # recognise WebSocket without a handshake from the frames themselves (strict heuristic)
    app: str | None = None  # --app: the application protocol forced on every WebSocket connection
    app_ports: dict = field(default_factory=dict)  # --decode-app: server TCP port -> application protocol
    tls_keys: Any = None  # wsdissect.tls.KeyLog: secrets for wss:// (--tls-keylog, SSLKEYLOGFILE); see load_tls_keys
    extra: dict = field(default_factory=dict)


# compiled on first use (by re's cache): most runs have no --decode-as or --decode-app, and a compile costs ~1 M
# instructions of start-up
_DECODE_AS = r"^\s*(?:tcp\.port\s*==\s*)?(\d{1,5})\s*(?:,\s*websocket)?\s*$"


def parse_decode_as(values: tuple[str, ...] | list[str]) -> frozenset[int]:
    """``tcp.port==8765`` (tshark's spelling) or plain ``8765``; commas separate several ports."""
    ports = set()
    for value in values:
        for part in value.split(",") if "==" not in value or value.count("==") > 1 else [value]:
            m = re.match(_DECODE_AS, part, re.I)
            if not m or not 0 < int(m.group(1)) < 65536:
                raise UsageError(f"--decode-as {value!r}: expected tcp.port==PORT or PORT")
            ports.add(int(m.group(1)))
    return frozenset(ports)


def decode_as_client(decode_as: frozenset, port: int, peer_port: int) -> bool | None:
    """Who is the client, by ``--decode-as`` (the one place that decides it): True when *peer_port* is a port to
    decode and *port* is not (the side using *port* is the client), False for the reverse, None when
    ``--decode-as`` does not tell."""
    if peer_port in decode_as and port not in decode_as:
        return True
    if port in decode_as and peer_port not in decode_as:
        return False
    return None


_DECODE_APP = r"^\s*(?:tcp\.port\s*==\s*)?(\d{1,5})\s*,\s*([\w.-]+)\s*$"  # compiled on first use


def _known_app(name: str, option: str) -> str:
    from .app import PROTOCOLS

    if name not in PROTOCOLS:
        raise UsageError(f"{option} {name!r}: unknown application protocol (known: {', '.join(sorted(PROTOCOLS))})")
    return name


def parse_app(value: str | None) -> str | None:
    """``--app PROTO``: a name of ``wsdissect.app.PROTOCOLS`` (or None)."""
    return None if value is None else _known_app(value.strip(), "--app")


def parse_decode_app(values: tuple[str, ...] | list[str]) -> dict[int, str]:
    """``--decode-app tcp.port==1883,mqtt`` (or ``1883,mqtt``): server port -> application protocol."""
    ports: dict[int, str] = {}
    for value in values:
        m = re.match(_DECODE_APP, value, re.I)
        if not m or not 0 < int(m.group(1)) < 65536:
            raise UsageError(f"--decode-app {value!r}: expected tcp.port==PORT,PROTOCOL")
        ports[int(m.group(1))] = _known_app(m.group(2), "--decode-app")
    return ports


def forced_app(options: "Options", server_port: int) -> str | None:
    """The application protocol forced on a connection to *server_port* (``--decode-app`` before ``--app``)."""
    return options.app_ports.get(server_port, options.app)


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.I)


def parse_size(value: str) -> int:
    """``64M``, ``512k``, ``1G`` or a plain byte count."""
    m = _SIZE.match(value)
    if not m or not int(m.group(1)):
        raise UsageError(f"bad size {value!r}: expected a positive number with an optional k/M/G suffix")
    n = int(m.group(1))
    unit = (m.group(2) or "b")[0].lower()
    return n << {"b": 0, "k": 10, "m": 20, "g": 30}[unit]


class TlsKeys(NamedTuple):
    """The key log for ``Options.tls_keys`` and what the user should be told about it."""

    keylog: Any  # wsdissect.tls.KeyLog, or None when there are no key log files
    note: Optional[str]  # SSLKEYLOGFILE was used
    warnings: tuple[str, ...]  # one per malformed line (source and line number, never the line itself)


def load_tls_keys(paths: tuple[str, ...] | list[str], environ: Mapping[str, str] = os.environ,
                  refresh_interval: Optional[float] = None) -> TlsKeys:
    """The one place that builds the key log: the ``--tls-keylog`` files, or ``SSLKEYLOGFILE`` when none is given.
    *refresh_interval* (live) makes lookups that miss re-read the files as they grow.  A file that cannot be read
    is a :class:`UsageError`."""
    from .tls import KeyLog

    note = None
    paths = list(paths)
    if not paths and environ.get("SSLKEYLOGFILE"):
        paths = [environ["SSLKEYLOGFILE"]]
        note = f"using the TLS key log named by SSLKEYLOGFILE: {paths[0]}"
    if not paths:
        return TlsKeys(None, None, ())
    keylog = KeyLog(refresh_interval=refresh_interval)
    for path in paths:
        try:
            keylog.add_file(path)
        except OSError as e:
            raise UsageError(f"--tls-keylog {path}: cannot read: {e.strerror or e}") from None
    return TlsKeys(keylog, note, tuple(str(w) for w in keylog.warnings))
