"""The report's charts, as static SVG built from :class:`~wsdissect.report.data.ReportData`.

Every chart has an ``id`` (``chart-messages-c2s``, ``chart-sizes``, ...) and the class ``chart``; time charts share
one x axis (seconds since the first packet), so they line up on the page.  Bars and points carry a ``<title>``:
the browser shows the exact numbers on hover, without script.
"""
from __future__ import annotations

import heapq

from .data import ReportData, TimelineBar
from .svg import PlotArea, byte_unit, esc, legend, nice_ticks, num, short_number, svg_open, time_axis, y_axis
from .timeseries import width_label

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
OTHER = "#bab0ac"
STACKED = 8  # up to this many connections, the traffic charts stack them; beyond, they show the sum
SEVERITY_COLOURS = {"error": "#d62728", "warning": "#f0a30a", "note": "#4e79a7", "chat": "#a5a5a5"}
ENDED_COLOURS = {"close+fin": "#59a14f", "fin without close": "#edc948", "fin": "#edc948", "rst": "#e15759",
                 "capture ended": "#4e79a7", "evicted": "#b07aa1", "idle timeout": "#b07aa1",
                 "refused upgrade": "#8c2d04"}
TIME_W, TIME_H = 640, 230


def _time_area(data: ReportData, height: int = TIME_H, width: int = TIME_W, top: float = 0.0,
                left: int = 64) -> PlotArea:
    span = data.axis.buckets * data.axis.width
    return PlotArea(width, height, left, span, top)


def _steps(f: PlotArea, width: float, values: list[float], backwards: bool = False) -> str:
    """Path commands tracing a step line (one step per bucket); runs of equal values become one step."""
    order = range(len(values) - 1, -1, -1) if backwards else range(len(values))
    out = []
    prev = None
    for i in order:
        y = num(f.y(values[i]))
        x = num(f.x(i * width if backwards else (i + 1) * width))
        if y == prev:
            out[-1] = f"H{x}"
        else:
            out.append(f"V{y}")
            out.append(f"H{x}")
            prev = y
    return "".join(out)


def _step_area(f: PlotArea, width: float, lower: list[float], upper: list[float]) -> str:
    """The band between two step lines as one closed path."""
    return (f"M{num(f.x(0))},{num(f.y(lower[0]))}" + _steps(f, width, upper) + _steps(f, width, lower, True) + "Z")


def traffic_layers(data: ReportData) -> list[tuple[str, str, int | None]]:
    """(colour, legend label, stream) of each stacked layer, bottom first; stream None is all connections."""
    total = data.traffic.connections_total
    if total > STACKED:
        return [(PALETTE[0], f"all {total:,} connections", None)]
    return [(PALETTE[k % len(PALETTE)], f"#{c.stream} {c.client} → {c.server}", c.stream)
            for k, c in enumerate(data.traffic.connections[:total])]


def _stack(data: ReportData, metric: str, direction: int) -> list[list[int]]:
    """Per layer (as :func:`traffic_layers`), the values per bucket for one metric and direction."""
    count = data.traffic.connections_total
    if count > STACKED:
        return [list(getattr(data.traffic, metric)[direction])]
    return [list(getattr(c, metric)[direction]) for c in data.traffic.connections[:count]]


def _rate_unit(peak_per_second: float) -> tuple[float, str]:
    """Seconds per rate unit and its name: per second, unless the rate is so low that per minute (hour, day)
    reads better."""
    for per, name in ((1.0, "s"), (60.0, "min"), (3600.0, "h")):
        if peak_per_second * per >= 1:
            return per, name
    return 86400.0, "d"


def traffic_chart(data: ReportData, metric: str, direction: int) -> str:
    """Messages (``metric="messages"``) or payload bytes per second, one direction, stacked per connection."""
    width = data.axis.width
    stacks = _stack(data, metric, direction)
    n = data.axis.buckets
    peak = max((sum(s[i] for s in stacks) for i in range(n)), default=0) / width
    per, per_name = _rate_unit(peak)
    unit, div = ("msg", 1.0) if metric == "messages" else byte_unit(peak * per)
    scale = per / width / div  # a bucket's count -> the axis unit
    ticks = nice_ticks(0, max(peak * per / div, 1e-9))
    f = _time_area(data, top=ticks[-1])
    name = ("client-to-server", "server-to-client")[direction]
    label = f"{'Messages' if metric == 'messages' else 'Payload bytes'} per {per_name}, {name.replace('-', ' ')}"
    parts = [svg_open(f"chart-{metric}-{('c2s', 's2c')[direction]}", f"traffic {metric}", f, label),
             y_axis(f, ticks, short_number, f"{unit}/{per_name}"),
             time_axis(f, f", {width_label(width)} buckets")]
    lower = [0.0] * n
    for (colour, text, _stream), vals in zip(traffic_layers(data), stacks):
        upper = [lo + v * scale for lo, v in zip(lower, vals)]
        if any(vals):
            parts.append(f'<path class="layer" fill="{colour}" d="{_step_area(f, width, lower, upper)}">'
                         f'<title>{esc(text)}: {sum(vals):,} {"messages" if metric == "messages" else "bytes"}'
                         f'</title></path>')
        lower = upper
    parts.append("</svg>")
    return "".join(parts)


