"""What a connection carries: :func:`classify` decides from its first payload bytes (``--decode-as``, HTTP, or
"probe"); :func:`detect` recognises WebSocket whose handshake is not in the capture (no HTTP, no ``--decode-as``).

:func:`detect` decides only on strong evidence (no false positives): each direction's bytes from its first captured
byte must be a chain of plausible frames ending exactly where the data ends, the two directions with opposite mask
bits (clients mask, servers do not), or one direction alone with eight such frames."""
from __future__ import annotations

import enum
from typing import NamedTuple

from .flow import Conn
from .http.stream import looks_like_request, looks_like_response
from .options import Options, decode_as_client
from .ws.frames import INVALID, PROVEN, probe

UNKNOWN, HTTP, WEBSOCKET, OTHER, PROBE = "unknown", "http", "websocket", "other", "probe"  # connection modes

PROBE_LIMIT = 64 << 10  # bytes per direction examined before giving up
ALONE_FRAMES = 8  # frames one direction alone must show


class Classification(NamedTuple):
    mode: str  # WEBSOCKET (--decode-as), HTTP, PROBE (let detect() decide) or OTHER
    swap: bool  # the first guess of who is the client was wrong


def classify(data: bytes, from_client: bool, conn: Conn, options: Options, roles_known: bool) -> Classification:
    """A connection's first payload bytes (*from_client* as guessed so far): what does it carry?  A real handshake
    always wins: ``--decode-as`` applies only where the first bytes are not HTTP."""
    if from_client and looks_like_request(data) or not from_client and looks_like_response(data):
        return Classification(HTTP, False)
    if not from_client and looks_like_request(data) and not roles_known:
        return Classification(HTTP, True)
    if decoded_as(conn, options):
        return Classification(WEBSOCKET, decode_as_client(options.decode_as, conn.client_port,
                                                          conn.server_port) is False)
    return Classification(PROBE if options.detect else OTHER, False)


def decoded_as(conn: Conn, options: Options) -> bool:
    """One of the connection's ports is given to ``--decode-as``."""
    decode_as = options.decode_as
    return bool(decode_as) and (conn.server_port in decode_as or conn.client_port in decode_as)


def unneeded_decode_as(conn: Conn, options: Options, response) -> list[tuple[str, str, object]]:
    """A connection upgraded by a handshake in the capture: the note that ``--decode-as`` named its port for
    nothing, as ``[(code, message, response head)]`` (empty when it did not)."""
    if not decoded_as(conn, options):
        return []
    return [("ws.decode_as.unneeded", f"the handshake is in the capture: --decode-as {conn.server_port} was not "
             "needed for this connection", response)]


class Detection(enum.Enum):
    UNDECIDED = "undecided"  # not enough bytes yet
    NOT_WEBSOCKET = "not websocket"
    WEBSOCKET = "websocket"  # with the roles as guessed
    REVERSED = "websocket, roles reversed"  # the side guessed to be the client sends unmasked frames


def detect(c2s: bytes, s2c: bytes) -> Detection:
    """The verdict on the bytes seen so far in each direction (as guessed: client to server, server to client)."""
    verdicts = {}
    for from_client, buf in ((True, c2s), (False, s2c)):
        if len(buf) > PROBE_LIMIT:
            return Detection.NOT_WEBSOCKET
        if buf:
            verdicts[from_client] = probe(buf)
    if any(v.verdict == INVALID for v in verdicts.values()):
        return Detection.NOT_WEBSOCKET
    proven = [v for v in verdicts.values() if v.verdict == PROVEN]
    both = len(proven) == 2 and proven[0].masked != proven[1].masked
    alone = len(verdicts) == 1 and proven and proven[0].frames >= ALONE_FRAMES
    if not (both or alone):
        return Detection.UNDECIDED
    from_client, first = next((k, v) for k, v in verdicts.items() if v.verdict == PROVEN)
    return Detection.WEBSOCKET if from_client == bool(first.masked) else Detection.REVERSED
