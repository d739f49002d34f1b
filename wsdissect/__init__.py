"""wsdissect: a WebSocket traffic analyzer.

The public API is :func:`dissect`, which turns a capture source into an iterator of events
(see :mod:`wsdissect.events`).  Everything is imported lazily so that ``wsdissect --help`` starts fast.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "dissect"]


def dissect(paths, options=None):
    """Yield events for the capture files in *paths* (see :class:`wsdissect.options.Options`), through the one
    driver (:class:`wsdissect.run.Driver`)."""
    from .run import dissect_files

    return dissect_files(paths, options)
