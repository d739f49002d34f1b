"""``wsdissect follow``: one connection as a conversation: handshake summary, then each message with its time,
direction arrow, opcode, size and content (text, pretty JSON, hex dump); closes and pings compact."""
from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, Group
from rich.text import Text

from ..events import CaptureStart, ConnectionEnd, Finding, HttpResponse, Message, Upgrade
from ..findings import Severity
from ..flow import CLIENT_TO_SERVER
from ..rfc6455 import close_code_label, opcode_name
from ..ws.pings import PingBook
from .app_view import unit_line
from .packets import SEVERITY_STYLE
from .lines import LineWriter
from .text import JSON_LIMIT, hexdump, safe, size, transcript_text
from .transcript import TranscriptRows

ARROW = {CLIENT_TO_SERVER: "→", "server_to_client": "←"}
DIR_STYLE = {CLIENT_TO_SERVER: "bright_cyan", "server_to_client": "magenta"}


class FollowView:
    """The conversation view.  Long texts show their first *text_limit* characters and a ``… N more bytes`` line
    (``None``: everything); ``oneline`` prints one grep-able line per message and nothing else; *units* shows a
    message's application units (when decoded) instead of its raw text or hex."""

    def __init__(self, console: Console, hex_limit: int | None = 256, text_limit: int | None = 4000,
                 oneline: bool = False, units: bool = True):
        self.console = console
        self.units = units
        self.hex_limit = hex_limit
        self.text_limit = text_limit
        self.oneline = oneline
        self.out = LineWriter(console)  # --oneline lines: plain text in batches, styles rendered once
        self.rows = TranscriptRows(self.out)  # message rows: UTF-8 in batches
        self.t0: float | None = None
        self.seen: set[int] = set()
        self.multi = False
        self.pings: dict[int, PingBook] = {}  # connection index -> its outstanding pings
        self._head_ts: float | None = None  # the last message's time, connection and direction, and its head
        self._head_conn = self._head_dir = None
        self._head_text = self._head_style = ""
        self._head_key: tuple = (None, None, None)  # (time, connection, direction) of the head, for C
        # what a text row built in C must meet: no application units to show (when they are), at most so many chars
        self._rules = (units, text_limit if text_limit is not None else JSON_LIMIT)
        self.printed = 0

    def _prefix(self, conn) -> str:
        return f"[#{conn.index}] " if self.multi else ""

    def _rel(self, ts: float) -> float:
        if self.t0 is None:  # no capture start seen (live): times from the first message
            self.t0 = ts
        return ts - self.t0

    def events(self, evs: list) -> None:
        """The events of one packet (the driver's list sink), each shown as :meth:`event` shows it; the runs of text
        messages with nothing to flag or cut under the head of the message before them (same time, connection and
        direction) go straight to their rows (:meth:`TranscriptRows.text_rows`: what :meth:`event` would write)."""
        event, rows = self.event, self.rows
        if self.oneline or not rows.fast:
            for ev in evs:
                event(ev)
            return
        i, n = 0, len(evs)
        while i < n:
            i = rows.text_rows(evs, i, self._head_key, self._head_text, self._head_style, self._rules)
            if i < n:
                event(evs[i])
                i += 1

    def event(self, ev) -> None:
        cls = ev.__class__
        if cls is Message and not self.oneline:  # (the common event first)
            if ev.conn.index not in self.seen:
                self._banner(ev.conn)
                self._say("(no handshake in the capture)", "dim")
            self._message(ev)
            return
        if self.oneline:
            if cls is Message:
                self.printed += 1
                self.out.write(self._line(ev), DIR_STYLE[ev.direction], cut=False)
            elif cls is CaptureStart and self.t0 is None:
                self.t0 = ev.ts
            return
        if cls is CaptureStart:
            if self.t0 is None:
                self.t0 = ev.ts
        elif cls is Upgrade:
            self._upgrade(ev)
        elif cls is HttpResponse:
            if ev.request is not None and ev.request.is_upgrade and ev.status != 101:
                self._banner(ev.conn)
                self._say(f"{self._prefix(ev.conn)}{safe(ev.request.method)} {safe(ev.request.uri)} "
                          f"→ refused: {ev.status} {safe(ev.reason)}", "yellow")
        elif cls is Finding:
            if ev.severity >= Severity.WARNING and ev.conn is not None and ev.conn.index in self.seen:
                self._say(f"{self._prefix(ev.conn)}{'':>11} ! frame {ev.frame}: {safe(ev.message)} ({ev.code})",
                          SEVERITY_STYLE[Severity(ev.severity)])
        elif cls is ConnectionEnd:
            if ev.conn.index in self.seen:
                self._end(ev)

    def _banner(self, conn) -> None:
        if conn.index in self.seen:
            return
        if self.seen:
            self.multi = True
            self._head_ts = None  # heads from now on start with [#N]
            self._head_key = (None, None, None)
            self._say()
        self.seen.add(conn.index)
        self.printed += 1
        self._say(f"═══ Stream {conn.index}: {conn.client} → {conn.server} ═══", "bold")

    def _upgrade(self, up: Upgrade) -> None:
        self._banner(up.conn)
        req, resp = up.request, up.response
        self._say(f"{self._prefix(up.conn)}{safe(req.method)} {safe(req.uri, 300)} {req.version}  →  "
                  f"{resp.status} {safe(resp.reason)} ({(resp.ts - req.ts) * 1000:.3f} ms)", "green",
                  wrap=False)  # the terminal wraps: no padding, no cut
        extras = []
        if up.subprotocol:
            extras.append(f"subprotocol: {safe(up.subprotocol)}")
        if up.extensions:
            extras.append(f"extensions: {safe(', '.join(up.extensions), 300)}")
        if extras:
            self._say(self._prefix(up.conn) + "   ".join(extras), "dim")

    def _line(self, m: Message) -> str:
        """``--oneline``: stream, time, arrow, opcode, size and the escaped content on one line (the application
        units where they were decoded, `` | `` between them, unless ``--raw``)."""
        op, payload = m.opcode, m.payload
        if self.units and m.app:  # decoded application units, as the transcript shows them
            content = " | ".join(unit_line(u, self.text_limit) for u in m.app)
        elif op == 1 and m.text is not None:
            content = safe(m.text, self.text_limit)
        elif op == 8:
            content = "" if m.close_code is None else f"{m.close_code} {safe(m.close_reason or '', self.text_limit)}"
        else:
            limit = self.hex_limit
            content = payload[:limit].hex() if limit is not None else payload.hex()
            if limit is not None and len(payload) > limit:
                content += f"… {len(payload) - limit} more bytes"
        return (f"{m.conn.index} {self._rel(m.last_ts):.6f} {ARROW[m.direction]} {opcode_name(m.opcode)} "
                f"{len(payload)} {content}".rstrip())

    def _say(self, text: str = "", style: str = "", wrap: bool = True) -> None:
        """A line of *style* as rich prints it, wrapped at the console's width (unless not *wrap*); through the
        batch when rich would print it as it is (one line, nothing to wrap or expand)."""
        if self.out.direct or not text or not text.isprintable() or wrap and (
                len(text) if text.isascii() else cell_len(text)) > self.out.width:
            self._print(*([Text(text, style=style)] if text else []), **({} if wrap else {"soft_wrap": True}))
        else:
            self.rows.line(text, style)

    def _print(self, *args, **kw) -> None:
        """Anything rich prints, after the batched lines written so far."""
        self.out.flush()
        self.rows.flush()
        self.console.print(*args, **kw)

    def _row(self, prefix: str, body: str, style: str, block: str | None = None, extra: list[tuple[str, str]] = (),
             rtt: str = "") -> None:
        """A transcript row (see :meth:`TranscriptRows.row`; *block*: lines separated by newlines)."""
        if self.out.direct:
            collected_row(self.console, prefix, body, style, block, extra, rtt)
        else:
            self.rows.row(prefix, body.encode(), style, None if block is None else block.encode(), extra, rtt)

    def _head(self, m: Message) -> str:
        """The time and arrow (and ``[#N]`` with several connections) that start a message's line, remembered:
        the messages of one segment share it."""
        ts = m.last_ts
        if self.t0 is None:
            self.t0 = ts
        head = f"{ts - self.t0:>10.6f} {ARROW[m.direction]} "
        if self.multi:
            head = f"[#{m.conn.index}] {head}"
        self._head_ts, self._head_conn, self._head_dir, self._head_text = ts, m.conn, m.direction, head
        self._head_style = DIR_STYLE[m.direction]
        self._head_key = (ts, m.conn, m.direction)
        return head

    def _message(self, m: Message) -> None:
        op = m.opcode
        style = DIR_STYLE[m.direction]
        if m.last_ts == self._head_ts and m.conn is self._head_conn and m.direction == self._head_dir:
            prefix = self._head_text
        else:
            prefix = self._head(m)
        flag_text = message_flags(m) if m.fragments > 1 or m.compressed or not m.complete else ""
        if op == 1 and (text := m.text) is not None and not (self.units and m.app):
            if flag_text or (limit := self.text_limit) is not None and len(text) > limit or \
                    not self.rows.text_row(prefix, style, text, m.payload):  # (the whole row in C)
                self._text(m, prefix, flag_text, style)
            return
        if op == 8:
            if m.close_code is not None:
                reason = f' "{safe(m.close_reason or "", 200)}"' if m.close_reason else ""
                self._row(prefix, f"close {m.close_code} {close_code_label(m.close_code)}{reason}{flag_text}", style)
            else:
                self._row(prefix, f"close (no status){flag_text}", style)
            return
        name = opcode_name(op)
        if op in (9, 10):
            self._row(prefix, f"{name:<7}{len(m.payload):>8} B  {m.payload[:32].hex()}{flag_text}", style,
                      rtt=self._rtt(m))
            return
        body = f"{name:<7}{len(m.payload):>8} B{flag_text}"
        if self.units and m.app:
            self._row(prefix, body, style, "\n".join(unit_line(u, self.text_limit) for u in m.app))
            return
        limit = self.hex_limit if self.hex_limit is not None else len(m.payload)
        self._row(prefix, body, style, extra=[(line, "dim") for line in hexdump(m.payload, limit)])

    def _rtt(self, m: Message) -> str:
        """A ping is remembered in its connection's book; a pong that answers one gets ``  (rtt N ms)``."""
        book = self.pings.get(m.conn.index)
        if book is None:
            book = self.pings[m.conn.index] = PingBook()
        if m.opcode == 9:
            book.ping(m.direction, m.payload, m.last_ts)
            return ""
        sent = book.pong(m.direction, m.payload)
        return "" if sent is None else f"  (rtt {(m.last_ts - sent) * 1000:.3f} ms)"

    def _text(self, m: Message, prefix: str, flag_text: str, style: str) -> None:
        """A text message: pretty JSON or the text, its first ``text_limit`` characters and a marker of the rest."""
        limit = self.text_limit
        text = m.text
        if limit is not None and len(text) > limit:
            text = text[:limit]
            marker = [(f"… {len(m.payload) - len(text.encode('utf-8'))} more bytes", "dim")]
        else:
            marker = ()
        shown, block = transcript_text(text, len(text) * 8 + 64)
        body = self.rows.text_head(len(m.payload), flag_text)
        if self.out.direct:
            body_text, shown_text = body.decode(), shown.decode()
            if block:
                collected_row(self.console, prefix, body_text, style, shown_text, marker, "")
            else:
                collected_row(self.console, prefix, f"{body_text}  {shown_text}", style, None, marker, "")
        elif block:
            self.rows.row(prefix, body, style, shown, marker)
        else:
            self.rows.row(prefix, body + b"  " + shown, style, None, marker)

    def _end(self, e: ConnectionEnd) -> None:
        self.pings.pop(e.conn.index, None)
        parts = [f"ended: {e.ended_by}", f"{e.end_ts - e.start_ts:.3f} s"]
        for d, st in e.stats.items():
            parts.append(f"{ARROW[d]} {st['messages']} msgs {size(st['bytes'])}")
        if e.ping_rtt:
            parts.append(f"ping rtt avg {e.ping_rtt[2] * 1000:.3f} ms")
        self._say(f"{self._prefix(e.conn)}── " + ", ".join(parts), "dim")

    def end(self) -> None:
        """Everything batched is written (and a note if no connection was shown)."""
        if not self.printed:
            self._say("(no WebSocket connection matched)", "dim")
        self.out.flush()
        self.rows.flush()


def message_flags(m: Message) -> str:
    """`` (2 fragments, deflate N B, INCOMPLETE: why)``: what is unusual about a message."""
    flags = []
    if m.fragments > 1:
        flags.append(f"{m.fragments} fragments")
    if m.compressed:
        flags.append(f"deflate {m.wire_length} B")
    if not m.complete:
        flags.append(f"INCOMPLETE: {m.note or 'bytes missing'}")
    return f" ({', '.join(flags)})"


def collected_row(console, prefix: str, body: str, style: str, block: str | None, extra: list[tuple[str, str]],
                  rtt: str) -> None:
    """A transcript row for a collector (the TUI): one rich item per message."""
    if block is not None:
        extra = [(line, "") for line in block.split("\n")] + list(extra)
    first = Text(prefix, style=style)
    tail = Text(body, style=style)
    if rtt:
        tail.append(rtt, style="dim")
    first.append_text(tail)
    indent = Text(" " * len(prefix))
    console.print(Group(first, *(indent + Text(line, style=line_style) for line, line_style in extra)))
