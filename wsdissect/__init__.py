"""wsdissect: a WebSocket traffic analyzer.

The Python API (docs/api.md): ``wsdissect.open(source, **options)`` returns a :class:`Capture` with ``messages()``,
``connections()``, ``findings()``, ``packets()``, ``to_arrow()`` and ``to_pandas()``; errors are
:class:`wsdissect.Error` subclasses.  :func:`dissect` yields the pipeline's raw events.  Everything is imported
lazily so that ``wsdissect --help`` starts fast.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Union

from .errors import CaptureError, UsageError, WsdissectError

if TYPE_CHECKING:  # pragma: no cover
    from .api import Capture, ConnectionRecord, ExpertRecord, MessageRecord, PacketRecord, Source

__version__ = "0.1.0"

Error = WsdissectError  # the base class of every error the API raises

__all__ = ["Capture", "CaptureError", "ConnectionRecord", "Error", "ExpertRecord", "MessageRecord", "PacketRecord",
           "UsageError", "__version__", "dissect", "open"]

_API = {"Capture", "ConnectionRecord", "ExpertRecord", "MessageRecord", "PacketRecord"}


def open(source: "Source", **options: Any) -> "Capture":  # noqa: A001 - wsdissect.open, like io.open
    """Open a capture (a path, bytes or a binary file object) with ``export``'s options; see docs/api.md."""
    from .api import open as open_capture

    return open_capture(source, **options)


def dissect(paths: Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]]],
            options: Any = None) -> Iterator:
    """Yield the pipeline's events for one capture path or several (options: :class:`wsdissect.pipeline.Options`).
    """
    from .pipeline import dissect_files

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return dissect_files([os.fspath(p) for p in paths], options)


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'wsdissect' has no attribute {name!r}")
