"""Replay every input the fuzz campaigns (and the hand-made cases in fuzz/crafted.py) found failing.

Each file in tests/fuzz/regressions/ is listed in index.json with the pipeline options it needs and the failure
signature it had.  Replayed through the whole pipeline and the exporters (``fuzz.run_fuzz.execute``), it must raise
nothing but ``CaptureError``, produce no ``internal`` finding and finish within the time limit.

Entries with a ``bug`` are open wsdissect bugs: their test is ``xfail(strict=True)`` with that reason.  After fixing
one, rename its ``bug`` field to ``fixed`` (the test then has to pass, and the short fuzz campaign stops tolerating
its signature); ``fixed`` keeps the record of what the input used to break.
"""
from __future__ import annotations

import json
import pathlib

import pytest

from fuzz.run_fuzz import execute

HERE = pathlib.Path(__file__).resolve().parent
REGRESSIONS = HERE / "regressions"
INDEX = REGRESSIONS / "index.json"
TIMEOUT = 5.0  # seconds: the campaign's definition of a hang


def _entries() -> list[dict]:
    with open(INDEX) as f:
        return json.load(f)


def _params():
    out = []
    for e in _entries():
        marks = [pytest.mark.xfail(strict=True, reason=e["bug"])] if e.get("bug") else []
        out.append(pytest.param(e, id=e["name"], marks=marks))
    return out


@pytest.mark.parametrize("entry", _params())
def test_regression(entry):
    data = (REGRESSIONS / entry["file"]).read_bytes()
    out = execute(data, entry.get("options") or {}, timeout=TIMEOUT, measure=False)
    assert not out.failed, f"{out.kind} {out.signature}\n{out.text}"


def test_index_lists_every_file():
    listed = {e["file"] for e in _entries()}
    on_disk = {p.name for p in REGRESSIONS.iterdir() if p.name != "index.json"}
    assert on_disk == listed, f"unlisted: {sorted(on_disk - listed)}, missing: {sorted(listed - on_disk)}"


def test_index_entries_are_well_formed():
    names = set()
    for e in _entries():
        assert {"name", "file", "options", "signature"} <= set(e), e
        assert e["name"] not in names, f"duplicate name {e['name']}"
        names.add(e["name"])
        assert not (e.get("bug") and e.get("fixed")), e["name"]
        for key in ("bug", "fixed"):
            if e.get(key):
                assert e[key].startswith("wsdissect bug: "), e["name"]


def _deflate_bomb(inflated: int) -> bytes:
    from fuzz.mutate import Capture, Conv, deflate_message, upgrade_request, upgrade_response, write, ws_frame

    recs: list = []
    c = Conv(recs)
    ext = ("Sec-WebSocket-Extensions: permessage-deflate",)
    c.send(True, upgrade_request(extra=ext))
    c.send(False, upgrade_response(extra=ext))
    c.send(False, ws_frame(2, deflate_message(bytes(inflated)), rsv=4))
    c.close()
    return write(Capture("pcap", 1, recs))[0]


# 0 is the edge case: zlib reads a max_length of 0 as "no limit" (was a bug: the guard switched off)
@pytest.mark.parametrize("max_inflated", [1000, 0])
def test_max_inflated_is_a_limit(tmp_path, max_inflated):
    """A 1 MB deflate bomb (about 1 kB on the wire) under --max-inflated N yields at most N bytes."""
    from wsdissect.events import Message
    from wsdissect.options import Options
    from wsdissect.run import dissect_files

    p = tmp_path / "bomb.pcap"
    p.write_bytes(_deflate_bomb(1 << 20))
    sizes = [len(ev.payload) for ev in dissect_files([str(p)], Options(max_inflated=max_inflated))
             if ev.__class__ is Message and ev.opcode == 2]
    assert sizes and max(sizes) <= max_inflated, sizes
