"""NSS key log files (SSLKEYLOGFILE): the secrets that let a capture's TLS be decrypted.

Format (one entry a line): ``LABEL <client_random hex> <secret hex>``; ``#`` starts a comment.  Labels used:
``CLIENT_RANDOM`` (TLS 1.2 master secret), ``CLIENT_EARLY_TRAFFIC_SECRET``, ``CLIENT_HANDSHAKE_TRAFFIC_SECRET``,
``SERVER_HANDSHAKE_TRAFFIC_SECRET``, ``CLIENT_TRAFFIC_SECRET_0``, ``SERVER_TRAFFIC_SECRET_0`` (TLS 1.3).  Other
known labels (exporter secrets, RSA pre-master secrets) are accepted and ignored.

:class:`KeyLog` holds the secrets; it reads files itself (``add_file``, ``refresh`` for files that grow while a
browser writes to them) or takes text (``add_text``, e.g. a pcapng Decryption Secrets Block).  Malformed lines
are skipped and listed in ``warnings`` by source and line number.  Secrets never appear in any repr, str or
warning.
"""
from __future__ import annotations

import os
import time
from typing import Optional

from ..record import frozen_record

CLIENT_RANDOM = "CLIENT_RANDOM"
CLIENT_EARLY = "CLIENT_EARLY_TRAFFIC_SECRET"
CLIENT_HANDSHAKE = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
SERVER_HANDSHAKE = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
CLIENT_TRAFFIC_0 = "CLIENT_TRAFFIC_SECRET_0"
SERVER_TRAFFIC_0 = "SERVER_TRAFFIC_SECRET_0"
USED_LABELS = frozenset({CLIENT_RANDOM, CLIENT_EARLY, CLIENT_HANDSHAKE, SERVER_HANDSHAKE, CLIENT_TRAFFIC_0,
                         SERVER_TRAFFIC_0})
IGNORED_LABELS = frozenset({"EXPORTER_SECRET", "EARLY_EXPORTER_SECRET", "RSA", "PMS_CLIENT_RANDOM"})
SECRET_LENGTHS = {CLIENT_RANDOM: (48,)}  # TLS 1.3 secrets: a hash length
TLS13_SECRET_LENGTHS = (32, 48)
MAX_LINE = 4096  # longer "lines" are not key log entries (and are not kept in memory while a file grows)


@frozen_record
class KeyLogWarning:
    """A key log line that was skipped (the line's content is not kept: it may hold key material)."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}; line skipped"


def _parse_line(text: str) -> tuple[Optional[tuple[str, bytes, bytes]], Optional[str]]:
    """(label, client_random, secret) for a usable line, (None, None) for one to ignore, (None, reason)."""
    text = text.strip()
    if not text or text.startswith("#"):
        return None, None
    parts = text.split()
    label = parts[0]
    if label in IGNORED_LABELS:
        return None, None
    if label not in USED_LABELS:
        return None, "unknown label" if label.isupper() and label.replace("_", "").isalnum() else \
            "not a key log entry"
    if len(parts) != 3:
        return None, f"{label} needs 2 values, found {len(parts) - 1}"
    try:
        client_random, secret = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None, f"{label} value is not hexadecimal"
    if len(client_random) != 32:
        return None, f"{label} client random is {len(client_random)} bytes, not 32"
    if len(secret) not in SECRET_LENGTHS.get(label, TLS13_SECRET_LENGTHS):
        return None, f"{label} secret has a wrong length ({len(secret)} bytes)"
    return (label, client_random, secret), None


class _WatchedFile:
    """A key log file read up to ``offset``; ``pending`` holds an unterminated last line."""

    __slots__ = ("path", "offset", "lines", "pending")

    def __init__(self, path: str):
        self.path = path
        self.offset = 0
        self.lines = 0
        self.pending = b""


class KeyLog:
    """Secrets from one or more key logs, looked up by (label, client random).

    With *refresh_interval* (seconds), a lookup that finds nothing re-reads the watched files first, at most that
    often: live capture then finds the secrets a browser appends as each session starts.
    """

    def __init__(self, refresh_interval: Optional[float] = None) -> None:
        self._secrets: dict[tuple[str, bytes], bytes] = {}
        self._files: list[_WatchedFile] = []
        self.warnings: list[KeyLogWarning] = []
        self.refresh_interval = refresh_interval
        self._last_refresh = float("-inf")  # the first lookup that misses may re-read at once

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"<KeyLog {len(self._secrets)} secrets from {len(self._files)} files>"

    __str__ = __repr__

    def lookup(self, label: str, client_random: bytes) -> Optional[bytes]:
        """The secret logged under *label* for the connection with this client random, or None."""
        secret = self._secrets.get((label, client_random))
        if secret is None and self.refresh_interval is not None and self._files:
            now = time.monotonic()
            if now - self._last_refresh >= self.refresh_interval and self.refresh():
                secret = self._secrets.get((label, client_random))
        return secret

    def add_text(self, text: str, source: str = "<key log>", first_line: int = 1) -> int:
        """Add the entries in *text* (``\\n`` or ``\\r\\n`` lines); returns how many secrets were added."""
        added = 0
        for number, line in enumerate(text.split("\n"), first_line):
            entry, problem = _parse_line(line)
            if problem:
                self.warnings.append(KeyLogWarning(source, number, problem))
            elif entry:
                key = (entry[0], entry[1])
                added += key not in self._secrets
                self._secrets[key] = entry[2]
        return added

    def add_secrets_block(self, data: bytes, source: str = "<pcapng Decryption Secrets Block>") -> int:
        """Add a key log carried in a pcapng Decryption Secrets Block (its text, possibly NUL padded)."""
        return self.add_text(data.rstrip(b"\0").decode("utf-8", "replace"), source)

    def add_file(self, path: str) -> int:
        """Read a key log file (raises OSError if it cannot be read); it is watched by ``refresh``."""
        watched = _WatchedFile(path)
        with open(path, "rb"):  # fail now, with the OS's reason, if the file cannot be opened
            pass
        self._files.append(watched)
        return self._read(watched)

    def refresh(self) -> int:
        """Read what was appended to the watched files since the last read; returns secrets added.

        A file that shrank (rewritten) is read again from its start; one that vanished is kept and skipped.
        """
        self._last_refresh = time.monotonic()
        return sum(self._read(watched) for watched in self._files)

    def _read(self, watched: _WatchedFile) -> int:
        try:
            with open(watched.path, "rb") as f:
                if os.fstat(f.fileno()).st_size < watched.offset:
                    watched.offset, watched.lines, watched.pending = 0, 0, b""
                f.seek(watched.offset)
                data = f.read()
        except OSError:
            return 0
        watched.offset += len(data)
        data = watched.pending + data
        cut = data.rfind(b"\n") + 1
        whole, rest = data[:cut], data[cut:]
        added = self.add_text(whole.decode("utf-8", "replace"), watched.path, watched.lines + 1)
        watched.lines += whole.count(b"\n")
        entry, _problem = _parse_line(rest.decode("utf-8", "replace"))
        if entry:  # a complete entry without its newline yet: use it now, and again when the line ends
            added += (entry[0], entry[1]) not in self._secrets
            self._secrets[(entry[0], entry[1])] = entry[2]
        watched.pending = rest if len(rest) <= MAX_LINE else b""
        return added
