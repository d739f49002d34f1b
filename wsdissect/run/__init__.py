"""The one driver: every view, exporter, the ``-j`` engine, live capture and the Python API run captures through
:class:`Driver` (see :mod:`wsdissect.run.driver`)."""
from __future__ import annotations

from .driver import Driver, Feed, dissect_files, dissect_records, event_selector

__all__ = ["Driver", "Feed", "dissect_files", "dissect_records", "event_selector"]
