"""Opening what ``wsdissect tui`` browses (a capture file or a live interface), running the app, cleaning up.

Everything that can fail is opened before the screen is taken, so errors are one line on stderr.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Callable, Optional

from ..errors import UsageError
from ..pipeline import Options
from .filter_text import FilterLanguage


def run_tui(capture: Optional[str], iface: Optional[str], bpf: Optional[str], options: Callable[[], Options],
            language: FilterLanguage, filter_text: str = "", snaplen: int = 262144) -> int:
    """Browse *capture*, or sniff *iface* with capture filter *bpf*; returns the exit status."""
    from .app import LiveSource, WsdissectApp

    if (capture is None) == (iface is None):
        raise UsageError("tui: give a CAPTURE file or -i IFACE (one of them)")
    if bpf and iface is None:
        raise UsageError("tui: -f BPF is a capture filter for -i IFACE")
    language.parse(filter_text)  # a bad filter fails here, as one line
    if capture is not None:
        return _run_file(capture, options, language, filter_text, WsdissectApp)
    from ..capture.live import LiveCapture
    from ..capture.pcapwriter import PcapWriter

    live = LiveCapture(iface, bpf, snaplen)
    fd, spool_path = tempfile.mkstemp(prefix="wsdissect-live-", suffix=".pcap")
    try:
        spool = PcapWriter(os.fdopen(fd, "wb"), live.linktype, live.snaplen)
        name = f"{iface}" + (f" ({bpf})" if bpf else "")
        app = WsdissectApp(LiveSource(live, spool, spool_path, name), options, language.parse, filter_text)
        app.run()
        deadline = time.monotonic() + 2.0  # the worker sees the stop within one read (0.2 s)
        while not app.index.done and time.monotonic() < deadline:
            time.sleep(0.02)
        spool.close()
        return app.return_code or 0
    finally:
        live.close()
        os.unlink(spool_path)


def _run_file(capture: str, options, language: FilterLanguage, filter_text: str, app_class) -> int:
    from ..capture.files import CaptureFile

    if capture == "-":
        raise UsageError("tui: reads a capture file (stdin cannot be read again for the details)")
    CaptureFile(capture).close()  # not a capture: one line, before the screen is taken
    app = app_class(capture, options, language.parse, filter_text)
    app.run()
    return app.return_code or 0
