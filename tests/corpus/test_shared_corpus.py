"""The shared ground-truth corpora (../shared/corpus: ws://; ../shared/corpus-tls: wss:// with key logs), scored by
their own checker (../shared/tools/check_corpus.py).

Runs in the default test run (CI's ``python3 -m pytest``; no marker deselects it), takes about 4 s, and is skipped
only when the shared folder is not next to the project.  The export command uses ``sys.executable -m wsdissect`` so
it runs the wsdissect of this checkout with this interpreter, whatever is on PATH.
"""
from __future__ import annotations

import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CHECKER = SHARED / "tools" / "check_corpus.py"


@pytest.mark.parametrize("corpus", ["corpus", "corpus-tls"])
def test_shared_corpus_all_cases_pass(corpus):
    CORPUS = SHARED / corpus
    if not (CORPUS.is_dir() and CHECKER.is_file()):
        pytest.skip(f"../shared/{corpus} or its checker not present")
    template = f"{shlex.quote(sys.executable)} -m wsdissect export {{capture}} --format jsonl -o {{out}} {{args}}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    p = subprocess.run([sys.executable, str(CHECKER), "--corpus", str(CORPUS), "--cmd", template, "--timeout", "60"],
                       cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    lines = p.stdout.strip().splitlines()
    assert lines, f"checker printed nothing; stderr: {p.stderr[-2000:]}"
    m = re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1])
    assert m, f"unexpected last line {lines[-1]!r}"
    assert m.group(2) == "0" and int(m.group(1)) > 0, "\n" + p.stdout
    assert p.returncode == 0, "\n" + p.stdout + p.stderr
