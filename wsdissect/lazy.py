"""Package names loaded on first use (PEP 562): the ``__getattr__`` of a package whose submodules are costly to
import (``wsdissect.tls``, ``wsdissect.app``), so that importing the package costs nothing until a name is read."""
from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_names(package: str, where: dict[str, str], namespace: dict) -> Callable[[str], Any]:
    """``__getattr__`` for *package*: *where* maps each name to the submodule that defines it; a name once loaded
    is kept in the package's *namespace* (its ``globals()``), so it is imported only once."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    return __getattr__
