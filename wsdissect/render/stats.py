"""``wsdissect stats``: one row per connection and totals, as a rich table or JSON for scripts."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..events import ConnectionEnd
from ..export.records import connection_record, is_exported_connection
from .text import safe, size


class StatsCollector:
    """Keeps one summary per WebSocket connection (memory grows with connections, never with packets)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def event(self, ev) -> None:
        if ev.__class__ is ConnectionEnd and is_exported_connection(ev):
            self.rows.append(connection_record(ev))

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


def _dir_cell(st: dict) -> str:
    ops = ", ".join(f"{op} {n}" for op, (n, _b) in sorted(st["opcodes"].items()))
    return f"{st['messages']} msgs, {size(st['bytes'])}" + (f"\n{ops}" if ops else "") + \
        (f"\nlargest {size(st['largest'])}" if st["messages"] else "")


def render_stats(console: Console, stats: StatsCollector) -> None:
    table = Table(title="WebSocket connections", show_lines=True)
    for col, kw in (("#", {"justify": "right"}), ("Client", {}), ("Server", {}), ("URI / status", {}),
                    ("Proto / Ext", {}), ("Duration", {"justify": "right"}), ("Client → Server", {}),
                    ("Server → Client", {}), ("Close", {}), ("Ping RTT ms", {})):
        table.add_column(col, **kw)
    for r in sorted(stats.rows, key=lambda r: r["stream"]):
        uri = r["request"]["uri"] if r["request"] else "?"
        status = r["status"] if r["status"] != "upgraded" else f"{r['response']['status']}"
        if r["status"] == "refused" and r["response"]:
            status = f"refused {r['response']['status']}"
        proto = "\n".join(filter(None, [r["subprotocol"], *r["extensions"]])) or "-"
        closes = "; ".join(f"{'C' if d == 'client_to_server' else 'S'}:{c['code']}" for d, c in r["close"].items())
        close = f"{closes or '-'}\nfirst: {'client' if r['first_close'] == 'client_to_server' else 'server' if r['first_close'] else '-'}\n{r['ended_by']}"
        rtt = r["ping_rtt"]
        rtt_s = f"{rtt['min'] * 1e3:.3f}/{rtt['avg'] * 1e3:.3f}/{rtt['max'] * 1e3:.3f}" if rtt else "-"
        st = r["stats"]
        table.add_row(str(r["stream"]), r["client"], r["server"], safe(f"{uri}\n{status}", 200, newlines=True),
                      safe(proto, 200, newlines=True), f"{r['duration']:.3f} s",
                      _dir_cell(st["client_to_server"]), _dir_cell(st["server_to_client"]), close, rtt_s)
    console.print(table)
    t = stats.totals()
    ops = ", ".join(f"{op}: {n} ({size(b)})" for op, (n, b) in sorted(t["by_opcode"].items()))
    console.print(f"Totals: {t['connections']} connections, {t['messages']} messages, {size(t['bytes'])}"
                  + (f" — {ops}" if ops else ""), markup=False, highlight=False)
