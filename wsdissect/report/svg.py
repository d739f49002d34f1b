"""Static SVG building blocks for the HTML report: scales, axes with ticks and labels, legends, escaping.

Everything returns strings of SVG markup.  Text that comes from a capture goes through :func:`esc` (terminal-safe
escapes for control and bidi characters, then HTML escaping), so nothing in a capture can add markup.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

from ..render.text import safe


def esc(s: object, limit: int | None = 300) -> str:
    """*s* as inert HTML/SVG text: control and bidi characters shown as escapes, ``<>&"'`` as entities."""
    return html.escape(safe(str(s), limit), quote=True)


def num(v: float) -> str:
    """A coordinate, short."""
    return f"{v:.1f}".rstrip("0").rstrip(".") if v == v else "0"


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """About *count* round tick values (1, 2, 5 times a power of ten) from *lo* up to the first at or above *hi*."""
    if not hi > lo:
        hi = lo + 1
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:  # counts: no fractional ticks
        step = max(step, 1)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while not ticks or ticks[-1] < hi - step * 1e-9:  # the last tick reaches hi: data never pokes out of the top
        ticks.append(first + k * step)
        k += 1
    return ticks


def short_number(v: float) -> str:
    """``950``, ``1.2k``, ``3.4M``: tick labels for counts and rates."""
    a = abs(v)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}" if a < 1000 else f"{v:.0f}"


def byte_unit(peak: float) -> tuple[str, float]:
    """The unit a byte axis reads best in, for values up to *peak*: (``"KiB"``, 1024.0) etc."""
    for unit, div in (("GiB", 2.0 ** 30), ("MiB", 2.0 ** 20), ("KiB", 2.0 ** 10)):
        if peak >= 2 * div:
            return unit, div
    return "B", 1.0


def time_unit(span: float) -> tuple[str, float]:
    """The unit a time axis of *span* seconds reads best in: (``"ms"``, 0.001), (``"s"``, 1.0), ..."""
    if span < 2:
        return "ms", 0.001
    if span < 600:
        return "s", 1.0
    if span < 3 * 3600:
        return "min", 60.0
    if span < 3 * 86400:
        return "h", 3600.0
    return "d", 86400.0


@dataclass(frozen=True, slots=True)
class PlotArea:
    """The plot inside an SVG of ``width`` x ``height`` (``left`` pixels kept for the y axis, fixed margins
    elsewhere): x from 0 to ``x1``, y from 0 to ``y1``, mapped to pixels."""

    width: int
    height: int
    left: int
    x1: float
    y1: float
    right = 14
    top = 12
    bottom = 42
    x0 = 0.0
    y0 = 0.0

    def x(self, v: float) -> float:
        return self.left + v / (self.x1 or 1.0) * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        return self.height - self.bottom - v / (self.y1 or 1.0) * (self.height - self.top - self.bottom)

    @property
    def inner_width(self) -> int:
        return self.width - self.left - self.right


def svg_open(ident: str, cls: str, area_or_size, label: str) -> str:
    w, h = (area_or_size.width, area_or_size.height) if isinstance(area_or_size, PlotArea) else area_or_size
    return (f'<svg id="{esc(ident)}" class="chart {esc(cls)}" viewBox="0 0 {w} {h}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{esc(label)}">')


def y_axis(f: PlotArea, ticks: list[float], fmt, label: str) -> str:
    """Horizontal grid lines with their values on the left, and the axis title turned sideways."""
    out = []
    for t in ticks:
        y = num(f.y(t))
        out.append(f'<line class="grid" x1="{f.left}" x2="{f.width - f.right}" y1="{y}" y2="{y}"/>'
                   f'<text class="tick" x="{f.left - 6}" y="{y}" text-anchor="end" dy="0.32em">{esc(fmt(t))}</text>')
    mid = num((f.top + f.height - f.bottom) / 2)
    out.append(f'<text class="axis-title" transform="translate(13 {mid}) rotate(-90)" '
               f'text-anchor="middle">{esc(label)}</text>')
    return "".join(out)


def x_axis(f: PlotArea, ticks: list[float], fmt, label: str) -> str:
    """The baseline, tick marks with their values below, and the axis title."""
    base = num(f.height - f.bottom)
    out = [f'<line class="axis" x1="{f.left}" x2="{f.width - f.right}" y1="{base}" y2="{base}"/>']
    for t in ticks:
        x = num(f.x(t))
        out.append(f'<line class="axis" x1="{x}" x2="{x}" y1="{base}" y2="{num(f.height - f.bottom + 4)}"/>'
                   f'<text class="tick" x="{x}" y="{num(f.height - f.bottom + 16)}" '
                   f'text-anchor="middle">{esc(fmt(t))}</text>')
    out.append(f'<text class="axis-title" x="{num(f.left + f.inner_width / 2)}" y="{f.height - 4}" '
               f'text-anchor="middle">{esc(label)}</text>')
    return "".join(out)


def time_axis(f: PlotArea, label_suffix: str = "") -> str:
    """An x axis of seconds since the capture's origin, in the unit that suits its span."""
    unit, div = time_unit(f.x1 - f.x0)
    ticks = [t * div for t in nice_ticks(f.x0 / div, f.x1 / div, max(3, f.inner_width // 90))]
    ticks = [t for t in ticks if t <= f.x1 * (1 + 1e-9)]
    return x_axis(f, ticks, lambda t: f"{t / div:g}", f"time since the first packet ({unit}){label_suffix}")


def legend(items: list[tuple[str, str]], cls: str = "legend") -> str:
    """An HTML legend: (colour, label) pairs as swatches (HTML, so long labels wrap)."""
    parts = [f'<span class="key"><span class="swatch" style="background:{colour}"></span>{esc(label, 120)}</span>'
             for colour, label in items]
    return f'<div class="{cls}">{"".join(parts)}</div>'
