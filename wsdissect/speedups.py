"""The optional C accelerators, or None.

``wsdissect/_speedups.c`` is built at install time when a C compiler is available.  Everything it does has a
pure-Python twin that stays the reference (the frame parser, message assembler and record encoder); the C code
takes only the cases that need no judgement and hands everything else back.  Set ``WSDISSECT_PURE_PYTHON=1``
to run without it (tests compare both paths).
"""
from __future__ import annotations

import os

from .events import Message, WsFrame

speedups = None
if not os.environ.get("WSDISSECT_PURE_PYTHON"):
    try:
        from . import _speedups as speedups  # type: ignore[attr-defined,no-redef]
    except ImportError:  # pragma: no cover - no compiler at install time
        speedups = None
    else:
        speedups.configure(Message, WsFrame)
