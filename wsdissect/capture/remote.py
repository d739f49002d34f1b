"""Capture sources named by URL (``s3://bucket/x.pcap``, ``file:///...``), read through fsspec when installed."""
from __future__ import annotations

import re
from typing import BinaryIO

from ..errors import CaptureError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_url(source: str) -> bool:
    return bool(_URL.match(source))


def open_url(url: str) -> BinaryIO:
    """A binary file object for *url*; CaptureError when fsspec is missing or the object cannot be opened."""
    try:
        import fsspec
    except ImportError:
        raise CaptureError(f"{url}: reading URLs needs fsspec (pip install fsspec)") from None
    try:
        return fsspec.open(url, "rb").open()
    except (OSError, ValueError, ImportError) as e:
        raise CaptureError(f"{url}: cannot open ({e})") from None
