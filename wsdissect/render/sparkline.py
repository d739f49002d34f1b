"""``wsdissect stats --plot``: messages per second over time, one sparkline per connection (the busiest first).

Built from the report's aggregation (:class:`~wsdissect.report.data.ReportData`), so the numbers are the ones the
HTML report charts.  Each row has its own scale (its peak is printed beside it); an empty column means no message
at all in that stretch of time, the lowest block means at least one.
"""
from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ..report.data import ReportData
from ..report.svg import short_number, time_unit
from .text import safe

BLOCKS = "▁▂▃▄▅▆▇█"
ROWS = 20  # connections drawn


def resample(values: tuple[int, ...] | list[int], columns: int) -> list[float]:
    """Sums of *values* over *columns* equal stretches (a bucket split between two columns is shared)."""
    n = len(values)
    if n == 0 or columns <= 0:
        return []
    if n <= columns:
        return [float(v) for v in values]
    out = [0.0] * columns
    step = n / columns
    for i, v in enumerate(values):
        if v:
            lo, hi = i / step, (i + 1) / step
            c = int(lo)
            while c < hi and c < columns:
                share = min(hi, c + 1) - max(lo, c)
                out[c] += v * share * step  # the share of the bucket that falls in this column
                c += 1
    return out


def sparkline(values: list[float]) -> str:
    """One character per value, scaled to the largest; zero is a blank."""
    peak = max(values, default=0.0)
    if peak <= 0:
        return " " * len(values)
    top = len(BLOCKS) - 1
    return "".join(" " if v <= 0 else BLOCKS[min(top, int(v / peak * top + 0.5))] for v in values)


def render_sparklines(console: Console, data: ReportData, rows: int = ROWS) -> None:
    """The busiest connections' messages per second as sparklines, with the total on top and a time scale."""
    if not any(data.summary.messages):
        console.print(Text("No messages to plot."))
        return
    axis = data.axis
    label_w = 34
    columns = max(10, min(axis.buckets, console.width - label_w - 16))
    span = axis.buckets * axis.width
    per_col = span / columns if axis.buckets > columns else axis.width
    console.print(Text(f"Messages per second over time (each column {short_number(per_col)} s)", style="bold"))
    total = [a + b for a, b in zip(*data.traffic.messages)]
    _row(console, "all connections", total, columns, per_col, label_w)
    conns = data.traffic.connections[:rows]
    for c in conns:
        both = [a + b for a, b in zip(*c.messages)]
        _row(console, safe(f"#{c.stream} {c.client}", label_w), both, columns, per_col, label_w)
    unit, div = time_unit(span)
    start, end = "0", f"{span / div:g} {unit}"
    used = min(columns, axis.buckets)
    console.print(Text(" " * (label_w + 1) + start + end.rjust(max(used - len(start), len(end) + 1)), style="dim"))
    hidden = data.traffic.connections_total - len(conns)
    if hidden > 0:
        console.print(Text(f"{hidden} less busy connection{'s' if hidden != 1 else ''} not drawn", style="dim"))


def _row(console: Console, label: str, values: list[int], columns: int, per_col: float, label_w: int) -> None:
    cols = resample(values, columns)
    peak = max(cols, default=0.0) / per_col if per_col else 0.0
    line = Text(label[:label_w].ljust(label_w) + " ")
    line.append(sparkline(cols), style="cyan")
    line.append(f"  peak {short_number(peak)}/s", style="dim")
    console.print(line, no_wrap=True, overflow="crop")
