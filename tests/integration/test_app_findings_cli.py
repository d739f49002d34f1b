"""Every application-layer violation end to end through the CLI: ``wsdissect export`` of a crafted capture
(tools/make_violation_pcaps.py, the application cases) writes the finding as an expert record of its connection, at
the frame of the offending message, with its registered severity; the message itself still gets its ``app`` list."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tools.make_violation_pcaps import CASES, build_case, write_case
from wsdissect.cli import main
from wsdissect.findings import KINDS

APP_PREFIXES = ("app.", "engineio.", "socketio.", "mqtt.", "stomp.", "graphql.", "jsonrpc.")
APP_CASES = [name for name, d in CASES.items() if d.code.startswith(APP_PREFIXES)]


def test_every_application_code_but_the_limits_has_a_case():
    codes = {code for code in KINDS if code.startswith(APP_PREFIXES)}
    untested = codes - {CASES[name].code for name in APP_CASES}
    # the connection-level ones are checked by the decoders' unit tests and test_app_corpus
    assert untested <= {"app.incomplete", "app.unfinished", "app.buffer_limit"}, untested


@pytest.mark.parametrize("name", APP_CASES)
def test_application_violation_through_the_cli(name, tmp_path):
    conv, expect = build_case(name)
    pcap = write_case(name, conv, expect, tmp_path)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["export", str(pcap), "--format", "jsonl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    hits = [r for r in records if r["type"] == "expert" and r["code"] == expect["code"]]
    assert any(r["frame"] == expect["frame"] for r in hits), (expect, [(r["code"], r["frame"]) for r in records
                                                                        if r["type"] == "expert"])
    hit = next(r for r in hits if r["frame"] == expect["frame"])
    assert hit["severity"] == KINDS[expect["code"]].severity.label and hit["direction"] == expect["direction"]
    assert hit["stream"] == 0 and hit["client"] and hit["server"]
    marked = [r for r in records if r["type"] == "message" and r["last_frame"] == expect["frame"]]
    assert marked and all(isinstance(r.get("app"), list) for r in marked)
