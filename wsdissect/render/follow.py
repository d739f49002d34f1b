"""``wsdissect follow``: one connection as a conversation: handshake summary, then each message with its time,
direction arrow, opcode, size and content (text, pretty JSON, hex dump); closes and pings compact."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..events import CaptureStart, ConnectionEnd, Finding, HttpResponse, Message, Upgrade
from ..findings import Severity
from ..flow import CLIENT_TO_SERVER
from ..rfc6455 import close_code_label, opcode_name
from .app_view import unit_line
from .packets import SEVERITY_STYLE
from .text import hexdump, pretty_payload, safe, size

ARROW = {CLIENT_TO_SERVER: "→", "server_to_client": "←"}
DIR_STYLE = {CLIENT_TO_SERVER: "bright_cyan", "server_to_client": "magenta"}


class FollowView:
    def __init__(self, console: Console, hex_limit: int = 256, text_limit: int = 4000, units: bool = True):
        """*units*: show a message's application units (when decoded) instead of its raw text or hex."""
        self.console = console
        self.units = units
        self.hex_limit = hex_limit
        self.text_limit = text_limit
        self.t0: float | None = None
        self.seen: set[int] = set()
        self.multi = False
        self.pings: dict[tuple[int, str, bytes], float] = {}
        self.printed = 0

    def _prefix(self, conn) -> str:
        return f"[#{conn.index}] " if self.multi else ""

    def _rel(self, ts: float) -> float:
        return ts - (self.t0 if self.t0 is not None else ts)

    def event(self, ev) -> None:
        cls = ev.__class__
        if cls is CaptureStart:
            if self.t0 is None:
                self.t0 = ev.ts
        elif cls is Upgrade:
            self._upgrade(ev)
        elif cls is HttpResponse:
            if ev.request is not None and ev.request.is_upgrade and ev.status != 101:
                self._banner(ev.conn)
                self.console.print(Text(f"{self._prefix(ev.conn)}{safe(ev.request.method)} {safe(ev.request.uri)} "
                                        f"→ refused: {ev.status} {safe(ev.reason)}", style="yellow"))
        elif cls is Message:
            if ev.conn.index not in self.seen:
                self._banner(ev.conn)
                self.console.print(Text("(no handshake in the capture)", style="dim"))
            self._message(ev)
        elif cls is Finding:
            if ev.severity >= Severity.WARNING and ev.conn is not None and ev.conn.index in self.seen:
                self.console.print(Text(f"{self._prefix(ev.conn)}{'':>11} ! frame {ev.frame}: {safe(ev.message)} "
                                        f"({ev.code})", style=SEVERITY_STYLE[Severity(ev.severity)]))
        elif cls is ConnectionEnd:
            if ev.conn.index in self.seen:
                self._end(ev)

    def _banner(self, conn) -> None:
        if conn.index in self.seen:
            return
        if self.seen:
            self.multi = True
            self.console.print()
        self.seen.add(conn.index)
        self.printed += 1
        self.console.print(Text(f"═══ Stream {conn.index}: {conn.client} → {conn.server} ═══", style="bold"))

    def _upgrade(self, up: Upgrade) -> None:
        self._banner(up.conn)
        req, resp = up.request, up.response
        line = Text(f"{self._prefix(up.conn)}{safe(req.method)} {safe(req.uri, 300)} {req.version}  →  "
                    f"{resp.status} {safe(resp.reason)} ({(resp.ts - req.ts) * 1000:.3f} ms)", style="green")
        self.console.print(line, overflow="fold")
        extras = []
        if up.subprotocol:
            extras.append(f"subprotocol: {safe(up.subprotocol)}")
        if up.extensions:
            extras.append(f"extensions: {safe(', '.join(up.extensions), 300)}")
        if extras:
            self.console.print(Text(self._prefix(up.conn) + "   ".join(extras), style="dim"))

    def _row(self, prefix: Text, body: Text, extra: list[Text] = ()) -> None:
        """A transcript line: the time and arrow in a fixed column, the message wrapping in its own column."""
        grid = Table.grid()
        grid.add_column(no_wrap=True, width=len(prefix))
        grid.add_column(overflow="fold")
        grid.add_row(prefix, body)
        for line in extra:
            grid.add_row("", line)
        self.console.print(grid)

    def _message(self, m: Message) -> None:
        d = m.direction
        style = DIR_STYLE[d]
        name = opcode_name(m.opcode)
        prefix = Text(f"{self._prefix(m.conn)}{self._rel(m.last_ts):>10.6f} {ARROW[d]} ", style=style)
        flags = []
        if m.fragments > 1:
            flags.append(f"{m.fragments} fragments")
        if m.compressed:
            flags.append(f"deflate {m.wire_length} B")
        if not m.complete:
            flags.append(f"INCOMPLETE: {m.note or 'bytes missing'}")
        flag_text = f" ({', '.join(flags)})" if flags else ""
        op = m.opcode
        if op == 8:
            if m.close_code is not None:
                reason = f' "{safe(m.close_reason or "", 200)}"' if m.close_reason else ""
                body = Text(f"close {m.close_code} {close_code_label(m.close_code)}{reason}{flag_text}", style=style)
            else:
                body = Text(f"close (no status){flag_text}", style=style)
            self._row(prefix, body)
            return
        if op in (9, 10):
            body = Text(f"{name:<7}{len(m.payload):>8} B  {m.payload[:32].hex()}{flag_text}", style=style)
            key = (m.conn.index, d, m.payload)
            if op == 9:
                self.pings[key] = m.last_ts
            else:
                other = "server_to_client" if d == CLIENT_TO_SERVER else CLIENT_TO_SERVER
                sent = self.pings.pop((m.conn.index, other, m.payload), None)
                if sent is not None:
                    body.append(f"  (rtt {(m.last_ts - sent) * 1000:.3f} ms)", style="dim")
            self._row(prefix, body)
            return
        body = Text(f"{name:<7}{len(m.payload):>8} B{flag_text}", style=style)
        if self.units and m.app:
            self._row(prefix, body, [Text(unit_line(u, self.text_limit)) for u in m.app])
            return
        if op == 1 and m.text is not None:
            text, is_json = pretty_payload(m.text, self.text_limit)
            if is_json or "\n" in text:
                lines = [Text(line) for line in safe(text, self.text_limit, newlines=True).split("\n")]
                self._row(prefix, body, lines)
            else:
                body.append("  " + safe(text, self.text_limit))
                self._row(prefix, body)
            return
        self._row(prefix, body, [Text(line, style="dim") for line in hexdump(m.payload, self.hex_limit)])

    def _end(self, e: ConnectionEnd) -> None:
        parts = [f"ended: {e.ended_by}", f"{e.end_ts - e.start_ts:.3f} s"]
        for d, st in e.stats.items():
            parts.append(f"{ARROW[d]} {st['messages']} msgs {size(st['bytes'])}")
        if e.ping_rtt:
            parts.append(f"ping rtt avg {e.ping_rtt[2] * 1000:.3f} ms")
        self.console.print(Text(f"{self._prefix(e.conn)}── " + ", ".join(parts), style="dim"))

    def end(self) -> None:
        if not self.printed:
            self.console.print(Text("(no WebSocket connection matched)", style="dim"))