def _size_class(k: int) -> str:
    """The lower bound of size class *k* (payloads of 2**(k-1) .. 2**k - 1 bytes), short."""
    if k == 0:
        return "0"
    lo = 1 << (k - 1)
    for unit, shift in (("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if lo >= 1 << shift:
            return f"{lo >> shift}{unit}"
    return str(lo)


def sizes_chart(data: ReportData) -> str:
    """Message size distribution: one row of bars per opcode over the same log2 size classes."""
    rows = [(op, h) for op, h in data.sizes.items() if any(h)]
    if not rows:
        return '<p class="empty">No messages.</p>'
    used = [k for _op, h in rows for k, v in enumerate(h) if v]
    first, last = min(used), max(used)
    classes = range(first, last + 1)
    row_h, left, top = 78, 110, 8
    width, height = 1280, top + row_h * len(rows) + 44
    inner = width - left - 14
    bar = inner / len(classes)
    parts = [svg_open("chart-sizes", "sizes", (width, height), "Message size distribution per opcode")]
    for r, (op, hist) in enumerate(rows):
        y0 = top + r * row_h
        peak = max(hist)
        parts.append(f'<text class="row-label" x="{left - 10}" y="{y0 + 30}" text-anchor="end">{esc(op)}</text>'
                     f'<text class="tick" x="{left - 10}" y="{y0 + 46}" text-anchor="end">{sum(hist):,} msgs</text>'
                     f'<text class="tick" x="{left - 10}" y="{y0 + 60}" text-anchor="end">peak {peak:,}</text>'
                     f'<line class="axis" x1="{left}" x2="{width - 14}" y1="{y0 + row_h - 8}" '
                     f'y2="{y0 + row_h - 8}"/>')
        for j, k in enumerate(classes):
            v = hist[k]
            if not v:
                continue
            h = max(1.0, (row_h - 14) * v / peak)
            x = left + j * bar
            hi = "0 bytes" if k == 0 else f"{1 << (k - 1):,}–{(1 << k) - 1:,} bytes"
            parts.append(f'<rect class="bar" x="{num(x + 1)}" y="{num(y0 + row_h - 8 - h)}" '
                         f'width="{num(max(bar - 2, 1))}" height="{num(h)}"><title>{esc(op)}: {v:,} messages of '
                         f'{hi}</title></rect>')
    axis_y = top + row_h * len(rows)
    for j, k in enumerate(classes):
        parts.append(f'<text class="tick" x="{num(left + (j + 0.5) * bar)}" y="{axis_y + 8}" '
                     f'text-anchor="middle">{_size_class(k)}</text>')
    parts.append(f'<text class="axis-title" x="{left + inner // 2}" y="{height - 6}" text-anchor="middle">'
                 f'payload size (bytes, each bar from its label up to twice that; Ki = 1024)</text></svg>')
    return "".join(parts)


def rtt_chart(data: ReportData) -> str:
    """Ping round-trip time per bucket: the min-max band and the average."""
    if not data.rtt:
        return '<p class="empty">No Ping was answered by a Pong in this capture.</p>'
    peak = max(b.max for b in data.rtt) * 1000
    ticks = nice_ticks(0, max(peak, 1e-6))
    f = _time_area(data, width=1280, top=ticks[-1])
    w = data.axis.width
    parts = [svg_open("chart-rtt", "rtt", f, "Ping round-trip time over time"),
             y_axis(f, ticks, lambda v: f"{v:g}", "round trip (ms)"), time_axis(f)]
    for b in data.rtt:  # no line between buckets: pings of different connections share a bucket
        x0, x1 = f.x(b.bucket * w), f.x((b.bucket + 1) * w)
        x = num((x0 + x1) / 2)
        parts.append(f'<g class="rtt-bucket"><title>{b.count:,} ping{"s" if b.count != 1 else ""} answered: min '
                     f'{b.min * 1000:.3f} ms, avg {b.avg * 1000:.3f} ms, max {b.max * 1000:.3f} ms</title>'
                     f'<rect class="band" x="{num(x0)}" y="{num(f.y(b.max * 1000))}" width="{num(max(x1 - x0, 2))}" '
                     f'height="{num(max(f.y(b.min * 1000) - f.y(b.max * 1000), 1))}"/>'
                     f'<circle class="avg-point" cx="{x}" cy="{num(f.y(b.avg * 1000))}" r="2.5"/></g>')
    parts.append("</svg>")
    return legend([("#c85a00", "average per bucket"), ("#f7c9a0", "min to max")]) + "".join(parts)


def ended_category(bar: TimelineBar) -> str:
    return "refused upgrade" if bar.status == "refused" else bar.ended_by


def _lanes(bars: tuple[TimelineBar, ...]) -> list[int]:
    """A lane per bar so that bars in one lane do not overlap (greedy, in order of start: few lanes)."""
    free: list[tuple[float, int]] = []  # (end time, lane)
    lanes = []
    count = 0
    for b in bars:
        if free and free[0][0] < b.start:
            _end, lane = heapq.heappop(free)
        else:
            lane, count = count, count + 1
        lanes.append(lane)
        heapq.heappush(free, (b.end, lane))
    return lanes


LABELLED_ROWS = 40  # up to this many connections, one labelled row each; beyond, packed into lanes


def timeline_chart(data: ReportData) -> str:
    """Each connection a bar from its first packet to its end, darker from the handshake on, coloured by how it
    ended."""
    bars = data.timeline
    if not bars:
        return '<p class="empty">No WebSocket connections.</p>'
    labelled = len(bars) <= LABELLED_ROWS
    lanes = list(range(len(bars))) if labelled else _lanes(bars)
    nlanes = max(lanes) + 1
    row = 18 if labelled else max(2.0, min(12.0, 360 / nlanes))
    left = 230 if labelled else 64
    f = PlotArea(1280, int(PlotArea.top + row * nlanes + PlotArea.bottom), left, data.axis.buckets * data.axis.width,
                 1.0)
    origin = data.axis.origin
    parts = [svg_open("chart-timeline", "timeline", f, "Connection timeline"), time_axis(f)]
    for b, lane in zip(bars, lanes):
        y = PlotArea.top + lane * row
        x0, x1 = f.x(b.start - origin), f.x(b.end - origin)
        colour = ENDED_COLOURS.get(ended_category(b), OTHER)
        tip = (f"#{b.stream} {b.client} → {b.server}: {b.end - b.start:.3f} s, {b.messages:,} messages, "
               f"{b.status}, ended by {b.ended_by}" + (f", close {b.close}" if b.close else ""))
        parts.append(f'<g class="conn"><title>{esc(tip)}</title>'
                     f'<rect class="life" x="{num(x0)}" y="{num(y + row * 0.15)}" width="{num(max(x1 - x0, 1.5))}" '
                     f'height="{num(row * 0.7)}" fill="{colour}"/>')
        if b.handshake is not None:
            xh = f.x(b.handshake - origin)
            parts.append(f'<rect class="ws" x="{num(xh)}" y="{num(y + row * 0.15)}" '
                         f'width="{num(max(x1 - xh, 1.5))}" height="{num(row * 0.7)}" fill="{colour}"/>')
        parts.append("</g>")
        if labelled:
            parts.append(f'<text class="tick" x="{left - 8}" y="{num(y + row / 2)}" text-anchor="end" '
                         f'dy="0.32em">#{b.stream} {esc(b.client, 60)}</text>')
    parts.append("</svg>")
    seen = sorted({ended_category(b) for b in bars}, key=lambda c: list(ENDED_COLOURS).index(c)
                  if c in ENDED_COLOURS else 99)
    return legend([(ENDED_COLOURS.get(c, OTHER), c) for c in seen]) + "".join(parts)


def findings_chart(data: ReportData) -> str:
    """Findings per bucket, stacked by severity (most severe on top)."""
    series = data.findings_series
    n = data.axis.buckets
    totals = [sum(series[s][i] for s in series) for i in range(n)]
    if not any(totals):
        return '<p class="empty">No findings with a time.</p>'
    ticks = nice_ticks(0, max(totals), integer=True)
    f = _time_area(data, width=1280, top=ticks[-1])
    w = data.axis.width
    parts = [svg_open("chart-findings", "findings", f, "Findings over time"),
             y_axis(f, ticks, short_number, f"findings per {width_label(w)}"), time_axis(f)]
    lower = [0] * n
    for sev in ("chat", "note", "warning", "error"):
        vals = series.get(sev, ())
        for i, v in enumerate(vals):
            if v:
                y_top, y_bot = f.y(lower[i] + v), f.y(lower[i])
                parts.append(f'<rect class="sev-{sev}" x="{num(f.x(i * w))}" y="{num(y_top)}" '
                             f'width="{num(max(f.x((i + 1) * w) - f.x(i * w), 2))}" height="{num(y_bot - y_top)}" '
                             f'fill="{SEVERITY_COLOURS[sev]}"><title>{v:,} {sev} at '
                             f'{i * w:g}–{(i + 1) * w:g} s</title></rect>')
                lower[i] += v
    parts.append("</svg>")
    return legend([(SEVERITY_COLOURS[s], s) for s in ("error", "warning", "note", "chat")]) + "".join(parts)
