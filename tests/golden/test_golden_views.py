"""Golden output of every view on the project's sample captures.

Each case runs ``wsdissect VIEW ... --color never --width 120 -q`` in-process (click's CliRunner) and compares
stdout, byte for byte, with ``tests/golden/expected/<case>.txt``.  The captures are committed, so the output is
deterministic.

Regenerate after an intended change, then review the diff::

    WSDISSECT_UPDATE_GOLDEN=1 python -m pytest tests/golden -o addopts=""

A golden file holds the *correct* output, never a known bug: for a case a known wsdissect bug affects (see
``BUGS``), the golden is the actual output with that bug's fix applied (``Bug.fix``), and the case is marked
``xfail(strict=True, raises=WsdissectBug)``.  The test raises ``WsdissectBug`` only when the output differs from
the golden exactly as the bug explains; any other difference fails.  When no fix can be derived from the output
(a layout bug), there is no golden until the bug is fixed: the case checks that the bug is still present
(``Bug.present``) and, in update mode, writes the golden only once it is gone.  Once a bug is fixed the case
passes, strict mode reports it, and the marker and the ``BUGS`` entry are removed.
"""
from __future__ import annotations

import difflib
import pathlib
import re
from dataclasses import dataclass, field
from typing import Callable

import pytest

from ._support import UPDATE, WsdissectBug, capture, run_cli

EXPECTED = pathlib.Path(__file__).resolve().parent / "expected"
DEFLATE = ("websockets_deflate", "aiohttp_mixed")


# -- known wsdissect bugs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bug:
    reason: str
    fix: Callable[[str, "Case"], str] | None = None   # actual output -> output with the bug fixed (idempotent)
    present: Callable[[str], bool] | None = None      # for bugs without a fix: is it in this output?


_TIME_LINE = re.compile(r"^(.*\b(?:Epoch Time|Time delta from previous captured frame|Time since reference or first "
                        r"frame|Time since request): )(\d+\.\d{9})( seconds\]?)$", re.M)


_RSV_LINE = re.compile(r"^(?P<pre>(?:│   |    )*)├── \.(?P<rsv1>[01])[01]{2} \.\.\.\. = Reserved: 0x[0-9a-f]$")


# Wireshark's line for the fragmented messages the goldens show (tshark 4.0 -V, checked by test_tree_vs_tshark)
WIRESHARK_REASSEMBLED = {
    ("websockets_deflate", 35): "4 Reassembled websocket Fragments (54 bytes): #32(24), #33(18), #34(11), #35(1)",
    ("wsproto_fragments", 10): "3 Reassembled websocket Fragments (72 bytes): #8(14), #10(34), #10(24)",
    ("wsproto_fragments", 15): "3 Reassembled websocket Fragments (700 bytes): #13(200), #15(450), #15(50)",
    ("wsproto_fragments", 23): "2 Reassembled websocket Fragments (126 bytes): #23(100), #23(26)",
}


_SECONDS_KEYS = ("time", "start_time", "end_time", "duration", "min", "max")


BUGS: dict[str, Bug] = {}  # known wsdissect bugs (none open); a Case lists the ones that affect it


# -- cases ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    capture: str
    view: str
    args: tuple[str, ...]
    frame: int | None = None
    bugs: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.capture}.{self.view}"

    @property
    def golden(self) -> pathlib.Path:
        return EXPECTED / f"{self.id}.txt"


# frame -> what it shows; every capture: the upgrade request, the 101, then WebSocket frames
DETAIL_FRAMES = {
    "asr_28002": {4: "request", 6: "response-101", 8: "text-json-masked", 9: "text-json-server",
                  10: "binary-3200-ext16", 44: "close-masked", 45: "close-server"},
    "websockets_deflate": {4: "request", 6: "response-101", 8: "compressed-text", 18: "ping-payload",
                           19: "pong-payload", 32: "first-fragment-compressed", 35: "last-fragment-compressed",
                           48: "close-reason"},
    "aiohttp_mixed": {4: "request", 6: "response-101", 8: "compressed-text-unicode", 12: "compressed-binary-ext16",
                      16: "ping-payload", 36: "close-1001-reason", 37: "close-1000-no-reason"},
    "wsproto_fragments": {4: "request", 6: "response-101", 10: "ping-between-fragments-last-fragment",
                          13: "binary-first-fragment-ext16", 15: "empty-fragment-last-fragment",
                          23: "server-fragments-and-ping", 30: "binary-ext64", 35: "close-reason"},
    # application units (docs/app.md): a node per unit under the payload
    "socketio_chat": {4: "request", 8: "engineio-open", 16: "event", 26: "event-with-ack-id", 27: "ack",
                      37: "binary-event", 38: "binary-attachment"},
    "mqtt_ws": {8: "connect", 11: "publish-qos1", 24: "subscribe", 40: "publish-qos2", 48: "publish-binary",
                57: "unsubscribe"},
}
APP_CAPTURES = ("socketio_chat", "mqtt_ws")  # follow also --raw (payloads instead of units)


