"""Running `wsdissect live` on the loopback interface around a real exchange, for the live tests."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def run_live(args: list[str], exchange: Callable[[], T], timeout: float = 20) -> tuple[T, bytes, str]:
    """Start ``wsdissect live ARGS``, wait until it says it is capturing, run *exchange*, stop it with SIGINT and
    check it ended cleanly: (what *exchange* returned, its stdout, its stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "wsdissect", "live", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        line = proc.stderr.readline().decode()
        assert line.startswith("Capturing on 'lo'"), line
        time.sleep(0.2)
        result = exchange()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return result, out, err
