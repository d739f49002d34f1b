"""``wsdissect stats``: one row per connection and totals, as a rich table or JSON for scripts."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..events import ConnectionEnd, Message
from ..export.records import connection_record, is_exported_connection
from ..rfc6455 import opcode_name
from .app_stats import AppStats, render_app_stats
from .text import safe, size


class StatsCollector:
    """Keeps one summary per WebSocket connection (memory grows with connections, never with packets).

    With ``recount`` (a filter leaves some messages out), the per-direction counters of each row are counted from
    the messages this collector was given instead of the connection's own totals."""

    def __init__(self, recount: bool = False) -> None:
        self.rows: list[dict] = []
        self.recount = recount
        self.tallies: dict[tuple[int, str], dict] = {}
        self.app = AppStats()

    def event(self, ev) -> None:
        cls = ev.__class__
        if cls is Message:
            if ev.app:
                self.app.message(ev)
            if self.recount:
                self._tally(ev)
        elif cls is ConnectionEnd and is_exported_connection(ev):
            self.app.end(ev.conn)
            row = connection_record(ev)
            if self.recount:
                for direction in row["stats"]:
                    st = self.tallies.pop((ev.conn.index, direction), _empty())
                    st["opcodes"] = {opcode_name(op): v for op, v in sorted(st["opcodes"].items())}
                    row["stats"][direction] = st
            self.rows.append(row)

    def _tally(self, m: Message) -> None:
        st = self.tallies.setdefault((m.conn.index, m.direction), _empty())
        n = len(m.payload)
        st["messages"] += 1
        st["bytes"] += n
        st["wire_bytes"] += m.wire_length
        st["largest"] = max(st["largest"], n)
        per_opcode = st["opcodes"].setdefault(m.opcode, [0, 0])
        per_opcode[0] += 1
        per_opcode[1] += n

    def totals(self) -> dict:
        t = {"connections": len(self.rows), "messages": 0, "bytes": 0, "by_opcode": {}}
        for r in self.rows:
            for st in r["stats"].values():
                t["messages"] += st["messages"]
                t["bytes"] += st["bytes"]
                for op, (n, b) in st["opcodes"].items():
                    cur = t["by_opcode"].setdefault(op, [0, 0])
                    cur[0] += n
                    cur[1] += b
        return t


def _empty() -> dict:
    return {"messages": 0, "bytes": 0, "wire_bytes": 0, "largest": 0, "opcodes": {}}


def _dir_cell(st: dict) -> str:
    lines = [f"{st['messages']} msgs", size(st["bytes"])]
    lines += [f"{op} {n}" for op, (n, _b) in sorted(st["opcodes"].items())]
    if st["messages"]:
        lines.append(f"max {size(st['largest'])}")
    return "\n".join(lines)


def _tls_cell(tls: dict | None) -> str:
    """wss://: version, cipher suite, SNI, ALPN and whether it was decrypted; "-" for plain TCP."""
    if tls is None:
        return "-"
    lines = [tls["version"] or "TLS", tls["cipher_suite"] or "-"]
    lines += [f"SNI {tls['sni']}"] if tls["sni"] else []
    lines += [f"ALPN {tls['alpn']}"] if tls["alpn"] else []
    lines.append("decrypted" if tls["decrypted"] else "not decrypted")
    return "\n".join(lines)


