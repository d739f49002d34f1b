"""Shared by the golden, tshark-comparison and terminal-safety tests: running the CLI in-process, parsing the
``show -V`` tree text, and the exception that marks a known wsdissect bug.

Known bugs are marked ``pytest.mark.xfail(strict=True, raises=WsdissectBug)``: only a failure *explained by the
named bug* counts as expected; any other difference (a regression) fails normally, and once the bug is fixed the
test passes, which strict mode reports, so the marker is removed together with the bug.
"""
from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass, field

from click.testing import CliRunner

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_pcaps"
CAPTURES = ("asr_28002", "websockets_deflate", "aiohttp_mixed", "wsproto_fragments")
UPDATE = os.environ.get("WSDISSECT_UPDATE_GOLDEN", "") not in ("", "0")

# Environment the CLI runs in: nothing from the developer's terminal may change the output.
CLEAN_ENV = {"NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": None, "LINES": None, "TERM": "xterm-256color",
             "COLORTERM": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None, "JUPYTER_COLUMNS": None,
             "JUPYTER_LINES": None}


class WsdissectBug(AssertionError):
    """The output differs from the expected only in the way a known, reported wsdissect bug explains."""


def capture(name: str) -> str:
    return str(SAMPLES / f"{name}.pcap")


@dataclass
class CliResult:
    exit_code: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8")


def run_cli(args: list[str], color: str = "never", width: int = 120) -> CliResult:
    """``wsdissect ARGS --color COLOR --width WIDTH -q`` in-process; stdout as raw bytes."""
    from wsdissect.cli import main

    runner = CliRunner(env=CLEAN_ENV)
    res = runner.invoke(main, [*args, "--color", color, "--width", str(width), "-q"], catch_exceptions=False)
    return CliResult(res.exit_code, res.stdout_bytes, res.stderr)


# -- the detail tree as printed ----------------------------------------------------------------------------------
_GUIDES = ("│   ", "    ")
_BRANCHES = ("├── ", "└── ")


@dataclass
class Node:
    """A top-level line of a packet's tree (``WebSocket``, ``Hypertext Transfer Protocol``...) and its descendants
    as ``(depth, label)`` in print order (depth 1 = direct child)."""
    label: str
    lines: list[tuple[int, str]] = field(default_factory=list)

    def children(self, depth: int = 1) -> list[str]:
        return [label for d, label in self.lines if d == depth]


@dataclass
class PacketTree:
    frame: int
    nodes: list[Node] = field(default_factory=list)

    def named(self, label: str) -> list[Node]:
        return [n for n in self.nodes if n.label == label]


_FRAME = re.compile(r"^Frame (\d+): ")


def parse_tree(text: str) -> dict[int, PacketTree]:
    """``show -V`` output -> {frame number: its tree}.  Lines must not be wrapped (use a wide --width)."""
    packets: dict[int, PacketTree] = {}
    cur: PacketTree | None = None
    for line in text.split("\n"):
        if not line:
            continue
        if not line.startswith(("├", "└", "│", " ")):
            m = _FRAME.match(line)
            if m:
                cur = packets[int(m.group(1))] = PacketTree(int(m.group(1)))
            if cur is None:
                raise ValueError(f"tree line before any Frame line: {line!r}")
            cur.nodes.append(Node(line))
            continue
        i = depth = 0
        while line[i:i + 4] in _GUIDES:
            i += 4
            depth += 1
        if line[i:i + 4] not in _BRANCHES:
            raise ValueError(f"not a tree line (wrapped?): {line!r}")
        cur.nodes[-1].lines.append((depth + 1, line[i + 4:]))
    return packets
