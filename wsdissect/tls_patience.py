"""Live wss://: a TLS connection that waits for its secrets.

A browser (or OpenSSL) appends a session's secrets to its key log while the handshake is under way, and the capture
may see the first protected records a few milliseconds before the line is written.  :class:`PatientTls` has the
interface of :class:`~wsdissect.tls.TlsConnection` (``feed``/``gap``/``end``/``info``/``hello``) and keeps the
connection's input during its first seconds: when the engine reports ``tls.no_keys``, the outputs from there on are
withheld, the key log is re-read as the next packets arrive, and once it has the secret the connection is decrypted
again from its first byte (outputs already handed on are not repeated).  If the secret has not come after
``PATIENCE_SECONDS`` of capture time (or ``PATIENCE_BYTES``), the withheld outputs, ``tls.no_keys`` included, are
handed on.  Sans-IO apart from the key log's own re-reads.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from .flow import Conn
from .tls.resumption import SessionCache
from .tls.session import TlsConnection

PATIENCE_SECONDS = 3.0  # of capture time: how long a connection's start is kept, and a missing secret waited for
PATIENCE_BYTES = 4 << 20  # bytes of a connection's start kept for a replay


class Input(NamedTuple):
    from_client: bool
    data: Optional[bytes]  # None: a gap of *missing* bytes
    missing: int
    frame: int
    ts: float


def _no_keys_at(raw: list) -> int:
    """Index of the first ``tls.no_keys`` finding in *raw*, or -1."""
    return next((i for i, item in enumerate(raw) if getattr(item, "code", None) == "tls.no_keys"), -1)


class PatientTls:
    """A :class:`TlsConnection` replayed from the start when its missing secrets appear in a growing key log."""

    def __init__(self, secrets, conn: Optional[Conn], sessions: SessionCache, record_infos: bool):
        self._make = lambda: TlsConnection(secrets, conn, sessions, record_infos=record_infos)
        self.secrets = secrets
        self.engine = self._make()
        self.inputs: Optional[list[Input]] = []  # None once the connection's start is no longer kept
        self.size = 0
        self.first_ts: Optional[float] = None
        self.emitted = 0  # outputs handed on, counted over a run of the engine from the first input
        self.withheld: list = []  # outputs from the tls.no_keys on, while waiting
        self.waiting_since: Optional[float] = None
        self.wait_from = 0  # inputs not yet fed to the engine while waiting

    @property
    def hello(self):
        return self.engine.hello

    @property
    def info(self):
        return self.engine.info

    def feed(self, from_client: bool, data: bytes, frame: int, ts: float) -> list:
        return self._step(Input(from_client, data, 0, frame, ts))

    def gap(self, from_client: bool, nbytes: int, frame: int, ts: float) -> list:
        return self._step(Input(from_client, None, nbytes, frame, ts))

    def end(self) -> list:
        out = []
        if self.waiting_since is not None:
            out = self._retry()
            if self.waiting_since is not None:
                out += self._give_up()
        return out + self.engine.end()

    # -- internals ------------------------------------------------------------------------------------------
    @staticmethod
    def _run(engine: TlsConnection, inp: Input) -> list:
        if inp.data is None:
            return engine.gap(inp.from_client, inp.missing, inp.frame, inp.ts)
        return engine.feed(inp.from_client, inp.data, inp.frame, inp.ts)

    def _step(self, inp: Input) -> list:
        if self.inputs is None:
            return self._run(self.engine, inp)
        if self.first_ts is None:
            self.first_ts = inp.ts
        self.inputs.append(inp)
        self.size += len(inp.data or b"")
        expired = inp.ts - self.first_ts > PATIENCE_SECONDS or self.size > PATIENCE_BYTES
        if self.waiting_since is None:
            out = self._handed(self._run(self.engine, inp), len(self.inputs))
            if expired and self.waiting_since is None:
                self.inputs = None  # the start is over: stop keeping input
            return out
        out = self._retry()
        if self.waiting_since is not None and expired:
            out += self._give_up()
        return out

    def _handed(self, raw: list, fed: int) -> list:
        """What of the engine's *raw* outputs is handed on: all of it, or what comes before a tls.no_keys."""
        at = _no_keys_at(raw)
        if at < 0:
            self.emitted += len(raw)
            return raw
        self.emitted += at
        self.withheld = raw[at:]
        self.waiting_since = raw[at].ts
        self.wait_from = fed
        return raw[:at]

    def _retry(self) -> list:
        """Re-read the key log; with new secrets, decrypt again from the start and hand on what is new."""
        refresh = getattr(getattr(self.secrets, "keylog", None), "refresh", None)
        if refresh is None or not refresh():
            return []
        engine = self._make()
        raw = [item for inp in self.inputs for item in self._run(engine, inp)]
        at = _no_keys_at(raw)
        if 0 <= at <= self.emitted:
            return []  # the same secret is still missing
        self.engine, self.waiting_since, self.withheld = engine, None, []
        done, self.emitted = self.emitted, 0
        return self._handed(raw, len(self.inputs))[done:]

    def _give_up(self) -> list:
        """The secret did not come: hand on what was withheld and go on without it."""
        out, self.withheld = self.withheld, []
        for inp in self.inputs[self.wait_from:]:
            out += self._run(self.engine, inp)
        self.waiting_since, self.inputs = None, None
        return out
