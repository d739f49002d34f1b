"""``wsdissect expert``: findings grouped by severity and code with counts, like Wireshark's Expert Information."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..events import Finding
from ..findings import KINDS, Severity
from .packets import SEVERITY_STYLE
from .text import safe

MAX_EXAMPLES = 1000


class ExpertCollector:
    def __init__(self, min_severity: int = Severity.CHAT, examples: int = MAX_EXAMPLES):
        self.min_severity = min_severity
        self.examples = examples
        self.groups: dict[str, list] = {}  # code -> [severity, count, [findings...]]

    def event(self, ev) -> None:
        if ev.__class__ is not Finding or ev.severity < self.min_severity:
            return
        g = self.groups.get(ev.code)
        if g is None:
            g = self.groups[ev.code] = [ev.severity, 0, []]
        g[1] += 1
        if len(g[2]) < self.examples:
            g[2].append(ev)

    def as_json(self) -> list[dict]:
        out = []
        for code, (sev, count, items) in self._ordered():
            out.append({"severity": Severity(sev).label, "code": code, "summary": KINDS[code].summary
                        if code in KINDS else code, "count": count,
                        "frames": [f.frame for f in items]})
        return out

    def _ordered(self):
        return sorted(self.groups.items(), key=lambda kv: (-kv[1][0], kv[0]))


def render_expert(console: Console, ex: ExpertCollector, verbose: bool) -> None:
    if not ex.groups:
        console.print(Text("No expert info.", style="dim"))
        return
    table = Table(title="Expert Information")
    code_width = max(len(code) for code in ex.groups)  # whole codes: the summary wraps instead
    for col in ("Severity", "Code", "Summary", "Count", "First frame"):
        table.add_column(col, justify="right" if col in ("Count", "First frame") else "left",
                         no_wrap=col == "Code", min_width=code_width if col == "Code" else None)
    for code, (sev, count, items) in ex._ordered():
        style = SEVERITY_STYLE[Severity(sev)]
        summary = KINDS[code].summary if code in KINDS else code
        table.add_row(Text(Severity(sev).name.title(), style=style), Text(code, style=style), Text(summary),
                      str(count), str(items[0].frame) if items else "-")
    console.print(table)
    if verbose:
        for code, (sev, count, items) in ex._ordered():
            console.print(Text(f"\n{Severity(sev).name.title()} {code} ({count})", style=SEVERITY_STYLE[Severity(sev)]))
            for f in items:
                where = f" stream {f.conn.index} {f.conn.client} → {f.conn.server}" if f.conn else ""
                console.print(Text(f"  frame {f.frame:>7}{where}: {safe(f.message, 500)}"))
            if count > len(items):
                console.print(Text(f"  … {count - len(items)} more", style="dim"))
