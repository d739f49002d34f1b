"""The report's HTML tables and summary tiles (connections as ``stats`` shows them, findings, close codes).

Every capture-derived string goes through :func:`~wsdissect.report.svg.esc`.
"""
from __future__ import annotations

import datetime as _dt

from ..render.text import size
from .charts import SEVERITY_COLOURS
from .data import ReportData
from .svg import esc

TABLE_ROWS = 200  # connections listed (the busiest)


def utc(ts: float | None) -> str:
    if ts is None:
        return "-"
    try:
        return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    except (OverflowError, OSError, ValueError):
        return f"{ts:.3f}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.3f} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 120:
        return f"{int(minutes)} min {s:.0f} s"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def _span_detail(start: float | None, end: float | None) -> str:
    """``2025-11-30<br>00:00:00.000 → 00:01:58.796 UTC`` (the date once when both ends share it)."""
    a, b = utc(start), utc(end)
    if a[:10] == b[:10] and len(a) > 11 and len(b) > 11:
        return f"{esc(a[:10])}<br>{esc(a[11:-4])} → {esc(b[11:])}"
    return f"{esc(a)}<br>to {esc(b)}"


def _tile(label: str, value: str, detail: str = "") -> str:
    return (f'<div class="tile"><div class="tile-label">{label}</div><div class="tile-value">{value}</div>'
            f'<div class="tile-detail">{detail}</div></div>')


def summary_tiles(data: ReportData) -> str:
    s = data.summary
    span = (s.end - s.start) if s.start is not None and s.end is not None else 0.0
    msgs, byts = s.messages, s.bytes
    sev = "".join(f'<span class="chip" style="background:{SEVERITY_COLOURS[k]}">{s.findings.get(k, 0):,} {k}</span>'
                  for k in ("error", "warning", "note", "chat"))
    refused = s.connections - s.websocket
    tiles = [
        _tile("Capture span", _duration(span), _span_detail(s.start, s.end)),
        _tile("Packets", f"{s.packets:,}", f"{len(s.sources)} file{'s' if len(s.sources) != 1 else ''}"),
        _tile("Connections", f"{s.connections:,}", f"{s.websocket:,} WebSocket"
              + (f", {refused:,} refused or unanswered" if refused else "")),
        _tile("Messages", f"{msgs[0] + msgs[1]:,}", f"client → server {msgs[0]:,}<br>server → client {msgs[1]:,}"),
        _tile("Payload", size(byts[0] + byts[1]), f"client → server {size(byts[0])}<br>server → client "
              f"{size(byts[1])}" + ("<br>on the wire (compressed) " + size(sum(s.wire_bytes))
                                    if s.wire_bytes != s.bytes else "")),
        _tile("Findings", f"{sum(s.findings.values()):,}", sev),
    ]
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _dir_cell(st: dict) -> str:
    ops = ", ".join(f"{esc(op)} {n:,}" for op, (n, _b) in sorted(st["opcodes"].items()))
    return f'{st["messages"]:,} msgs<br>{size(st["bytes"])}' + (f'<br><span class="dim">{ops}</span>' if ops else "")


def _conn_row(r: dict) -> str:
    uri = r["request"]["uri"] if r["request"] else "?"
    status = r["status"] + (f' ({r["response"]["status"]})' if r["response"] else "")
    proto = [r["subprotocol"] or ""] + list(r["extensions"])
    closes = ", ".join(f"{'C' if d == 'client_to_server' else 'S'} {c['code'] if c['code'] is not None else '-'}"
                       for d, c in r["close"].items()) or "-"
    rtt = r["ping_rtt"]
    rtt_s = (f"{rtt['min'] * 1e3:.3f} / {rtt['avg'] * 1e3:.3f} / {rtt['max'] * 1e3:.3f}<br>"
             f'<span class="dim">{rtt["count"]:,} pings</span>') if rtt else "-"
    st = r["stats"]
    cells = [str(r["stream"]), f'{esc(r["client"])}<br>{esc(r["server"])}',
             f'<span class="uri">{esc(uri, 200)}</span><br><span class="dim">{esc(status)}</span>',
             "<br>".join(esc(p, 120) for p in proto if p) or "-", _duration(r["duration"]),
             _dir_cell(st["client_to_server"]), _dir_cell(st["server_to_client"]),
             f'{esc(closes)}<br><span class="dim">{esc(r["ended_by"])}</span>', rtt_s]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def connections_table(data: ReportData) -> str:
    rows = data.connections[:TABLE_ROWS]
    if not rows:
        return '<p class="empty">No WebSocket connections.</p>'
    head = ("#", "Client<br>Server", "URI<br>status", "Subprotocol<br>extensions", "Duration", "Client →",
            "← Server", "Close<br>ended by", "Ping RTT ms<br>min / avg / max")
    left_out = len(data.connections) - len(rows) + data.connections_omitted
    note = (f'<p class="note">The {len(rows):,} busiest of {len(rows) + left_out:,} connections, by messages.</p>'
            if left_out else "")
    return (note + '<table id="table-connections"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(_conn_row(r) for r in rows) + "</tbody></table>")


def findings_table(data: ReportData) -> str:
    if not data.findings:
        return '<p class="empty">No findings.</p>'
    rows = []
    for g in data.findings:
        frames = ", ".join(str(n) for n in g.frames) + (", …" if g.count > len(g.frames) else "")
        rows.append(f'<tr><td><span class="chip" style="background:{SEVERITY_COLOURS[g.severity]}">'
                    f'{g.severity}</span></td><td><code>{esc(g.code)}</code></td><td class="num">{g.count:,}</td>'
                    f'<td>{esc(g.summary)}<br><span class="dim">e.g. {esc(g.example, 300)}</span></td>'
                    f'<td>{frames}</td></tr>')
    undated = (f'<p class="note">{data.findings_undated:,} finding(s) concern the capture file itself and have no '
               "time; they are counted here but not in the chart.</p>") if data.findings_undated else ""
    return (undated + '<table id="table-findings"><thead><tr><th>Severity</th><th>Code</th><th>Count</th>'
            "<th>What</th><th>Frames</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def close_codes_table(data: ReportData) -> str:
    if not data.close_codes:
        return '<p class="empty">No Close frames.</p>'
    rows = []
    for r in data.close_codes:
        reasons = "<br>".join(f"“{esc(x, 200)}”" for x in r.reasons) or '<span class="dim">-</span>'
        rows.append(f'<tr><td class="num">{r.code if r.code is not None else "-"}</td><td>{esc(r.label)}</td>'
                    f'<td class="num">{r.counts[0]:,}</td><td class="num">{r.counts[1]:,}</td><td>{reasons}</td></tr>')
    ended = ", ".join(f"{esc(k)}: {v:,}" for k, v in sorted(data.ended_by.items(), key=lambda kv: -kv[1]))
    return (f'<p class="note">Connections ended by: {ended or "-"}.</p><table id="table-close-codes"><thead><tr>'
            "<th>Code</th><th>Meaning</th><th>Client → server</th><th>Server → client</th><th>Reasons (first seen)"
            "</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
