"""Every view runs on every capture of the shared corpus: exit 0 (3 for the damaged one), no traceback."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import CORPUS
from wsdissect.cli import main

CASES = sorted(p for p in CORPUS.glob("*/capture.pcap*")) if CORPUS.is_dir() else []
VIEWS = [["show"], ["show", "-V", "--ws-only"], ["follow"], ["stats"], ["stats", "-T", "json"], ["expert", "-v"]]


@pytest.mark.skipif(not CASES, reason="../shared/corpus not present")
@pytest.mark.parametrize("capture", CASES, ids=lambda p: p.parent.name)
def test_every_view_runs(capture):
    meta = json.loads((capture.parent / "meta.json").read_text())
    runner = CliRunner()
    for view in VIEWS:
        res = runner.invoke(main, [*view, str(capture), *meta.get("export_args", []), "--color", "never", "-q",
                                   "--width", "120"])
        expected = 3 if meta.get("damaged") else 0
        assert res.exit_code == expected, (view, res.output[-500:], res.exception)
        assert res.exception is None or isinstance(res.exception, SystemExit), (view, res.exception)
        assert "Traceback" not in res.output
