"""The application stage of one WebSocket connection: after the message assembler, it reads the messages each
``WsStream`` call appended to the event list and gives each one its units (``Message.app``), its findings
following it.

A connection gets a stage only when application decoding can happen (a forced or known protocol, an Engine.IO
URI, or sniffing the first messages); a negotiated unknown subprotocol gets none, and a stage that sniffed its
budget without finding a protocol says so (``read`` returns False) and is dropped, so those connections keep the
plain message path (the C lane and the C record encoder).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ..events import Message, Upgrade
from ..flow import CLIENT_TO_SERVER, Conn
from ..options import Options, forced_app
from .registry import AppDissector, choose


class AppStage:
    """Units for the messages of one connection (both directions share it; messages arrive in capture order)."""

    __slots__ = ("dissector", "conn")

    def __init__(self, dissector: AppDissector, conn: Conn) -> None:
        self.dissector = dissector
        self.conn = conn

    def read(self, out: list, start: int) -> bool:
        """Decode the messages in ``out[start:]`` in place: once a decoder is chosen each message is replaced by a
        copy with ``app`` set (empty for control messages), its findings inserted after it.  False when this
        connection will never decode."""
        dissector = self.dissector
        i, n = start, len(out)
        if dissector.decoder is None:  # sniffing: messages stay as they are until one proves a protocol
            while i < n:
                ev = out[i]
                if ev.__class__ is Message and dissector.sniffed(ev.opcode, ev.payload, ev.complete):
                    break
                i += 1
            else:
                return dissector.sniffing
        if i < n:
            tail = out[i:]
            del out[i:]
            self._rest(out, tail)
        return True

    def _rest(self, out: list, events: list) -> None:
        dissector, conn = self.dissector, self.conn
        for ev in events:
            if ev.__class__ is not Message:
                out.append(ev)
                continue
            if ev.opcode not in (1, 2):  # control messages carry no units
                out.append(ev if dissector.decoder is None else replace(ev, app=()))
                continue
            result = dissector.message(ev.direction == CLIENT_TO_SERVER, ev.opcode, ev.payload, ev.last_frame,
                                       ev.last_ts, ev.complete)
            out.append(ev if dissector.decoder is None else replace(ev, app=result.units))
            for f in result.findings:
                out.append(replace(f, conn=conn))

    def end(self, frame: int, ts: float, out: list) -> None:
        """The connection ended: what a decoder still waited for becomes a finding."""
        if self.dissector.decoder is None:  # (nothing was decoded: nothing can be unfinished)
            return
        for f in self.dissector.end(frame, ts).findings:
            out.append(replace(f, conn=self.conn))


def stage_for(conn: Conn, upgrade: Optional[Upgrade], options: Options) -> Optional[AppStage]:
    """The application stage of a new WebSocket connection, or None when it cannot decode anything."""
    uri = upgrade.request.uri if upgrade is not None and upgrade.request is not None else None
    subprotocol = upgrade.subprotocol if upgrade is not None else None
    choice = choose(subprotocol, uri, forced_app(options, conn.server_port))
    if choice.protocol is None and choice.reason != "sniff":
        return None
    return AppStage(AppDissector(choice), conn)
