"""End to end with and without the C accelerators: ``python -m wsdissect export`` with and without
``WSDISSECT_PURE_PYTHON=1`` on every sample capture and the shared corpus gives byte-identical files, and every
violation capture (tools/make_violation_pcaps.py) the same event lists."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.dual_path import CORPUS, ROOT, SAMPLES, assert_same_events, needs_c, pure_python
from wsdissect.options import Options


# -- (d) end to end ------------------------------------------------------------------------------------------------
def capture_files() -> list[pathlib.Path]:
    # wss captures (a NAME.keys.log beside them) hold no WebSocket record the exporter can show without the key log
    files = sorted(p for p in SAMPLES.glob("*.pcap*")
                   if p.is_file() and not (SAMPLES / f"{p.name.split('.')[0]}.keys.log").exists())
    if CORPUS.is_dir():
        files += sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".pcap", ".pcapng", ".cap"))
    return files


def export(paths: list[pathlib.Path], out: pathlib.Path, pure: bool) -> tuple[int, bytes, str]:
    env = dict(os.environ)
    env.pop("WSDISSECT_PURE_PYTHON", None)
    if pure:
        env["WSDISSECT_PURE_PYTHON"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    p = subprocess.run([sys.executable, "-m", "wsdissect", "export", *map(str, paths), "--format", "jsonl", "-o",
                        str(out)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=120)
    data = out.read_bytes() if out.exists() else b""
    return p.returncode, data, p.stderr


@needs_c
def test_export_identical_with_and_without_c():
    files = capture_files()
    assert files, "no sample captures found"
    with tempfile.TemporaryDirectory(prefix="wsdissect-speedups-") as tmp:
        jobs = []
        for i, f in enumerate(files):
            jobs.append(([f], pathlib.Path(tmp) / f"{i}-c.jsonl", False))
            jobs.append(([f], pathlib.Path(tmp) / f"{i}-py.jsonl", True))
        # all the captures in one run as well: the encoders' caches carry over between files
        jobs.append((files, pathlib.Path(tmp) / "all-c.jsonl", False))
        jobs.append((files, pathlib.Path(tmp) / "all-py.jsonl", True))
        with ThreadPoolExecutor(max_workers=max(2, min(8, (os.cpu_count() or 2) * 2))) as pool:
            results = list(pool.map(lambda job: export(*job), jobs))
    problems = []
    names = [str(f.relative_to(ROOT.parent)) for f in files] + ["(all files in one run)"]
    for name, c_res, py_res in zip(names, results[0::2], results[1::2]):
        (c_rc, c_out, c_err), (py_rc, py_out, py_err) = c_res, py_res
        if c_rc not in (0, 3) or "Traceback" in c_err or "Traceback" in py_err:
            problems.append(f"{name}: export failed (C exit {c_rc}, pure exit {py_rc}):\n{c_err[-1500:]}"
                            f"\n{py_err[-1500:]}")
        elif c_rc != py_rc or c_out != py_out or not c_out:
            cl, pl = c_out.splitlines(), py_out.splitlines()
            i = next((i for i, (a, b) in enumerate(zip(cl, pl)) if a != b), min(len(cl), len(pl)))
            problems.append(f"{name}: exit {c_rc} vs {py_rc}, {len(cl)} vs {len(pl)} lines; first differing line "
                            f"{i + 1}:\n  C:    {cl[i][:500] if i < len(cl) else None!r}\n"
                            f"  pure: {pl[i][:500] if i < len(pl) else None!r}")
    assert not problems, "\n".join(problems)


# -- every deliberately broken conversation (tools/make_violation_pcaps.py) ------------------------------------------
def _violation_cases() -> list:
    from tools.make_violation_pcaps import CASES

    return list(CASES)


@needs_c
@pytest.mark.parametrize("name", _violation_cases())
def test_violation_captures_identical_with_and_without_c(name, tmp_path):
    """The captures built to trigger each finding: the same events, findings and order on both paths."""
    from tools.make_violation_pcaps import build_case, write_case
    from wsdissect.run import dissect_files

    conv, expect = build_case(name)
    pcap = str(write_case(name, conv, expect, tmp_path))
    options = expect.get("options", {})
    lane = list(dissect_files([pcap], Options(**options)))
    with pure_python():
        pure = list(dissect_files([pcap], Options(**options)))
    assert_same_events(pure, lane)
