"""``wsdissect report``: one self-contained HTML page from :class:`~wsdissect.report.data.ReportData`.

The page needs nothing from the network: inline CSS, inline static SVG, no script; its Content-Security-Policy
forbids fetching anything at all.  Capture-derived text is escaped where it is inserted (``svg.esc``).
"""
from __future__ import annotations

from .charts import STACKED, findings_chart, rtt_chart, sizes_chart, timeline_chart, traffic_chart, traffic_layers
from .data import ReportData
from .svg import esc, legend
from .tables import close_codes_table, connections_table, findings_table, summary_tiles, utc
from .timeseries import width_label

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root { --fg: #1f2328; --dim: #656d76; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1320px; margin: 0 auto; padding: 18px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 10px 0 4px; }
.sub, .dim, .note { color: var(--dim); }
.note { margin: 4px 0 8px; }
.tiles { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 10px; margin-top: 14px; }
.tile { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.tile-label { color: var(--dim); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile-value { font-size: 22px; font-weight: 600; }
.tile-detail { color: var(--dim); font-size: 12px; }
.chip { display: inline-block; color: #fff; border-radius: 10px; padding: 0 7px; margin: 1px 3px 1px 0;
        font-size: 12px; white-space: nowrap; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 18px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0 6px; font-size: 12px; }
.key { display: inline-flex; align-items: center; gap: 5px; }
.swatch { width: 12px; height: 12px; border-radius: 2px; display: inline-block; }
svg.chart { display: block; height: auto; overflow: visible; }
svg .grid { stroke: #e6e9ec; stroke-width: 1; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #424a53; }
svg .axis-title { font-size: 12px; fill: #1f2328; }
svg .row-label { font-size: 13px; font-weight: 600; fill: #1f2328; }
svg .layer { stroke: none; opacity: .9; }
svg .bar { fill: #4e79a7; }
svg .band { fill: #f28e2b; opacity: .45; }
svg .avg-point { fill: #c85a00; }
svg .life { opacity: .35; }
svg .ws { opacity: .95; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.uri, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.empty { color: var(--dim); font-style: italic; }
footer { margin-top: 32px; color: var(--dim); font-size: 12px; }
@media (max-width: 1100px) { .grid2 { grid-template-columns: 1fr; } .tiles { grid-template-columns: repeat(3, 1fr); } }
"""


def _traffic_section(data: ReportData) -> str:
    if not any(data.summary.messages):
        return '<p class="empty">No WebSocket messages.</p>'
    layers = traffic_layers(data)
    w = width_label(data.axis.width)
    how = ("stacked by connection" if len(layers) > 1 or layers[0][2] is not None else
           f"all connections together (more than {STACKED} connections)")
    return (f'<p class="note">Averaged over {esc(w)} buckets; {how}. Hover a layer for its total.</p>'
            + legend([(colour, label) for colour, label, _stream in layers])
            + '<div class="grid2">'
            + "".join(f"<div><h3>{title}</h3>{traffic_chart(data, metric, d)}</div>"
                      for metric, unit in (("messages", "Messages"), ("bytes", "Payload bytes"))
                      for d, title in ((0, f"{unit}, client → server"), (1, f"{unit}, server → client")))
            + "</div>")


def _header(data: ReportData, title: str, filters: list[tuple[str, str]], version: str, interrupted: bool) -> str:
    s = data.summary
    files = ", ".join(esc(x, 200) for x in s.sources[:4]) or "-"
    if len(s.sources) > 4:
        files += f" and {len(s.sources) - 4} more"
    flt = ("; ".join(f"{esc(k)} {esc(v, 200)}" for k, v in filters)) if filters else "none"
    damaged = ('<p class="note"><strong>The capture is damaged or cut short</strong>: everything before the damage '
               "is included; see the findings.</p>") if s.damaged else ""
    if interrupted:
        damaged += '<p class="note"><strong>Interrupted</strong>: this report covers only what was decoded.</p>'

    return (f"<h1>{esc(title, 200)}</h1>"
            f'<div class="sub">Files: {files} · from {esc(utc(s.start))} · filters: {flt} · '
            f"wsdissect {esc(version)}</div>{damaged}")


def render_report(data: ReportData, title: str = "WebSocket capture report",
                  filters: list[tuple[str, str]] | None = None, version: str = "", interrupted: bool = False) -> str:
    """The whole page as a string."""
    sections = [
        ("summary", "Summary", summary_tiles(data)),
        ("traffic", "Traffic over time", _traffic_section(data)),
        ("sizes", "Message sizes per opcode", sizes_chart(data)),
        ("rtt", "Ping round-trip time", rtt_chart(data)),
        ("timeline", "Connection timeline",
         '<p class="note">One bar per connection, pale from its first packet to the handshake, solid from the '
         "handshake to its end; the colour says how it ended. Hover a bar for details.</p>"
         + (f'<p class="note">{data.timeline_omitted:,} less busy connections are not drawn.</p>'
            if data.timeline_omitted else "") + timeline_chart(data)),
        ("findings-time", "Findings over time", findings_chart(data)),
        ("connections", "Connections", connections_table(data)),
        ("findings", "Findings", findings_table(data)),
        ("closes", "Close codes", close_codes_table(data)),
    ]
    body = "".join(f'<section id="{ident}"><h2>{heading}</h2>{content}</section>'
                   for ident, heading, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title, 200)}</title><style>{CSS}</style></head><body><main>"
            + _header(data, title, filters or [], version, interrupted) + body
            + "<footer>Generated by wsdissect report. Times are capture times; sizes are message payloads "
              "(decompressed when permessage-deflate is used).</footer></main></body></html>\n")


_FILTER_NAMES = {"streams": "--stream", "client": "--client", "server": "--server", "direction": "--direction",
                 "opcodes": "--opcode", "match": "--match", "regex": "--regex", "time_from": "--time-from",
                 "time_to": "--time-to"}


def describe_filters(values: dict) -> list[tuple[str, str]]:
    """The filter options in effect, as (option, value) pairs for the page header."""
    out = []
    for name, value in values.items():
        if value is None or value == () or value == frozenset():
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, (tuple, list, set, frozenset)) else str(value)
        out.append((_FILTER_NAMES.get(name, name), shown))
    return out


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("wsdissect")
    except Exception:  # noqa: BLE001 - not installed (running from a source tree)
        return ""


def write_report(out, data: ReportData, title: str | None, filters: list[tuple[str, str]],
                 interrupted: bool = False) -> None:
    """Render and write the page to the binary file *out*."""
    if title is None:
        names = [s.rsplit("/", 1)[-1] for s in data.summary.sources]
        title = "WebSocket report: " + (", ".join(names[:3]) + (" …" if len(names) > 3 else "") if names else "-")
    out.write(render_report(data, title, filters, _version(), interrupted).encode("utf-8"))
