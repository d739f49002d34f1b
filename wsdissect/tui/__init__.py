"""``wsdissect tui``: an interactive terminal UI (Textual, the optional ``wsdissect[tui]`` extra).

Only :mod:`wsdissect.tui.model`, :mod:`~wsdissect.tui.redecode` and :mod:`~wsdissect.tui.filter_text` work
without Textual; :func:`require_textual` says how to install it.
"""
from __future__ import annotations

from ..errors import UsageError

INSTALL_HINT = "the TUI needs Textual: pip install 'wsdissect[tui]'"


def require_textual() -> None:
    """Raise a one-line :class:`UsageError` (exit status 2) when Textual is not installed."""
    try:
        import textual  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