def _narrow(console: Console, stats: StatsCollector) -> None:
    """One block per connection, for terminals too narrow for the table."""
    for r in sorted(stats.rows, key=lambda r: r["stream"]):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        status = r["status"] if not r["response"] else f"{r['status']} ({r['response']['status']})"
        rtt = r["ping_rtt"]
        for k, v in (("client", r["client"]), ("server", r["server"]),
                     ("uri", safe(r["request"]["uri"] if r["request"] else "?", 500)), ("status", status),
                     ("subprotocol", safe(r["subprotocol"] or "-")), ("extensions", safe(", ".join(r["extensions"])
                                                                                       or "-", 500)),
                     ("tls", safe(_tls_cell(r["tls"]).replace("\n", ", "), 500)),
                     ("duration", f"{r['duration']:.3f} s"),
                     ("client →", _dir_cell(r["stats"]["client_to_server"]).replace("\n", ", ")),
                     ("← server", _dir_cell(r["stats"]["server_to_client"]).replace("\n", ", ")),
                     ("close", ", ".join(f"{d.split('_')[0]} {c['code']}" for d, c in r["close"].items()) or "-"),
                     ("ended by", r["ended_by"]),
                     ("ping rtt", f"{rtt['min'] * 1e3:.3f}/{rtt['avg'] * 1e3:.3f}/{rtt['max'] * 1e3:.3f} ms"
                      if rtt else "-")):
            grid.add_row(k, v)
        console.print(f"Stream {r['stream']}", style="bold")
        console.print(grid)
        console.print()


def render_stats(console: Console, stats: StatsCollector) -> None:
    tls = any(r["tls"] for r in stats.rows)
    if console.width < (130 if tls else 110):  # the TLS column needs room
        _narrow(console, stats)
        _totals(console, stats)
        render_app_stats(console, stats.app)
        return
    table = Table(title="WebSocket connections", show_lines=True)
    ends = max((len(x) for r in stats.rows for x in (r["client"], r["server"])), default=10)
    columns = [("#", {"justify": "right"}), ("Client\nServer", {"min_width": ends}),
               ("URI\nstatus", {"min_width": 8}), ("Subprotocol\nextensions", {"min_width": 12}),
               ("Duration", {"justify": "right", "min_width": 8}), ("Client →", {"min_width": 9}),
               ("← Server", {"min_width": 9}), ("Close", {"min_width": 9}),
               ("Ping RTT\nms min\navg/max", {"min_width": 8})]
    if tls:
        columns.insert(2, ("TLS", {"min_width": 10}))
    for col, kw in columns:
        table.add_column(col, overflow="fold", **kw)  # wrap long values, never cut them
    for r in sorted(stats.rows, key=lambda r: r["stream"]):
        uri = r["request"]["uri"] if r["request"] else "?"
        status = r["status"] if r["status"] != "upgraded" else f"{r['response']['status']}"
        if r["status"] == "refused" and r["response"]:
            status = f"refused {r['response']['status']}"
        proto = "\n".join(filter(None, [r["subprotocol"], *(p.strip() for e in r["extensions"]
                                                               for p in e.split(";"))])) or "-"
        closes = "\n".join(f"{'C' if d == 'client_to_server' else 'S'}: {c['code']}" for d, c in r["close"].items())
        first = {"client_to_server": "client", "server_to_client": "server"}.get(r["first_close"], "-")
        close = f"{closes or '-'}\nfirst: {first}\n{r['ended_by']}"
        rtt = r["ping_rtt"]
        rtt_s = f"{rtt['min'] * 1e3:.3f}\n{rtt['avg'] * 1e3:.3f}\n{rtt['max'] * 1e3:.3f}" if rtt else "-"
        st = r["stats"]
        tls_cells = (safe(_tls_cell(r["tls"]), 300, newlines=True),) if tls else ()
        table.add_row(str(r["stream"]), f"{r['client']}\n{r['server']}", *tls_cells,
                      safe(f"{uri}\n{status}", 200, newlines=True),
                      safe(proto, 200, newlines=True), f"{r['duration']:.3f} s",
                      _dir_cell(st["client_to_server"]), _dir_cell(st["server_to_client"]), close, rtt_s)
    console.print(table)
    _totals(console, stats)
    render_app_stats(console, stats.app)


def _totals(console: Console, stats: StatsCollector) -> None:
    t = stats.totals()
    ops = ", ".join(f"{op}: {n} ({size(b)})" for op, (n, b) in sorted(t["by_opcode"].items()))
    console.print(f"Totals: {t['connections']} connections, {t['messages']} messages, {size(t['bytes'])}"
                  + (f" — {ops}" if ops else ""), markup=False, highlight=False)