def _cases() -> list[Case]:
    cases = []
    for cap, frames in DETAIL_FRAMES.items():
        f = capture(cap)
        cases.append(Case(cap, "show", ("show", f)))
        cases.append(Case(cap, "show-w", ("show", "-w", f)))
        for frame, role in frames.items():
            cases.append(Case(cap, f"show-V-frame{frame}-{role}", ("show", "-V", "--frame", str(frame), f), frame))
        cases.append(Case(cap, "follow", ("follow", f)))
        if cap in APP_CAPTURES:
            cases.append(Case(cap, "follow-raw", ("follow", "--raw", f)))
        cases.append(Case(cap, "stats", ("stats", f)))
        cases.append(Case(cap, "stats-json", ("stats", "-f", "json", f)))
        cases.append(Case(cap, "expert", ("expert", f)))
    return cases


CASES = _cases()


def _param(case: Case):
    marks = []
    if case.bugs:
        marks.append(pytest.mark.xfail(strict=True, raises=WsdissectBug,
                                       reason=" | ".join(BUGS[b].reason for b in case.bugs)))
    return pytest.param(case, id=case.id, marks=marks)


def _diff(expected: str, actual: str, name: str) -> str:
    lines = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(), f"expected/{name}", "actual",
                                      lineterm="", n=1))
    return "\n".join(lines[:80]) + ("\n…" if len(lines) > 80 else "")


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_golden(case: Case) -> None:
    res = run_cli(list(case.args))
    assert res.exit_code == 0, res.stderr
    out = res.text
    bugs = [BUGS[b] for b in case.bugs]
    fixed = out
    for b in bugs:
        if b.fix is not None:
            fixed = b.fix(fixed, case)
    still_there = [b for b in bugs if b.present is not None and b.present(out)]

    if UPDATE and not still_there:  # never write a golden showing a bug that has no fix
        EXPECTED.mkdir(exist_ok=True)
        case.golden.write_bytes(fixed.encode("utf-8"))

    if not case.golden.exists():
        if still_there:
            raise WsdissectBug("no golden while the bug is present: " + "; ".join(b.reason for b in still_there))
        pytest.fail(f"no golden {case.golden.name}: review the output, then WSDISSECT_UPDATE_GOLDEN=1")
    expected = case.golden.read_bytes().decode("utf-8")
    if out == expected:
        return
    if bugs and fixed == expected:
        stale = [name for name in case.bugs if BUGS[name].fix is not None and BUGS[name].fix(out, case) == out]
        if stale:
            raise AssertionError(f"{case.id}: bug(s) {stale} no longer show in this output: remove them from the "
                                 "case (and from BUGS once no case lists them)")
        explained = [b.reason for b in bugs if b.fix is not None]
        raise WsdissectBug("output differs from the golden only by known bug(s): " + " | ".join(explained)
                           + "\n" + _diff(expected, out, case.golden.name))
    raise AssertionError(f"{case.id}: output differs from {case.golden.name} "
                         f"(intended? WSDISSECT_UPDATE_GOLDEN=1, then review the diff)\n"
                         + _diff(expected, fixed, case.golden.name))


def test_no_stray_goldens() -> None:
    """Every file in expected/ belongs to a case (a renamed case must not leave its old golden behind)."""
    known = {c.golden.name for c in CASES}
    stray = sorted(p.name for p in EXPECTED.glob("*.txt") if p.name not in known)
    assert not stray, f"goldens without a case: {stray}"


def test_fixes_are_idempotent_and_local() -> None:
    """A bug's fix must leave correct output alone (so goldens can be regenerated after the bug is fixed)."""
    for case in CASES:
        if not case.golden.exists():
            continue
        text = case.golden.read_bytes().decode("utf-8")
        for b in case.bugs:
            if BUGS[b].fix is not None:
                assert BUGS[b].fix(text, case) == text, (case.id, b)
