"""Expand the export's INPUT arguments into capture sources: files, directories, glob patterns and fsspec URLs.

Directories are searched recursively for ``.pcap``, ``.pcapng``, ``.cap`` and their ``.gz``; glob patterns
(``*``, ``?``, ``[``, ``**``) are expanded; URLs (``s3://...``, ``file://...``) go through fsspec when it is
installed.  The result is sorted within each argument and free of duplicates, so every engine numbers the same
inputs the same way.  An argument that names nothing is a usage error (exit 2) raised before any work starts.
"""
from __future__ import annotations

import glob
import os
import re

from ..capture.remote import is_url
from ..errors import UsageError

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")
_GLOB = re.compile(r"[*?\[]")


def is_capture_name(name: str) -> bool:
    return name.lower().endswith(CAPTURE_SUFFIXES)


def _walk(directory: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files) if is_capture_name(f))
    return found


def _local(arg: str) -> list[str]:
    if os.path.isdir(arg):
        found = _walk(arg)
        if not found:
            raise UsageError(f"{arg}: no .pcap, .pcapng or .cap files (or their .gz) in this directory")
        return found
    if _GLOB.search(arg) and not os.path.exists(arg):
        found = []
        for match in sorted(glob.glob(arg, recursive=True)):
            found.extend(_walk(match) if os.path.isdir(match) else [match])
        if not found:
            raise UsageError(f"{arg}: no file matches this pattern")
        return found
    if not os.path.exists(arg):
        raise UsageError(f"{arg}: no such file")
    return [arg]


def _remote(arg: str) -> list[str]:
    try:
        import fsspec
    except ImportError:
        raise UsageError(f"{arg}: URLs need fsspec (pip install fsspec, plus s3fs/gcsfs for the store)") from None
    try:
        fs, _token, paths = fsspec.get_fs_token_paths(arg)
    except (ImportError, ValueError) as e:
        raise UsageError(f"{arg}: {e}") from None
    protocol = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
    found = []
    for p in sorted(paths):
        if fs.isdir(p):
            found.extend(sorted(f for f in fs.find(p) if is_capture_name(f)))
        else:
            found.append(p)
    if not found:
        raise UsageError(f"{arg}: nothing found at this URL")
    return [f if is_url(f) else f"{protocol}://{f}" for f in found]


def expand_inputs(args) -> list[str]:
    """The capture sources named by *args*, in argument order, each once."""
    seen: dict[str, None] = {}
    for arg in args:
        for source in (_remote(arg) if is_url(arg) else _local(arg)):
            seen.setdefault(source, None)
    return list(seen)
